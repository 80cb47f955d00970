//! The `task.*` namespace (SPEC §5): a task is a named DAG of bus requests; a run executes it.
//!
//! A node is a bus request (`topic` + `payload`) that starts once every node in `after`
//! succeeded. It succeeds on its reply (a `vm.spawn` node on `vm.exit` with code 0) and fails on
//! its namespace's error topic or its timeout; a failed node skips its dependents. The graph is
//! checked by [`graph::check`] before it is accepted. A payload may quote an earlier node's
//! result with `${node.field}` ([`refs`]). Runs and their history are in [`run`].

pub mod graph;
pub mod position;
pub mod refs;
pub mod run;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::envelope::Payload;
use crate::topic::Topic;

pub use graph::{GraphError, check};
pub use position::ParsePosition;
pub use run::{
    Cancel, Cancelling, List, NodeRecord, Run, RunRecord, RunState, RunSummary, Started, Status,
    TaskList, TaskSummary,
};

crate::contract! {
    namespace: Task, error: ERROR = "task.error";
    requests {
        DEFINE = "task.define": Define => Ack(Defined);
        PARSE = "task.parse": Parse => Resp(Define);
        RUN = "task.run": Run => Ack(Started);
        CANCEL = "task.cancel": Cancel => Ack(Cancelling);
        STATUS = "task.status": Status => Resp(RunRecord);
        LIST = "task.list": List => Resp(TaskList);
    }
    aliases {}
    events {
        /// One node changed state ([`Event`]).
        EVENT = "task.event";
        /// A run succeeded ([`Done`]).
        DONE = "task.done";
    }
}

/// One node of a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique within the task: `[A-Za-z0-9_-]`, 1–64 characters.
    pub id: String,
    pub topic: Topic,
    #[serde(default)]
    pub payload: Payload,
    /// Ids of the nodes that must succeed first.
    #[serde(default)]
    pub after: Vec<String>,
    /// This node's own timeout (at most the kernel's `task.node_timeout_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// `task.define {name, nodes, timeout_ms?, keep_on_disconnect?}` → `task.define:ack {task_id}`.
///
/// A definition is at most the kernel's `task.max_definition_bytes` (as JSON); each principal
/// keeps its newest `task.max_definitions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Define {
    pub name: String,
    pub nodes: Vec<Node>,
    /// The whole run's timeout (at most the kernel's `task.run_timeout_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Whether a run goes on after the client that started it disconnects. Default `false`: the
    /// run is cancelled (its programs killed) when its caller leaves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_on_disconnect: bool,
}

/// Set to `true` in a node's result (in `task.event`, `task.done`, `task.status`) that the
/// kernel cut to fit its caps; its long strings are shortened, or the result is only this marker.
pub const TRUNCATED_FIELD: &str = "truncated";
/// Beside [`TRUNCATED_FIELD`]: the size in bytes of the whole result, as JSON.
pub const ORIGINAL_BYTES_FIELD: &str = "original_bytes";

/// The answer to [`Define`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Defined {
    pub task_id: String,
}

/// A definition to start from, in YAML (the Tasks app's first text and the welcome folder's
/// `pipeline.task.yaml`): three nodes, the second running a program from the welcome folder, the
/// third quoting its output.
pub const SAMPLE_YAML: &str = include_str!("sample.task.yaml");

/// `task.parse {text}` → `task.parse:resp` [`Define`]: reads a definition written as YAML or
/// JSON (what a user keeps in a file) without defining it; `bad_request` names the line that
/// does not parse, in its sentence and as a [`ParsePosition`] in its details. The desktop uses it
/// so it need not carry a YAML parser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parse {
    pub text: String,
}

/// The state of one node in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
    TimedOut,
    /// The kernel stopped while the node was in flight.
    Interrupted,
}

impl NodeState {
    /// True once the node will not change again.
    pub fn is_settled(self) -> bool {
        !matches!(self, NodeState::Pending | NodeState::Running)
    }
}

/// `task.event {run_id, node, state, …}`: one node changed state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub run_id: String,
    pub node: String,
    pub state: NodeState,
    /// Time from the node's start to this change, once it has settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The node's result (its reply; for a program `{pid, code, stdout, stderr, …}`) on success,
    /// cut to the kernel's caps (then with [`TRUNCATED_FIELD`] and [`ORIGINAL_BYTES_FIELD`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Payload>,
    /// Why the node failed, timed out or was skipped or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorPayload>,
}

impl Event {
    /// An event with only the state.
    pub fn new(run_id: &str, node: &str, state: NodeState) -> Event {
        Event {
            run_id: run_id.to_owned(),
            node: node.to_owned(),
            state,
            duration_ms: None,
            result: None,
            error: None,
        }
    }
}

/// `task.done {run_id, results}`: every node succeeded; `results` holds each node's reply, cut
/// (and marked [`TRUNCATED_FIELD`]) so that the message fits the kernel's frame cap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Done {
    pub run_id: String,
    pub results: BTreeMap<String, Payload>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::BusRequest as _;
    use serde_json::json;

    #[test]
    fn a_definition_has_the_spec_shape() {
        let define: Define = serde_json::from_value(json!({
            "name": "build",
            "nodes": [
                {"id": "compile", "topic": "vm.spawn", "payload": {"module": {"path": "/a.wat"}}, "timeout_ms": 5000},
                {"id": "ping", "topic": "kernel.ping", "after": ["compile"]}
            ],
            "timeout_ms": 60000
        }))
        .unwrap();
        assert_eq!(define.nodes[1].after, ["compile"]);
        assert_eq!(define.nodes[0].timeout_ms, Some(5000));
        assert!(serde_json::from_value::<Node>(json!({"id": "x", "topic": "nope"})).is_err());
        let event = Event::new("r", "n", NodeState::TimedOut);
        assert_eq!(serde_json::to_value(&event).unwrap()["state"], "timed_out");
        assert!(NodeState::Skipped.is_settled() && !NodeState::Running.is_settled());
        assert_eq!(Define::reply_topic().as_str(), "task.define:ack");
    }
}
