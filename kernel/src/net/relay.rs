//! `/wisp` and `/wisp/dns-query`: who may use the guest network (the same Host, Origin and token
//! checks as `/ws`, in the same order), and the connection loop of one machine: read Wisp
//! packets, admit or refuse each CONNECT (TCP to an allowed destination, or UDP to port 53 for
//! DNS), hand DATA and CLOSE to the stream they belong to, and write what the streams send back. The loop never waits on a destination: streams run as their
//! own tasks, and a DATA packet is queued to its stream without waiting.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Relay;
use super::dns_stream;
use super::machine::Machine;
use super::policy::{KernelPorts, Quota, Refusal};
use super::stream::{self, BUFFER_PACKETS, Target};
use super::wisp::{CloseReason, Packet, StreamKind};
use crate::guard::audit::{self, Reason};
use crate::guard::identity::Principal;

/// Packets queued to one machine's socket before its streams wait.
const OUT_QUEUE_PACKETS: usize = 256;
/// Packets written to a machine's socket before a flush, at most (fewer when no more are queued).
const FLUSH_EVERY_PACKETS: usize = 32;
/// Largest DNS query `/wisp/dns-query` reads, in bytes.
const MAX_DNS_QUERY_BYTES: usize = 4096;

/// The query of `/wisp`: browsers cannot set headers on a WebSocket, so the token may come here.
#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// Checks who is asking exactly as `/ws` does (`crate::hub::admit`).
fn admit(
    relay: &Relay,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Principal, (StatusCode, String)> {
    crate::hub::admit(
        &relay.kernel.config,
        relay.kernel.bus.stats(),
        headers,
        token,
    )
}

/// The port in a `Host` header (`127.0.0.1:8080`, `[::1]:8080`), if it names one.
fn host_port(headers: &HeaderMap) -> Option<u16> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let tail = match host.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?.1,
        None => host.rsplit_once(':')?.1,
    };
    tail.parse().ok()
}

/// `/wisp`: upgrades to a WebSocket that speaks Wisp and runs one machine's network on it.
pub async fn wisp_handler(
    ws: WebSocketUpgrade,
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    let principal = match admit(&relay, &headers, query.token.as_deref()) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let Some(seat) = relay.seat(principal) else {
        let message = format!(
            "{} already has {} guest networks open (compute.v86.max_machines_per_client for each of limits.max_connections_per_principal); power off some machines",
            principal.as_str(),
            relay.max_machines()
        );
        audit::refused(
            relay.kernel.bus.stats(),
            Reason::ConnectionLimit,
            None,
            principal.as_str(),
            None,
            &message,
        );
        return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
    };
    let kernel_ports = KernelPorts {
        listen: relay.kernel.config.listen,
        reached_on: host_port(&headers),
    };
    let max_bytes = relay.kernel.config.limits.max_frame_bytes.get();
    let id = format!(
        "wisp-{}",
        relay.next_machine.fetch_add(1, Ordering::Relaxed)
    );
    let span = tracing::info_span!("wisp", machine = %id, principal = principal.as_str());
    ws.max_message_size(max_bytes)
        .max_frame_size(max_bytes)
        .on_upgrade(move |socket| {
            let tracker = relay.kernel.tracker.clone();
            let machine = run(socket, relay, id, principal, kernel_ports).instrument(span);
            tracker.track_future(async move {
                machine.await;
                drop(seat);
            })
        })
}

/// `/wisp/dns-query`: DNS over HTTPS's POST form (`application/dns-message` in, the same out),
/// answered by the relay for the names the allowlist names (see `resolver`).
pub async fn dns_handler(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    let principal = match admit(&relay, &headers, query.token.as_deref()) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    if body.len() > MAX_DNS_QUERY_BYTES {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "a DNS query fits in 4096 bytes",
        )
            .into_response();
    }
    let config = &relay.kernel.config;
    let rules = &config.compute.v86.egress;
    let timeout = std::time::Duration::from_millis(rules.connect_timeout_ms.get());
    let stats = relay.kernel.bus.stats();
    match relay
        .resolver
        .answer(rules, principal, timeout, stats, &body)
        .await
    {
        Some(answer) => {
            ([(header::CONTENT_TYPE, "application/dns-message")], answer).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            "the body is not a DNS message; POST one as application/dns-message",
        )
            .into_response(),
    }
}

/// A stream as the connection loop knows it.
struct Open {
    /// Its DATA queue; `None` once the guest sent CLOSE.
    to_stream: Option<mpsc::Sender<Bytes>>,
    stop: CancellationToken,
}

