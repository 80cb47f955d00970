//! The router: where an envelope goes, and who may reach whom.
//!
//! Every sender comes through one door, [`Bus::submit`]: the hub for each client frame, the task
//! engine for each node a run sends (and next the agent and MCP). It stamps `from` and `time`
//! ([`stamp`], the one place either is written), admits the envelope through the guardrails
//! ([`Guards::admit`]: catalog, permissions, rate), then routes it: an addressed envelope to its
//! addressee under the access rules below, an un-addressed request back to the caller for its
//! namespace's service ([`Routed::Service`]), anything else to the subscribers of its topic.
//! The kernel's own messages go out through [`Bus::route`] (stamped `from: kernel`).
//! An in-process sender that needs a tab's answer to a file request (an agent run, an MCP call)
//! goes through [`Bus::relay_for`]: the same stamp, admission and access rules, then relayed as
//! the kernel's own request.
//!
//! The access rules of addressed delivery ([`Bus::reach`]), for client and kernel relays alike:
//!
//! 1. The address must belong to the sender's principal (admin may address anyone). Another
//!    principal's address is answered exactly like one that does not exist, so probing tells
//!    nothing; the attempt is in the audit log.
//! 2. A kernel-made client (a task run's agent) hears only from the kernel: anything else
//!    addressed to it is dropped and counted as `forged_answer`.
//! 3. A VFS session is private to the tab that registered it: a `vfs:` request reaches it only
//!    from that tab itself or from the kernel acting for it (`ClientHandle::acting_for`). Stricter
//!    than, and so within, SPEC §3's same-principal rule, which `compute:` sessions keep, but for
//!    `compute:exec` (a shell command in the tab's machine), private to the tab in the same way:
//!    the kernel sends it for `vm.exec`, which reaches only the requester's own tab.
//!
//! An answer addressed to `kernel` settles the kernel's request only when it comes from the
//! client that request was sent to (see `pending`). Delivery never waits: a client whose queue is
//! full is cut off. Envelopes for a kernel-made client are handed over as values, never
//! serialized; for connections an envelope is serialized once per form (text, or binary for the
//! connections that negotiated it, see `wire`) however many clients get it.

use std::sync::Arc;
use std::time::Duration;

use aether_shared::catalog::TopicKind;
use aether_shared::{
    BusRequest, Envelope, ErrorCode, ErrorPayload, KERNEL_ADDRESS, Namespace, Topic, compute,
};

use super::wire::Frames;
use super::{Answered, Bus, ClientHandle, Delivery, RequestError};
use crate::clock::now_rfc3339;
use crate::guard::audit::{self, Reason};
use crate::guard::{Guards, Refusal};

/// True for what rule 3 keeps to the tab: a request for its files (`vfs:` of kind request) or
/// a shell command for its x86 machines (`compute:exec`).
pub fn is_private_request(topic: &Topic, kind: TopicKind) -> bool {
    matches!(kind, TopicKind::Request(_))
        && (topic.namespace() == Namespace::Vfs || topic.as_str() == compute::EXEC)
}

/// Writes who sent an envelope and when: whatever the sender wrote there is overwritten.
pub fn stamp(env: &mut Envelope, from: &str) {
    env.from = Some(from.to_owned());
    env.time = now_rfc3339();
}

/// What became of an envelope that passed [`Bus::submit`].
#[derive(Debug)]
pub enum Routed {
    /// Queued to its addressee, or to this many subscribers.
    Delivered(usize),
    /// An un-addressed request: the caller hands it to the service of its namespace.
    Service(Envelope),
    /// Delivered to nobody, and already answered, counted or settled as it should be (an absent
    /// or refused address, an answer to the kernel's own request).
    Handled,
}

/// An envelope the guardrails did not admit (boxed where returned: the rare path). The refusal
/// is recorded; answering it (or not) is the sender's business.
#[derive(Debug)]
pub struct Refused {
    pub env: Envelope,
    pub refusal: Refusal,
}

/// Why an address cannot be reached. The sentence is what a refused requester reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Nobody has the address, or another principal has it (told apart only in the audit log).
    #[error(
        "No client or session `{0}` is connected; reopen the tab that owns it, or check the address."
    )]
    NoSuchAddress(String),
    /// The address is a kernel-made client (a task run's agent), which hears only the kernel.
    #[error("`{0}` hears only from the kernel.")]
    KernelOnly(String),
    /// A `vfs:` request to another tab's file session (or that tab's client id).
    #[error(
        "`{0}` is another tab's file session; only that tab (and the kernel acting for it) may use it. Read your own tab's files, or have that tab share them."
    )]
    PrivateSession(String),
    /// A `compute:exec` to another tab's machine host (or that tab's client id).
    #[error(
        "`{0}` is another tab's x86 machine host; only that tab runs commands in its machines (send `vm.exec` from it)."
    )]
    PrivateMachine(String),
}

