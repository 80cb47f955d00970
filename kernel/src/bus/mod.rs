//! The in-process bus: the clients and the sessions they serve, the [`route`]r that delivers
//! envelopes by address or subscription pattern (every sender's door, [`Bus::submit`], is
//! there), and the request/reply helpers of kernel services.
//!
//! An envelope may carry bytes (binary frames, `aether_shared::frame`): each connection gets it
//! in the form it negotiated ([`wire`]), and every in-process receiver (a kernel-made client, a
//! request of the kernel's own) in its text form.
//!
//! Delivery never blocks: each client has a bounded outbound queue, and a client whose queue is
//! full is disconnected (see [`client::ClientHandle`]) rather than allowed to slow the bus. The
//! bus never parses client input (the hub does, at the edge); it asks the guardrails at its door
//! and leaves them to decide.

pub mod client;
mod pending;
pub mod route;
mod stats;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use aether_shared::{BusRequest, Envelope, ErrorPayload, KERNEL_ADDRESS};

pub use client::{ClientHandle, Delivery, Queued};
use pending::Pending;
pub use pending::{Answered, RequestError};
pub use route::{Refused, RouteError, Routed, is_private_request, stamp};
pub use stats::BusStats;

use crate::cluster::ClusterLink;

/// A cheaply clonable handle to the bus.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

struct BusInner {
    clients: RwLock<HashMap<String, Arc<ClientHandle>>>,
    /// Session ids (`vfs:register`, `compute:register`) and the client that serves each.
    sessions: RwLock<HashMap<String, Arc<ClientHandle>>>,
    pending: Pending,
    stats: BusStats,
    started: Instant,
    /// Set when the kernel is part of a cluster: events go to the other kernels too.
    cluster: OnceLock<Arc<ClusterLink>>,
}

