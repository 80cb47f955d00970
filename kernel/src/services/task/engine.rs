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
//!
//! What the run sends is the caller's: every node passes the guardrails' admission (permissions
//! and the caller's rate limits) as if the caller sent it, and its payload, once its `${…}`
//! references are expanded, may not pass `limits.max_frame_bytes`. What the run receives is the
//! kernel's: the agent accepts only envelopes sent by the kernel itself, so another client that
//! learns the agent's address cannot answer for a node. Results are kept and sent within the
//! caps of [`super::fit`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use aether_shared::task::{Event, NodeState, RunState, refs};
use aether_shared::vm::Kill;
use aether_shared::{
    BusRequest as _, Envelope, ErrorCode, ErrorPayload, KERNEL_ADDRESS, Payload, Topic,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ending::Ending;
use super::fit;
use super::live::Live;
use super::outcome::{self, Outcome};
use super::store::StoredTask;
use crate::bus::{Bus, ClientHandle};
use crate::clock::now_rfc3339;
use crate::guard::Principal;
use crate::guard::audit::{self, Reason};
use crate::services::Services;

/// Frames an agent may have queued before the bus cuts it off.
const AGENT_QUEUE: usize = 16 * 1024;
/// Output kept per program node (`stdout` and `stderr` each).
const OUTPUT_KEPT: usize = 1024 * 1024;
/// How long a stopped program is waited for before the run ends without its exit. The runner
/// ends every program with one `vm.exit` or `vm.error`, but a kill lands only once the module
/// has compiled; this is a safety net, not the normal path.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Everything a run needs.
pub struct RunContext {
    pub bus: Bus,
    pub services: Weak<Services>,
    pub run_id: String,
    pub task: Arc<StoredTask>,
    pub caller_id: String,
    pub principal: Principal,
    pub node_timeout_cap: u64,
    pub run_timeout: Duration,
    pub max_parallel: usize,
    /// The kernel's frame cap: the most a node's expanded payload and any message may take.
    pub max_frame_bytes: usize,
    /// `task.max_result_bytes`: one node's result as kept and sent.
    pub max_result_bytes: usize,
    /// `task.max_run_result_bytes`: the run's results together.
    pub max_run_result_bytes: usize,
    pub live: Arc<Live>,
    /// The kernel's shutdown.
    pub shutdown: CancellationToken,
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
    /// Each node's whole result, for the `${…}` references of the nodes after it; dropped once
    /// no node that has not started quotes it.
    results: Vec<Option<Value>>,
    /// The nodes each node quotes.
    quotes: Vec<Vec<usize>>,
    /// How many nodes that have not started quote each node.
    quoted_by: Vec<usize>,
    /// Each node's result as kept and sent (cut to the caps).
    kept: Vec<Option<Payload>>,
    /// Bytes of `task.max_run_result_bytes` not yet used by `kept`.
    kept_left: usize,
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

/// Executes the run to its end and returns how it ended, with each node's kept result. The
/// caller persists the record.
pub async fn execute(ctx: RunContext) -> (Ending, Vec<Option<Payload>>) {
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
    (ending, runner.kept)
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
        let kept_left = ctx.max_run_result_bytes;
        let mut quotes = vec![Vec::new(); nodes.len()];
        let mut quoted_by = vec![0; nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            // The definition's references were checked when it was defined.
            let mut quoted: Vec<usize> = refs::find(&node.payload)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| index.get(&r.node).copied())
                .collect();
            quoted.sort_unstable();
            quoted.dedup();
            for &j in &quoted {
                quoted_by[j] += 1;
            }
            quotes[i] = quoted;
        }
        Runner {
            agent,
            index,
            dependents,
            unmet,
            state: vec![NodeState::Pending; nodes.len()],
            started: vec![None; nodes.len()],
            results: vec![None; nodes.len()],
            kept: vec![None; nodes.len()],
            kept_left,
            quotes,
            quoted_by,
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
                    let error = self.ctx.live.cancel_error();
                    self.stop_all(RunState::Cancelled, error, None);
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

    /// Sends node `i`'s request: its references expanded within the frame cap, admitted as the
    /// caller's own request.
    fn start(&mut self, i: usize) {
        let node = &self.ctx.task.nodes[i];
        let max = self.ctx.max_frame_bytes;
        let payload = {
            let results = &self.results;
            let index = &self.index;
            let lookup = |id: &str| index.get(id).and_then(|&j| results[j].as_ref());
            refs::resolve(&node.payload, &lookup, max)
        };
        let mut payload = match payload {
            Ok(p) => p,
            Err(e @ refs::RefError::TooLarge { .. }) => {
                let error = ErrorPayload::new(
                    ErrorCode::ResourceExceeded,
                    format!("Node `{}`: {e}.", node.id),
                )
                .with_detail("limit", "max_frame_bytes")
                .with_detail("value", max as u64)
                .with_detail("node", node.id.as_str());
                self.fail(i, error, None);
                return;
            }
            Err(e) => {
                let error = ErrorPayload::new(ErrorCode::BadRequest, e.to_string());
                self.fail(i, error, None);
                return;
            }
        };
        let Some(services) = self.ctx.services.upgrade() else {
            let error = ErrorPayload::new(ErrorCode::Cancelled, "The kernel is shutting down.");
            self.fail(i, error, None);
            return;
        };
        if let Err(refusal) = services.guards().admit(self.ctx.principal, &node.topic) {
            audit::refused(
                self.ctx.bus.stats(),
                refusal.reason,
                Some(self.agent.id()),
                self.ctx.principal.as_str(),
                Some(node.topic.as_str()),
                &refusal.error.error,
            );
            let error = refusal.error.with_detail("node", node.id.as_str());
            self.fail(i, error, None);
            return;
        }
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
        // Only the kernel answers the agent's requests; anything else is a forgery.
        if env.from.as_deref() != Some(KERNEL_ADDRESS) {
            audit::refused(
                self.ctx.bus.stats(),
                Reason::ForgedAnswer,
                env.from.as_deref(),
                self.ctx.principal.as_str(),
                Some(env.topic.as_str()),
                &format!(
                    "An envelope addressed to the run agent `{}` did not come from the kernel; it was dropped.",
                    self.agent.id()
                ),
            );
            return;
        }
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
        let payload = match &result {
            Value::Object(map) => map.clone(),
            other => Payload::from_iter([("value".to_owned(), other.clone())]),
        };
        if self.quoted_by[i] > 0 {
            self.results[i] = Some(result);
        }
        self.set_state(i, NodeState::Succeeded, Some(payload), None);
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

    /// Node `i` has left `pending`: the results only it still needed are dropped.
    fn release_quotes(&mut self, i: usize) {
        for k in 0..self.quotes[i].len() {
            let j = self.quotes[i][k];
            self.quoted_by[j] -= 1;
            if self.quoted_by[j] == 0 {
                self.results[j] = None;
            }
        }
    }

    /// Node `i`'s result as kept: within `task.max_result_bytes` and what is left of
    /// `task.max_run_result_bytes`.
    fn keep(&mut self, i: usize, result: &Payload) -> Payload {
        let max = self.ctx.max_result_bytes.min(self.kept_left);
        let kept = fit::result(result, max);
        self.kept_left = self.kept_left.saturating_sub(fit::json_len(&kept));
        self.kept[i] = Some(kept.clone());
        kept
    }

    /// Records node `i`'s new state (its result cut to the caps) and tells the caller.
    fn set_state(
        &mut self,
        i: usize,
        state: NodeState,
        result: Option<Payload>,
        error: Option<ErrorPayload>,
    ) {
        let result = result.map(|r| self.keep(i, &r));
        if self.state[i] == NodeState::Pending {
            self.release_quotes(i);
        }
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
        let mut event = Event {
            run_id: self.ctx.run_id.clone(),
            node: self.node_id(i).to_owned(),
            state,
            duration_ms,
            result,
            error,
        };
        fit::event(&mut event, fit::frame_room(self.ctx.max_frame_bytes, None));
        let env = Envelope::new(Topic::from_static("task.event"))
            .with_payload(&event)
            .to(self.ctx.caller_id.as_str());
        // The caller may have left; the run goes on and its history keeps the outcome.
        let _ = self.ctx.bus.publish_from_kernel(env);
    }
}
