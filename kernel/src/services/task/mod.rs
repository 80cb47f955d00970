//! The `task.*` service: task graphs defined, run, watched, cancelled, and kept across restarts.
//!
//! `task.parse` reads YAML or JSON text into a definition. `task.define` checks the graph (ids, dependencies, cycles, `${…}` references, which topics
//! may be nodes, the caller's permissions for every node) and stores it. `task.run` starts an
//! [`engine`] run and acknowledges its id; `task.cancel` stops it; `task.status` and `task.list`
//! read live runs and the [`store`]d history. Tasks and runs belong to the principal that made
//! them (admin sees all). The store opens on the first `task.*` request.
//!
//! Caps: a definition is at most `task.max_definition_bytes` and each principal keeps its newest
//! `task.max_definitions`; results are kept and sent within the caps of [`fit`]; a run ends
//! (`cancelled`) when the client that started it leaves, unless its definition says
//! `keep_on_disconnect`. Run ids carry 128 random bits: a run's agent is addressed by it.

mod definition;
mod ending;
mod engine;
mod fit;
mod live;
mod outcome;
mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use aether_shared::catalog::{TopicKind, classify};
use aether_shared::task::{
    Cancel, Cancelling, Define, Defined, List, Parse, RunSummary, Started, Status, TaskList, graph,
    refs,
};
use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload, Namespace};

