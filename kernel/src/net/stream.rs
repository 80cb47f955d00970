//! One admitted stream: resolve the destination, refuse the kernel's own port, connect within
//! `connect_timeout_ms`, then pump bytes both ways under the machine's quota, granting the guest
//! more DATA packets with CONTINUE as they are written out. Ends with one CLOSE to the guest
//! (unless the connection stopped it) and one audit line with the bytes moved.
//!
//! v86 has no half-close: when the guest shuts its side it sends CLOSE. So a CLOSE from the guest
//! ends the way *up* only (what is queued is written, then the destination's write side shuts);
//! the answer still flows down until the destination ends, and only then does the stream close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::machine::Machine;
use super::policy::Refusal;
use super::resolver;
use super::wisp::{CloseReason, Packet};

/// DATA packets the guest may send on a stream before it waits for a CONTINUE.
pub const BUFFER_PACKETS: u32 = 128;
/// Bytes read from the destination at once (one DATA packet down).
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Where a stream goes.
pub struct Target {
    pub stream: u32,
    pub host: String,
    pub port: u16,
}

/// Bytes moved, for the audit line.
#[derive(Default)]
struct Tally {
    up: AtomicU64,
    down: AtomicU64,
    connected: AtomicBool,
}

/// Runs one stream to its end. `from_guest` carries its DATA packets (closed: the guest sent
/// CLOSE); `stop` ends it without a CLOSE (the connection already answered, or is gone).
pub async fn run(
    machine: Arc<Machine>,
    target: Target,
    mut from_guest: mpsc::Receiver<Bytes>,
    stop: CancellationToken,
) {
    let tally = Tally::default();
    let outcome = tokio::select! {
        outcome = pump(&machine, &target, &mut from_guest, &tally) => Some(outcome),
        _ = stop.cancelled() => None,
    };
    let reason = match &outcome {
        Some(Ok(())) => Some(CloseReason::Voluntary),
        Some(Err(refusal)) => {
            machine.record(target.stream, refusal);
            Some(refusal.close_reason())
        }
        None => None,
    };
    if let Some(reason) = reason {
        let _ = machine.out.send(Packet::close(target.stream, reason)).await;
    }
    if tally.connected.load(Relaxed) {
        tracing::info!(
            target: "aether::audit",
            machine = %machine.id,
            principal = machine.principal.as_str(),
            host = %target.host,
            port = target.port,
            bytes_up = tally.up.load(Relaxed),
            bytes_down = tally.down.load(Relaxed),
            close = reason.map_or("stopped", close_name),
            "guest network connection closed"
        );
    }
    // A cancelled token tells the connection this stream (not a newer one of the same id) ended.
    stop.cancel();
    let _ = machine.ended.send(target.stream).await;
}

fn close_name(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Voluntary => "voluntary",
        CloseReason::NetworkError => "network_error",
        CloseReason::Throttled => "quota",
        _ => "refused",
    }
}

async fn pump(
    machine: &Machine,
    target: &Target,
    from_guest: &mut mpsc::Receiver<Bytes>,
    tally: &Tally,
) -> Result<(), Refusal> {
    let timeout = machine.connect_timeout();
    let addrs = resolver::lookup(&target.host, target.port, timeout).await?;
    if let Some(addr) = addrs.iter().find(|a| machine.kernel.is_kernel(**a)) {
        return Err(Refusal::Kernel {
            host: target.host.clone(),
            addr: *addr,
        });
    }
    let tcp = match tokio::time::timeout(timeout, connect(&addrs)).await {
        Err(_) => {
            return Err(Refusal::Timeout {
                host: target.host.clone(),
                port: target.port,
                timeout_ms: timeout.as_millis() as u64,
            });
        }
        Ok(Err(source)) => {
            return Err(Refusal::Connect {
                host: target.host.clone(),
                port: target.port,
                source,
            });
        }
        Ok(Ok(tcp)) => tcp,
    };
    tcp.set_nodelay(true).ok();
    tally.connected.store(true, Relaxed);
    let network = |source| Refusal::Network {
        host: target.host.clone(),
        port: target.port,
        source,
    };
    let (mut read, mut write) = tcp.into_split();

    let up = async {
        let mut since_continue = 0;
        while let Some(chunk) = from_guest.recv().await {
            let granted = machine.quota.take(chunk.len());
            write.write_all(&chunk[..granted]).await.map_err(network)?;
            tally.up.fetch_add(granted as u64, Relaxed);
            if granted < chunk.len() {
                return Err(machine.quota.refusal());
            }
            since_continue += 1;
            if since_continue >= BUFFER_PACKETS / 2 {
                since_continue = 0;
                let queued = from_guest.len() as u32;
                let grant = Packet::Continue {
                    stream: target.stream,
                    remaining: BUFFER_PACKETS.saturating_sub(queued),
                };
                let _ = machine.out.send(grant).await;
            }
        }
        write.shutdown().await.ok();
        Ok(())
    };
    let down = async {
        let mut buf = vec![0; READ_CHUNK_BYTES];
        loop {
            let n = read.read(&mut buf).await.map_err(network)?;
            if n == 0 {
                return Ok(());
            }
            let granted = machine.quota.take(n);
            if granted > 0 {
                let data = Packet::Data {
                    stream: target.stream,
                    payload: Bytes::copy_from_slice(&buf[..granted]),
                };
                if machine.out.send(data).await.is_err() {
                    return Ok(());
                }
                tally.down.fetch_add(granted as u64, Relaxed);
            }
            if granted < n {
                return Err(machine.quota.refusal());
            }
        }
    };
    tokio::pin!(up, down);
    let mut up_done = false;
    loop {
        tokio::select! {
            ended = &mut up, if !up_done => {
                ended?;
                up_done = true;
            }
            ended = &mut down => return ended,
        }
    }
}

/// Connects to the first address that accepts.
async fn connect(addrs: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address to connect to")))
}
