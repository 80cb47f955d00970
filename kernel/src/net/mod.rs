//! The guest network: a Wisp relay (`/wisp`) that gives an x86 machine running in a tab (v86's
//! `wisp://` network adapter) TCP connections out through the kernel, and the DNS answers it
//! needs (`/wisp/dns-query`, or a Wisp UDP stream to port 53). Every stream passes `compute.v86.egress`: the allowlist of
//! `host:port` patterns (empty by default: no network), a byte quota and a stream cap per
//! machine, a connect timeout; the kernel's own port is never reached. Each stream ends with an
//! audit line (principal, host, port, bytes up and down); each refusal is audited and counted in
//! `kernel.stats` (`egress_denied`, `egress_connection_limit`, `egress_quota`).
//!
//! Parts: `wisp` (the packets), `dns` (the messages), `policy` (what is refused and why),
//! `resolver` (names the guest may resolve, addresses it was given), `machine` (one connection's
//! shared state), `relay` (the routes and the connection loop), `stream` (one TCP stream),
//! `dns_stream` (a UDP stream to port 53, answered by the relay).
//! This module never lets a packet through that the rules did not admit; it holds no state of
//! the bus and sends nothing on it.

mod dns;
mod dns_stream;
mod machine;
mod policy;
mod relay;
mod resolver;
mod stream;
pub mod wisp;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};

use crate::app::Kernel;
use crate::guard::identity::Principal;

/// The relay's state, shared by its routes and connections.
pub struct Relay {
    kernel: Kernel,
    resolver: resolver::Resolver,
    next_machine: AtomicU64,
    /// Open `/wisp` connections per principal.
    open: Mutex<HashMap<Principal, u32>>,
}

/// The routes `/wisp` (the Wisp WebSocket) and `/wisp/dns-query` (DNS over HTTP, POST).
pub fn router<S: Clone + Send + Sync + 'static>(kernel: &Kernel) -> Router<S> {
    let relay = Arc::new(Relay {
        kernel: kernel.clone(),
        resolver: resolver::Resolver::default(),
        next_machine: AtomicU64::new(1),
        open: Mutex::default(),
    });
    Router::new()
        .route("/wisp", get(relay::wisp_handler))
        .route("/wisp/dns-query", post(relay::dns_handler))
        .with_state(relay)
}

/// One open `/wisp` connection of a principal; its drop frees the seat.
struct Seat {
    relay: Arc<Relay>,
    principal: Principal,
}

impl Relay {
    /// Guest networks one principal may have open: a machine per tab's machine slot.
    fn max_machines(&self) -> u32 {
        let config = &self.kernel.config;
        config
            .compute
            .v86
            .max_machines_per_client
            .get()
            .saturating_mul(
                u32::try_from(config.limits.max_connections_per_principal.get())
                    .unwrap_or(u32::MAX),
            )
    }

    /// A seat for one more connection of `principal`, or `None` at the cap.
    fn seat(self: &Arc<Self>, principal: Principal) -> Option<Seat> {
        let mut open = self.open.lock().expect("relay lock");
        let count = open.entry(principal).or_default();
        if *count >= self.max_machines() {
            return None;
        }
        *count += 1;
        Some(Seat {
            relay: Arc::clone(self),
            principal,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.relay.open.lock().expect("relay lock");
        if let Some(count) = open.get_mut(&self.principal) {
            *count = count.saturating_sub(1);
        }
    }
}
