//! A gateway's requests to other kernels: a client's spawn to the runners' queue group (one
//! runner takes it), a prompt to the group of kernels with an AI provider, its kills and keys
//! to the runner that holds its program, what names a task or run to the kernel that keeps it.
//! Each is a NATS request answered at once with [`Taken`] by the kernel that took it; the
//! service's own answer comes later as a letter. Nobody up to take it is `backend_unavailable`
//! at once (NATS's "no responders"), as is a cluster this kernel cannot reach now.

use std::sync::Arc;
use std::time::Duration;

use aether_shared::catalog::TopicKind;
use aether_shared::envelope::REQUEST_ID_FIELD;
use aether_shared::{Envelope, ErrorCode, ErrorPayload};

use super::wire::{Letter, Party, Relay, Taken, portable};
use super::{ClusterLink, subject};
use crate::bus::{Bus, ClientHandle, RouteError, is_private_request};
use crate::guard::audit::{self, Reason};

/// How long a kernel may take to say it took a request.
const TAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// A queue group: kernels any one of which may serve a kind of request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// `vm.spawn` of WASM programs: the runners.
    Runners,
    /// `ai.chat` and `ai.complete`: the kernels with an AI provider.
    Ai,
}

impl Group {
    fn subject(self) -> &'static str {
        match self {
            Group::Runners => subject::RUNNERS,
            Group::Ai => subject::AI,
        }
    }

    /// What a requester reads when nobody in the group is up.
    fn nobody(self) -> &'static str {
        match self {
            Group::Runners => {
                "No runner is up in the cluster to run WASM programs; start one (`aether --role runner`) or run this kernel with the runner role."
            }
            Group::Ai => {
                "No kernel of the cluster has an AI provider up; configure `ai.provider` on one, or on this kernel."
            }
        }
    }
}

impl ClusterLink {
    /// Sends `client`'s request, admitted by this kernel, to one kernel of `group`; `label`
    /// names a program's module in `vm.list`.
    pub fn forward_to_group(
        self: &Arc<Self>,
        bus: &Bus,
        group: Group,
        client: &ClientHandle,
        env: Envelope,
        label: String,
    ) {
        let answer = cut_down(&env);
        self.remote.spawning(client.id(), answer.clone(), label);
        let link = Arc::clone(self);
        let (bus, client_id) = (bus.clone(), client.id().to_owned());
        let tab = client.acting_for().to_owned();
        let letter = self.serve_letter(&bus, client, env);
        tokio::spawn(async move {
            match link
                .ask(group.subject().to_owned(), letter, group.nobody())
                .await
            {
                Ok(taken) => {
                    link.remote.taken(&client_id, &answer, &taken.kernel);
                    // Both leaving are told to it: the client, and the tab whose files it uses.
                    link.remote.serves(&client_id, &taken.kernel);
                    link.remote.serves(&tab, &taken.kernel);
                }
                Err(error) => {
                    link.remote.abandon(&client_id, &answer);
                    bus.emit_error(&answer, error);
                }
            }
        });
    }

    /// Sends `client`'s request to kernel `kernel`, which serves it (a kill or keys for a
    /// program it runs, a task or run it keeps); `gone` is the sentence when it is not up.
    pub fn forward_to(
        self: &Arc<Self>,
        bus: &Bus,
        kernel: String,
        client: &ClientHandle,
        env: Envelope,
        gone: String,
    ) {
        let answer = cut_down(&env);
        self.remote.serves(client.id(), &kernel);
        let link = Arc::clone(self);
        let bus = bus.clone();
        let letter = self.serve_letter(&bus, client, env);
        tokio::spawn(async move {
            let subject = subject::kernel_subject(&kernel);
            if let Err(error) = link.ask(subject, letter, &gone).await {
                bus.emit_error(&answer, error);
            }
        });
    }

    /// Sends `env` from `sender` to `to`, an address another kernel serves (see
    /// [`super::registry`]), when the rules let `sender` reach it: the address's principal must
    /// be the sender's (an admin's may be anyone's), and a tab's file session takes file
    /// requests only from that tab. The receiving kernel checks again.
    pub fn send_to_address(
        &self,
        sender: &ClientHandle,
        to: &str,
        env: &Envelope,
        kind: TopicKind,
    ) -> Result<(), RouteError> {
        let absent = || RouteError::NoSuchAddress(to.to_owned());
        let record = self.registry.find(to).ok_or_else(absent)?;
        let principal = sender.principal();
        if !principal.is_admin() && record.principal != principal {
            audit::log(
                Reason::PermissionDenied,
                Some(sender.id()),
                principal.as_str(),
                Some(env.topic.as_str()),
                &format!(
                    "addressed `{to}` on kernel {}, which belongs to another principal; answered as absent",
                    record.kernel
                ),
            );
            return Err(absent());
        }
        if is_private_request(&env.topic, kind) && record.client != sender.acting_for() {
            return Err(match env.topic.namespace() {
                aether_shared::Namespace::Vfs => RouteError::PrivateSession(to.to_owned()),
                _ => RouteError::PrivateMachine(to.to_owned()),
            });
        }
        let relay = Relay::Deliver {
            party: self.party_of(sender),
            env: portable(env),
        };
        self.send(record.kernel, relay);
        Ok(())
    }

    fn party_of(&self, client: &ClientHandle) -> Party {
        Party {
            kernel: self.kernel_id.clone(),
            client: client.id().to_owned(),
            principal: client.principal(),
            acting_for: client.acting_for().to_owned(),
        }
    }

    fn serve_letter(&self, bus: &Bus, client: &ClientHandle, env: Envelope) -> Letter {
        let party = self.party_of(client);
        Letter {
            from: self.kernel_id.clone(),
            relay: Relay::Serve {
                party,
                sessions: bus.sessions_of(client.acting_for()),
                env: portable(&env),
            },
        }
    }

    /// Asks whoever serves `subject` to take `letter`; `nobody` is the sentence when nobody does.
    async fn ask(
        &self,
        subject: String,
        letter: Letter,
        nobody: &str,
    ) -> Result<Taken, ErrorPayload> {
        let Some(nats) = self.client.get().filter(|_| self.connected()) else {
            return Err(unavailable(
                "This kernel cannot reach the cluster now (NATS is away); retry shortly.",
            ));
        };
        let sent = tokio::time::timeout(TAKE_TIMEOUT, nats.request(subject, letter.to_bytes()));
        match sent.await {
            Ok(Ok(message)) => serde_json::from_slice(&message.payload)
                .map_err(|e| unavailable(format!("A runner answered wrongly: {e}"))),
            Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
                Err(unavailable(nobody))
            }
            Ok(Err(e)) => Err(unavailable(format!(
                "The cluster did not take the request: {e}; retry shortly."
            ))),
            Err(_) => Err(unavailable(
                "No runner took the request in time; the cluster may be overloaded, retry shortly.",
            )),
        }
    }
}

/// The error a request no kernel of the cluster can take is answered with.
fn unavailable(why: impl Into<String>) -> ErrorPayload {
    ErrorPayload::new(ErrorCode::BackendUnavailable, why)
}

/// A request cut down to what answering it needs: its topic, sender, and request id.
fn cut_down(env: &Envelope) -> Envelope {
    let mut answer = Envelope::new(env.topic.clone());
    answer.from = env.from.clone();
    if let Some(id) = env.request_id() {
        let mut payload = aether_shared::Payload::new();
        payload.insert(REQUEST_ID_FIELD.into(), id.into());
        answer.payload = Some(payload);
    }
    answer
}
