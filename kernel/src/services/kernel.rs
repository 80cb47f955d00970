//! The `kernel.*` service: `kernel.ping` and `kernel.stats`.

use aether_shared::kernel::{Ping, Pong, Stats, StatsReport};
use aether_shared::{BusRequest as _, Envelope};

use super::{decode, unknown};
use crate::bus::Bus;

pub(super) fn handle(bus: &Bus, rate_buckets: u64, env: Envelope) {
    match env.topic.as_str() {
        Ping::TOPIC => {
            if decode::<Ping>(bus, &env).is_some() {
                let pong = Pong {
                    uptime_ms: bus.uptime().as_millis() as u64,
                };
                bus.reply::<Ping>(&env, &pong);
            }
        }
        Stats::TOPIC => {
            if decode::<Stats>(bus, &env).is_some() {
                bus.reply::<Stats>(&env, &report(bus, rate_buckets));
            }
        }
        _ => unknown(bus, &env),
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
    }
}
