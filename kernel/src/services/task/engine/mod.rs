//! One run of a task: nodes started as their dependencies succeed, at most `max_parallel` at a
//! time, each sent as a bus request by the run's *agent*, a kernel-made bus client with the
//! caller's principal, so permissions and every service's own rules treat it as the caller.
//!
//! The run is split by what happens to a node: [`schedule`] starts nodes (and stops them on a
//! timeout, `task.cancel` or the kernel's shutdown), [`settle`] turns what comes back (a reply,
//! `vm.exit`, `ai.done`, an error) into success or failure, and [`progress`] records each change
//! and tells the caller. This file owns the run's state and its loop.
//!
//! A node succeeds on its reply; a program node (`vm.spawn`, `wasm.run`) on `vm.exit` code 0,
//! with its output kept as `stdout`/`stderr` in its result; an `ai.chat` node on `ai.done`, with
//! the streamed answer as `text` in its result. A failed node skips its dependents while
//! independent nodes go on. A node timeout, the run timeout, `task.cancel` or the kernel's
//! shutdown stops every running node (programs get a `vm.kill` and are waited for a moment) and
//! ends the run. Every state change is a `task.event` to the caller; the run ends with one
//! `task.done` or `task.error` (with `details.run_id`).
//!
//! What the run sends is the caller's: every node goes through the bus's door
//! ([`Bus::submit`](crate::bus::Bus::submit): the same admission as the caller's own requests,
//! permissions and the caller's rate limits) and its payload, once its `${…}` references are
//! expanded, may not pass `limits.max_frame_bytes`. What the run receives is the kernel's: the
//! router lets only the kernel address a run's agent, and hands it envelopes as values (never
//! serialized). Results are kept and sent within the caps of [`super::fit`].

mod progress;
mod schedule;
mod settle;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use aether_shared::task::{NodeState, RunState, refs};
use aether_shared::{Envelope, ErrorPayload, Payload};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ending::Ending;
use super::error::TaskError;
use super::live::Live;
use super::outcome::NodeKind;
use super::store::StoredTask;
use crate::bus::{Bus, ClientHandle};
use crate::guard::Principal;
use crate::services::Services;

/// Envelopes an agent may have waiting before the bus cuts it off.
const AGENT_QUEUE: usize = 16 * 1024;

/// Everything a run needs.
pub struct RunContext {
    pub bus: Bus,
    pub services: Weak<Services>,
    pub run_id: String,
    pub task: Arc<StoredTask>,
    pub caller_id: String,
    /// The `_request_id` of the `task.run` that started the run: every `task.event` and the
    /// run's end carry it, so the caller reads the run as one stream.
    pub request_id: Option<String>,
    /// The client whose sessions the run's requests use: the caller's own, or the tab an agent
    /// caller acts for (an `ai.agent` run's `run_task`).
    pub acting_for: String,
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

/// What a program node has produced so far.
#[derive(Default)]
struct Program {
    pid: Option<u64>,
    stdout: String,
    stderr: String,
}

/// The state of one run while it executes.
struct Runner {
    ctx: RunContext,
    agent: Arc<ClientHandle>,
    /// How each node is answered, from its topic.
    kinds: Vec<NodeKind>,
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
    /// Running program nodes, by node index.
    programs: HashMap<usize, Program>,
    /// The answer so far of each running `ai.chat` node.
    answers: HashMap<usize, String>,
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
    let (handle, mut inbox) =
        ClientHandle::agent(agent_id, ctx.principal, ctx.acting_for.clone(), AGENT_QUEUE);
    let agent = Arc::new(handle);
    ctx.bus.attach(Arc::clone(&agent));
    let mut runner = Runner::new(ctx, Arc::clone(&agent));
    let ending = runner.drive(&mut inbox).await;
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
            kinds: nodes.iter().map(|n| NodeKind::of(&n.topic)).collect(),
            index,
            dependents,
            unmet,
            state: vec![NodeState::Pending; nodes.len()],
            started: vec![None; nodes.len()],
            results: vec![None; nodes.len()],
            kept: vec![None; nodes.len()],
            kept_left: ctx.max_run_result_bytes,
            quotes,
            quoted_by,
            programs: HashMap::new(),
            answers: HashMap::new(),
            ready,
            running: 0,
            deadlines: BTreeSet::new(),
            stopping: HashMap::new(),
            first_failure: None,
            stopped: None,
            ctx,
        }
    }

    async fn drive(&mut self, inbox: &mut mpsc::Receiver<Envelope>) -> Ending {
        let run_deadline = tokio::time::Instant::now() + self.ctx.run_timeout;
        let cancel = self.ctx.live.cancel.clone();
        let shutdown = self.ctx.shutdown.clone();
        let cut_off = self.agent.kicked().clone();
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
                    self.stop_all(RunState::Interrupted, TaskError::Interrupted.into(), None);
                }
                _ = cancel.cancelled(), if open => {
                    let error = self.ctx.live.cancel_error();
                    self.stop_all(RunState::Cancelled, error, None);
                }
                _ = tokio::time::sleep_until(run_deadline), if open => {
                    let error = TaskError::RunTimeout {
                        ms: self.ctx.run_timeout.as_millis() as u64,
                        node: self.oldest_running(),
                    };
                    self.stop_all(RunState::TimedOut, error.into(), None);
                }
                // The bus cut the agent off (it could not keep up): nothing more will arrive.
                _ = cut_off.cancelled(), if open => {
                    self.stop_all(RunState::Failed, TaskError::Flooded.into(), None);
                }
                _ = sleep => self.expire(Instant::now()),
                env = inbox.recv() => match env {
                    Some(env) => self.on_envelope(&env),
                    None => self.stop_all(RunState::Failed, TaskError::Flooded.into(), None),
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

    fn is_running(&self, i: usize) -> bool {
        self.state.get(i) == Some(&NodeState::Running)
    }
}

#[cfg(test)]
mod tests;
