//! Settling a run's nodes from what comes back to its agent: a reply, a program's stream (its
//! pid, output, then `vm.exit` or `vm.error`), an answer's stream (chunks, then `ai.done` or
//! `ai.error`), found by request id ([`outcome::read`]). A node succeeds or fails here, and a
//! failure skips everything downstream of it. Never sends a node's request (that is
//! [`super::schedule`]).

use aether_shared::ai::ChatEvent;
use aether_shared::envelope::to_payload;
use aether_shared::task::NodeState;
use aether_shared::vm::{Exit, Output, SpawnEvent};
use aether_shared::{Envelope, ErrorPayload, Payload};
use serde_json::{Value, json};

use super::Runner;
use crate::services::task::error::TaskError;
use crate::services::task::outcome::{self, Outcome};

/// Output kept per program node (`stdout` and `stderr` each).
const OUTPUT_KEPT: usize = 1024 * 1024;

impl Runner {
    /// What an envelope delivered to the agent means for the run.
    pub(super) fn on_envelope(&mut self, env: &Envelope) {
        let kinds = &self.kinds;
        match outcome::read(env, |i| kinds.get(i).copied()) {
            Outcome::Replied { index, payload } => {
                if self.is_running(index) {
                    self.succeed(index, Value::Object(payload));
                }
            }
            Outcome::Failed { index, error } => self.node_failed(index, error),
            Outcome::Program { index, event } => self.program_event(index, event),
            Outcome::Chat { index, event } => self.chat_event(index, event),
            Outcome::Ignored => {}
        }
    }

    fn program_event(&mut self, i: usize, event: SpawnEvent) {
        match event {
            SpawnEvent::Spawned(spawned) => {
                if let Some(program) = self.programs.get_mut(&i) {
                    program.pid = Some(spawned.pid);
                }
                if self.stopping.contains_key(&i) {
                    self.kill(i);
                }
            }
            SpawnEvent::Stdout(out) => self.keep_output(i, out, false),
            SpawnEvent::Stderr(out) => self.keep_output(i, out, true),
            SpawnEvent::Exited(exit) => {
                if self.stopping.remove(&i).is_some() || !self.is_running(i) {
                    return;
                }
                let result = self.program_result(i, Some(&exit));
                if exit.code == 0 {
                    self.succeed(i, result.map_or(Value::Null, Value::Object));
                } else {
                    self.fail(i, TaskError::ExitCode(exit.code).into(), result);
                }
            }
            SpawnEvent::Failed(error) => self.node_failed(i, error),
        }
    }

    fn chat_event(&mut self, i: usize, event: ChatEvent) {
        match event {
            // Acknowledged: the answer ends with `ai.done`.
            ChatEvent::Started(_) => {}
            ChatEvent::Chunk(chunk) => {
                if let Some(text) = self.answers.get_mut(&i) {
                    text.push_str(&chunk.delta);
                }
            }
            ChatEvent::Done(done) => {
                if self.is_running(i) {
                    let text = self.answers.remove(&i).unwrap_or_default();
                    let mut result = to_payload(&done);
                    result.insert("text".into(), Value::String(text));
                    self.succeed(i, Value::Object(result));
                }
            }
            ChatEvent::Failed(error) => self.node_failed(i, error),
        }
    }

    /// Node `i` was answered with an error (a stopped program's last word is not one).
    fn node_failed(&mut self, i: usize, error: ErrorPayload) {
        if self.stopping.remove(&i).is_some() || !self.is_running(i) {
            return;
        }
        let result = self.program_result(i, None);
        self.fail(i, error, result);
    }

    /// Keeps a program node's output, up to [`OUTPUT_KEPT`] bytes per stream.
    fn keep_output(&mut self, i: usize, out: Output, stderr: bool) {
        let Some(program) = self.programs.get_mut(&i) else {
            return;
        };
        let kept = if stderr {
            &mut program.stderr
        } else {
            &mut program.stdout
        };
        let room = OUTPUT_KEPT.saturating_sub(kept.len());
        if room > 0 {
            let mut cut = out.data.len().min(room);
            while !out.data.is_char_boundary(cut) {
                cut -= 1;
            }
            kept.push_str(&out.data[..cut]);
        }
    }

    /// A program node's result: `{pid, stdout, stderr}`, and `{code, duration_ms, stats}` once
    /// it exited. `None` for any other node.
    pub(super) fn program_result(&self, i: usize, exit: Option<&Exit>) -> Option<Payload> {
        let p = self.programs.get(&i)?;
        let mut result = json!({"pid": p.pid, "stdout": p.stdout, "stderr": p.stderr});
        if let Some(exit) = exit {
            result["code"] = json!(exit.code);
            result["duration_ms"] = json!(exit.duration_ms);
            result["stats"] = serde_json::to_value(&exit.stats).unwrap_or_default();
        }
        match result {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub(super) fn succeed(&mut self, i: usize, result: Value) {
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

    pub(super) fn fail(&mut self, i: usize, error: ErrorPayload, result: Option<Payload>) {
        self.finish_running(i);
        if self.first_failure.is_none() {
            self.first_failure = Some((self.node_id(i).to_owned(), error.clone()));
        }
        self.set_state(i, NodeState::Failed, result, Some(error));
        // Everything downstream can no longer run.
        let mut stack = self.dependents[i].clone();
        let because = self.node_id(i).to_owned();
        while let Some(d) = stack.pop() {
            if self.state[d] == NodeState::Pending {
                let why = TaskError::Skipped(because.clone());
                self.set_state(d, NodeState::Skipped, None, Some(why.into()));
                stack.extend(self.dependents[d].iter().copied());
            }
        }
    }

    /// Node `i` no longer counts as running (its deadline is dropped).
    pub(super) fn finish_running(&mut self, i: usize) {
        if self.is_running(i) {
            self.running -= 1;
            self.deadlines.retain(|&(_, j)| j != i);
        }
    }
}
