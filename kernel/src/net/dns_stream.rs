//! A UDP stream to port 53: the guest's DNS, answered by the relay itself rather than relayed
//! (Wisp clients with UDP send DNS this way; v86 0.5 asks `/wisp/dns-query` instead). Each DATA
//! packet is one query and gets one DATA answer, from the allowlist through `resolver`; the
//! bytes count against the machine's quota. No datagram ever leaves the kernel from here.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::machine::Machine;
use super::wisp::{CloseReason, Packet};

/// The port a UDP stream must name to be answered.
pub const DNS_PORT: u16 = 53;

/// Answers `stream`'s queries until the guest closes it, the quota is spent or `stop`.
pub async fn run(
    machine: Arc<Machine>,
    stream: u32,
    mut queries: mpsc::Receiver<Bytes>,
    stop: CancellationToken,
) {
    let rules = machine.rules();
    let timeout = machine.connect_timeout();
    let stats = machine.relay.kernel.bus.stats();
    let answered = async {
        while let Some(query) = queries.recv().await {
            let answer = machine
                .relay
                .resolver
                .answer(rules, machine.principal, timeout, stats, &query)
                .await;
            let Some(answer) = answer else { continue };
            let wanted = query.len() + answer.len();
            if machine.quota.take(wanted) < wanted {
                return Err(machine.quota.refusal());
            }
            let data = Packet::Data {
                stream,
                payload: Bytes::from(answer),
            };
            if machine.out.send(data).await.is_err() {
                break;
            }
        }
        Ok(())
    };
    let reason = tokio::select! {
        ended = answered => match ended {
            Ok(()) => Some(CloseReason::Voluntary),
            Err(refusal) => {
                machine.record(stream, &refusal);
                Some(refusal.close_reason())
            }
        },
        _ = stop.cancelled() => None,
    };
    if let Some(reason) = reason {
        let _ = machine.out.send(Packet::close(stream, reason)).await;
    }
    stop.cancel();
    let _ = machine.ended.send(stream).await;
}
