//! The runs going now: who started each (the client, for `max_runs_per_client`, approvals and
//! cancels; the principal, for reading it), the one tool call it may be waiting on, how to stop
//! it, and its record as it grows (what `ai.agent.status` reads while it runs).
//!
//! Only the client that started a run may decide on its calls or cancel it: its events go to that
//! client alone, so nobody else knows what it is asking. This module never sends anything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aether_shared::agent::{Decision, RunState};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::error::AgentError;
use super::store::StoredRun;
use crate::guard::Principal;

/// A call waiting for the user's decision.
struct Waiting {
    call_id: String,
    decide: oneshot::Sender<Decision>,
}

/// One run going now.
pub struct LiveRun {
    pub run_id: String,
    pub principal: Principal,
    /// The client that started it: the only one it talks to and takes decisions from.
    pub client_id: String,
    /// Stops the run (the model's request is dropped, its tool stopped).
    pub cancel: CancellationToken,
    why_stopped: Mutex<Option<AgentError>>,
    waiting: Mutex<Option<Waiting>>,
    /// The record as it grows: summary, transcript, checkpoints.
    pub record: Mutex<StoredRun>,
}

impl LiveRun {
    pub fn new(principal: Principal, client_id: &str, record: StoredRun) -> LiveRun {
        LiveRun {
            run_id: record.summary.run_id.clone(),
            principal,
            client_id: client_id.to_owned(),
            cancel: CancellationToken::new(),
            why_stopped: Mutex::new(None),
            waiting: Mutex::new(None),
            record: Mutex::new(record),
        }
    }

    /// Stops the run because of `why` (the first reason given is the one it ends with).
    pub fn stop(&self, why: AgentError) {
        self.why_stopped
            .lock()
            .expect("agent run lock")
            .get_or_insert(why);
        self.cancel.cancel();
    }

    /// Why the run was stopped (`Cancelled` when nobody said).
    pub fn stop_reason(&self) -> AgentError {
        self.why_stopped
            .lock()
            .expect("agent run lock")
            .clone()
            .unwrap_or(AgentError::Cancelled)
    }

    /// Waits for a decision on `call_id`: the receiver ends when [`LiveRun::decide`] is called.
    pub fn wait_for(&self, call_id: &str) -> oneshot::Receiver<Decision> {
        let (decide, decision) = oneshot::channel();
        *self.waiting.lock().expect("agent run lock") = Some(Waiting {
            call_id: call_id.to_owned(),
            decide,
        });
        self.set_state(RunState::WaitingForApproval);
        decision
    }

    /// The run no longer waits (decided, timed out, or stopped).
    pub fn stop_waiting(&self) {
        self.waiting.lock().expect("agent run lock").take();
        self.set_state(RunState::Running);
    }

    /// Hands the user's decision to the waiting call; false when `call_id` is not waiting.
    pub fn decide(&self, call_id: &str, decision: Decision) -> bool {
        let mut waiting = self.waiting.lock().expect("agent run lock");
        match waiting.take() {
            Some(w) if w.call_id == call_id => w.decide.send(decision).is_ok(),
            other => {
                *waiting = other;
                false
            }
        }
    }

    fn set_state(&self, state: RunState) {
        self.record.lock().expect("agent run lock").summary.state = state;
    }

    /// A copy of the record now.
    pub fn snapshot(&self) -> StoredRun {
        self.record.lock().expect("agent run lock").clone()
    }
}

/// Every run going now, by run id.
#[derive(Default)]
pub struct Live {
    runs: Mutex<HashMap<String, Arc<LiveRun>>>,
}

impl Live {
    /// Adds a run unless its client already has `max` going.
    pub fn admit(&self, run: Arc<LiveRun>, max: u32) -> Result<(), AgentError> {
        let mut runs = self.runs.lock().expect("agent runs lock");
        let mine = runs
            .values()
            .filter(|r| r.client_id == run.client_id)
            .count();
        if mine >= max as usize {
            return Err(AgentError::TooManyRuns(max));
        }
        runs.insert(run.run_id.clone(), run);
        Ok(())
    }

    /// The run `run_id`, if it is going.
    pub fn get(&self, run_id: &str) -> Option<Arc<LiveRun>> {
        self.runs
            .lock()
            .expect("agent runs lock")
            .get(run_id)
            .cloned()
    }

    /// The run `run_id` if `client_id` started it (anyone else's is as absent).
    pub fn of_client(&self, run_id: &str, client_id: &str) -> Result<Arc<LiveRun>, AgentError> {
        self.get(run_id)
            .filter(|run| run.client_id == client_id)
            .ok_or_else(|| AgentError::NoSuchRun(run_id.to_owned()))
    }

    /// Forgets a run that ended.
    pub fn remove(&self, run_id: &str) {
        self.runs.lock().expect("agent runs lock").remove(run_id);
    }

    /// Stops every run of a client that left.
    pub fn client_gone(&self, client_id: &str) {
        for run in self.runs.lock().expect("agent runs lock").values() {
            if run.client_id == client_id {
                run.stop(AgentError::CallerLeft);
            }
        }
    }

    /// The records of the runs going now.
    pub fn snapshots(&self) -> Vec<StoredRun> {
        let runs: Vec<Arc<LiveRun>> = self
            .runs
            .lock()
            .expect("agent runs lock")
            .values()
            .cloned()
            .collect();
        runs.iter().map(|run| run.snapshot()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agent::store::tests::run_record;

    fn live(id: &str, client: &str) -> Arc<LiveRun> {
        Arc::new(LiveRun::new(
            Principal::Local,
            client,
            run_record(id, "local", RunState::Running),
        ))
    }

    #[test]
    fn each_client_has_its_own_cap_and_sees_only_its_runs() {
        let runs = Live::default();
        runs.admit(live("a-1", "c1"), 1).unwrap();
        assert_eq!(
            runs.admit(live("a-2", "c1"), 1),
            Err(AgentError::TooManyRuns(1))
        );
        runs.admit(live("a-3", "c2"), 1).unwrap();
        assert!(runs.of_client("a-1", "c1").is_ok());
        assert_eq!(
            runs.of_client("a-1", "c2").err(),
            Some(AgentError::NoSuchRun("a-1".into()))
        );
        runs.client_gone("c1");
        let gone = runs.get("a-1").unwrap();
        assert!(gone.cancel.is_cancelled());
        assert_eq!(gone.stop_reason(), AgentError::CallerLeft);
        assert!(!runs.get("a-3").unwrap().cancel.is_cancelled());
        runs.remove("a-1");
        runs.admit(live("a-4", "c1"), 1).unwrap();
    }

    #[tokio::test]
    async fn a_decision_reaches_only_the_call_that_waits() {
        let run = live("a-1", "c1");
        assert!(!run.decide("call-1", Decision::Allow), "nothing waits");
        let decision = run.wait_for("call-1");
        assert_eq!(run.snapshot().summary.state, RunState::WaitingForApproval);
        assert!(!run.decide("call-2", Decision::Allow));
        assert!(run.decide("call-1", Decision::Deny));
        assert_eq!(decision.await.unwrap(), Decision::Deny);
        assert!(!run.decide("call-1", Decision::Allow), "decided once");
        run.stop_waiting();
        assert_eq!(run.snapshot().summary.state, RunState::Running);
    }
}
