//! One run of a task: nodes started as their dependencies succeed, at most `max_parallel` at a
//! time, each sent as a bus request by the run's *agent*, a bus client with the caller's
//! principal, so permissions and every service's own rules treat it as the caller.
//!
//! A node succeeds on its reply; a program node (`vm.spawn`, `wasm.run`) on `vm.exit` code 0,
//! with its output kept as `stdout`/`stderr` in its result; an `ai.chat` node on `ai.done`, with
//! the streamed answer as `text` in its result. A failed node skips its dependents
//! while independent nodes go on. A node timeout, the run timeout, `task.cancel` or the kernel's
//! shutdown stops every running node (programs get a `vm.kill` and are waited for a moment) and
//! ends the run. Every state change is a `task.event` to the caller; the run ends with one
//! `task.done` or `task.error` (with `details.run_id`).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use aether_shared::task::{Done, Event, NodeState, RunRecord, RunState, refs};
use aether_shared::vm::Kill;
use aether_shared::{
    BusRequest as _, Envelope, ErrorCode, ErrorPayload, Namespace, Payload, Topic,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::outcome::{self, Outcome};
use super::store::StoredTask;
use crate::bus::{Bus, ClientHandle};
use crate::clock::now_rfc3339;
use crate::guard::{Permissions, Principal};
use crate::services::Services;

/// Frames an agent may have queued before the bus cuts it off.
const AGENT_QUEUE: usize = 16 * 1024;
/// Output kept per program node (`stdout` and `stderr` each).
const OUTPUT_KEPT: usize = 1024 * 1024;
/// How long a stopped program is waited for before the run ends without its exit. The runner
/// ends every program with one `vm.exit` or `vm.error`, but a kill lands only once the module
/// has compiled; this is a safety net, not the normal path.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// A run in flight, as `task.status` and `task.cancel` see it.
pub struct Live {
    pub owner: Principal,
    pub record: Mutex<RunRecord>,
    pub cancel: CancellationToken,
}

/// Everything a run needs.
pub struct RunContext {
    pub bus: Bus,
    pub services: Weak<Services>,
    pub permissions: Arc<Permissions>,
    pub run_id: String,
    pub task: Arc<StoredTask>,
    pub caller_id: String,
    pub principal: Principal,
    pub node_timeout_cap: u64,
    pub run_timeout: Duration,
    pub max_parallel: usize,
    pub live: Arc<Live>,
    /// The kernel's shutdown.
    pub shutdown: CancellationToken,
}

/// How the run ended.
pub enum Ending {
    /// Every node settled; `failed` holds the first node that failed, if any.
    Settled {
        failed: Option<(String, ErrorPayload)>,
    },
    /// Stopped early: `cancelled`, `timeout` (node or run) or the kernel's shutdown.
    Stopped(RunState, ErrorPayload),
}

struct Program {
    pid: Option<u64>,
    stdout: String,
    stderr: String,
}

/// The state of one run while it executes.
struct Runner {
    ctx: RunContext,
    agent: Arc<ClientHandle>,
    index: HashMap<String, usize>,
    dependents: Vec<Vec<usize>>,
    unmet: Vec<usize>,
    state: Vec<NodeState>,
    started: Vec<Option<Instant>>,
    results: Vec<Option<Value>>,
    programs: HashMap<usize, Program>,
    /// The answer so far of each running `ai.chat` node.
    answers: HashMap<usize, String>,
    pids: HashMap<u64, usize>,
    ready: VecDeque<usize>,
    running: usize,
    deadlines: BTreeSet<(Instant, usize)>,
    /// Programs told to stop, waited for until their exit (or the grace deadline).
    stopping: HashMap<usize, Instant>,
    first_failure: Option<(String, ErrorPayload)>,
    stopped: Option<(RunState, ErrorPayload)>,
}

/// Executes the run to its end and returns how it ended. The caller persists the result.
pub async fn execute(ctx: RunContext) -> (Ending, Vec<Option<Value>>) {
    let agent_id = format!("task-{}", ctx.run_id);
    let (handle, mut rx) =
        ClientHandle::agent(agent_id, ctx.principal, ctx.caller_id.clone(), AGENT_QUEUE);
    let agent = Arc::new(handle);
    ctx.bus.attach(Arc::clone(&agent));
    let mut runner = Runner::new(ctx, Arc::clone(&agent));
    let ending = runner.drive(&mut rx).await;
    runner.ctx.bus.detach(agent.id());
    if let Some(services) = runner.ctx.services.upgrade() {
        services.client_gone(agent.id());
    }
    (ending, runner.results)
}

impl Runner {
    fn new(ctx: RunContext, agent: Arc<ClientHandle>) -> Runner {
        let nodes = &ctx.task.nodes;
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        let mut dependents = vec![Vec::new(); nodes.len()];
        let mut unmet = vec![0; nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            for dep in &node.after {
                dependents[index[dep]].push(i);
            }
            unmet[i] = node.after.len();
        }
        let ready = (0..nodes.len()).filter(|&i| unmet[i] == 0).collect();
        Runner {
            agent,
            index,
            dependents,
            unmet,
            state: vec![NodeState::Pending; nodes.len()],
            started: vec![None; nodes.len()],
            results: vec![None; nodes.len()],
            programs: HashMap::new(),
            answers: HashMap::new(),
            pids: HashMap::new(),
            ready,
            running: 0,
            deadlines: BTreeSet::new(),
            stopping: HashMap::new(),
            first_failure: None,
            stopped: None,
            ctx,
        }
    }

    async fn drive(&mut self, rx: &mut mpsc::Receiver<crate::bus::Queued>) -> Ending {
        let run_deadline = tokio::time::Instant::now() + self.ctx.run_timeout;
        let cancel = self.ctx.live.cancel.clone();
        let shutdown = self.ctx.shutdown.clone();
        loop {
            while self.stopped.is_none() && self.running < self.ctx.max_parallel {
                let Some(i) = self.ready.pop_front() else {
                    break;
                };
                self.start(i);
            }
            if self.running == 0
                && self.stopping.is_empty()
                && (self.ready.is_empty() || self.stopped.is_some())
            {
                break;
            }
            let next = self
                .deadlines
                .first()
                .map(|&(t, _)| t)
                .into_iter()
                .chain(self.stopping.values().copied())
                .min();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            let open = self.stopped.is_none();
            tokio::select! {
                biased;
                _ = shutdown.cancelled(), if open => {
                    self.stop_all(RunState::Interrupted, ErrorPayload::new(
                        ErrorCode::Cancelled,
                        "The kernel is shutting down; run the task again after it restarts.",
                    ).with_detail("interrupted", true), None);
                }
                _ = cancel.cancelled(), if open => {
                    self.stop_all(RunState::Cancelled, ErrorPayload::new(
                        ErrorCode::Cancelled,
                        "The run was cancelled.",
                    ), None);
                }
                _ = tokio::time::sleep_until(run_deadline), if open => {
                    let node = self.oldest_running();
                    let ms = self.ctx.run_timeout.as_millis() as u64;
                    let mut error = ErrorPayload::new(
                        ErrorCode::Timeout,
                        format!("The run took longer than its {ms} ms timeout and was stopped."),
                    ).with_detail("timeout_ms", ms);
                    if let Some(node) = &node {
                        error = error.with_detail("node", node.as_str());
                    }
                    self.stop_all(RunState::TimedOut, error, None);
                }
                _ = sleep => self.expire(Instant::now()),
                frame = rx.recv() => match frame {
                    Some(frame) => self.on_frame(&frame),
                    // The bus cut the agent off (it could not keep up): nothing more will arrive.
                    None => self.stop_all(RunState::Failed, ErrorPayload::new(
                        ErrorCode::ResourceExceeded,
                        "The run's nodes produced messages faster than the engine could read them.",
                    ), None),
                },
            }
        }
        // Nodes that never started: skipped after a failure, cancelled when the run stopped.
        let leftover = if self.stopped.is_some() {
            NodeState::Cancelled
        } else {
            NodeState::Skipped
        };
        for i in 0..self.state.len() {
            if self.state[i] == NodeState::Pending {
                self.set_state(i, leftover, None, None);
            }
        }
        match self.stopped.take() {
            Some((state, error)) => Ending::Stopped(state, error),
            None => Ending::Settled {
                failed: self.first_failure.take(),
            },
        }
    }

    fn node_id(&self, i: usize) -> &str {
        &self.ctx.task.nodes[i].id
    }

    fn is_program(&self, i: usize) -> bool {
        matches!(
            self.ctx.task.nodes[i].topic.as_str(),
            "vm.spawn" | "wasm.run"
        )
    }

    fn is_chat(&self, i: usize) -> bool {
        self.ctx.task.nodes[i].topic.as_str() == aether_shared::ai::Chat::TOPIC
    }

    fn oldest_running(&self) -> Option<String> {
        (0..self.state.len())
            .filter(|&i| self.state[i] == NodeState::Running)
            .min_by_key(|&i| self.started[i])
            .map(|i| self.node_id(i).to_owned())
    }

    /// Sends node `i`'s request.
    fn start(&mut self, i: usize) {
        let node = &self.ctx.task.nodes[i];
        let payload = {
            let results = &self.results;
            let index = &self.index;
            let lookup = |id: &str| index.get(id).and_then(|&j| results[j].as_ref());
            refs::resolve(&node.payload, &lookup)
        };
        let mut payload = match payload {
            Ok(p) => p,
            Err(e) => {
                let error = ErrorPayload::new(ErrorCode::BadRequest, e.to_string());
                self.fail(i, error, None);
                return;
            }
        };
        if !self.ctx.principal.is_admin() && !self.ctx.permissions.allows(&node.topic) {
            let error = ErrorPayload::new(
                ErrorCode::PermissionDenied,
                format!(
                    "The kernel's permission rules do not allow `{}` for this caller.",
                    node.topic
                ),
            );
            self.fail(i, error, None);
            return;
        }
        let Some(services) = self.ctx.services.upgrade() else {
            let error = ErrorPayload::new(ErrorCode::Cancelled, "The kernel is shutting down.");
            self.fail(i, error, None);
            return;
        };
        payload.insert(
            aether_shared::envelope::REQUEST_ID_FIELD.to_owned(),
            Value::String(outcome::node_request_id(i)),
        );
        let mut env = Envelope::new(node.topic.clone());
        env.payload = Some(payload);
        env.from = Some(self.agent.id().to_owned());
        env.time = now_rfc3339();
        let timeout = node
            .timeout_ms
            .unwrap_or(self.ctx.node_timeout_cap)
            .min(self.ctx.node_timeout_cap);
        let now = Instant::now();
        self.deadlines
            .insert((now + Duration::from_millis(timeout), i));
        self.started[i] = Some(now);
        self.running += 1;
        if self.is_chat(i) {
            self.answers.insert(i, String::new());
        }
        if self.is_program(i) {
            self.programs.insert(
                i,
                Program {
                    pid: None,
                    stdout: String::new(),
                    stderr: String::new(),
                },
            );
        }
        self.set_state(i, NodeState::Running, None, None);
        services.dispatch(&self.agent, env);
    }

    fn on_frame(&mut self, frame: &str) {
        let Ok(env) = Envelope::from_json(frame) else {
            return;
        };
        let programs = &self.programs;
        match outcome::read(env, |i| programs.contains_key(&i)) {
            Outcome::Reply { index, payload } => {
                // An `ai.chat` is acknowledged first; its answer ends with `ai.done`.
                if self.state.get(index) == Some(&NodeState::Running) && !self.is_chat(index) {
                    self.succeed(index, Value::Object(payload));
                }
            }
            Outcome::AiChunk { index, delta } => {
                if let Some(text) = self.answers.get_mut(&index) {
                    text.push_str(&delta);
                }
            }
            Outcome::AiDone { index, mut payload } => {
                if self.state.get(index) == Some(&NodeState::Running) {
                    let text = self.answers.remove(&index).unwrap_or_default();
                    payload.insert("text".into(), Value::String(text));
                    self.succeed(index, Value::Object(payload));
                }
            }
            Outcome::Spawned { index, pid } => {
                self.pids.insert(pid, index);
                if let Some(p) = self.programs.get_mut(&index) {
                    p.pid = Some(pid);
                }
                if self.stopping.contains_key(&index) {
                    self.kill(index);
                }
            }
            Outcome::Error { index, error } => {
                if self.stopping.remove(&index).is_some() {
                    return;
                }
                if self.state.get(index) == Some(&NodeState::Running) {
                    let result = self.program_result(index, None);
                    self.fail(index, error, result);
                }
            }
            Outcome::Output { pid, stderr, data } => {
                if let Some(p) = self.pids.get(&pid).and_then(|i| self.programs.get_mut(i)) {
                    let kept = if stderr { &mut p.stderr } else { &mut p.stdout };
                    let room = OUTPUT_KEPT.saturating_sub(kept.len());
                    if room > 0 {
                        let mut cut = data.len().min(room);
                        while !data.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        kept.push_str(&data[..cut]);
                    }
                }
            }
            Outcome::Exit(exit) => {
                let Some(&index) = self.pids.get(&exit.pid) else {
                    return;
                };
                if self.stopping.remove(&index).is_some() {
                    return;
                }
                if self.state[index] != NodeState::Running {
                    return;
                }
                let result = self.program_result(index, Some(&exit));
                if exit.code == 0 {
                    self.succeed(index, result.unwrap_or(Value::Null));
                } else {
                    let error = ErrorPayload::new(
                        ErrorCode::Internal,
                        format!("The program exited with code {}.", exit.code),
                    )
                    .with_detail("exit_code", exit.code);
                    self.fail(index, error, result);
                }
            }
            Outcome::Ignored => {}
        }
    }

    /// A program node's result: `{pid, code, duration_ms, stats, stdout, stderr}`.
    fn program_result(&self, i: usize, exit: Option<&aether_shared::vm::Exit>) -> Option<Value> {
        let p = self.programs.get(&i)?;
        let mut result = json!({"pid": p.pid, "stdout": p.stdout, "stderr": p.stderr});
        if let Some(exit) = exit {
            result["code"] = json!(exit.code);
            result["duration_ms"] = json!(exit.duration_ms);
            result["stats"] = serde_json::to_value(&exit.stats).unwrap_or_default();
        }
        Some(result)
    }

    fn succeed(&mut self, i: usize, result: Value) {
        self.finish_running(i);
        self.results[i] = Some(result.clone());
        let payload = match result {
            Value::Object(map) => Some(map),
            _ => None,
        };
        self.set_state(i, NodeState::Succeeded, payload, None);
        for k in 0..self.dependents[i].len() {
            let d = self.dependents[i][k];
            self.unmet[d] -= 1;
            if self.unmet[d] == 0 && self.state[d] == NodeState::Pending {
                self.ready.push_back(d);
            }
        }
    }

    fn fail(&mut self, i: usize, error: ErrorPayload, result: Option<Value>) {
        self.finish_running(i);
        if self.first_failure.is_none() {
            self.first_failure = Some((self.node_id(i).to_owned(), error.clone()));
        }
        let result = result.and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        });
        self.set_state(i, NodeState::Failed, result, Some(error));
        // Everything downstream can no longer run.
        let mut stack = self.dependents[i].clone();
        let because = self.node_id(i).to_owned();
        while let Some(d) = stack.pop() {
            if self.state[d] == NodeState::Pending {
                let why = ErrorPayload::new(
                    ErrorCode::Cancelled,
                    format!("Skipped because `{because}` failed."),
                )
                .with_detail("node", because.as_str());
                self.set_state(d, NodeState::Skipped, None, Some(why));
                stack.extend(self.dependents[d].iter().copied());
            }
        }
    }

    fn finish_running(&mut self, i: usize) {
        if self.state[i] == NodeState::Running {
            self.running -= 1;
            self.deadlines.retain(|&(_, j)| j != i);
        }
    }

    /// Handles node deadlines and stop graces that have passed.
    fn expire(&mut self, now: Instant) {
        self.stopping.retain(|_, &mut until| until > now);
        let Some(&(when, i)) = self.deadlines.first() else {
            return;
        };
        if when > now {
            return;
        }
        let ms = self.ctx.task.nodes[i]
            .timeout_ms
            .unwrap_or(self.ctx.node_timeout_cap)
            .min(self.ctx.node_timeout_cap);
        let node = self.node_id(i).to_owned();
        let error = ErrorPayload::new(
            ErrorCode::Timeout,
            format!("Node `{node}` took longer than its {ms} ms timeout; the run was stopped."),
        )
        .with_detail("node", node.as_str())
        .with_detail("timeout_ms", ms);
        self.stop_all(RunState::TimedOut, error, Some(i));
    }

    /// Stops the run: every running node ends (`timed_out` for `culprit`, else `cancelled`).
    fn stop_all(&mut self, state: RunState, error: ErrorPayload, culprit: Option<usize>) {
        if self.stopped.is_some() {
            return;
        }
        let running: Vec<usize> = (0..self.state.len())
            .filter(|&i| self.state[i] == NodeState::Running)
            .collect();
        for i in running {
            self.finish_running(i);
            let node_state = if Some(i) == culprit {
                NodeState::TimedOut
            } else if state == RunState::Interrupted {
                NodeState::Interrupted
            } else {
                NodeState::Cancelled
            };
            if self.is_chat(i) {
                self.cancel_chat(i);
            }
            if self.is_program(i) {
                // At shutdown the runner is going away too: nothing to wait for.
                if state != RunState::Interrupted {
                    self.stopping.insert(i, Instant::now() + STOP_GRACE);
                }
                self.kill(i);
            }
            let result = self.program_result(i, None).and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            });
            self.set_state(i, node_state, result, Some(error.clone()));
        }
        self.stopped = Some((state, error));
    }

    /// Sends `ai.cancel` for node `i`'s answer, so the provider's request is dropped.
    fn cancel_chat(&mut self, i: usize) {
        let Some(services) = self.ctx.services.upgrade() else {
            return;
        };
        let cancel = aether_shared::ai::Cancel {
            request_id: outcome::node_request_id(i),
        };
        let mut env = Envelope::request(&cancel, &outcome::kill_request_id(i));
        env.from = Some(self.agent.id().to_owned());
        env.time = now_rfc3339();
        services.dispatch(&self.agent, env);
    }

    /// Sends `vm.kill` for node `i`'s program once its pid is known.
    fn kill(&mut self, i: usize) {
        let Some(pid) = self.programs.get(&i).and_then(|p| p.pid) else {
            return;
        };
        let Some(services) = self.ctx.services.upgrade() else {
            return;
        };
        let mut env = Envelope::request(&Kill { pid }, &outcome::kill_request_id(i));
        env.from = Some(self.agent.id().to_owned());
        env.time = now_rfc3339();
        services.dispatch(&self.agent, env);
    }

    /// Records node `i`'s new state and tells the caller.
    fn set_state(
        &mut self,
        i: usize,
        state: NodeState,
        result: Option<Payload>,
        error: Option<ErrorPayload>,
    ) {
        self.state[i] = state;
        let duration_ms = state
            .is_settled()
            .then(|| self.started[i].map(|t| t.elapsed().as_millis() as u64))
            .flatten();
        {
            let mut record = self.ctx.live.record.lock().expect("run record lock");
            let node = &mut record.nodes[i];
            node.state = state;
            node.duration_ms = duration_ms;
            node.result.clone_from(&result);
            node.error.clone_from(&error);
        }
        let event = Event {
            run_id: self.ctx.run_id.clone(),
            node: self.node_id(i).to_owned(),
            state,
            duration_ms,
            result,
            error,
        };
        let env = Envelope::new(Topic::from_static("task.event"))
            .with_payload(&event)
            .to(self.ctx.caller_id.as_str());
        // The caller may have left; the run goes on and its history keeps the outcome.
        let _ = self.ctx.bus.publish_from_kernel(env);
    }
}

