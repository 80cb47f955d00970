//! The About window's ping: a typed `kernel.ping` every [`INTERVAL_MS`] while connected, timed
//! with `performance.now()`.
//!
//! The loop stops when the window closes (its owner is cleaned up). A failed ping clears the
//! figure rather than showing a stale one. It never retries faster than the interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aether_shared::kernel::Ping;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::services::bus::BusClient;

/// Time between pings while connected, in milliseconds.
pub const INTERVAL_MS: u32 = 2_000;

/// How long one ping may take before it counts as failed, in milliseconds.
const TIMEOUT_MS: u32 = 5_000;

/// How often to look again while not connected, in milliseconds.
const WAIT_FOR_CONNECTION_MS: u32 = 200;

/// Starts the loop for the current owner (the About view); writes round trips to `latest`.
pub fn measure_while_mounted(bus: BusClient, latest: RwSignal<Option<f64>>) {
    let mounted = Arc::new(AtomicBool::new(true));
    on_cleanup({
        let mounted = Arc::clone(&mounted);
        move || mounted.store(false, Ordering::Relaxed)
    });
    leptos::task::spawn_local(async move {
        while mounted.load(Ordering::Relaxed) {
            if !bus.state_untracked().is_connected() {
                let _ = latest.try_set(None);
                TimeoutFuture::new(WAIT_FOR_CONNECTION_MS).await;
                continue;
            }
            let started = now_ms();
            let result = bus.send_request(&Ping {}, TIMEOUT_MS).await;
            if !mounted.load(Ordering::Relaxed) {
                break;
            }
            let _ = latest.try_set(result.ok().map(|_| now_ms() - started));
            TimeoutFuture::new(INTERVAL_MS).await;
        }
    });
}

/// A round trip for display: `0.8 ms`, `12.3 ms`.
pub fn format_ms(ms: f64) -> String {
    format!("{ms:.1} ms")
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_shown_with_one_decimal_and_a_unit() {
        assert_eq!(format_ms(0.8), "0.8 ms");
        assert_eq!(format_ms(12.345), "12.3 ms");
        assert_eq!(format_ms(0.0), "0.0 ms");
    }
}
