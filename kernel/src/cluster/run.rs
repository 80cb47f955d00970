//! The link's one task: connects to NATS, subscribes (every event, this kernel's letters, the
//! heartbeats, and for a runner the runners' queue group), then until shutdown sends what the
//! bus queued, hands what arrives to the bus ([`super::inbox`]), beats, and ends what a gone
//! kernel held.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aether_shared::{ErrorCode, ErrorPayload};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::peers::{BEAT, GATEWAY_LAPSE};
use super::wire::{Letter, Outgoing};
use super::{ClusterLink, received, registry, subject};
use crate::bus::Bus;
use crate::config::ClusterConfig;
use crate::config::cluster::Role;

pub(super) async fn run(
    config: ClusterConfig,
    bus: Bus,
    link: Arc<ClusterLink>,
    mut queued: mpsc::Receiver<Outgoing>,
    changes: mpsc::Receiver<registry::Change>,
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
    let subscribed = async {
        let events = client.subscribe(subject::EVENTS_ALL).await?;
        let beats = client.subscribe(subject::HEARTBEATS).await?;
        // Letters: this kernel's own, and the requests of the queue groups it serves.
        let mut letters = vec![
            client
                .subscribe(subject::kernel_subject(&link.kernel_id))
                .await?,
        ];
        if link.plays(Role::Runner) {
            letters.push(
                client
                    .queue_subscribe(subject::RUNNERS, subject::RUNNERS_GROUP.into())
                    .await?,
            );
        }
        if link.serves_ai() {
            letters.push(
                client
                    .queue_subscribe(subject::AI, subject::AI_GROUP.into())
                    .await?,
            );
        }
        let letters = futures_util::stream::select_all(letters);
        Ok::<_, async_nats::SubscribeError>((events, letters, beats))
    };
    let (mut events, mut letters, mut beats) = match subscribed.await {
        Ok(subscriptions) => subscriptions,
        Err(e) => {
            tracing::error!("cannot subscribe to the cluster: {e}; running alone");
            return;
        }
    };
    tracing::info!("joined the cluster at {}", config.nats_url);
    tokio::spawn(registry::run(
        client.clone(),
        Arc::clone(&link),
        bus.clone(),
        changes,
        shutdown.clone(),
    ));
    let mut beat = tokio::time::interval(BEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let beat_subject = subject::heartbeat_subject(&link.kernel_id);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(out) = queued.recv() => send(&client, &link, out).await,
            Some(message) = events.next() => {
                if let Some(env) = received(message.subject.as_str(), &message.payload) {
                    link.received.fetch_add(1, Ordering::Relaxed);
                    bus.fan_out_local(&env);
                }
            }
            Some(message) = letters.next() => {
                if let Some(letter) = Letter::from_bytes(&message.payload) {
                    link.on_letter(&bus, &client, letter, message.reply).await;
                }
            }
            Some(message) = beats.next() => {
                if let Some(kernel) = subject::heartbeat_of(message.subject.as_str()) {
                    link.peers.saw(kernel);
                }
            }
            _ = beat.tick() => {
                // Published only while connected: a beat queued in an outage would say "up" late.
                if link.connected() {
                    let _ = client.publish(beat_subject.clone(), bytes::Bytes::new()).await;
                }
                end_what_the_gone_held(&bus, &link);
            }
        }
    }
    // Whatever this kernel already published leaves before it goes, and it stops taking
    // requests from the queue groups (the connection closes once drained).
    let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), client.drain()).await;
}

/// Publishes one queued event or letter.
async fn send(client: &async_nats::Client, link: &ClusterLink, out: Outgoing) {
    match out {
        Outgoing::Event(env) => {
            let subject = subject::event_subject(env.topic.as_str());
            match client.publish(subject, env.to_json().into()).await {
                Ok(()) => link.sent.fetch_add(1, Ordering::Relaxed),
                Err(e) => {
                    tracing::debug!("an event was not sent to the cluster: {e}");
                    link.dropped.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
        Outgoing::To { kernel, relay } => {
            let letter = Letter {
                from: link.kernel_id.clone(),
                relay,
            };
            let subject = subject::kernel_subject(&kernel);
            if let Err(e) = client.publish(subject, letter.to_bytes()).await {
                tracing::warn!("a letter to kernel {kernel} was not sent: {e}");
            }
        }
    }
}

/// Ends the programs of this kernel's clients that a gone runner held, and stops those this
/// kernel ran for a gone kernel's clients.
fn end_what_the_gone_held(bus: &Bus, link: &ClusterLink) {
    for lost in link.remote.lost(|kernel| link.peers.alive(kernel)) {
        let error = ErrorPayload::new(
            ErrorCode::BackendUnavailable,
            "The runner that ran this program is gone (it stopped, or lost the cluster); run it again.",
        );
        let error = match lost.pid {
            Some(pid) => error.with_detail("pid", pid),
            None => error,
        };
        bus.emit_error(&lost.answer, error);
    }
    let services = link.services();
    link.proxies.sweep(bus, services.as_deref(), |kernel| {
        link.peers.heard_within(kernel, GATEWAY_LAPSE)
    });
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
