//! Running a task and reading its history: `task.run`, `task.cancel`, `task.status`, `task.list`.
//!
//! Times are RFC 3339 strings stamped by the kernel (this crate has no clock).

use serde::{Deserialize, Serialize};

use super::{Node, NodeState};
use crate::envelope::Payload;
use crate::error::ErrorPayload;
use crate::topic::Topic;

/// `task.run {task_id}` → `task.run:ack {run_id}`; then `task.event`s and one `task.done` or
/// `task.error` (with `details.run_id`) to the requester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub task_id: String,
}

/// The answer to [`Run`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub run_id: String,
}

/// `task.cancel {run_id}` → `task.cancel:ack {}`; the run then ends with `task.error`
/// `cancelled` once its running nodes have stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub run_id: String,
}

/// The answer to [`Cancel`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelling {}

/// `task.status {run_id}` → `task.status:resp` [`RunRecord`], live or from the history; node
/// results are cut (and marked `truncated`) to fit the kernel's frame cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub run_id: String,
}

/// `task.list {}` → `task.list:resp` [`TaskList`]: the caller's tasks and recent runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {}

/// How a run stands or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    /// The kernel stopped while the run was in flight.
    Interrupted,
}

/// One node of a run, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: String,
    pub topic: Topic,
    #[serde(default)]
    pub after: Vec<String>,
    pub state: NodeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Payload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorPayload>,
}

impl NodeRecord {
    /// A node that has not started.
    pub fn pending(node: &Node) -> NodeRecord {
        NodeRecord {
            id: node.id.clone(),
            topic: node.topic.clone(),
            after: node.after.clone(),
            state: NodeState::Pending,
            duration_ms: None,
            result: None,
            error: None,
        }
    }
}

/// A run: its task, state, times and every node in definition order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub task_id: String,
    pub name: String,
    pub state: RunState,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub nodes: Vec<NodeRecord>,
    /// Why the run failed, timed out, was cancelled or interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorPayload>,
}

/// A defined task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub task_id: String,
    pub name: String,
    pub nodes: usize,
    pub defined: String,
}

/// A run, without its nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub task_id: String,
    pub name: String,
    pub state: RunState,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl From<&RunRecord> for RunSummary {
    fn from(run: &RunRecord) -> RunSummary {
        RunSummary {
            run_id: run.run_id.clone(),
            task_id: run.task_id.clone(),
            name: run.name.clone(),
            state: run.state,
            started: run.started.clone(),
            duration_ms: run.duration_ms,
        }
    }
}

/// The answer to [`List`], newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskList {
    pub tasks: Vec<TaskSummary>,
    pub runs: Vec<RunSummary>,
    /// The oldest entries were left out so that the answer fits the kernel's frame cap.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Everything a [`Run`] causes, in order: the `:ack`, `task.event`s, and one `task.done` or
/// `task.error`.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// The run started under this id.
    Started(Started),
    /// A node changed state.
    Node(super::Event),
    /// Every node succeeded.
    Done(super::Done),
    /// The run was refused, failed, timed out or was cancelled.
    Failed(ErrorPayload),
}

impl crate::stream::BusStream for Run {
    type Event = RunEvent;
    const TERMINAL: &'static [&'static str] = &[super::DONE];

    fn decode(envelope: &crate::Envelope) -> Option<RunEvent> {
        use crate::request::BusRequest;
        Some(match envelope.topic.as_str() {
            <Run as BusRequest>::REPLY_TOPIC => RunEvent::Started(envelope.decode().ok()?),
            super::EVENT => RunEvent::Node(envelope.decode().ok()?),
            super::DONE => RunEvent::Done(envelope.decode().ok()?),
            super::ERROR => RunEvent::Failed(crate::stream::failure(envelope)?),
            _ => return None,
        })
    }

    fn is_terminal(event: &RunEvent) -> bool {
        matches!(event, RunEvent::Done(_) | RunEvent::Failed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::BusRequest;

    #[test]
    fn requests_reply_where_the_spec_says() {
        assert_eq!(Run::reply_topic().as_str(), "task.run:ack");
        assert_eq!(Cancel::reply_topic().as_str(), "task.cancel:ack");
        assert_eq!(Status::reply_topic().as_str(), "task.status:resp");
        assert_eq!(List::reply_topic().as_str(), "task.list:resp");
        assert_eq!(
            serde_json::to_value(RunState::TimedOut).unwrap(),
            "timed_out"
        );
    }
}
