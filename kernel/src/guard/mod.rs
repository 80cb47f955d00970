//! Guardrails (SPEC §6), checked before anything is routed:
//!
//! 1. who: [`identity`] (tokens) and [`origin`] (Host and Origin headers) at the WebSocket
//!    upgrade, and the per-principal connection cap ([`connections`]);
//! 2. [`permissions`]: ordered topic-prefix rules;
//! 3. [`rate`]: token buckets per (principal, topic);
//! 4. resource caps live where they are enforced (frame size in the hub, queues in the bus).
//!
//! The catalog check (is the topic in the contract?) and steps 2 and 3 are one call,
//! [`Guards::admit`] ([`admission`]), made for every sender at the bus's door
//! ([`Bus::submit`](crate::bus::Bus::submit)): the hub for what a client sends, the task engine
//! for what a run sends on its caller's behalf. An alias (`wasm.run`) is judged as the topic it
//! stands for (`vm.spawn`).
//!
//! Every refusal goes through [`audit`]: one structured `tracing` event (throttled per client)
//! and one counter (exact).

pub mod admission;
pub mod audit;
pub mod connections;
pub mod identity;
pub mod origin;
pub mod permissions;
pub mod rate;

use crate::config::Config;

pub use admission::Refusal;
pub use connections::{ConnectionPermit, Connections};
pub use identity::Principal;
pub use permissions::Permissions;
pub use rate::{RateGuard, RateLimits};

/// The guardrails' shared state, built once from the config.
pub struct Guards {
    pub permissions: Permissions,
    pub connections: Connections,
    /// Every principal's rate-limit buckets.
    pub rates: RateLimits,
}

impl Guards {
    pub fn new(config: &Config) -> Guards {
        Guards {
            permissions: Permissions::new(config.permissions.clone()),
            connections: Connections::default(),
            rates: RateLimits::new(config.rate_limits.clone().into()),
        }
    }
}
