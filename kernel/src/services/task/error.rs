//! Why a `task.*` request, a run or one of its nodes failed, and the one place each reason gets
//! its SPEC §4 code, its sentence (what to do next) and its details ([`ServiceError`]). Handlers
//! return `Result<_, TaskError>`; the engine records a node's failure as the payload of one.

use aether_shared::task::RunState;
use aether_shared::{ErrorCode, ErrorPayload, Topic};

use super::definition::Unreadable;
use crate::guard::Refusal;
use crate::services::request::ServiceError;

/// A failed `task.*` request, run or node.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TaskError {
    // ---- task.parse and task.define
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
    #[error("Give the task a name of 1 to 128 characters.")]
    BadName,
    #[error(
        "The definition is {bytes} bytes; this kernel keeps definitions of at most {max} (task.max_definition_bytes). Load large modules by path instead of inlining them."
    )]
    DefinitionTooLarge { bytes: usize, max: usize },
    #[error("The task has {nodes} nodes; this kernel allows at most {max} (task.max_nodes).")]
    TooManyNodes { nodes: usize, max: usize },
    /// The graph or its `${…}` references do not check (the checker's own sentence).
    #[error("{0}")]
    BadGraph(String),
    #[error(
        "Node `{node}`: `{topic}` cannot be a node; a node is a request of kernel.*, vm.*, wasm.* or ai.*."
    )]
    NotANode { node: String, topic: Topic },
    /// The guardrails would not admit the node's request from the caller.
    #[error("Node `{node}`: {refusal}")]
    NodeRefused { node: String, refusal: Refusal },

    // ---- task.run, task.cancel, task.status, and the history
    #[error("There is no task `{0}`; define it with task.define first.")]
    NoSuchTask(String),
    #[error("There is no run `{0}`; see task.list for your runs.")]
    NoSuchRun(String),
    #[error("Run `{run_id}` has already ended ({state:?}).")]
    AlreadyEnded { run_id: String, state: RunState },
    #[error("{0} task runs are in flight (task.max_runs); wait for one to end or cancel one.")]
    TooManyRuns(usize),
    #[error("Task history is unavailable: {0}. Check the kernel's data_dir.")]
    StoreUnavailable(String),

    // ---- a run and its nodes
    #[error("The run was cancelled.")]
    Cancelled,
    #[error(
        "The client that started the run disconnected, so the run was cancelled; set `keep_on_disconnect: true` in the definition to keep its runs going."
    )]
    CallerLeft,
    #[error("The kernel is shutting down; run the task again after it restarts.")]
    Interrupted,
    #[error("The kernel is shutting down.")]
    KernelGone,
    /// Read back from the history: the run was in flight when the kernel stopped.
    #[error("The kernel stopped while this run was in flight; run the task again.")]
    StoppedInFlight,
    #[error("The run took longer than its {ms} ms timeout and was stopped.")]
    RunTimeout { ms: u64, node: Option<String> },
    #[error("Node `{node}` took longer than its {ms} ms timeout; the run was stopped.")]
    NodeTimeout { node: String, ms: u64 },
    #[error("The run's nodes produced messages faster than the engine could read them.")]
    Flooded,
    /// A node's payload, its references expanded, would pass the frame cap.
    #[error("Node `{node}`: {why}.")]
    NodeTooLarge {
        node: String,
        why: String,
        max: usize,
    },
    /// A reference that cannot be expanded (the resolver's own sentence).
    #[error("{0}")]
    BadReference(String),
    #[error("The program exited with code {0}.")]
    ExitCode(i32),
    #[error("Skipped because `{0}` failed.")]
    Skipped(String),
    #[error("The node's answer does not match the contract: {0}")]
    BrokenAnswer(String),
}

impl ServiceError for TaskError {
    fn code(&self) -> ErrorCode {
        use TaskError::*;
        match self {
            Unreadable(_) | BadName | BadGraph(_) | NotANode { .. } | BadReference(_) => {
                ErrorCode::BadRequest
            }
            DefinitionTooLarge { .. } | TooManyNodes { .. } | TooManyRuns(_) | Flooded => {
                ErrorCode::ResourceExceeded
            }
            NodeTooLarge { .. } => ErrorCode::ResourceExceeded,
            NodeRefused { .. } => ErrorCode::PermissionDenied,
            NoSuchTask(_) | NoSuchRun(_) => ErrorCode::NotFound,
            AlreadyEnded { .. } => ErrorCode::Conflict,
            StoreUnavailable(_) => ErrorCode::BackendUnavailable,
            Cancelled | CallerLeft | Interrupted | KernelGone | StoppedInFlight | Skipped(_) => {
                ErrorCode::Cancelled
            }
            RunTimeout { .. } | NodeTimeout { .. } => ErrorCode::Timeout,
            ExitCode(_) | BrokenAnswer(_) => ErrorCode::Internal,
        }
    }

