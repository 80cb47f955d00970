//! The cluster: kernels that share one NATS (config `cluster:`). Each kernel keeps its own
//! connections, guardrails and services; what crosses is the bus's events. An event a client
//! publishes (admitted by its own kernel's guardrails, as ever) reaches the matching subscribers
//! of every kernel, each exactly once: its kernel delivers it locally and sends it once on NATS
//! ([`subject`] maps topics to subjects); every other kernel receives it on its one
//! subscription to all events and delivers it to its own matching subscribers with the
//! contract's matcher. A kernel never hears its own events back (the NATS connection is
//! `no_echo`), and an event received from NATS is never sent on again.
//!
//! The link never holds the bus up: events wait for NATS in a bounded queue ([`OUTBOX_LEN`]);
//! while NATS is away or slow, what does not fit is dropped and counted
//! (`kernel.stats` → `cluster.events_dropped`), and local delivery goes on as on a lone kernel.
//! The client reconnects by itself (every 100 ms at first, backing off to 2 s) and resubscribes.
//! NATS is trusted like the kernel's own network: whoever may publish on `aether.ev.>` can
//! publish events to every kernel's subscribers, so give kernels their own NATS account
//! (`credentials:`).

//! The cluster: kernels that share one NATS (config `cluster:`). Each kernel keeps its own
//! connections, guardrails and services; what crosses is events, programs and the letters that
//! serve them.
//!
//! - **Events.** An event a client publishes (admitted by its own kernel's guardrails, as ever)
//!   reaches the matching subscribers of every kernel, each exactly once: its kernel delivers it
//!   locally and sends it once on NATS ([`subject`] maps topics to subjects); every other kernel
//!   receives it on its one subscription to all events and delivers it to its own matching
//!   subscribers with the contract's matcher. A kernel never hears its own events back (the
//!   connection is `no_echo`), and an event received from NATS is never sent on again.
//! - **Programs.** A kernel plays `gateway`, `runner` or both (`cluster.roles`, `--role`). A
//!   gateway that is no runner sends its clients' WASM spawns, admitted by its guardrails, to
//!   the runners' queue group (one runner takes each, [`forward`]); the runner serves them for a
//!   stand-in of the client ([`proxies`]), and everything its services send that client (the
//!   acknowledgement, output, exit, and the `vfs:read` of a `{path}` module from the tab's own
//!   files) is a [`wire::Letter`] back to the gateway, which checks the access rules again
//!   before delivering it ([`inbox`]). The gateway keeps which runner holds which pid
//!   ([`remote`]), so `vm.kill`, `vm.stdin` and `vm.list` reach it. x86 machines stay in the
//!   requester's own tab.
//! - **Failure.** Every kernel beats on its heartbeat subject ([`peers`]); a program whose runner
//!   falls silent ends with `vm.error backend_unavailable` within 2 s, a spawn no runner takes
//!   is `backend_unavailable` at once, and while NATS is away the cluster's services answer
//!   `backend_unavailable` and local ones go on. The client reconnects by itself (every 100 ms
//!   at first, backing off to 2 s) and resubscribes.
//!
//! The link never holds the bus up: what goes to NATS waits in a bounded queue
//! ([`OUTBOX_LEN`]); an event that does not fit is dropped and counted
//! (`kernel.stats` → `cluster.events_dropped`), and a stand-in whose letters do not fit is cut
//! off as a slow client. NATS is trusted like the kernel's own network: whoever may publish on
//! `aether.>` speaks as a kernel, so give kernels their own NATS account (`credentials:`).

pub mod forward;
mod inbox;
pub mod peers;
pub mod proxies;
pub mod registry;
pub mod remote;
mod run;
pub mod subject;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use aether_shared::Envelope;
use aether_shared::kernel::ClusterReport;
use async_nats::connection::State;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::bus::{Answered, Bus};
use crate::config::ClusterConfig;
use crate::config::cluster::Role;
use crate::services::Services;
use wire::{Outgoing, Relay, portable};

/// Envelopes and letters waiting to go out on NATS, at most.
pub const OUTBOX_LEN: usize = 8_192;

/// This kernel's side of the cluster: the outbound queue, what it holds for and on other
/// kernels, and the counters.
pub struct ClusterLink {
    kernel_id: String,
    roles: Vec<Role>,
    /// This kernel has an AI provider: it serves the cluster's prompts.
    serves_ai: bool,
    outbox: mpsc::Sender<Outgoing>,
    client: OnceLock<async_nats::Client>,
    services: OnceLock<Weak<Services>>,
    peers: peers::Peers,
    remote: remote::RemoteRuns,
    proxies: proxies::Proxies,
    registry: registry::Registry,
    sent: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
}

impl ClusterLink {
    /// This kernel's name in the cluster.
    pub fn kernel_id(&self) -> &str {
        &self.kernel_id
    }

