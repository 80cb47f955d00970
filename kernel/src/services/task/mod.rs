//! The `task.*` service: task graphs defined, run, watched, cancelled, and kept across restarts.
//!
//! `task.parse` reads YAML or JSON text into a definition ([`definition`]). `task.define` checks
//! the graph and stores it ([`define`]). `task.run` starts an [`engine`] run and acknowledges its
//! id ([`launch`]); `task.cancel` stops it; `task.status` and `task.list` read live runs and the
//! [`store`]d history. Tasks and runs belong to the principal that made them (admin sees all).
//! The store opens on the first `task.*` request. Every handler answers with its reply or a
//! [`TaskError`](error::TaskError), which knows its code and sentence.
//!
//! Caps: a definition is at most `task.max_definition_bytes` and each principal keeps its newest
//! `task.max_definitions`; results are kept and sent within the caps of [`fit`]; a run ends
//! (`cancelled`) when the client that started it leaves, unless its definition says
//! `keep_on_disconnect`. Run ids carry 128 random bits: a run's agent is addressed by it.

mod define;
mod definition;
mod ending;
mod engine;
mod error;
mod fit;
mod launch;
mod live;
mod outcome;
mod store;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

use aether_shared::task::{
    Cancel, Cancelling, Define, List, Parse, Run, RunRecord, RunSummary, Status, TaskList,
};
use aether_shared::{BusRequest, Envelope};
use tokio_util::sync::CancellationToken;

use self::error::TaskError;
use self::live::Live;
use self::store::{Store, StoredRun, StoredTask};
use super::Services;
use super::request::{self, Answer, refuse, serve, unknown};
use crate::bus::{Bus, ClientHandle};
use crate::config::{Config, TaskLimits};
use crate::guard::{Guards, Principal};

/// Runs listed by `task.list`.
const LISTED_RUNS: usize = 50;

/// The task service. Cheap to clone.
#[derive(Clone)]
pub struct TaskService {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Bus,
    services: Weak<Services>,
    /// The guardrails: a definition's nodes are checked against their rules.
    guards: Arc<Guards>,
    limits: TaskLimits,
    /// The kernel's frame cap: every `task.*` message fits in it.
    max_frame_bytes: usize,
    data_dir: Option<PathBuf>,
    store: OnceLock<Result<Arc<Store>, String>>,
    live: Mutex<HashMap<String, Arc<Live>>>,
    shutdown: CancellationToken,
}

impl TaskService {
    pub fn new(
        bus: Bus,
        services: Weak<Services>,
        guards: Arc<Guards>,
        config: &Config,
        shutdown: CancellationToken,
    ) -> TaskService {
        TaskService {
            inner: Arc::new(Inner {
                bus,
                services,
                guards,
                limits: config.task.clone(),
                max_frame_bytes: config.limits.max_frame_bytes.get(),
                data_dir: config.data_dir(),
                store: OnceLock::new(),
                live: Mutex::new(HashMap::new()),
                shutdown,
            }),
        }
    }

    /// Handles a `task.*` request from `client`.
    pub fn handle(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let bus = &self.inner.bus;
        match env.topic.as_str() {
            Parse::TOPIC => serve::<Parse, _, _>(bus, env, |req, _| {
                definition::parse(&req.text).map_err(TaskError::from)
            }),
            Define::TOPIC => {
                self.serve_async(client, env, |this, client, req: Define, _| async move {
                    this.define(&client, req).await
                })
            }
            Run::TOPIC => self.run(client, env),
            Cancel::TOPIC => {
                self.serve_async(client, env, |this, client, req: Cancel, _| async move {
                    this.cancel(&client, req.run_id).await
                })
            }
            Status::TOPIC => {
                self.serve_async(client, env, |this, client, req: Status, room| async move {
                    this.status(&client, req.run_id, room).await
                })
            }
            List::TOPIC => {
                self.serve_async(client, env, |this, client, _: List, room| async move {
                    this.list(&client, room).await
                })
            }
            _ => unknown(bus, &env),
        }
    }

    /// Serves `R` with an async handler on a task of its own: the payload decoded (a bad one is
    /// `bad_request`), the handler given the service, the caller, the request and the bytes its
    /// reply may take in one frame, and the request answered with what it returns.
    fn serve_async<R, F, Fut>(&self, client: &Arc<ClientHandle>, env: Envelope, handler: F)
    where
        R: BusRequest + Send + 'static,
        F: FnOnce(TaskService, Arc<ClientHandle>, R, usize) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R::Reply, TaskError>> + Send + 'static,
    {
        let this = self.clone();
        let client = Arc::clone(client);
        let bus = self.inner.bus.clone();
        request::serve_async::<R, TaskError, _>(&bus, env, move |req, env| {
            let room = fit::frame_room(this.inner.max_frame_bytes, env.request_id());
            handler(this, client, req, room)
        });
    }

    /// `task.run`: acknowledged with the run id, then the run executes and ends with one
    /// `task.done` or `task.error` (see [`launch`]).
    fn run(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let this = self.clone();
        let client = Arc::clone(client);
        serve::<Run, Answer<_>, TaskError>(&self.inner.bus, env, move |req, _| {
            Ok(Answer::Later(Box::new(move |env: Envelope| {
                tokio::spawn(async move {
                    let bus = this.inner.bus.clone();
                    let (started, ctx) = match this.launch(&client, req.task_id).await {
                        Ok(launched) => launched,
                        Err(e) => return refuse(&bus, &env, &e),
                    };
                    bus.reply::<Run>(&env, &started);
                    let span = tracing::info_span!("task_run", run_id = %started.run_id, task = %ctx.task.name);
                    tokio::spawn(tracing::Instrument::instrument(
                        async move { this.finish(ctx, env).await },
                        span,
                    ));
                });
            })))
        });
    }

