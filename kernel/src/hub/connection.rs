//! One WebSocket connection: registers the client on the bus, greets it with `kernel.hello`
//! (which says whether binary frames were negotiated), then moves frames both ways — text, and
//! binary on a connection that negotiated them — until the client leaves, is kicked as too slow,
//! or the kernel shuts down (then queued frames are flushed before a `1001 going away` close).
//!
//! One task per connection does both directions, so an idle connection costs one task, one
//! socket and one queue. Writes are batched: everything already queued goes out in one flush.
//!
//! A client that does not take its frames is cut off (close 1008) when its queue passes its
//! bounds (see `bus::client`) or when one write takes longer than `limits.write_timeout_ms`.
//! Every `limits.ping_interval_ms` the kernel pings; a connection from which nothing (not even
//! the pong browsers send by themselves) arrived for `limits.idle_timeout_ms` is closed (1008).

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_shared::kernel::{ClientLimits, Hello};
use aether_shared::{Envelope, Topic};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Peer, ingress};
use crate::app::Kernel;
use crate::bus::{ClientHandle, Queued};
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
    binary: bool,
) {
    let (mut peer, rx) = Peer::attach(&kernel, principal, permit, binary);
    let span = tracing::info_span!(
        "conn",
        client_id = peer.id(),
        principal = principal.as_str(),
        binary
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
            binary,
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
    WriteTimedOut,
    Idle,
    Evicted,
}

async fn pump(
    mut socket: WebSocket,
    mut rx: mpsc::Receiver<Queued>,
    peer: &mut Peer,
    kernel: &Kernel,
) -> End {
    let handle = Arc::clone(&peer.handle);
    let handle = &handle;
    let limits = &kernel.config.limits;
    let write_timeout = Duration::from_millis(limits.write_timeout_ms.get());
    let idle_timeout = Duration::from_millis(limits.idle_timeout_ms.get());
    let ping_every = Duration::from_millis(limits.ping_interval_ms.get());
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let eviction = peer.permit.evicted().clone();
    // Made once, not on every turn of the loop: each `cancelled()` future registers with its
    // token when first polled, and a fresh one per frame would register and unregister again.
    let mut shutdown = pin!(kernel.shutdown.cancelled());
    let mut kicked = pin!(handle.kicked().cancelled());
    let mut evicted = pin!(eviction.cancelled());
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                // Flush what is already queued (in-flight replies), then say goodbye.
                let mut batch = Vec::new();
                while let Ok(frame) = rx.try_recv() {
                    batch.push(frame);
                }
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    for frame in batch {
                        socket.feed(frame.message()).await?;
                    }
                    socket.flush().await?;
                    close(&mut socket, CLOSE_GOING_AWAY, "kernel shutting down").await
                })
                .await;
                return End::Shutdown;
            }
            _ = &mut kicked => {
                close_kicked(&mut socket, handle).await;
                return End::Kicked;
            }
            _ = &mut evicted => {
                handle.kick("evicted: a new connection of the same principal took the slot of this idle one (limits.max_connections_per_principal)");
                close_kicked(&mut socket, handle).await;
                return End::Evicted;
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { return End::Kicked };
                let write = tokio::time::timeout(write_timeout, write_batch(&mut socket, frame, &mut rx));
                tokio::select! {
                    result = write => match result {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return End::WriteFailed,
                        Err(_) => {
                            kernel.bus.cut_off_slow(handle, "a write took longer than limits.write_timeout_ms: the client is not reading");
                            close_kicked(&mut socket, handle).await;
                            return End::WriteTimedOut;
                        }
                    },
                    // A client that stopped reading must not hold this task in a write forever:
                    // the close frame gets one short chance to follow what is already buffered.
                    _ = &mut kicked => {
                        close_kicked(&mut socket, handle).await;
                        return End::Kicked;
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= idle_timeout {
                    handle.kick("idle: nothing arrived for limits.idle_timeout_ms (not even a pong)");
                    close_kicked(&mut socket, handle).await;
                    return End::Idle;
                }
                let ping = tokio::time::timeout(write_timeout, socket.send(Message::Ping(Default::default())));
                if !matches!(ping.await, Ok(Ok(()))) {
                    return End::WriteFailed;
                }
            }
            msg = socket.recv() => {
                last_heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        peer.permit.touch();
                        ingress::handle_text(kernel, peer, &text);
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        peer.permit.touch();
                        ingress::handle_binary(kernel, peer, bytes);
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => return End::ClientLeft,
                    Some(Err(e)) => {
                        tracing::debug!("read failed: {e}");
                        return End::ClientLeft;
                    }
                }
            }
        }
    }
}

/// Writes `first` and what else is queued (up to [`MAX_BATCH`]), then flushes. Each frame's
/// bytes stay charged to the client's queue until it has been handed to the socket.
async fn write_batch(
    socket: &mut WebSocket,
    first: Queued,
    rx: &mut mpsc::Receiver<Queued>,
) -> Result<(), axum::Error> {
    socket.feed(first.message()).await?;
    drop(first);
    for _ in 1..MAX_BATCH {
        match rx.try_recv() {
            Ok(frame) => socket.feed(frame.message()).await?,
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