/// Runs one machine's connection until the guest leaves or the kernel shuts down.
async fn run(
    socket: WebSocket,
    relay: Arc<Relay>,
    id: String,
    principal: Principal,
    kernel: KernelPorts,
) {
    let (mut sink, mut source) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Packet>(OUT_QUEUE_PACKETS);
    let (ended, mut ended_rx) = mpsc::channel::<u32>(OUT_QUEUE_PACKETS);
    let rules = &relay.kernel.config.compute.v86.egress;
    let machine = Arc::new(Machine {
        id: id.clone(),
        principal,
        quota: Quota::new(rules.quota_bytes.get()),
        kernel,
        out,
        ended,
        stop: relay.kernel.shutdown.child_token(),
        relay: Arc::clone(&relay),
    });
    tracing::debug!("guest network connected");

    let writer = tokio::spawn(async move {
        // What is queued goes out in one flush (a write per burst, not per packet).
        'write: while let Some(first) = out_rx.recv().await {
            let mut next = Some(first);
            let mut fed = 0;
            while let Some(packet) = next.take() {
                if sink.feed(Message::Binary(packet.encode())).await.is_err() {
                    break 'write;
                }
                fed += 1;
                if fed < FLUSH_EVERY_PACKETS {
                    next = out_rx.try_recv().ok();
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    // The initial budget of every stream: DATA packets a new stream may send at once.
    let hello = Packet::Continue {
        stream: 0,
        remaining: BUFFER_PACKETS,
    };
    let _ = machine.out.send(hello).await;

    let mut streams: HashMap<u32, Open> = HashMap::new();
    loop {
        tokio::select! {
            message = source.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    on_packet(&machine, &mut streams, bytes).await;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            Some(stream) = ended_rx.recv() => {
                // Only if that stream ended, not a newer one given the same id since.
                if streams.get(&stream).is_some_and(|open| open.stop.is_cancelled()) {
                    streams.remove(&stream);
                }
            }
            _ = machine.stop.cancelled() => break,
        }
    }
    // Every stream stops (each logs its audit line); then the writer drains and closes.
    machine.stop.cancel();
    drop(streams);
    drop(machine);
    drop(ended_rx);
    let _ = writer.await;
    audit::forget(&id);
    tracing::debug!("guest network disconnected");
}

/// Handles one packet from the guest.
async fn on_packet(machine: &Arc<Machine>, streams: &mut HashMap<u32, Open>, bytes: Bytes) {
    let packet = match Packet::decode(bytes) {
        Ok(packet) => packet,
        Err(e) => {
            tracing::debug!(machine = %machine.id, "guest network: {e}");
            return;
        }
    };
    match packet {
        Packet::Connect {
            stream,
            kind,
            port,
            host,
        } => {
            if stream == 0 || streams.contains_key(&stream) {
                // Stream 0 is the connection's own; a stream id in use is a confused client:
                // the old stream ends with the new one.
                if let Some(old) = streams.remove(&stream) {
                    old.stop.cancel();
                }
                let close = Packet::close(stream, CloseReason::InvalidInfo);
                let _ = machine.out.send(close).await;
                return;
            }
            match admit_connect(machine, streams.len(), kind, &host, port) {
                Ok(()) => {
                    let (to_stream, from_guest) = mpsc::channel(2 * BUFFER_PACKETS as usize);
                    let stop = machine.stop.child_token();
                    let machine = Arc::clone(machine);
                    if kind == StreamKind::Udp {
                        let dns = dns_stream::run(machine, stream, from_guest, stop.clone());
                        tokio::spawn(dns.in_current_span());
                    } else {
                        let target = Target { stream, host, port };
                        let tcp = stream::run(machine, target, from_guest, stop.clone());
                        tokio::spawn(tcp.in_current_span());
                    }
                    let to_stream = Some(to_stream);
                    streams.insert(stream, Open { to_stream, stop });
                }
                Err(refusal) => {
                    machine.record(stream, &refusal);
                    let _ = machine
                        .out
                        .send(Packet::close(stream, refusal.close_reason()))
                        .await;
                }
            }
        }
        Packet::Data { stream, payload } => {
            let Some(open) = streams.get(&stream) else {
                return;
            };
            let Some(to_stream) = &open.to_stream else {
                return;
            };
            if to_stream.try_send(payload).is_err() {
                // Past twice the budget it was granted: the guest ignored CONTINUE.
                tracing::debug!(machine = %machine.id, stream, "guest network: flow control ignored");
                if let Some(open) = streams.remove(&stream) {
                    open.stop.cancel();
                }
                let close = Packet::close(stream, CloseReason::Throttled);
                let _ = machine.out.send(close).await;
            }
        }
        Packet::Close { stream, .. } => {
            if let Some(open) = streams.get_mut(&stream) {
                open.to_stream = None;
            }
        }
        // Only a server grants budget; a client's CONTINUE means nothing.
        Packet::Continue { .. } => {}
    }
}

/// The checks a CONNECT passes before a stream exists (the kernel's own port is checked once
/// the name resolves).
fn admit_connect(
    machine: &Machine,
    open: usize,
    kind: StreamKind,
    host: &str,
    port: u16,
) -> Result<(), Refusal> {
    match (kind, port) {
        // DNS is answered by the relay itself, name by name (see `dns_stream`).
        (StreamKind::Udp, dns_stream::DNS_PORT) => {}
        (StreamKind::Tcp, 1..) => machine.admit(host, port)?,
        _ => return Err(Refusal::Unsupported),
    }
    let max = machine.rules().max_connections.get();
    if open >= max as usize {
        return Err(Refusal::TooManyStreams { max });
    }
    if machine.quota.spent() {
        return Err(machine.quota.refusal());
    }
    Ok(())
}
