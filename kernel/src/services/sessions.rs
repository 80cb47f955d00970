//! The `vfs:` and `compute:` namespaces as the kernel serves them: sessions. A tab registers a
//! session id (`vfs:register`, `compute:register`) and then serves requests addressed to it; the
//! kernel only relays those (see the bus's router). A session id belongs to the one client that
//! registered it until that client disconnects. One client serves at most
//! `limits.max_sessions_per_client` sessions.
//!
//! [`ComputeSessions`] remembers which compute session each client registered: the VM bridge
//! starts that client's x86 machines (`vm.spawn {backend: v86}`) in it. This module never relays
//! anything itself.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aether_shared::vfs::{ComputeRegister, Register, Registered, validate_session_id};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, compute, vfs};

use super::request::{ServiceError, refuse, serve};
use crate::bus::{Bus, ClientHandle, SessionError};

/// Why a `vfs:` or `compute:` request to the kernel was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Only `:register` is the kernel's; the rest of the namespace is served by a tab.
    #[error(
        "`{0}` is served by a browser tab, not the kernel: address it with `to` set to the tab's session id."
    )]
    ServedByTab(String),
    /// The session id breaks the grammar (the reason says which rule).
    #[error("{0}.")]
    InvalidId(String),
    /// Another client serves this session id.
    #[error("{0}")]
    Taken(SessionError),
    /// This client already serves `max` sessions (`limits.max_sessions_per_client`).
    #[error("{refused}.")]
    TooMany { refused: SessionError, max: usize },
}

impl ServiceError for RegisterError {
    fn code(&self) -> ErrorCode {
        match self {
            RegisterError::ServedByTab(_) | RegisterError::InvalidId(_) => ErrorCode::BadRequest,
            RegisterError::Taken(_) => ErrorCode::Conflict,
            RegisterError::TooMany { .. } => ErrorCode::ResourceExceeded,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            RegisterError::TooMany { max, .. } => error
                .with_detail("limit", "max_sessions_per_client")
                .with_detail("value", *max as u64),
            _ => error,
        }
    }
}

/// Which compute session each client registered (`compute:register`).
#[derive(Default)]
pub struct ComputeSessions {
    by_client: RwLock<HashMap<String, String>>,
}

impl ComputeSessions {
    /// Records that `client_id` serves compute session `session_id`.
    pub fn set(&self, client_id: &str, session_id: &str) {
        self.by_client
            .write()
            .expect("compute sessions lock")
            .insert(client_id.to_owned(), session_id.to_owned());
    }

    /// The compute session `client_id` registered, if any.
    pub fn of(&self, client_id: &str) -> Option<String> {
        self.by_client
            .read()
            .expect("compute sessions lock")
            .get(client_id)
            .cloned()
    }

    /// Forgets a client that left.
    pub fn remove(&self, client_id: &str) {
        self.by_client
            .write()
            .expect("compute sessions lock")
            .remove(client_id);
    }
}

/// Handles a `vfs:` or `compute:` request addressed to the kernel: `vfs:register` and
/// `compute:register` (which also makes the tab this client's x86 machine host).
pub(super) fn handle(
    bus: &Bus,
    compute: &ComputeSessions,
    max_sessions: usize,
    client: &Arc<ClientHandle>,
    env: Envelope,
) {
    match env.topic.as_str() {
        vfs::REGISTER => serve(bus, env, |req: Register, _| {
            register(bus, client, max_sessions, req.session_id)
        }),
        compute::REGISTER => serve(bus, env, |req: ComputeRegister, _| {
            let registered = register(bus, client, max_sessions, req.session_id)?;
            // The v86 backend: this client's `vm.spawn {backend: v86}` runs in this tab.
            compute.set(client.id(), &registered.session_id);
            Ok::<_, RegisterError>(registered)
        }),
        _ => refuse(
            bus,
            &env,
            &RegisterError::ServedByTab(env.topic.to_string()),
        ),
    }
}

/// Registers `session_id` as served by `client`.
fn register(
    bus: &Bus,
    client: &Arc<ClientHandle>,
    max_sessions: usize,
    session_id: String,
) -> Result<Registered, RegisterError> {
    validate_session_id(&session_id).map_err(RegisterError::InvalidId)?;
    bus.register_session(&session_id, client, max_sessions)
        .map_err(|refused| match refused {
            SessionError::Conflict(_) => RegisterError::Taken(refused),
            SessionError::TooMany(_) => RegisterError::TooMany {
                refused,
                max: max_sessions,
            },
        })?;
    tracing::debug!(session_id, "session registered");
    Ok(Registered { session_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_codes_sentences_and_the_limit() {
        let taken = RegisterError::Taken(SessionError::Conflict("s-1".into())).to_payload();
        assert_eq!(taken.code, ErrorCode::Conflict);
        assert_eq!(
            taken.error,
            "session `s-1` is served by another client; pick a fresh session id"
        );
        let full = RegisterError::TooMany {
            refused: SessionError::TooMany(4),
            max: 4,
        }
        .to_payload();
        assert_eq!(full.code, ErrorCode::ResourceExceeded);
        assert!(full.error.ends_with("reuse one of them."), "{}", full.error);
        let details = full.details.unwrap();
        assert_eq!(details["limit"], "max_sessions_per_client");
        assert_eq!(details["value"], 4);
        let tab = RegisterError::ServedByTab("vfs:read".into()).to_payload();
        assert_eq!(tab.code, ErrorCode::BadRequest);
        assert!(
            tab.error
                .starts_with("`vfs:read` is served by a browser tab")
        );
        let bad = RegisterError::InvalidId("a session id has 1 to 64 characters".into());
        assert_eq!(
            bad.to_payload().error,
            "a session id has 1 to 64 characters."
        );
    }

    #[test]
    fn a_client_has_at_most_one_compute_session_until_it_leaves() {
        let sessions = ComputeSessions::default();
        sessions.set("c-1", "s-a");
        sessions.set("c-1", "s-b");
        assert_eq!(sessions.of("c-1").as_deref(), Some("s-b"));
        sessions.remove("c-1");
        assert_eq!(sessions.of("c-1"), None);
    }
}