impl RouteError {
    /// The SPEC §4 code a refused request is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            RouteError::NoSuchAddress(_) | RouteError::KernelOnly(_) => ErrorCode::SessionNotFound,
            RouteError::PrivateSession(_) | RouteError::PrivateMachine(_) => {
                ErrorCode::PermissionDenied
            }
        }
    }
}

impl From<RouteError> for ErrorPayload {
    fn from(e: RouteError) -> ErrorPayload {
        ErrorPayload::new(e.code(), e.to_string())
    }
}

impl Bus {
    /// The door for everything a client, or an in-process sender acting as one, sends: stamps
    /// it, admits it through `guards` (a refusal is recorded, not answered), and routes it.
    pub fn submit(
        &self,
        guards: &Guards,
        sender: &ClientHandle,
        mut env: Envelope,
    ) -> Result<Routed, Box<Refused>> {
        stamp(&mut env, sender.id());
        match guards.admit(sender.principal(), &env) {
            Ok(kind) => Ok(self.route_from(sender, env, kind)),
            Err(refusal) => {
                refusal.record(self.stats(), sender.id(), sender.principal());
                Err(Box::new(Refused { env, refusal }))
            }
        }
    }

    /// The door for a request an in-process sender (an agent run, an MCP call) has the kernel
    /// relay to a tab's session `to` and answer back: stamped, admitted and held to the access
    /// rules exactly as if `sender` had sent it, then sent as the kernel's own request, so only
    /// that tab's answer settles it. Every way it fails is an error payload for the sender.
    pub async fn relay_for<R: BusRequest>(
        &self,
        guards: &Guards,
        sender: &ClientHandle,
        to: &str,
        req: &R,
        timeout: Duration,
    ) -> Result<R::Reply, ErrorPayload> {
        let mut env = Envelope::request(req, "relay").to(to);
        stamp(&mut env, sender.id());
        let principal = sender.principal();
        let kind = guards.admit(principal, &env).map_err(|refusal| {
            refusal.record(self.stats(), sender.id(), principal);
            refusal.to_payload()
        })?;
        self.reach(sender, to, &env.topic, kind).map_err(|e| {
            self.stats().count_refusal(e.code().as_str());
            ErrorPayload::from(e)
        })?;
        self.request::<R>(to, req, timeout)
            .await
            .map_err(|e| match e {
                RequestError::Remote(refused) => refused,
                RequestError::Timeout(_) => ErrorPayload::new(ErrorCode::Timeout, e.to_string()),
                RequestError::Unreachable(_) => {
                    ErrorPayload::new(ErrorCode::SessionNotFound, e.to_string())
                }
                RequestError::BadAnswer(_) => {
                    ErrorPayload::new(ErrorCode::BackendUnavailable, e.to_string())
                }
            })
    }

    /// Routes an admitted envelope from `sender`. Requests are not fanned out: one client's
    /// requests (file contents, prompts) are nobody else's business.
    fn route_from(&self, sender: &ClientHandle, env: Envelope, kind: TopicKind) -> Routed {
        match env.to.as_deref() {
            Some(KERNEL_ADDRESS) => {
                self.settle(sender, env);
                Routed::Handled
            }
            Some(to) => match self.reach_anywhere(sender, to, &env, kind) {
                Ok(()) => Routed::Delivered(1),
                Err(RouteError::KernelOnly(_)) => {
                    self.stats().count_refusal(Reason::ForgedAnswer.as_str());
                    Routed::Handled
                }
                Err(e) if matches!(kind, TopicKind::Request(_)) => {
                    self.emit_error(&env, e.into());
                    Routed::Handled
                }
                Err(_) => {
                    tracing::debug!(to, "dropped an envelope for an absent address");
                    Routed::Handled
                }
            },
            None if matches!(kind, TopicKind::Request(_)) => Routed::Service(env),
            None => Routed::Delivered(self.fan_out(&env)),
        }
    }

    /// Delivers `env` from `sender` to `to`: on this kernel, or, when another kernel of the
    /// cluster serves the address, to that kernel (the same rules are checked here against the
    /// cluster's address book, and there again).
    fn reach_anywhere(
        &self,
        sender: &ClientHandle,
        to: &str,
        env: &Envelope,
        kind: TopicKind,
    ) -> Result<(), RouteError> {
        match (self.reach(sender, to, &env.topic, kind), self.cluster()) {
            (Ok(owner), _) => {
                self.deliver(&owner, env);
                Ok(())
            }
            (Err(RouteError::NoSuchAddress(_)), Some(link)) => {
                link.send_to_address(sender, to, env, kind)
            }
            (Err(e), _) => Err(e),
        }
    }

    /// Settles the kernel's request an answer from `sender` is for; a forged one is audited.
    fn settle(&self, sender: &ClientHandle, env: Envelope) {
        let topic = env.topic.clone();
        // A runner of the cluster may have asked it (the `vfs:read` of a module it runs).
        let relayed = match self.cluster() {
            Some(link) => link.relay_answer(sender.id(), &env),
            None => Answered::NoRequest,
        };
        let answered = match relayed {
            Answered::NoRequest => self.resolve_pending(env, sender.id()),
            relayed => relayed,
        };
        match answered {
            Answered::Settled => {}
            Answered::NoRequest => {
                tracing::debug!("an answer to the kernel arrived after its request ended");
            }
            Answered::WrongPeer => audit::refused(
                self.stats(),
                Reason::ForgedAnswer,
                Some(sender.id()),
                sender.principal().as_str(),
                Some(topic.as_str()),
                "an answer to a kernel request sent to another client; dropped",
            ),
        }
    }

