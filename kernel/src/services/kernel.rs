//! The `kernel.*` service: `kernel.ping` (uptime) and `kernel.stats` (the bus's counters). Both
//! only read; neither can fail once its payload decodes.

use std::convert::Infallible;

use aether_shared::Envelope;
use aether_shared::kernel::{PING, Ping, Pong, STATS, Stats, StatsReport};

use super::request::{serve, unknown};
use crate::bus::Bus;

/// Handles a `kernel.*` request; `rate_buckets` is the guardrails' live bucket count.
pub(super) fn handle(bus: &Bus, rate_buckets: u64, env: Envelope) {
    match env.topic.as_str() {
        PING => serve(bus, env, |Ping {}, _| Ok::<_, Infallible>(pong(bus))),
        STATS => serve(bus, env, |Stats {}, _| {
            Ok::<_, Infallible>(report(bus, rate_buckets))
        }),
        _ => unknown(bus, &env),
    }
}

fn pong(bus: &Bus) -> Pong {
    Pong {
        uptime_ms: bus.uptime().as_millis() as u64,
    }
}

fn report(bus: &Bus, rate_buckets: u64) -> StatsReport {
    let stats = bus.stats();
    StatsReport {
        version: crate::VERSION.to_owned(),
        uptime_ms: bus.uptime().as_millis() as u64,
        clients: bus.client_count() as u64,
        envelopes_in: stats.envelopes_in(),
        envelopes_out: stats.envelopes_out(),
        slow_clients_disconnected: stats.slow_clients(),
        rate_buckets,
        queued_bytes: stats.queued_bytes(),
        refusals: stats.refusals(),
        cluster: bus.cluster().map(|link| link.report()),
    }
}