    /// True when this kernel plays `role`.
    pub fn plays(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True when this kernel has an AI provider (and serves the cluster's prompts).
    pub fn serves_ai(&self) -> bool {
        self.serves_ai
    }

    /// Lets the link hand the requests other kernels send to this kernel's services.
    pub fn serve_with(&self, services: &Arc<Services>) {
        let _ = self.services.set(Arc::downgrade(services));
    }

    /// The cluster's address book (see [`registry`]).
    pub fn registry(&self) -> &registry::Registry {
        &self.registry
    }

    /// What this kernel's clients run on other kernels.
    pub fn remote(&self) -> &remote::RemoteRuns {
        &self.remote
    }

    /// Queues an event this kernel admitted for the other kernels; drops (and counts) it when
    /// the queue is full. Never waits.
    pub fn forward(&self, env: &Envelope) {
        if self.outbox.try_send(Outgoing::Event(env.clone())).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends `env`, an answer from client `from` addressed to `kernel`, to the runner whose
    /// request it answers, when a runner asked it (see [`remote::RemoteRuns::answered`]).
    pub fn relay_answer(&self, from: &str, env: &Envelope) -> Answered {
        match self.remote.answered(env, from) {
            None => Answered::NoRequest,
            Some(Err(())) => Answered::WrongPeer,
            Some(Ok(kernel)) => {
                let relay = Relay::Answer {
                    from: from.to_owned(),
                    env: portable(env),
                };
                self.send(kernel, relay);
                Answered::Settled
            }
        }
    }

    /// Client `client` of this kernel left: the runners that ran its programs are told.
    pub fn client_gone(&self, client: &str) {
        for kernel in self.remote.client_gone(client) {
            let relay = Relay::Gone {
                client: client.to_owned(),
            };
            self.send(kernel, relay);
        }
    }

    /// What `kernel.stats` says of the link.
    pub fn report(&self) -> ClusterReport {
        ClusterReport {
            kernel_id: self.kernel_id.clone(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            connected: self.connected(),
            peers: self.peers.up(),
            events_sent: self.sent.load(Ordering::Relaxed),
            events_received: self.received.load(Ordering::Relaxed),
            events_dropped: self.dropped.load(Ordering::Relaxed),
            remote_programs: self.remote.count() as u64,
            stand_ins: self.proxies.count() as u64,
            remote_addresses: self.registry.count() as u64,
        }
    }

    fn connected(&self) -> bool {
        self.client
            .get()
            .is_some_and(|c| c.connection_state() == State::Connected)
    }

    fn services(&self) -> Option<Arc<Services>> {
        self.services.get()?.upgrade()
    }

    /// Queues a letter to `kernel` (dropped, and logged, when the queue is full).
    fn send(&self, kernel: String, relay: Relay) {
        if self
            .outbox
            .try_send(Outgoing::To { kernel, relay })
            .is_err()
        {
            tracing::warn!("the cluster link is behind; a letter to another kernel was dropped");
        }
    }
}

/// Joins the cluster: hands `bus` its link and starts the task that talks to NATS until
/// `shutdown`. Returns at once; the connection is made (and remade) in the background.
/// `serves_ai`: this kernel has an AI provider, and serves the cluster's prompts.
pub fn join(
    config: &ClusterConfig,
    serves_ai: bool,
    bus: &Bus,
    shutdown: CancellationToken,
) -> Arc<ClusterLink> {
    let kernel_id = config
        .kernel_id
        .clone()
        .unwrap_or_else(|| format!("k-{:08x}", rand::random::<u32>()));
    let (outbox, queued) = mpsc::channel(OUTBOX_LEN);
    let (registry, changes) = registry::Registry::new(&kernel_id);
    let link = Arc::new(ClusterLink {
        kernel_id,
        roles: config.roles.clone(),
        serves_ai,
        outbox,
        client: OnceLock::new(),
        services: OnceLock::new(),
        peers: peers::Peers::default(),
        remote: remote::RemoteRuns::default(),
        proxies: proxies::Proxies::default(),
        registry,
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
    });
    bus.join_cluster(Arc::clone(&link));
    let span = tracing::info_span!("cluster", kernel_id = %link.kernel_id);
    let task = run::run(
        config.clone(),
        bus.clone(),
        Arc::clone(&link),
        queued,
        changes,
        shutdown,
    );
    tokio::spawn(task.instrument(span));
    link
}

/// An event another kernel sent, if the message is one: an envelope whose topic is the one its
/// subject names and that is addressed to nobody.
fn received(subject: &str, payload: &[u8]) -> Option<Envelope> {
    let topic = subject::topic_of(subject)?;
    let text = std::str::from_utf8(payload).ok()?;
    let env = Envelope::from_json(text).ok()?;
    (env.topic.as_str() == topic && env.to.is_none()).then_some(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unaddressed_envelope_on_its_own_subject_is_taken() {
        let event = r#"{"topic":"task.event","payload":{"n":1}}"#;
        let subject = subject::event_subject("task.event");
        assert!(received(&subject, event.as_bytes()).is_some());
        assert!(received("aether.ev.task.done", event.as_bytes()).is_none());
        let addressed = r#"{"topic":"task.event","to":"c-1","payload":{"n":1}}"#;
        assert!(received(&subject, addressed.as_bytes()).is_none());
        assert!(received(&subject, b"{not json").is_none());
        assert!(received(&subject, &[0xff, 0xfe]).is_none());
    }
}
