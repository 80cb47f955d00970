//! Guardrails (SPEC §6), checked in the hub before anything reaches the bus:
//!
//! 1. who: [`identity`] (tokens) and [`origin`] (Host and Origin headers) at the WebSocket
//!    upgrade, and the per-principal connection cap ([`connections`]);
//! 2. [`permissions`]: ordered topic-prefix rules;
//! 3. [`rate`]: token buckets per (client, topic);
//! 4. resource caps live where they are enforced (frame size in the hub, queues in the bus).
//!
//! Every refusal goes through [`audit`]: one structured `tracing` event and one counter.

pub mod audit;
pub mod connections;
pub mod identity;
pub mod origin;
pub mod permissions;
pub mod rate;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use crate::config::Config;

pub use connections::{ConnectionPermit, Connections};
pub use identity::Principal;
pub use permissions::Permissions;
pub use rate::RateGuard;

/// The guardrails' shared state, built once from the config.
pub struct Guards {
    /// Shared with the task engine, which checks every node against the same rules.
    pub permissions: Arc<Permissions>,
    pub connections: Connections,
    /// Live rate-limit buckets of all connected clients (reclaimed when a client leaves).
    pub rate_buckets: Arc<AtomicI64>,
}

impl Guards {
    pub fn new(config: &Config) -> Guards {
        Guards {
            permissions: Arc::new(Permissions::new(config.permissions.clone())),
            connections: Connections::default(),
            rate_buckets: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A fresh per-client rate guard.
    pub fn rate_guard(&self, config: &Config) -> RateGuard {
        RateGuard::new(
            config.rate_limits.clone().into(),
            Arc::clone(&self.rate_buckets),
        )
    }
}
