//! One WebSocket connection: registers the client on the bus, greets it with `kernel.hello`,
//! then moves frames both ways until the client leaves, is kicked as too slow, or the kernel
//! shuts down (then queued frames are flushed before a `1001 going away` close).
//!
//! One task per connection does both directions, so an idle connection costs one task, one
//! socket and one queue. Writes are batched: everything already queued goes out in one flush.

use std::sync::Arc;
use std::time::Duration;

use aether_shared::kernel::{ClientLimits, Hello};
use aether_shared::{Envelope, Topic};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Peer, ingress};
use crate::app::Kernel;
use crate::bus::ClientHandle;
use crate::guard::{ConnectionPermit, Principal};

/// Frames written per flush at most, so one busy client cannot hog its task forever.
const MAX_BATCH: usize = 64;
/// How long a close frame may take to go out before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Close code sent to a client cut off for not reading (RFC 6455: policy violation).
const CLOSE_TOO_SLOW: u16 = 1008;
/// Close code sent on shutdown (RFC 6455: going away).
const CLOSE_GOING_AWAY: u16 = 1001;

/// Runs one connection to its end.
pub(super) async fn run(
    socket: WebSocket,
    kernel: Kernel,
    principal: Principal,
    permit: ConnectionPermit,
) {
    let (mut peer, rx) = Peer::attach(&kernel, principal, permit);
    let span = tracing::info_span!(
        "conn",
        client_id = peer.id(),
        principal = principal.as_str()
    );
    async move {
        tracing::debug!("connected");
        let limits = &kernel.config.limits;
        let hello = Hello {
            client_id: peer.id().to_owned(),
            version: crate::VERSION.to_owned(),
            limits: ClientLimits {
                max_frame_bytes: limits.max_frame_bytes.get() as u64,
                outbound_queue_len: limits.outbound_queue_len.get() as u64,
                max_subscriptions: limits.max_subscriptions.get() as u64,
            },
        };
        let hello = Envelope::new(Topic::from_static(aether_shared::kernel::HELLO))
            .with_payload(&hello)
            .to(peer.id());
        let _ = kernel.bus.publish_from_kernel(hello);
        let end = pump(socket, rx, &mut peer, &kernel).await;
        peer.detach(&kernel);
        tracing::debug!(?end, "disconnected");
    }
    .instrument(span)
    .await;
}

#[derive(Debug)]
enum End {
    ClientLeft,
    Kicked,
    Shutdown,
    WriteFailed,
}

async fn pump(
    mut socket: WebSocket,
    mut rx: mpsc::Receiver<Utf8Bytes>,
    peer: &mut Peer,
    kernel: &Kernel,
) -> End {
    let handle = Arc::clone(&peer.handle);
    let handle = &handle;
    loop {
        tokio::select! {
            _ = kernel.shutdown.cancelled() => {
                // Flush what is already queued (in-flight replies), then say goodbye.
                let mut batch = Vec::new();
                while let Ok(frame) = rx.try_recv() {
                    batch.push(frame);
                }
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    for frame in batch {
                        socket.feed(Message::Text(frame)).await?;
                    }
                    socket.flush().await?;
                    close(&mut socket, CLOSE_GOING_AWAY, "kernel shutting down").await
                })
                .await;
                return End::Shutdown;
            }
            _ = handle.kicked().cancelled() => {
                close_kicked(&mut socket, handle).await;
                return End::Kicked;
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { return End::Kicked };
                let write = write_batch(&mut socket, frame, &mut rx);
                tokio::select! {
                    result = write => if result.is_err() { return End::WriteFailed },
                    // A client that stopped reading must not hold this task in a write forever:
                    // the close frame gets one short chance to follow what is already buffered.
                    _ = handle.kicked().cancelled() => {
                        close_kicked(&mut socket, handle).await;
                        return End::Kicked;
                    }
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => ingress::handle_text(kernel, peer, &text),
                Some(Ok(Message::Binary(_))) => ingress::refuse_binary(kernel, peer),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => return End::ClientLeft,
                Some(Err(e)) => {
                    tracing::debug!("read failed: {e}");
                    return End::ClientLeft;
                }
            },
        }
    }
}

async fn write_batch(
    socket: &mut WebSocket,
    first: Utf8Bytes,
    rx: &mut mpsc::Receiver<Utf8Bytes>,
) -> Result<(), axum::Error> {
    socket.feed(Message::Text(first)).await?;
    for _ in 1..MAX_BATCH {
        match rx.try_recv() {
            Ok(frame) => socket.feed(Message::Text(frame)).await?,
            Err(_) => break,
        }
    }
    socket.flush().await
}

/// Sends the kick's close frame, giving up after [`CLOSE_TIMEOUT`] (the client may not read).
async fn close_kicked(socket: &mut WebSocket, handle: &ClientHandle) {
    let reason = handle.kick_reason().unwrap_or("disconnected by the kernel");
    tracing::info!(reason, "closing connection");
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, close(socket, CLOSE_TOO_SLOW, reason)).await;
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) -> Result<(), axum::Error> {
    socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        })))
        .await
}