/// Tells the caller how the run ended: `task.done` with every node's result, or `task.error`.
pub fn announce(
    bus: &Bus,
    caller_id: &str,
    run_id: &str,
    task: &StoredTask,
    ending: &Ending,
    results: &[Option<Value>],
) {
    let env = match ending {
        Ending::Settled { failed: None } => {
            let results = task
                .nodes
                .iter()
                .zip(results)
                .map(|(n, r)| {
                    let value = match r {
                        Some(Value::Object(map)) => map.clone(),
                        Some(other) => {
                            let mut map = Payload::new();
                            map.insert("value".into(), other.clone());
                            map
                        }
                        None => Payload::new(),
                    };
                    (n.id.clone(), value)
                })
                .collect();
            Envelope::new(Topic::from_static("task.done")).with_payload(&Done {
                run_id: run_id.to_owned(),
                results,
            })
        }
        Ending::Settled {
            failed: Some((node, error)),
        } => {
            let error =
                ErrorPayload::new(error.code, format!("Node `{node}` failed: {}", error.error))
                    .with_detail("node", node.as_str())
                    .with_detail("run_id", run_id);
            Envelope::new(Namespace::Task.error_topic()).with_payload(&error)
        }
        Ending::Stopped(_, error) => {
            let error = error.clone().with_detail("run_id", run_id);
            Envelope::new(Namespace::Task.error_topic()).with_payload(&error)
        }
    };
    let _ = bus.publish_from_kernel(env.to(caller_id));
}

/// The run's state from how it ended.
pub fn final_state(ending: &Ending) -> (RunState, Option<ErrorPayload>) {
    match ending {
        Ending::Settled { failed: None } => (RunState::Succeeded, None),
        Ending::Settled {
            failed: Some((node, error)),
        } => (
            RunState::Failed,
            Some(error.clone().with_detail("node", node.as_str())),
        ),
        Ending::Stopped(state, error) => (*state, Some(error.clone())),
    }
}
