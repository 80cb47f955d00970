//! Letters from other kernels, handled: an envelope for one of this kernel's clients (checked
//! here again: a kernel may reach only the client it holds a program of, and that client's own
//! sessions, under the router's access rules), a tab's answer to this kernel's request, a
//! request to serve for another kernel's client (for a stand-in, [`super::proxies`]), and a
//! client that left.

use aether_shared::ai;
use aether_shared::catalog::{self, TopicKind};
use aether_shared::{KERNEL_ADDRESS, Namespace};
use async_nats::Subject;

use super::ClusterLink;
use super::wire::{Letter, Party, Relay, Taken};
use crate::bus::{Answered, Bus, ClientHandle, is_private_request};
use crate::guard::audit::{self, Reason};

impl ClusterLink {
    /// Handles one letter; `reply` is where a request for service wants its [`Taken`].
    pub(super) async fn on_letter(
        &self,
        bus: &Bus,
        nats: &async_nats::Client,
        letter: Letter,
        reply: Option<Subject>,
    ) {
        let Letter { from, relay } = letter;
        self.peers.saw(&from);
        match relay {
            Relay::Deliver { party, env } => self.deliver_here(bus, &from, party, env),
            Relay::Answer { from: client, env } => {
                if bus.resolve_pending(env, &client) == Answered::WrongPeer {
                    tracing::warn!(kernel = from, "an answer relayed for the wrong client");
                }
            }
            Relay::Serve {
                party,
                sessions,
                env,
            } => {
                let serves = match env.topic.namespace() {
                    Namespace::Vm | Namespace::Wasm | Namespace::Task => true,
                    Namespace::Ai => {
                        [ai::CHAT, ai::COMPLETE, ai::CANCEL].contains(&env.topic.as_str())
                    }
                    _ => false,
                };
                if party.kernel != from || !serves {
                    tracing::warn!(kernel = from, topic = %env.topic, "refused a request to serve");
                    return;
                }
                if let Some(reply) = reply {
                    let taken = Taken {
                        kernel: self.kernel_id.clone(),
                    };
                    let body = serde_json::to_vec(&taken).expect("taken serializes");
                    if let Err(e) = nats.publish(reply, body.into()).await {
                        tracing::debug!("could not say a request was taken: {e}");
                    }
                }
                let Some(services) = self.services() else {
                    return;
                };
                let proxy = self.proxies.stand_in(bus, party, &sessions, &self.outbox);
                services.dispatch(&proxy, env);
            }
            Relay::Gone { client } => {
                let services = self.services();
                self.proxies.gone(bus, services.as_deref(), &from, &client);
            }
        }
    }

    /// Delivers `env`, sent by kernel `from` for `party`, to its addressee on this kernel when
    /// the rules let `party` reach it; a refusal is audited and the envelope dropped.
    fn deliver_here(&self, bus: &Bus, from: &str, party: Party, env: aether_shared::Envelope) {
        let Some(to) = env.to.clone() else {
            return;
        };
        let Some(owner) = bus.resolve(&to) else {
            tracing::debug!(to, "a letter for an address that left");
            return;
        };
        let Some(kind) = catalog::classify(&env.topic) else {
            return;
        };
        let allowed = match party.kernel == from {
            // A client of the sending kernel addressing one of this kernel's (the address book
            // led it here): the router's rules, as for a local sender.
            true => {
                let stand_in = ClientHandle::remote(party.clone(), self.outbox.clone());
                bus.reach(&stand_in, &to, &env.topic, kind).is_ok()
            }
            // A kernel holding a program of this kernel's client (a tab, or a task run's agent
            // acting for one): that client, or the tab's own sessions; nobody else, whatever the
            // principal.
            false => {
                let for_whom = match is_private_request(&env.topic, kind) {
                    true => owner.id() == party.acting_for,
                    false => owner.id() == party.client || owner.id() == party.acting_for,
                };
                party.kernel == self.kernel_id && owner.principal() == party.principal && for_whom
            }
        };
        if !allowed {
            audit::refused(
                bus.stats(),
                Reason::PermissionDenied,
                Some(&party.client),
                party.principal.as_str(),
                Some(env.topic.as_str()),
                &format!(
                    "kernel {from} addressed `{to}` for a client that may not reach it; dropped"
                ),
            );
            return;
        }
        let asks =
            matches!(kind, TopicKind::Request(_)) && env.from.as_deref() == Some(KERNEL_ADDRESS);
        if let (true, Some(id)) = (asks, env.request_id()) {
            self.remote.asked(id, from, owner.id());
        }
        self.remote.observe(from, owner.id(), &env);
        bus.deliver(&owner, &env);
    }
}
