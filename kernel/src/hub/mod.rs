//! The hub: the `/ws` endpoint. Each WebSocket connection becomes one client of the bus with a
//! kernel-chosen id. Who may connect is decided here, before the upgrade (Host, Origin, token,
//! connection cap), and whether the connection speaks binary frames too (the client asked for the
//! `aether.binary` subprotocol, see `aether_shared::frame`); everything a client then sends is
//! parsed in [`ingress`] (the edge) and handed to the bus's door, where the guardrails admit it
//! before it is routed.

mod admit;
mod client_id;
mod connection;
pub mod ingress;
mod peer;

use aether_shared::frame;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub use admit::admit;
pub use peer::Peer;

use crate::app::Kernel;
use crate::guard::audit::{self, Reason};

/// Read buffer of each socket, in bytes. Small on purpose: idle connections must stay cheap
/// (target ≤ 16 KB each); larger frames are read in several chunks.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes of outgoing frames gathered before a write; a batch is flushed at its end anyway.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// The query of `/ws`: browsers cannot set headers on a WebSocket, so the token may come here.
#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// Checks who is connecting, then upgrades `/ws` to a WebSocket and runs the connection.
pub async fn ws_handler(
    ws: WebSocketUpgrade,
    State(kernel): State<Kernel>,
    headers: HeaderMap,
    Query(query): Query<WsQuery>,
) -> Response {
    let config = &kernel.config;
    let stats = kernel.bus.stats();
    let principal = match admit(config, stats, &headers, query.token.as_deref()) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let max = config.limits.max_connections_per_principal.get();
    let min_idle = std::time::Duration::from_millis(config.limits.evict_idle_after_ms.get());
    // In a cluster the cap holds for the principal's connections to every kernel together.
    let elsewhere = kernel
        .bus
        .cluster()
        .map_or(0, |link| link.registry().clients_of(principal));
    let room = max.saturating_sub(elsewhere);
    let Some(permit) = kernel.guards.connections.acquire(principal, room, min_idle) else {
        let where_ = match elsewhere {
            0 => String::new(),
            n => format!(", {n} of them to other kernels of the cluster"),
        };
        let message = format!(
            "{} already has {max} connections open, all of them active (limits.max_connections_per_principal{where_}); close some tabs or raise the limit",
            principal.as_str()
        );
        audit::refused(
            stats,
            Reason::ConnectionLimit,
            None,
            principal.as_str(),
            None,
            &message,
        );
        return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
    };

    // Frames (text or binary) up to twice the cap are read and refused with `payload_too_large`
    // (the connection stays up); anything larger than that closes the connection.
    let hard_cap = config.limits.max_frame_bytes.get().saturating_mul(2) + 1024;
    // Binary frames only for a client that asked; the answer echoes the subprotocol.
    let ws = ws.protocols([frame::SUBPROTOCOL]);
    let binary = ws.selected_protocol().is_some();
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .on_upgrade(move |socket| {
            let tracker = kernel.tracker.clone();
            tracker.track_future(connection::run(socket, kernel, principal, permit, binary))
        })
}
