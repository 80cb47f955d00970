//! Starting and stopping a run's nodes: a node's request is expanded (its `${…}` references,
//! within the frame cap) and sent through the bus's door as the caller's; deadlines and stops end
//! running nodes, and the programs and answers of stopped nodes are told to stop. Never reads
//! what comes back (that is [`super::settle`]).

use std::time::{Duration, Instant};

use aether_shared::ai::Cancel;
use aether_shared::envelope::REQUEST_ID_FIELD;
use aether_shared::task::{NodeState, RunState, refs};
use aether_shared::vm::Kill;
use aether_shared::{BusRequest, Envelope, ErrorPayload, Payload};
use serde_json::Value;

use super::Runner;
use crate::bus::{Refused, Routed, stamp};
use crate::services::task::error::TaskError;
use crate::services::task::outcome::{self, NodeKind};

/// How long a stopped program is waited for before the run ends without its exit. The runner
/// ends every program with one `vm.exit` or `vm.error`, but a kill lands only once the module
/// has compiled; this is a safety net, not the normal path.
const STOP_GRACE: Duration = Duration::from_secs(30);

impl Runner {
    /// Node `i`'s payload with its references expanded, within the frame cap.
    fn expand(&self, i: usize) -> Result<Payload, TaskError> {
        let node = &self.ctx.task.nodes[i];
        let max = self.ctx.max_frame_bytes;
        let lookup = |id: &str| self.index.get(id).and_then(|&j| self.results[j].as_ref());
        refs::resolve(&node.payload, &lookup, max).map_err(|e| match e {
            refs::RefError::TooLarge { .. } => TaskError::NodeTooLarge {
                node: node.id.clone(),
                why: e.to_string(),
                max,
            },
            e => TaskError::BadReference(e.to_string()),
        })
    }

    /// Sends node `i`'s request as the caller's own: through the bus's door (stamped as the
    /// agent, admitted with the caller's permissions and rate limits), then to its service.
    pub(super) fn start(&mut self, i: usize) {
        let mut payload = match self.expand(i) {
            Ok(payload) => payload,
            Err(e) => return self.fail(i, e.into(), None),
        };
        let Some(services) = self.ctx.services.upgrade() else {
            return self.fail(i, TaskError::KernelGone.into(), None);
        };
        payload.insert(
            REQUEST_ID_FIELD.to_owned(),
            Value::String(outcome::node_request_id(i)),
        );
        let mut env = Envelope::new(self.ctx.task.nodes[i].topic.clone());
        env.payload = Some(payload);
        let routed = match self.ctx.bus.submit(services.guards(), &self.agent, env) {
            Ok(routed) => routed,
            Err(refused) => {
                let Refused { refusal, .. } = *refused;
                // Recorded at the door, as any refusal of the caller's.
                let error = refusal.to_payload().with_detail("node", self.node_id(i));
                return self.fail(i, error, None);
            }
        };
        let node = &self.ctx.task.nodes[i];
        let timeout = node
            .timeout_ms
            .unwrap_or(self.ctx.node_timeout_cap)
            .min(self.ctx.node_timeout_cap);
        let now = Instant::now();
        self.deadlines
            .insert((now + Duration::from_millis(timeout), i));
        self.started[i] = Some(now);
        self.running += 1;
        match self.kinds[i] {
            NodeKind::Chat => {
                self.answers.insert(i, String::new());
            }
            NodeKind::Program => {
                self.programs.insert(i, Default::default());
            }
            NodeKind::Request => {}
        }
        self.set_state(i, NodeState::Running, None, None);
        // A node is an un-addressed request (checked by `task.define`): it goes to its service.
        if let Routed::Service(env) = routed {
            services.dispatch(&self.agent, env);
        }
    }

    /// The running node that started first, if any.
    pub(super) fn oldest_running(&self) -> Option<String> {
        (0..self.state.len())
            .filter(|&i| self.is_running(i))
            .min_by_key(|&i| self.started[i])
            .map(|i| self.node_id(i).to_owned())
    }

    /// Handles node deadlines and stop graces that have passed.
    pub(super) fn expire(&mut self, now: Instant) {
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
        let error = TaskError::NodeTimeout {
            node: self.node_id(i).to_owned(),
            ms,
        };
        self.stop_all(RunState::TimedOut, error.into(), Some(i));
    }

    /// Stops the run: every running node ends (`timed_out` for `culprit`, else `cancelled`).
    pub(super) fn stop_all(
        &mut self,
        state: RunState,
        error: ErrorPayload,
        culprit: Option<usize>,
    ) {
        if self.stopped.is_some() {
            return;
        }
        // At shutdown the runner is going away too, and an agent cut off hears nothing more:
        // no exit to wait for.
        let wait = state != RunState::Interrupted && !self.agent.kicked().is_cancelled();
        let running: Vec<usize> = (0..self.state.len())
            .filter(|&i| self.is_running(i))
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
            match self.kinds[i] {
                NodeKind::Chat => self.cancel_chat(i),
                NodeKind::Program => {
                    if wait {
                        self.stopping.insert(i, Instant::now() + STOP_GRACE);
                    }
                    self.kill(i);
                }
                NodeKind::Request => {}
            }
            let result = self.program_result(i, None);
            self.set_state(i, node_state, result, Some(error.clone()));
        }
        self.stopped = Some((state, error));
    }

    /// Sends `ai.cancel` for node `i`'s answer, so the provider's request is dropped.
    fn cancel_chat(&self, i: usize) {
        let cancel = Cancel {
            request_id: outcome::node_request_id(i),
        };
        self.send_own(&cancel, i);
    }

    /// Sends `vm.kill` for node `i`'s program once its pid is known.
    pub(super) fn kill(&self, i: usize) {
        if let Some(pid) = self.programs.get(&i).and_then(|p| p.pid) {
            self.send_own(&Kill { pid }, i);
        }
    }

    /// Sends the engine's own request about node `i` (`kill-<i>`). It is the kernel cleaning up
    /// after the caller's node, not the caller's request: stamped as the agent and handed to its
    /// service without admission, so a rule or rate limit on `vm.kill` cannot leave a stopped
    /// node's program running.
    fn send_own<R: BusRequest>(&self, request: &R, i: usize) {
        let Some(services) = self.ctx.services.upgrade() else {
            return;
        };
        let mut env = Envelope::request(request, &outcome::kill_request_id(i));
        stamp(&mut env, self.agent.id());
        services.dispatch(&self.agent, env);
    }
}