    /// `limit` and `value`, `node`, `timeout_ms`, `exit_code`, a parse position, ….
    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            TaskError::Unreadable(unreadable) => match unreadable.at {
                Some(at) => at.attach(error),
                None => error,
            },
            TaskError::DefinitionTooLarge { max, .. } => limit(error, "max_definition_bytes", *max),
            TaskError::TooManyNodes { max, .. } => limit(error, "max_nodes", *max),
            TaskError::TooManyRuns(max) => limit(error, "max_runs", *max),
            TaskError::NodeTooLarge { node, max, .. } => {
                limit(error, "max_frame_bytes", *max).with_detail("node", node.as_str())
            }
            TaskError::NodeRefused { node, refusal } => {
                let topic = match refusal {
                    Refusal::UnknownTopic { topic }
                    | Refusal::PermissionDenied { topic, .. }
                    | Refusal::RateLimited { topic, .. } => topic,
                };
                error
                    .with_detail("node", node.as_str())
                    .with_detail("topic", topic.as_str())
            }
            TaskError::CallerLeft => error.with_detail("reason", "caller_left"),
            TaskError::Interrupted | TaskError::StoppedInFlight => {
                error.with_detail("interrupted", true)
            }
            TaskError::RunTimeout { ms, node } => {
                let error = error.with_detail("timeout_ms", *ms);
                match node {
                    Some(node) => error.with_detail("node", node.as_str()),
                    None => error,
                }
            }
            TaskError::NodeTimeout { node, ms } => error
                .with_detail("node", node.as_str())
                .with_detail("timeout_ms", *ms),
            TaskError::ExitCode(code) => error.with_detail("exit_code", *code),
            TaskError::Skipped(node) => error.with_detail("node", node.as_str()),
            _ => error,
        }
    }
}

/// `details.limit` and `details.value`: the limit that was hit.
fn limit(error: ErrorPayload, name: &str, value: usize) -> ErrorPayload {
    error
        .with_detail("limit", name)
        .with_detail("value", value as u64)
}

impl From<TaskError> for ErrorPayload {
    fn from(error: TaskError) -> ErrorPayload {
        error.to_payload()
    }
}

/// The payload of a node that failed with another service's error, as the run reports it:
/// `Node \`id\` failed: …`, keeping that error's code and details.
pub fn node_failed(node: &str, error: &ErrorPayload) -> ErrorPayload {
    ErrorPayload {
        request_id: None,
        code: error.code,
        error: format!("Node `{node}` failed: {}", error.error),
        details: error.details.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_code_and_the_details_its_clients_read() {
        let too_many = TaskError::TooManyRuns(4).to_payload();
        assert_eq!(too_many.code, ErrorCode::ResourceExceeded);
        let details = too_many.details.unwrap();
        assert_eq!(
            (details["limit"].as_str(), details["value"].as_u64()),
            (Some("max_runs"), Some(4))
        );
        let left = TaskError::CallerLeft.to_payload();
        assert_eq!(left.code, ErrorCode::Cancelled);
        assert_eq!(left.details.unwrap()["reason"], "caller_left");
        let timeout = TaskError::NodeTimeout {
            node: "a".into(),
            ms: 5,
        }
        .to_payload();
        assert_eq!(timeout.code, ErrorCode::Timeout);
        assert!(timeout.error.contains("`a`"), "{}", timeout.error);
        let refused = TaskError::NodeRefused {
            node: "w".into(),
            refusal: Refusal::PermissionDenied {
                topic: Topic::parse("wasm.run").unwrap(),
                judged: Some(Topic::parse("vm.spawn").unwrap()),
            },
        }
        .to_payload();
        assert_eq!(refused.code, ErrorCode::PermissionDenied);
        assert!(refused.error.starts_with("Node `w`: "), "{}", refused.error);
        assert_eq!(refused.details.unwrap()["topic"], "wasm.run");
        let exit = TaskError::ExitCode(3).to_payload();
        assert_eq!(
            (exit.code, exit.details.unwrap()["exit_code"].as_i64()),
            (ErrorCode::Internal, Some(3))
        );
    }

    #[test]
    fn a_node_failure_keeps_the_services_code_and_details() {
        let error = ErrorPayload::new(ErrorCode::ResourceExceeded, "Too much.")
            .with_detail("limit", "max_fuel")
            .with_request_id(Some("node-1".into()));
        let failed = node_failed("b", &error);
        assert_eq!(failed.code, ErrorCode::ResourceExceeded);
        assert_eq!(failed.error, "Node `b` failed: Too much.");
        assert_eq!(failed.request_id, None);
        assert_eq!(failed.details.unwrap()["limit"], "max_fuel");
    }
}
