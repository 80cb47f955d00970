//! The agent (`ai.agent.*`): a model that calls tools in the caller's own tab, every call a bus
//! request of the caller through the kernel's one admission path, approved with its full
//! arguments where the policy asks, held to a budget, and undoable.
//!
//! `ai.agent.start` is checked (a goal, a configured provider and model, the client's
//! `max_runs_per_client`), acknowledged with a run id (the time, then 128 random bits), and the
//! [`run`] executes on a task of its own; [`launch`] records and announces how it ended
//! (`ai.agent.done`, or `ai.error` with `details.run_id`). `ai.agent.approve` and
//! `ai.agent.cancel` reach a run of the same client ([`live`]); `ai.agent.list`, `status` and
//! `undo` read the [`store`] (`<data_dir>/agent.redb`), a principal seeing only its own runs
//! (admin all). A client that disconnects cancels its runs.
//!
//! Undo ([`undo`]): a run still going is refused (`bad_request`: cancel it first); a finished
//! run's files are put back byte for byte, or deleted when the run created them, as the caller
//! undoing it, in that caller's own tab; undoing a run again restores nothing (`restored: []`).
//!
//! The parts that need no bus live in their own files: [`budget`] (limits and the meter),
//! [`loop_guard`] (the same failing call again and again ends the run), [`checkpoint`] (what
//! undo puts back), [`prompt`] (what the model reads). The tools of outside MCP servers
//! (`ai.mcp_servers`) are reached through [`mcp_client`], shared by every run.

pub mod budget;
pub(crate) mod caller;
pub mod checkpoint;
mod error;
mod launch;
mod live;
pub mod loop_guard;
pub(crate) mod mcp_client;
pub mod prompt;
mod queries;
mod run;
pub mod store;
pub(crate) mod tools;
mod undo;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::SystemTime;

use aether_shared::agent::{APPROVE, CANCEL, LIST, List, START, STATUS, Status, UNDO, Undo};
use aether_shared::{BusRequest, Envelope};
use tokio_util::sync::CancellationToken;

use self::caller::Seat;
use self::error::AgentError;
use self::live::Live;
use self::mcp_client::OutsideServers;
use self::store::Store;
use super::Services;
use super::ai::provider::Provider;
use super::request::{self, serve, unknown};
use super::sessions::ComputeSessions;
use crate::bus::{Bus, ClientHandle};
use crate::config::{AgentConfig, Config};
use crate::guard::{Guards, Principal};

/// The agent service. Cheap to clone.
#[derive(Clone)]
pub struct AgentService {
    inner: Arc<Inner>,
}

struct Inner {
    seat: Seat,
    provider: Arc<Provider>,
    config: Arc<AgentConfig>,
    max_frame_bytes: usize,
    data_dir: Option<PathBuf>,
    store: OnceLock<Result<Arc<Store>, String>>,
    live: Live,
    /// The outside MCP servers, started on first use and shared by every run.
    outside: Arc<OutsideServers>,
    shutdown: CancellationToken,
}

impl AgentService {
    pub fn new(
        bus: Bus,
        services: Weak<Services>,
        guards: Arc<Guards>,
        compute: Arc<ComputeSessions>,
        provider: Arc<Provider>,
        config: &Config,
        shutdown: CancellationToken,
    ) -> AgentService {
        AgentService {
            inner: Arc::new(Inner {
                seat: Seat {
                    bus,
                    guards,
                    services,
                    compute,
                },
                provider,
                config: Arc::new(config.ai.agent.clone()),
                max_frame_bytes: config.limits.max_frame_bytes.get(),
                data_dir: config.data_dir(),
                store: OnceLock::new(),
                live: Live::default(),
                outside: Arc::new(OutsideServers::new(config, shutdown.clone())),
                shutdown,
            }),
        }
    }

    /// Handles an `ai.agent.*` request from `client`.
    pub fn handle(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let bus = &self.inner.seat.bus;
        match env.topic.as_str() {
            START => self.start(client, env),
            APPROVE => serve(bus, env, |req, _| self.approve(client, req)),
            CANCEL => serve(bus, env, |req, _| self.cancel(client, req)),
            LIST => self.serve_async(client, env, |this, client, _: List| async move {
                this.list(&client).await
            }),
            STATUS => self.serve_async(client, env, |this, client, req: Status| async move {
                this.status(&client, req).await
            }),
            UNDO => self.serve_async(client, env, |this, client, req: Undo| async move {
                this.undo(&client, req).await
            }),
            _ => unknown(bus, &env),
        }
    }

    /// Cancels the runs of a client that left.
    pub fn client_gone(&self, client_id: &str) {
        self.inner.live.client_gone(client_id);
    }

    /// Serves `R` with an async handler on a task of its own.
    fn serve_async<R, F, Fut>(&self, client: &Arc<ClientHandle>, env: Envelope, handler: F)
    where
        R: BusRequest + Send + 'static,
        F: FnOnce(AgentService, Arc<ClientHandle>, R) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R::Reply, AgentError>> + Send + 'static,
    {
        let this = self.clone();
        let client = Arc::clone(client);
        let bus = self.inner.seat.bus.clone();
        request::serve_async::<R, AgentError, _>(&bus, env, move |req, _| {
            handler(this, client, req)
        });
    }

    /// Runs `f` on the store on a blocking thread, opening the store first if needed.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, store::StoreError> + Send + 'static,
    ) -> Result<T, AgentError> {
        let store = self.store().await?;
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(AgentError::Store(e.to_string())),
            Err(e) => Err(AgentError::Store(e.to_string())),
        }
    }

    /// The store, opened on first use (on a blocking thread).
    async fn store(&self) -> Result<Arc<Store>, AgentError> {
        let inner = Arc::clone(&self.inner);
        let opened = tokio::task::spawn_blocking(move || {
            inner
                .store
                .get_or_init(|| {
                    let keep = inner.config.runs_kept.get() as usize;
                    let opened = match &inner.data_dir {
                        Some(dir) => Store::open(dir, keep),
                        None => Store::in_memory(keep),
                    };
                    opened.map(Arc::new).map_err(|e| e.to_string())
                })
                .clone()
        })
        .await
        .map_err(|e| AgentError::Store(e.to_string()))?;
        opened.map_err(|e| {
            tracing::error!("agent store: {e}");
            AgentError::Store(e)
        })
    }
}

/// True when `principal` may read or undo what `owner` ran.
fn may_see(principal: Principal, owner: &str) -> bool {
    principal.is_admin() || principal.as_str() == owner
}

/// A fresh run id that sorts by creation time and cannot be guessed: `a-`, the milliseconds
/// since the epoch (hex), 128 random bits.
fn fresh_id() -> String {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    format!("a-{ms:012x}-{:032x}", rand::random::<u128>())
}