    /// The client `sender` may reach at `to` with an envelope of `topic` (a `kind`), under the
    /// access rules of the module docs; a refusal is logged in the audit trail (the caller
    /// counts it when it answers). The kernel relaying for `sender` asks the same question.
    pub fn reach(
        &self,
        sender: &ClientHandle,
        to: &str,
        topic: &Topic,
        kind: TopicKind,
    ) -> Result<Arc<ClientHandle>, RouteError> {
        let refused = |reason: Reason, error: RouteError, why: String| {
            audit::log(
                reason,
                Some(sender.id()),
                sender.principal().as_str(),
                Some(topic.as_str()),
                &why,
            );
            Err(error)
        };
        let Some(owner) = self.resolve(to) else {
            return Err(RouteError::NoSuchAddress(to.to_owned()));
        };
        let principal = sender.principal();
        if !principal.is_admin() && owner.principal() != principal {
            return refused(
                Reason::PermissionDenied,
                RouteError::NoSuchAddress(to.to_owned()),
                format!("addressed `{to}`, which belongs to another principal; answered as absent"),
            );
        }
        if owner.is_kernel_made() {
            return refused(
                Reason::ForgedAnswer,
                RouteError::KernelOnly(to.to_owned()),
                format!(
                    "An envelope addressed to the run agent `{to}` did not come from the kernel; it was dropped."
                ),
            );
        }
        if is_private_request(topic, kind) && owner.id() != sender.acting_for() {
            let error = match topic.namespace() {
                Namespace::Vfs => RouteError::PrivateSession(to.to_owned()),
                _ => RouteError::PrivateMachine(to.to_owned()),
            };
            let why = error.to_string();
            return refused(Reason::PermissionDenied, error, why);
        }
        Ok(owner)
    }

    /// The session the kernel reads `client`'s files from when it names none: the first one
    /// served by the client it acts for.
    pub fn own_session(&self, client: &ClientHandle) -> Option<String> {
        self.sessions_of(client.acting_for()).into_iter().next()
    }

    /// Routes a kernel-stamped envelope: to its addressee when `to` is set, else to every
    /// subscriber whose pattern matches. Returns the number of clients it was queued to. No
    /// access rule applies: the kernel may address anyone.
    pub fn route(&self, env: &Envelope) -> Result<usize, RouteError> {
        match env.to.as_deref() {
            Some(to) => self.deliver_to(to, env).map(|()| 1),
            None => Ok(self.fan_out(env)),
        }
    }

    /// Sends a kernel-originated envelope (stamped `from: kernel` and the current time).
    pub fn publish_from_kernel(&self, mut env: Envelope) -> Result<usize, RouteError> {
        stamp(&mut env, KERNEL_ADDRESS);
        self.route(&env)
    }

    /// Queues an envelope to the client behind `address`.
    pub fn deliver_to(&self, address: &str, env: &Envelope) -> Result<(), RouteError> {
        let client = self
            .resolve(address)
            .ok_or_else(|| RouteError::NoSuchAddress(address.to_owned()))?;
        self.deliver(&client, env);
        Ok(())
    }

    /// Queues an event to every client with a matching subscription, and hands it to the
    /// other kernels when this one is part of a cluster; returns how many local clients got it.
    pub fn fan_out(&self, env: &Envelope) -> usize {
        if let Some(link) = self.cluster() {
            link.forward(env);
        }
        self.fan_out_local(env)
    }

    /// Queues an envelope to every client of this kernel with a matching subscription; returns
    /// how many. An event another kernel sent comes in here, and goes no further.
    pub fn fan_out_local(&self, env: &Envelope) -> usize {
        let recipients: Vec<Arc<ClientHandle>> = {
            let clients = self.inner.clients.read().expect("bus lock");
            clients
                .values()
                .filter(|client| client.is_subscribed(&env.topic))
                .cloned()
                .collect()
        };
        let mut frames = Frames::new(env);
        for client in &recipients {
            self.offer(client, &mut frames);
        }
        recipients.len()
    }

    /// Queues an envelope to one client, disconnecting it when it cannot keep up.
    pub fn deliver(&self, client: &Arc<ClientHandle>, env: &Envelope) {
        self.offer(client, &mut Frames::new(env));
    }

    fn offer(&self, client: &ClientHandle, frames: &mut Frames<'_>) {
        match client.try_deliver(frames) {
            Delivery::Queued => self.stats().count_out(),
            Delivery::Closed => {}
            Delivery::QueueFull => self.cut_off_slow(
                client,
                "outbound queue full: the client is not reading fast enough",
            ),
        }
    }
}

#[cfg(test)]
mod tests;