    /// Runs `f` on the store on a blocking thread, opening the store first if needed. A store
    /// that cannot open is [`TaskError::StoreUnavailable`].
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, store::StoreError> + Send + 'static,
    ) -> Result<T, TaskError> {
        let inner = Arc::clone(&self.inner);
        let outcome = tokio::task::spawn_blocking(move || {
            let store = inner.store.get_or_init(|| {
                let opened = match &inner.data_dir {
                    Some(dir) => Store::open(dir),
                    None => Store::in_memory(),
                };
                opened.map(Arc::new).map_err(|e| e.to_string())
            });
            match store {
                Ok(store) => f(store).map_err(|e| e.to_string()),
                Err(e) => Err(format!("the task store cannot open ({e})")),
            }
        })
        .await;
        let text = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(text)) => text,
            Err(join) => format!("the task store thread failed: {join}"),
        };
        tracing::error!("task store: {text}");
        Err(TaskError::StoreUnavailable(text))
    }

    /// The run in flight with this id, if the client may see it.
    fn live_run(&self, client: &ClientHandle, run_id: &str) -> Option<Arc<Live>> {
        let live = self.inner.live.lock().expect("live runs lock");
        live.get(run_id)
            .filter(|run| may_see(client.principal(), run.owner.as_str()))
            .cloned()
    }

    /// The stored run with this id, if the client may see it.
    async fn stored_run(
        &self,
        client: &ClientHandle,
        run_id: &str,
    ) -> Result<Option<StoredRun>, TaskError> {
        let wanted = run_id.to_owned();
        let stored = self.with_store(move |s| s.run(&wanted)).await?;
        Ok(stored.filter(|r| may_see(client.principal(), &r.owner)))
    }

    async fn cancel(&self, client: &ClientHandle, run_id: String) -> Result<Cancelling, TaskError> {
        if let Some(run) = self.live_run(client, &run_id) {
            run.cancel.cancel();
            return Ok(Cancelling {});
        }
        Err(match self.stored_run(client, &run_id).await? {
            Some(r) => TaskError::AlreadyEnded {
                run_id,
                state: r.record.state,
            },
            None => TaskError::NoSuchRun(run_id),
        })
    }

    /// A run's record, cut to fit `room` bytes.
    async fn status(
        &self,
        client: &ClientHandle,
        run_id: String,
        room: usize,
    ) -> Result<RunRecord, TaskError> {
        let mut record = match self.live_run(client, &run_id) {
            Some(run) => run.record.lock().expect("run record lock").clone(),
            None => match self.stored_run(client, &run_id).await? {
                Some(run) => run.record,
                None => return Err(TaskError::NoSuchRun(run_id)),
            },
        };
        fit::record(&mut record, room);
        Ok(record)
    }

    /// The caller's tasks and newest runs, the oldest left out when they do not fit `room`.
    async fn list(&self, client: &ClientHandle, room: usize) -> Result<TaskList, TaskError> {
        let principal = client.principal();
        let owner = (!principal.is_admin()).then(|| principal.as_str().to_owned());
        let (tasks, runs) = self
            .with_store(move |s| s.list(owner.as_deref(), LISTED_RUNS))
            .await?;
        let live = self.inner.live.lock().expect("live runs lock");
        let runs = runs
            .iter()
            .map(|r| match live.get(&r.record.run_id) {
                // A live run's stored record is its start; its state is the live one.
                Some(l) => RunSummary::from(&*l.record.lock().expect("run record lock")),
                None => RunSummary::from(&r.record),
            })
            .collect();
        drop(live);
        let mut list = TaskList {
            tasks: tasks.iter().map(StoredTask::summary).collect(),
            runs,
            truncated: false,
        };
        fit::list(&mut list, room);
        Ok(list)
    }

    /// Cancels the runs `client_id` started, except those whose definition keeps them.
    pub fn client_gone(&self, client_id: &str) {
        let live = self.inner.live.lock().expect("live runs lock");
        for run in live.values() {
            if run.caller_id == client_id && !run.keep_on_disconnect {
                run.cancel_because(TaskError::CallerLeft);
            }
        }
    }
}

/// True when `principal` may run or read what `owner` made.
fn may_see(principal: Principal, owner: &str) -> bool {
    principal.is_admin() || principal.as_str() == owner
}

/// A fresh id that sorts by creation time and cannot be guessed:
/// `<prefix>-<ms since 1970, hex>-<128 random bits, hex>`, and in a cluster `@<kernel id>`
/// after it: the kernel that keeps the task or run, where its other kernels send what names it.
fn fresh_id(bus: &Bus, prefix: &str) -> String {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let id = format!("{prefix}-{ms:012x}-{:032x}", rand::random::<u128>());
    match bus.cluster() {
        Some(link) => format!("{id}@{}", link.kernel_id()),
        None => id,
    }
}

/// The kernel of a cluster that keeps the task or run `id` names (see [`fresh_id`]).
pub fn kept_by(id: &str) -> Option<&str> {
    id.rsplit_once('@').map(|(_, kernel)| kernel)
}
