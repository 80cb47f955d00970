//! A runner's stand-ins for the clients of other kernels whose requests it serves. Each is a
//! [`ClientHandle::remote`] on this kernel's bus under the client's own id, with the client's
//! principal and its tab's file sessions, so the services run its requests exactly as they run
//! a local client's (the same caps, the same access rules) and what they send it (the
//! acknowledgement, the output, the exit, a `vfs:read` of its module) goes back to its kernel.
//! A stand-in goes when its client leaves (its kernel says [`super::wire::Relay::Gone`]), when
//! its kernel falls silent, or when the link cannot keep up with it (cut off as a slow client):
//! its programs stop as a local client's do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::wire::{Outgoing, Party};
use crate::bus::{Bus, ClientHandle};
use crate::services::Services;

/// The most file sessions a stand-in serves (the sessions of one tab).
const MAX_SESSIONS: usize = 64;

/// See the module docs.
#[derive(Default)]
pub struct Proxies {
    by_client: Mutex<HashMap<String, Arc<ClientHandle>>>,
}

impl Proxies {
    /// The stand-in for `party`, made (and put on `bus`) when it has none yet or its kernel
    /// changed; `sessions` become the ones it serves.
    pub fn stand_in(
        &self,
        bus: &Bus,
        party: Party,
        sessions: &[String],
        tx: &mpsc::Sender<Outgoing>,
    ) -> Arc<ClientHandle> {
        // A task run's agent uses its tab's sessions: they are the tab's stand-in's.
        let tab = Party {
            client: party.acting_for.clone(),
            ..party.clone()
        };
        let proxy = self.get_or_make(bus, party, tx);
        let holder = match proxy.id() == tab.client {
            true => Arc::clone(&proxy),
            false => self.get_or_make(bus, tab, tx),
        };
        for session in sessions.iter().take(MAX_SESSIONS) {
            if let Err(e) = bus.register_session(session, &holder, MAX_SESSIONS) {
                tracing::debug!(client_id = holder.id(), "a stand-in's session: {e}");
            }
        }
        proxy
    }

    fn get_or_make(
        &self,
        bus: &Bus,
        party: Party,
        tx: &mpsc::Sender<Outgoing>,
    ) -> Arc<ClientHandle> {
        let mut by_client = self.by_client.lock().expect("proxies lock");
        let current = by_client
            .get(&party.client)
            .filter(|p| p.party() == Some(&party) && p.kick_reason().is_none())
            .cloned();
        if let Some(proxy) = current {
            return proxy;
        }
        // New, or in place of one that was cut off or stood for the client's old kernel.
        let proxy = Arc::new(ClientHandle::remote(party.clone(), tx.clone()));
        bus.detach(proxy.id());
        bus.release(proxy.id());
        if !bus.attach(Arc::clone(&proxy)) {
            tracing::warn!(client_id = proxy.id(), "a stand-in's id is taken");
        }
        by_client.insert(party.client, Arc::clone(&proxy));
        proxy
    }

    /// Client `client` of `kernel` left: its stand-in goes, and its programs stop.
    pub fn gone(&self, bus: &Bus, services: Option<&Services>, kernel: &str, client: &str) {
        let mut by_client = self.by_client.lock().expect("proxies lock");
        let ours = by_client
            .get(client)
            .is_some_and(|p| p.party().is_some_and(|party| party.kernel == kernel));
        if ours {
            by_client.remove(client);
            drop(by_client);
            retire(bus, services, client);
        }
    }

    /// Retires the stand-ins of kernels `alive` says are gone, and those cut off as slow.
    pub fn sweep(&self, bus: &Bus, services: Option<&Services>, alive: impl Fn(&str) -> bool) {
        let mut retired = Vec::new();
        self.by_client
            .lock()
            .expect("proxies lock")
            .retain(|client, proxy| {
                let kernel_up = proxy.party().is_some_and(|party| alive(&party.kernel));
                let keep = kernel_up && proxy.kick_reason().is_none();
                if !keep {
                    retired.push(client.clone());
                }
                keep
            });
        for client in retired {
            retire(bus, services, &client);
        }
    }

    /// Clients of other kernels served now.
    pub fn count(&self) -> usize {
        self.by_client.lock().expect("proxies lock").len()
    }
}

fn retire(bus: &Bus, services: Option<&Services>, client: &str) {
    tracing::debug!(client_id = client, "a stand-in retires");
    bus.detach(client);
    bus.release(client);
    if let Some(services) = services {
        services.client_gone(client);
    }
}
