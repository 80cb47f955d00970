//! The hub: the `/ws` endpoint. Each WebSocket connection becomes one client of the bus with a
//! kernel-chosen id; everything a client sends is parsed and checked here (the edge) before it
//! reaches the bus or a service.

mod client_id;
mod connection;
mod ingress;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;

use crate::app::Kernel;

/// Read buffer of each socket, in bytes. Small on purpose: idle connections must stay cheap
/// (target ≤ 16 KB each); larger frames are read in several chunks.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes of outgoing frames gathered before a write; a batch is flushed at its end anyway.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Upgrades `/ws` to a WebSocket and runs the connection until it ends.
pub async fn ws_handler(ws: WebSocketUpgrade, State(kernel): State<Kernel>) -> Response {
    // Frames up to twice the cap are read and refused with `payload_too_large` (the connection
    // stays up); anything larger than that closes the connection.
    let hard_cap = kernel.config.limits.max_frame_bytes.saturating_mul(2) + 1024;
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .on_upgrade(move |socket| {
            let tracker = kernel.tracker.clone();
            tracker.track_future(connection::run(socket, kernel))
        })
}
