//! One machine's side of the relay: everything its streams share (who it is, its quota, the
//! kernel's ports, the queue of packets to its socket), and the admission of a CONNECT against
//! the rules. A machine is one `/wisp` connection; it owns no socket itself.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Relay;
use super::policy::{KernelPorts, Quota, Refusal};
use super::wisp::Packet;
use crate::guard::audit;
use crate::guard::identity::Principal;

/// What one machine's streams share.
pub struct Machine {
    /// `wisp-<n>`, the machine's name in logs and audit lines.
    pub id: String,
    pub principal: Principal,
    pub relay: Arc<Relay>,
    pub quota: Quota,
    pub kernel: KernelPorts,
    /// Packets to the machine's socket (bounded: a slow socket slows its streams).
    pub out: mpsc::Sender<Packet>,
    /// Streams report here when they end, so the connection forgets them.
    pub ended: mpsc::Sender<u32>,
    /// Cancelled when the machine's connection ends; every stream stops.
    pub stop: CancellationToken,
}

impl Machine {
    /// The egress rules.
    pub fn rules(&self) -> &crate::config::egress::EgressRules {
        &self.relay.kernel.config.compute.v86.egress
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.rules().connect_timeout_ms.get())
    }

    /// Whether the rules let a stream go to `host:port`: a pattern names it, or, for an
    /// address, names a name this principal was given that address for (see `resolver`).
    pub fn admit(&self, host: &str, port: u16) -> Result<(), Refusal> {
        let rules = self.rules();
        if rules.allows(host, port) {
            return Ok(());
        }
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let names = self.relay.resolver.names_of(self.principal, ip);
            if names.iter().any(|name| rules.allows(name, port)) {
                return Ok(());
            }
        }
        Err(Refusal::NotAllowed {
            host: host.to_owned(),
            port,
        })
    }

    /// Records a refusal: audited and counted when the rules refused, logged otherwise.
    pub fn record(&self, stream: u32, refusal: &Refusal) {
        match refusal.audit_reason() {
            Some(reason) => audit::refused(
                self.relay.kernel.bus.stats(),
                reason,
                Some(&self.id),
                self.principal.as_str(),
                None,
                &format!("guest network stream {stream}: {refusal}"),
            ),
            None => tracing::debug!(machine = %self.id, stream, "guest network: {refusal}"),
        }
    }
}