use self::engine::RunContext;
use self::live::Live;
use self::store::{Store, StoredRun, StoredTask};
use super::{Services, decode};
use crate::bus::{Bus, ClientHandle};
use crate::clock::now_rfc3339;
use crate::config::{Config, TaskLimits};
use crate::guard::audit;
use crate::guard::{Guards, Principal};
use tokio_util::sync::CancellationToken;

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
    /// The guardrails: a definition's nodes are checked against their permission rules.
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
        let this = self.clone();
        let client = Arc::clone(client);
        match env.topic.as_str() {
            Define::TOPIC => {
                if let Some(req) = decode::<Define>(bus, &env) {
                    tokio::spawn(async move { this.define(&client, env, req).await });
                }
            }
            aether_shared::task::Run::TOPIC => {
                if let Some(req) = decode::<aether_shared::task::Run>(bus, &env) {
                    tokio::spawn(async move { this.run(&client, env, req.task_id).await });
                }
            }
            Cancel::TOPIC => {
                if let Some(req) = decode::<Cancel>(bus, &env) {
                    tokio::spawn(async move { this.cancel(&client, env, req.run_id).await });
                }
            }
            Status::TOPIC => {
                if let Some(req) = decode::<Status>(bus, &env) {
                    tokio::spawn(async move { this.status(&client, env, req.run_id).await });
                }
            }
            Parse::TOPIC => {
                if let Some(req) = decode::<Parse>(bus, &env) {
                    match definition::parse(&req.text) {
                        Ok(define) => bus.reply::<Parse>(&env, &define),
                        Err(text) => {
                            bus.emit_error(&env, ErrorPayload::new(ErrorCode::BadRequest, text))
                        }
                    }
                }
            }
            List::TOPIC => {
                if decode::<List>(bus, &env).is_some() {
                    tokio::spawn(async move { this.list(&client, env).await });
                }
            }
            _ => super::unknown(bus, &env),
        }
    }

    /// Runs `f` on the store on a blocking thread, opening the store first if needed. A store
    /// that cannot open answers `backend_unavailable`.
    async fn with_store<T: Send + 'static>(
        &self,
        env: &Envelope,
        f: impl FnOnce(&Store) -> Result<T, store::StoreError> + Send + 'static,
    ) -> Option<T> {
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
            Ok(Ok(value)) => return Some(value),
            Ok(Err(text)) => text,
            Err(join) => format!("the task store thread failed: {join}"),
        };
        tracing::error!("task store: {text}");
        self.inner.bus.emit_error(
            env,
            ErrorPayload::new(
                ErrorCode::BackendUnavailable,
                format!("Task history is unavailable: {text}. Check the kernel's data_dir."),
            ),
        );
        None
    }

    async fn define(&self, client: &Arc<ClientHandle>, env: Envelope, req: Define) {
        let bus = &self.inner.bus;
        if let Err(error) = self.check_definition(client, &env, &req) {
            bus.emit_error(&env, error);
            return;
        }
        let task = StoredTask {
            task_id: fresh_id("t"),
            name: req.name,
            nodes: req.nodes,
            timeout_ms: req.timeout_ms,
            keep_on_disconnect: req.keep_on_disconnect,
            owner: client.principal().as_str().to_owned(),
            defined: now_rfc3339(),
        };
        let task_id = task.task_id.clone();
        let kept = self.inner.limits.max_definitions.get() as usize;
        if self
            .with_store(&env, move |store| store.put_task(&task, kept))
            .await
            .is_some()
        {
            bus.reply::<Define>(&env, &Defined { task_id });
        }
    }

    /// Everything `task.define` refuses, as the error to answer.
    fn check_definition(
        &self,
        client: &Arc<ClientHandle>,
        env: &Envelope,
        req: &Define,
    ) -> Result<(), ErrorPayload> {
        let bad = |text: String| ErrorPayload::new(ErrorCode::BadRequest, text);
        if req.name.trim().is_empty() || req.name.len() > 128 {
            return Err(bad("Give the task a name of 1 to 128 characters.".into()));
        }
        let max_bytes = self.inner.limits.max_definition_bytes.get();
        let bytes = fit::json_len(req);
        if bytes > max_bytes {
            return Err(ErrorPayload::new(
                ErrorCode::ResourceExceeded,
                format!(
                    "The definition is {bytes} bytes; this kernel keeps definitions of at most {max_bytes} (task.max_definition_bytes). Load large modules by path instead of inlining them."
                ),
            )
            .with_detail("limit", "max_definition_bytes")
            .with_detail("value", max_bytes as u64));
        }
        let max = self.inner.limits.max_nodes.get() as usize;
        if req.nodes.len() > max {
            return Err(ErrorPayload::new(
                ErrorCode::ResourceExceeded,
                format!(
                    "The task has {} nodes; this kernel allows at most {max} (task.max_nodes).",
                    req.nodes.len()
                ),
            )
            .with_detail("limit", "max_nodes")
            .with_detail("value", max as u64));
        }
        graph::check(&req.nodes).map_err(|e| bad(e.to_string()))?;
        refs::check(&req.nodes).map_err(|e| bad(e.to_string()))?;
        for node in &req.nodes {
            let topic = &node.topic;
            // Requests of the services a run can use on the caller's behalf; not `task.*` (no
            // runs inside runs), `bus.*` (the agent's subscriptions are nobody's) or the tab-only
            // `vfs:` and `compute:` namespaces.
            let nestable = matches!(classify(topic), Some(TopicKind::Request(_)))
                && matches!(
                    topic.namespace(),
                    Namespace::Kernel | Namespace::Vm | Namespace::Wasm | Namespace::Ai
                );
            if !nestable {
                return Err(bad(format!(
                    "Node `{}`: `{topic}` cannot be a node; a node is a request of kernel.*, vm.*, wasm.* or ai.*.",
                    node.id
                )));
            }
            let principal = client.principal();
            if let Err(refusal) = self.inner.guards.permits(principal, topic) {
                let text = format!("Node `{}`: {}", node.id, refusal.error.error);
                audit::refused(
                    self.inner.bus.stats(),
                    refusal.reason,
                    Some(client.id()),
                    principal.as_str(),
                    Some(env.topic.as_str()),
                    &text,
                );
                return Err(ErrorPayload::new(ErrorCode::PermissionDenied, text)
                    .with_detail("node", node.id.as_str())
                    .with_detail("topic", topic.as_str()));
            }
        }
        Ok(())
    }

    async fn run(&self, client: &Arc<ClientHandle>, env: Envelope, task_id: String) {
        let inner = &self.inner;
        let wanted = task_id.clone();
        let Some(task) = self
            .with_store(&env, move |store| store.task(&wanted))
            .await
        else {
            return;
        };
        let Some(task) = task.filter(|t| may_see(client.principal(), &t.owner)) else {
            inner.bus.emit_error(
                &env,
                ErrorPayload::new(
                    ErrorCode::NotFound,
                    format!("There is no task `{task_id}`; define it with task.define first."),
                ),
            );
            return;
        };
        let run_id = fresh_id("r");
        let live = {
            let mut live = inner.live.lock().expect("live runs lock");
            let max = inner.limits.max_runs.get() as usize;
            if live.len() >= max {
                drop(live);
                inner.bus.emit_error(
                    &env,
                    ErrorPayload::new(
                        ErrorCode::ResourceExceeded,
                        format!("{max} task runs are in flight (task.max_runs); wait for one to end or cancel one."),
                    )
                    .with_detail("limit", "max_runs")
                    .with_detail("value", max as u64),
                );
                return;
            }
            let run = Arc::new(Live::new(
                client.principal(),
                client.id().to_owned(),
                task.keep_on_disconnect,
                store::fresh_record(&run_id, &task, now_rfc3339()),
            ));
            live.insert(run_id.clone(), Arc::clone(&run));
            run
        };
        // A caller that left while the task was looked up is gone for good.
        if !task.keep_on_disconnect && !inner.bus.is_connected(client.id()) {
            live.cancel_because(caller_left());
        }
        let first = StoredRun {
            owner: task.owner.clone(),
            record: live.record.lock().expect("run record lock").clone(),
        };
        if self
            .with_store(&env, move |store| store.put_run(&first))
            .await
            .is_none()
        {
            inner.live.lock().expect("live runs lock").remove(&run_id);
            return;
        }
        inner.bus.reply::<aether_shared::task::Run>(
            &env,
            &Started {
                run_id: run_id.clone(),
            },
        );

        let limits = &inner.limits;
        let configured = limits.run_timeout_ms.get();
        let run_ms = task
            .timeout_ms
            .map_or(configured, |asked| asked.min(configured));
        let ctx = RunContext {
            bus: inner.bus.clone(),
            services: inner.services.clone(),
            run_id: run_id.clone(),
            task: Arc::new(task),
            caller_id: client.id().to_owned(),
            principal: client.principal(),
            node_timeout_cap: limits.node_timeout_ms.get(),
            run_timeout: Duration::from_millis(run_ms),
            max_parallel: limits.max_parallel.get() as usize,
            max_frame_bytes: inner.max_frame_bytes,
            max_result_bytes: limits.max_result_bytes.get(),
            max_run_result_bytes: limits.max_run_result_bytes.get(),
            live: Arc::clone(&live),
            shutdown: inner.shutdown.clone(),
        };
        let this = self.clone();
        let span = tracing::info_span!("task_run", run_id = %run_id, task = %ctx.task.name);
        tokio::spawn(tracing::Instrument::instrument(
            async move { this.finish(ctx, env).await },
            span,
        ));
    }

    /// Executes a run, then records and announces how it ended.
    async fn finish(&self, ctx: RunContext, env: Envelope) {
        let started = Instant::now();
        let (bus, caller, run_id, task, live) = (
            ctx.bus.clone(),
            ctx.caller_id.clone(),
            ctx.run_id.clone(),
            Arc::clone(&ctx.task),
            Arc::clone(&ctx.live),
        );
        let (ending, kept) = engine::execute(ctx).await;
        let (state, error) = ending::final_state(&ending);
        let record = {
            let mut record = live.record.lock().expect("run record lock");
            record.state = state;
            record.error = error.map(|e| e.with_detail("run_id", run_id.as_str()));
            record.ended = Some(now_rfc3339());
            record.duration_ms = Some(started.elapsed().as_millis() as u64);
            record.clone()
        };
        tracing::info!(state = ?state, duration_ms = record.duration_ms, "task run ended");
        let max_frame = self.inner.max_frame_bytes;
        ending::announce(&bus, &caller, &run_id, &task, &ending, &kept, max_frame);
        let stored = StoredRun {
            owner: task.owner.clone(),
            record,
        };
        let _ = self
            .with_store(&env, move |store| store.put_run(&stored))
            .await;
        self.inner
            .live
            .lock()
            .expect("live runs lock")
            .remove(&run_id);
    }

    /// The run in flight with this id, if the client may see it.
    fn live_run(&self, client: &ClientHandle, run_id: &str) -> Option<Arc<Live>> {
        let live = self.inner.live.lock().expect("live runs lock");
        live.get(run_id)
            .filter(|run| may_see(client.principal(), run.owner.as_str()))
            .cloned()
    }

    /// The stored run with this id, if the client may see it (`None` after answering when the
    /// store failed).
    async fn stored_run(
        &self,
        client: &ClientHandle,
        env: &Envelope,
        run_id: &str,
    ) -> Option<Option<StoredRun>> {
        let wanted = run_id.to_owned();
        let stored = self.with_store(env, move |s| s.run(&wanted)).await?;
        Some(stored.filter(|r| may_see(client.principal(), &r.owner)))
    }

    async fn cancel(&self, client: &Arc<ClientHandle>, env: Envelope, run_id: String) {
        if let Some(run) = self.live_run(client, &run_id) {
            run.cancel.cancel();
            self.inner.bus.reply::<Cancel>(&env, &Cancelling {});
            return;
        }
        let Some(stored) = self.stored_run(client, &env, &run_id).await else {
            return;
        };
        let error = match stored {
            Some(r) => ErrorPayload::new(
                ErrorCode::Conflict,
                format!("Run `{run_id}` has already ended ({:?}).", r.record.state),
            ),
            None => not_found_run(&run_id),
        };
        self.inner.bus.emit_error(&env, error);
    }

    async fn status(&self, client: &Arc<ClientHandle>, env: Envelope, run_id: String) {
        let room = fit::frame_room(self.inner.max_frame_bytes, env.request_id());
        if let Some(run) = self.live_run(client, &run_id) {
            let mut record = run.record.lock().expect("run record lock").clone();
            fit::record(&mut record, room);
            self.inner.bus.reply::<Status>(&env, &record);
            return;
        }
        match self.stored_run(client, &env, &run_id).await {
            Some(Some(mut run)) => {
                fit::record(&mut run.record, room);
                self.inner.bus.reply::<Status>(&env, &run.record)
            }
            Some(None) => self.inner.bus.emit_error(&env, not_found_run(&run_id)),
            None => {}
        }
    }

    async fn list(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let principal = client.principal();
        let owner = (!principal.is_admin()).then(|| principal.as_str().to_owned());
        let Some((tasks, runs)) = self
            .with_store(&env, move |s| s.list(owner.as_deref(), LISTED_RUNS))
            .await
        else {
            return;
        };
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
        let room = fit::frame_room(self.inner.max_frame_bytes, env.request_id());
        fit::list(&mut list, room);
        self.inner.bus.reply::<List>(&env, &list);
    }

    /// Cancels the runs `client_id` started, except those whose definition keeps them.
    pub fn client_gone(&self, client_id: &str) {
        let live = self.inner.live.lock().expect("live runs lock");
        for run in live.values() {
            if run.caller_id == client_id && !run.keep_on_disconnect {
                run.cancel_because(caller_left());
            }
        }
    }
}

/// Why a run ends when its caller leaves.
fn caller_left() -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::Cancelled,
        "The client that started the run disconnected, so the run was cancelled; set `keep_on_disconnect: true` in the definition to keep its runs going.",
    )
    .with_detail("reason", "caller_left")
}

fn not_found_run(run_id: &str) -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::NotFound,
        format!("There is no run `{run_id}`; see task.list for your runs."),
    )
}

/// True when `principal` may run or read what `owner` made.
fn may_see(principal: Principal, owner: &str) -> bool {
    principal.is_admin() || principal.as_str() == owner
}

/// A fresh id that sorts by creation time and cannot be guessed:
/// `<prefix>-<ms since 1970, hex>-<128 random bits, hex>`.
fn fresh_id(prefix: &str) -> String {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    format!("{prefix}-{ms:012x}-{:032x}", rand::random::<u128>())
}