/// Why a session could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("session `{0}` is served by another client; pick a fresh session id")]
    Conflict(String),
    #[error(
        "this client already serves {0} sessions, the most one client may (limits.max_sessions_per_client); reuse one of them"
    )]
    TooMany(usize),
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Bus {
        Bus {
            inner: Arc::new(BusInner {
                clients: RwLock::new(HashMap::new()),
                sessions: RwLock::new(HashMap::new()),
                pending: Pending::default(),
                stats: BusStats::default(),
                started: Instant::now(),
                cluster: OnceLock::new(),
            }),
        }
    }

    /// Makes this bus one kernel's part of a cluster: from now on every event it fans out also
    /// goes to `link` (see [`crate::cluster`]). Once per bus; a second link is ignored.
    pub fn join_cluster(&self, link: Arc<ClusterLink>) {
        let _ = self.inner.cluster.set(link);
    }

    /// The cluster link, when this kernel is part of one.
    pub fn cluster(&self) -> Option<&Arc<ClusterLink>> {
        self.inner.cluster.get()
    }

    /// Counters of the bus.
    pub fn stats(&self) -> &BusStats {
        &self.inner.stats
    }

    /// Time since the bus was created.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        self.inner.clients.read().expect("bus lock").len()
    }

    /// Adds a client. Returns `false` (and adds nothing) when the id is taken.
    pub fn attach(&self, client: Arc<ClientHandle>) -> bool {
        let mut clients = self.inner.clients.write().expect("bus lock");
        if clients.contains_key(client.id()) {
            return false;
        }
        client.meter_into(self.inner.stats.queued_bytes_gauge());
        if let Some(link) = self.cluster() {
            link.registry().put(client.id(), &client);
        }
        clients.insert(client.id().to_owned(), client);
        true
    }

    /// Removes a client (on disconnect). Idempotent.
    pub fn detach(&self, client_id: &str) {
        let gone = self
            .inner
            .clients
            .write()
            .expect("bus lock")
            .remove(client_id);
        if let (Some(link), Some(_)) = (self.cluster(), gone) {
            link.registry().delete(client_id);
        }
    }

    /// Every address this kernel serves (client ids and session ids) and the client behind it.
    pub fn addresses(&self) -> Vec<(String, Arc<ClientHandle>)> {
        let clients = self.inner.clients.read().expect("bus lock");
        let sessions = self.inner.sessions.read().expect("bus lock");
        clients
            .iter()
            .chain(sessions.iter())
            .map(|(address, owner)| (address.clone(), Arc::clone(owner)))
            .collect()
    }

    /// True when `client_id` is connected.
    pub fn is_connected(&self, client_id: &str) -> bool {
        self.inner
            .clients
            .read()
            .expect("bus lock")
            .contains_key(client_id)
    }

    /// The client behind an address: a client id, or a session id and the client serving it.
    pub fn resolve(&self, address: &str) -> Option<Arc<ClientHandle>> {
        if let Some(client) = self.inner.clients.read().expect("bus lock").get(address) {
            return Some(Arc::clone(client));
        }
        self.inner
            .sessions
            .read()
            .expect("bus lock")
            .get(address)
            .cloned()
    }

    /// Makes `client` the server of `session_id`. Registering again is fine; taking another
    /// client's session is a [`SessionError::Conflict`], and a new one past `max` sessions of the
    /// client is [`SessionError::TooMany`] (checked under the same lock as the insert).
    pub fn register_session(
        &self,
        session_id: &str,
        client: &Arc<ClientHandle>,
        max: usize,
    ) -> Result<(), SessionError> {
        let mut sessions = self.inner.sessions.write().expect("bus lock");
        match sessions.get(session_id) {
            Some(owner) if owner.id() != client.id() => {
                Err(SessionError::Conflict(session_id.to_owned()))
            }
            Some(_) => Ok(()),
            None => {
                let held = sessions.values().filter(|o| o.id() == client.id()).count();
                if held >= max {
                    return Err(SessionError::TooMany(held));
                }
                sessions.insert(session_id.to_owned(), Arc::clone(client));
                if let Some(link) = self.cluster() {
                    link.registry().put(session_id, client);
                }
                Ok(())
            }
        }
    }

    /// The sessions `client_id` serves.
    pub fn sessions_of(&self, client_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .inner
            .sessions
            .read()
            .expect("bus lock")
            .iter()
            .filter(|(_, owner)| owner.id() == client_id)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Releases the sessions of a client that left, and ends the kernel's requests that were
    /// waiting on it or on them with `session_not_found`.
    pub fn release(&self, client_id: &str) {
        let mut gone = vec![client_id.to_owned()];
        self.inner
            .sessions
            .write()
            .expect("bus lock")
            .retain(|session, owner| {
                let keep = owner.id() != client_id;
                if !keep {
                    gone.push(session.clone());
                }
                keep
            });
        if let Some(link) = self.cluster() {
            for session in &gone[1..] {
                link.registry().delete(session);
            }
        }
        self.inner.pending.fail_for(&gone);
    }

    /// Disconnects a client that does not take its frames (a full queue, a write that timed
    /// out): counted in `kernel.stats`, detached so nothing more is queued to it, and kicked so
    /// its connection closes (1008) and its queue is freed.
    pub fn cut_off_slow(&self, client: &ClientHandle, reason: &'static str) {
        self.inner.stats.count_slow_client();
        self.detach(client.id());
        client.kick(reason);
        tracing::warn!(
            client_id = client.id(),
            "disconnected a slow client: {reason}"
        );
    }

    /// Answers a request with its typed reply (addressed to the requester, same `_request_id`).
    pub fn reply<R: BusRequest>(&self, request: &Envelope, reply: &R::Reply) {
        let env = request.reply(R::reply_topic(), reply);
        if let Err(e) = self.publish_from_kernel(env) {
            tracing::debug!(topic = %request.topic, "reply not delivered: {e}");
        }
    }

    /// Answers a request with an error on its namespace's error topic, counting it under its
    /// code in `kernel.stats`.
    pub fn emit_error(&self, request: &Envelope, error: ErrorPayload) {
        tracing::debug!(topic = %request.topic, code = %error.code, "refused: {}", error.error);
        self.inner.stats.count_refusal(error.code.as_str());
        self.answer_error(request, error);
    }

    /// Answers a request with an error without counting it (the caller already audited it).
    pub fn answer_error(&self, request: &Envelope, error: ErrorPayload) {
        let env = request.error_reply(error);
        if let Err(e) = self.publish_from_kernel(env) {
            tracing::debug!(topic = %request.topic, "error not delivered: {e}");
        }
    }

    /// Sends a typed request from the kernel to a client or session and waits for its reply.
    ///
    /// Ends with [`RequestError::Timeout`] after `timeout`, [`RequestError::Remote`] when the
    /// peer answers on the error topic, and [`RequestError::Unreachable`] when nobody has the
    /// address.
    pub async fn request<R: BusRequest>(
        &self,
        to: &str,
        req: &R,
        timeout: Duration,
    ) -> Result<R::Reply, RequestError> {
        let Some(peer) = self.resolve(to) else {
            return Err(RequestError::Unreachable(to.to_owned()));
        };
        let (request_id, waiter) = self.inner.pending.register(to, peer.id());
        let mut env = Envelope::request(req, &request_id).to(to);
        stamp(&mut env, KERNEL_ADDRESS);
        self.deliver(&peer, &env);
        let answer = tokio::time::timeout(timeout, waiter).await;
        self.inner.pending.forget(&request_id);
        let answer = match answer {
            Ok(Ok(env)) => env,
            Ok(Err(_)) | Err(_) => return Err(RequestError::Timeout(timeout)),
        };
        pending::decode_answer::<R>(&answer)
    }

    /// Hands an envelope addressed to `kernel` by client `from` to the request waiting for it;
    /// only the client the request was sent to may answer it.
    pub fn resolve_pending(&self, env: Envelope, from: &str) -> Answered {
        self.inner.pending.resolve(env, from)
    }
}

#[cfg(test)]
mod tests;
