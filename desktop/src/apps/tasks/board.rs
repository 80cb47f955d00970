//! [`Board`]: the run a Tasks window shows, node by node. Built from a definition (before it
//! runs), from a `task.status` record (the history), and moved on by its run's stream
//! (`task.event`, `task.done`, `task.error`). Pure state, unit tested natively; `app` feeds it
//! and `graph` draws it.

use aether_shared::ErrorPayload;
use aether_shared::task::{Define, Done, Event, NodeRecord, NodeState, RunRecord, RunState};

/// A run (or a definition not run yet) as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Board {
    pub name: String,
    pub task_id: Option<String>,
    pub run_id: Option<String>,
    /// `None` before the run starts.
    pub state: Option<RunState>,
    pub nodes: Vec<NodeRecord>,
    /// The run's error sentence, once it failed, timed out or was cancelled.
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
}

impl Board {
    /// Every node pending: what a definition will run.
    pub fn planned(define: &Define) -> Board {
        Board {
            name: define.name.clone(),
            task_id: None,
            run_id: None,
            state: None,
            nodes: define.nodes.iter().map(NodeRecord::pending).collect(),
            error: None,
            duration_ms: None,
        }
    }

    /// A run as the kernel recorded it.
    pub fn recorded(run: &RunRecord) -> Board {
        Board {
            name: run.name.clone(),
            task_id: Some(run.task_id.clone()),
            run_id: Some(run.run_id.clone()),
            state: Some(run.state),
            nodes: run.nodes.clone(),
            error: run.error.as_ref().map(|e| e.error.clone()),
            duration_ms: run.duration_ms,
        }
    }

    /// The run started as `run_id` of task `task_id`.
    pub fn started(&mut self, task_id: String, run_id: String) {
        self.task_id = Some(task_id);
        self.run_id = Some(run_id);
        self.state = Some(RunState::Running);
        self.error = None;
        self.duration_ms = None;
        for node in &mut self.nodes {
            node.state = NodeState::Pending;
            node.duration_ms = None;
            node.result = None;
            node.error = None;
        }
    }

    fn is_mine(&self, run_id: &str) -> bool {
        self.run_id.as_deref() == Some(run_id)
    }

    /// Applies a node's change; false when it is not this run's.
    pub fn apply(&mut self, event: &Event) -> bool {
        if !self.is_mine(&event.run_id) {
            return false;
        }
        if let Some(node) = self.nodes.iter_mut().find(|n| n.id == event.node) {
            node.state = event.state;
            node.duration_ms = event.duration_ms;
            node.result.clone_from(&event.result);
            node.error.clone_from(&event.error);
        }
        true
    }

    /// The run succeeded.
    pub fn done(&mut self, done: &Done) -> bool {
        if !self.is_mine(&done.run_id) {
            return false;
        }
        self.state = Some(RunState::Succeeded);
        true
    }

    /// Run `run_id` ended with `error`; false when it is not this run.
    pub fn failed(&mut self, run_id: &str, error: &ErrorPayload) -> bool {
        if !self.is_mine(run_id) {
            return false;
        }
        let interrupted = error
            .details
            .as_ref()
            .and_then(|d| d.get("interrupted"))
            .is_some();
        self.state = Some(match error.code {
            aether_shared::ErrorCode::Timeout => RunState::TimedOut,
            aether_shared::ErrorCode::Cancelled if interrupted => RunState::Interrupted,
            aether_shared::ErrorCode::Cancelled => RunState::Cancelled,
            _ => RunState::Failed,
        });
        self.error = Some(error.error.clone());
        true
    }

    pub fn is_running(&self) -> bool {
        self.state == Some(RunState::Running)
    }

    /// The nodes as `(id, after)`, for the layout.
    pub fn shape(&self) -> Vec<(String, Vec<String>)> {
        self.nodes
            .iter()
            .map(|n| (n.id.clone(), n.after.clone()))
            .collect()
    }
}

/// The run a `task.error` names (`details.run_id`), if any.
pub fn run_of(error: &ErrorPayload) -> Option<&str> {
    error.details.as_ref()?.get("run_id")?.as_str()
}

/// The word shown for a node state (also its `data-state` and CSS class).
pub fn node_word(state: NodeState) -> &'static str {
    match state {
        NodeState::Pending => "pending",
        NodeState::Running => "running",
        NodeState::Succeeded => "succeeded",
        NodeState::Failed => "failed",
        NodeState::Skipped => "skipped",
        NodeState::Cancelled => "cancelled",
        NodeState::TimedOut => "timed_out",
        NodeState::Interrupted => "interrupted",
    }
}

/// The word shown for a run state (also its `data-state`).
pub fn run_word(state: RunState) -> &'static str {
    match state {
        RunState::Running => "running",
        RunState::Succeeded => "succeeded",
        RunState::Failed => "failed",
        RunState::Cancelled => "cancelled",
        RunState::TimedOut => "timed_out",
        RunState::Interrupted => "interrupted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::ErrorCode;

    fn sample() -> Define {
        serde_json::from_value(serde_json::json!({"name": "t", "nodes": [
            {"id": "check", "topic": "kernel.ping"},
            {"id": "hello", "topic": "vm.spawn", "after": ["check"]},
        ]}))
        .unwrap()
    }

    fn event(run: &str, node: &str, state: NodeState) -> Event {
        Event::new(run, node, state)
    }

    #[test]
    fn events_of_this_run_move_its_nodes_and_others_are_ignored() {
        let mut board = Board::planned(&sample());
        assert!(!board.apply(&event("r-1", "check", NodeState::Running)));
        board.started("t-1".into(), "r-1".into());
        assert!(board.is_running());
        assert!(board.apply(&event("r-1", "check", NodeState::Succeeded)));
        assert!(!board.apply(&event("r-2", "hello", NodeState::Failed)));
        assert_eq!(board.nodes[0].state, NodeState::Succeeded);
        assert_eq!(board.nodes[1].state, NodeState::Pending);
        assert!(board.done(&Done {
            run_id: "r-1".into(),
            results: Default::default()
        }));
        assert_eq!(board.state, Some(RunState::Succeeded));
    }

    #[test]
    fn a_run_error_sets_the_ending_of_its_own_run_only() {
        let mut board = Board::planned(&sample());
        board.started("t-1".into(), "r-1".into());
        let slow = ErrorPayload::new(ErrorCode::Timeout, "slow").with_detail("run_id", "r-1");
        assert_eq!(run_of(&slow), Some("r-1"));
        assert_eq!(run_of(&ErrorPayload::new(ErrorCode::Timeout, "x")), None);
        assert!(!board.failed("r-9", &slow));
        assert!(board.failed("r-1", &slow));
        assert_eq!(board.state, Some(RunState::TimedOut));
        assert_eq!(board.error.as_deref(), Some("slow"));
        assert_eq!(run_word(RunState::TimedOut), "timed_out");
        assert_eq!(node_word(NodeState::Skipped), "skipped");
    }
}
