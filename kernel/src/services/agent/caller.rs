//! Acting as the caller on the bus: a kernel-made client (`agent-<run_id>`) with the caller's
//! principal, acting for the caller's client, so every request a run sends is admitted like the
//! caller's own (permissions, the caller's rate limits, the catalog) and reaches only the
//! caller's own tab.
//!
//! Two roads, one admission:
//! - Requests for a kernel service (`vm.spawn`, `task.*`) go through the bus's door
//!   ([`Bus::submit`]) and on to the service; what comes back is handed to the agent as values.
//! - File requests (`vfs:*`) go to the caller's own VFS session through the router's relay door
//!   ([`Bus::relay_for`]: the same admission and access rules, then relayed by the kernel, because
//!   a tab answers a relayed request to the kernel and the router lets nothing but the kernel
//!   address a kernel-made client).
//!
//! A refusal (`permission_denied`, `rate_limited`, …) is recorded like any of the caller's and
//! returned as the error the model will read. This module never decides what to send.

use std::sync::{Arc, Weak};
use std::time::Duration;

use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload};
use tokio::sync::mpsc;

use crate::bus::{Bus, ClientHandle, Refused, Routed, stamp};
use crate::guard::{Guards, Principal};
use crate::services::Services;
use crate::services::sessions::ComputeSessions;

/// Envelopes the agent may have waiting before the bus cuts it off (program output included).
const AGENT_QUEUE: usize = 16 * 1024;

/// How long a file request to the caller's tab may take.
const VFS_TIMEOUT: Duration = Duration::from_secs(30);

/// What a run needs to act as its caller.
#[derive(Clone)]
pub struct Seat {
    pub bus: Bus,
    pub guards: Arc<Guards>,
    pub services: Weak<Services>,
    pub compute: Arc<ComputeSessions>,
}

/// The caller, as a run (or an undo) acts for it.
pub struct Caller {
    seat: Seat,
    agent: Arc<ClientHandle>,
    /// What the kernel sends the agent; `None` for an undo, which only relays file requests.
    inbox: Option<mpsc::Receiver<Envelope>>,
    next_request: u64,
}

impl Caller {
    /// A client `id` acting for `caller_id` with `principal`, attached to the bus so services
    /// can answer it.
    pub fn attach(seat: &Seat, id: String, principal: Principal, caller_id: &str) -> Caller {
        let (handle, inbox) = ClientHandle::agent(id, principal, caller_id.to_owned(), AGENT_QUEUE);
        let agent = Arc::new(handle);
        seat.bus.attach(Arc::clone(&agent));
        Caller {
            seat: seat.clone(),
            agent,
            inbox: Some(inbox),
            next_request: 0,
        }
    }

    /// A client that only relays file requests for `caller_id` (never attached).
    pub fn files_only(seat: &Seat, id: String, principal: Principal, caller_id: &str) -> Caller {
        let (handle, _) = ClientHandle::agent(id, principal, caller_id.to_owned(), 1);
        Caller {
            seat: seat.clone(),
            agent: Arc::new(handle),
            inbox: None,
            next_request: 0,
        }
    }

    /// Leaves the bus: whatever the agent still runs (programs, task runs) is stopped as for a
    /// client that disconnected.
    pub fn release(&self) {
        if self.inbox.is_none() {
            return;
        }
        self.seat.bus.detach(self.agent.id());
        if let Some(services) = self.seat.services.upgrade() {
            services.client_gone(self.agent.id());
        }
    }

    /// The caller's own file session: one it registered with `vfs:register` (its compute
    /// session, `compute:register`, serves no files).
    pub fn session(&self) -> Result<String, ErrorPayload> {
        let caller = self.agent.acting_for();
        let compute = self.seat.compute.of(caller);
        self.seat
            .bus
            .sessions_of(caller)
            .into_iter()
            .find(|s| Some(s) != compute.as_ref())
            .ok_or_else(|| {
                ErrorPayload::new(
                    ErrorCode::SessionNotFound,
                    "The user's tab serves no files (no vfs:register); ask the user to open the desktop.",
                )
            })
    }

    /// Sends a file request to the caller's own tab and waits for its answer.
    pub async fn vfs<R: BusRequest>(&self, req: &R) -> Result<R::Reply, ErrorPayload> {
        let session = self.session()?;
        self.seat
            .bus
            .relay_for(&self.seat.guards, &self.agent, &session, req, VFS_TIMEOUT)
            .await
    }

    /// Sends a request for a kernel service as the caller's: through the bus's door, then to
    /// its service. Returns its request id (what comes back carries it).
    pub fn send<R: BusRequest>(&mut self, req: &R) -> Result<String, ErrorPayload> {
        let (request_id, env) = self.envelope(req);
        let services = self.services()?;
        match self.seat.bus.submit(&self.seat.guards, &self.agent, env) {
            Ok(Routed::Service(env)) => services.dispatch(&self.agent, env),
            Ok(_) => {}
            Err(refused) => {
                let Refused { refusal, .. } = *refused;
                return Err(refusal.to_payload());
            }
        }
        Ok(request_id)
    }

    /// Sends the kernel's own request about something the agent started (a `vm.kill` of its
    /// program): stamped as the agent and handed to its service without admission, so no rule
    /// or rate limit can leave a stopped run's program running.
    pub fn send_own<R: BusRequest>(&mut self, req: &R) {
        let (_, mut env) = self.envelope(req);
        stamp(&mut env, self.agent.id());
        if let Some(services) = self.seat.services.upgrade() {
            services.dispatch(&self.agent, env);
        }
    }

    /// The next envelope answering `request_id`; `None` once the agent was cut off.
    pub async fn next_for(&mut self, request_id: &str) -> Option<Envelope> {
        let inbox = self.inbox.as_mut()?;
        loop {
            let env = inbox.recv().await?;
            if env.request_id() == Some(request_id) {
                return Some(env);
            }
        }
    }

    /// Sends a request for a kernel service and waits for its reply.
    pub async fn ask<R: BusRequest>(&mut self, req: &R) -> Result<R::Reply, ErrorPayload> {
        let request_id = self.send(req)?;
        loop {
            let env = self.next_for(&request_id).await.ok_or_else(cut_off)?;
            if env.topic.as_str() == R::REPLY_TOPIC {
                return env.decode::<R::Reply>().map_err(|e| {
                    ErrorPayload::new(ErrorCode::Internal, format!("a bad reply: {e}"))
                });
            }
            if env.topic.is_error() {
                return Err(env.decode::<ErrorPayload>().unwrap_or_else(|e| {
                    ErrorPayload::new(ErrorCode::Internal, format!("a bad error: {e}"))
                }));
            }
        }
    }

    fn envelope<R: BusRequest>(&mut self, req: &R) -> (String, Envelope) {
        self.next_request += 1;
        let request_id = format!("{}-{}", self.agent.id(), self.next_request);
        let env = Envelope::request(req, &request_id);
        (request_id, env)
    }

    fn services(&self) -> Result<Arc<Services>, ErrorPayload> {
        self.seat
            .services
            .upgrade()
            .ok_or_else(|| ErrorPayload::new(ErrorCode::Internal, "The kernel is shutting down."))
    }
}

/// The agent's inbox closed: the bus cut it off.
pub fn cut_off() -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::ResourceExceeded,
        "The run's tool produced more messages than the kernel keeps for it; ask for less output.",
    )
}
