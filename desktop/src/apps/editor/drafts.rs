//! What survives a reload: the Editor's open tabs, the one in front, and the text of every
//! unsaved buffer (a draft), in `sessionStorage` (the tab's files are the tab's own, so are its drafts) under one key per window. A draft is dropped when
//! its file is saved or its tab closed.

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

/// The storage key of window `window`.
pub fn key(window: u32) -> String {
    format!("aether.editor.{window}")
}

/// The session saved for `window` (empty when none or unreadable).
pub fn load(window: u32) -> Session {
    Area::Session
        .get(&key(window))
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Saves `session` for `window`.
pub fn save(window: u32, session: &Session) {
    if let Ok(json) = serde_json::to_string(session) {
        Area::Session.set(&key(window), &json);
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
        assert_eq!(key(3), "aether.editor.3");
    }
}
