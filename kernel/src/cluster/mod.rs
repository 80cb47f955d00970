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

pub mod subject;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aether_shared::Envelope;
use aether_shared::kernel::ClusterReport;
use async_nats::connection::State;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::bus::Bus;
use crate::config::ClusterConfig;

/// Events waiting to go out on NATS, at most.
pub const OUTBOX_LEN: usize = 8_192;

/// This kernel's side of the cluster: the outbound queue and the counters.
pub struct ClusterLink {
    kernel_id: String,
    outbox: mpsc::Sender<Envelope>,
    client: OnceLock<async_nats::Client>,
    sent: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
}

impl ClusterLink {
    /// Queues an event this kernel admitted for the other kernels; drops (and counts) it when
    /// the queue is full. Never waits.
    pub fn forward(&self, env: &Envelope) {
        if self.outbox.try_send(env.clone()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What `kernel.stats` says of the link.
    pub fn report(&self) -> ClusterReport {
        let connected = self
            .client
            .get()
            .is_some_and(|c| c.connection_state() == State::Connected);
        ClusterReport {
            kernel_id: self.kernel_id.clone(),
            connected,
            events_sent: self.sent.load(Ordering::Relaxed),
            events_received: self.received.load(Ordering::Relaxed),
            events_dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Joins the cluster: hands `bus` its link and starts the task that talks to NATS until
/// `shutdown`. Returns at once; the connection is made (and remade) in the background.
pub fn join(config: &ClusterConfig, bus: &Bus, shutdown: CancellationToken) -> Arc<ClusterLink> {
    let kernel_id = config
        .kernel_id
        .clone()
        .unwrap_or_else(|| format!("k-{:08x}", rand::random::<u32>()));
    let (outbox, queued) = mpsc::channel(OUTBOX_LEN);
    let link = Arc::new(ClusterLink {
        kernel_id,
        outbox,
        client: OnceLock::new(),
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
    });
    bus.join_cluster(Arc::clone(&link));
    let span = tracing::info_span!("cluster", kernel_id = %link.kernel_id);
    let task = run(
        config.clone(),
        bus.clone(),
        Arc::clone(&link),
        queued,
        shutdown,
    );
    tokio::spawn(task.instrument(span));
    link
}

async fn run(
    config: ClusterConfig,
    bus: Bus,
    link: Arc<ClusterLink>,
    mut queued: mpsc::Receiver<Envelope>,
    shutdown: CancellationToken,
) {
    let client = match connect(&config, &link.kernel_id).await {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(
                "cannot join the cluster at {}: {e}; running alone",
                config.nats_url
            );
            return;
        }
    };
    let _ = link.client.set(client.clone());
    let mut events = match client.subscribe(subject::EVENTS_ALL).await {
        Ok(events) => events,
        Err(e) => {
            tracing::error!("cannot subscribe to the cluster's events: {e}; running alone");
            return;
        }
    };
    tracing::info!("joined the cluster at {}", config.nats_url);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(env) = queued.recv() => {
                let subject = subject::event_subject(env.topic.as_str());
                match client.publish(subject, env.to_json().into()).await {
                    Ok(()) => link.sent.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        tracing::debug!("an event was not sent to the cluster: {e}");
                        link.dropped.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            Some(message) = events.next() => {
                if let Some(env) = received(message.subject.as_str(), &message.payload) {
                    link.received.fetch_add(1, Ordering::Relaxed);
                    bus.fan_out_local(&env);
                }
            }
        }
    }
    // Whatever this kernel already published leaves before it goes.
    let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
}

async fn connect(config: &ClusterConfig, kernel_id: &str) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("aether-kernel {kernel_id}"))
        .no_echo()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(100 * attempts.max(1) as u64).min(Duration::from_secs(2))
        });
    if let Some(path) = &config.credentials {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| format!("credentials {}: {e}", path.display()))?;
    }
    let urls: Vec<&str> = config.nats_url.split(',').map(str::trim).collect();
    let addrs = urls
        .iter()
        .map(|u| u.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    options.connect(addrs).await.map_err(|e| e.to_string())
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
