//! The `vfs:` and `compute:` namespaces as the kernel serves them: sessions. A tab registers a
//! session id (`vfs:register`, `compute:register`) and then serves requests addressed to it; the
//! kernel only relays those (see the hub's ingress). A session id belongs to the one client that
//! registered it until that client disconnects. One client serves at most
//! `limits.max_sessions_per_client` sessions.

use std::sync::Arc;

use aether_shared::vfs::{ComputeRegister, Register, Registered, validate_session_id};
use aether_shared::{BusRequest as _, Envelope, ErrorCode, ErrorPayload};

use super::decode;
use super::vm::bridge::ComputeSessions;
use crate::bus::{Bus, ClientHandle, SessionError};

pub(super) fn handle(
    bus: &Bus,
    compute: &ComputeSessions,
    max_sessions: usize,
    client: &Arc<ClientHandle>,
    env: Envelope,
) {
    let session_id = match env.topic.as_str() {
        Register::TOPIC => decode::<Register>(bus, &env).map(|r| r.session_id),
        ComputeRegister::TOPIC => decode::<ComputeRegister>(bus, &env).map(|r| r.session_id),
        _ => {
            bus.emit_error(
                &env,
                ErrorPayload::new(
                    ErrorCode::BadRequest,
                    format!(
                        "`{}` is served by a browser tab, not the kernel: address it with `to` set to the tab's session id.",
                        env.topic
                    ),
                ),
            );
            return;
        }
    };
    let Some(session_id) = session_id else { return };
    if let Err(why) = validate_session_id(&session_id) {
        bus.emit_error(
            &env,
            ErrorPayload::new(ErrorCode::BadRequest, format!("{why}.")),
        );
        return;
    }
    match bus.register_session(&session_id, client, max_sessions) {
        Ok(()) => {
            tracing::debug!(session_id, "session registered");
            let reply = Registered { session_id };
            // Both register topics answer with `Registered`.
            if env.topic.as_str() == Register::TOPIC {
                bus.reply::<Register>(&env, &reply);
            } else {
                // The v86 backend: this client's `vm.spawn {backend: v86}` runs in this tab.
                compute.set(client.id(), &reply.session_id);
                bus.reply::<ComputeRegister>(&env, &reply);
            }
        }
        Err(e @ SessionError::Conflict(_)) => {
            bus.emit_error(&env, ErrorPayload::new(ErrorCode::Conflict, e.to_string()))
        }
        Err(e @ SessionError::TooMany(_)) => bus.emit_error(
            &env,
            ErrorPayload::new(ErrorCode::ResourceExceeded, format!("{e}."))
                .with_detail("limit", "max_sessions_per_client")
                .with_detail("value", max_sessions as u64),
        ),
    }
}
