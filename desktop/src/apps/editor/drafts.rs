//! What survives a reload (and closing the Editor's window): its open tabs, the one in front,
//! and the text of every unsaved buffer (a draft), in `sessionStorage` — the browser tab's files
//! are its own, so are its drafts. The Editor has one window, so there is one key. A draft is
//! dropped when its file is saved or its tab closed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::services::web_storage::Area;

/// The saved session of one Editor window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub open: Vec<String>,
    pub active: Option<String>,
    /// Unsaved text by path.
    pub drafts: BTreeMap<String, String>,
}

/// The storage key.
pub const KEY: &str = "aether.editor.session";

/// The saved session (empty when none or unreadable).
pub fn load() -> Session {
    Area::Session
        .get(KEY)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Saves `session`.
pub fn save(session: &Session) {
    if let Ok(json) = serde_json::to_string(session) {
        Area::Session.set(KEY, &json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_through_json() {
        let mut session = Session {
            open: vec!["/a.rs".into()],
            active: Some("/a.rs".into()),
            ..Session::default()
        };
        session.drafts.insert("/a.rs".into(), "unsaved".into());
        let json = serde_json::to_string(&session).unwrap();
        assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), session);
    }
}
