//! Why an `ai.agent.*` request was refused or a run ended early, and the one place each reason
//! gets its SPEC §4 code, its sentence and its details ([`ServiceError`]). A run's error is sent
//! with `details.run_id` added by the run (see `run::finish`); the provider's own failures keep
//! the mapping of the `ai.*` service ([`AiError`]).

use aether_shared::{ErrorCode, ErrorPayload};

use super::budget::Exhausted;
use crate::services::ai::error::AiError;
use crate::services::request::ServiceError;

/// A refused `ai.agent.*` request, or how a run ended when it did not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// The provider refused or failed (not configured, unreachable, HTTP errors, …).
    #[error("{0}")]
    Ai(#[from] AiError),
    #[error("The goal is empty; say what the agent should do.")]
    EmptyGoal,
    #[error(
        "You already have {0} agent runs going (ai.agent.max_runs_per_client); wait for one to end or cancel one with ai.agent.cancel."
    )]
    TooManyRuns(u32),
    #[error("You have no agent run `{0}`; see ai.agent.list for your runs.")]
    NoSuchRun(String),
    #[error(
        "Run `{run_id}` is not waiting for a decision on call `{call_id}`; it was decided already, timed out, or the run ended."
    )]
    NotWaiting { run_id: String, call_id: String },
    #[error(
        "Run `{0}` is still going; cancel it with ai.agent.cancel, then undo it once it has ended."
    )]
    StillRunning(String),
    #[error(
        "You have no tab serving files to undo the run in; open the desktop (its files are where the run wrote) and retry."
    )]
    NoTab,
    #[error(
        "Putting `{path}` back failed: {}. Nothing was marked undone; retry the undo.",
        .cause.error
    )]
    UndoFailed { path: String, cause: ErrorPayload },
    #[error("The agent's history cannot be read or written ({0}); check the kernel's data_dir.")]
    Store(String),
    #[error(
        "The run used its budget: {} ({value}) reached; raise it in ai.agent or the request's budget.",
        .limit.limit()
    )]
    Budget { limit: Exhausted, value: u64 },
    #[error(
        "The run stopped: `{tool}` failed {times} times with the same arguments (ai.agent.max_repeated_failures); change the approach or the goal and start again."
    )]
    RepeatedFailure { tool: String, times: u32 },
    #[error(
        "The run took longer than {0} ms (wall_timeout_ms) and was stopped; raise ai.agent.wall_timeout_ms or the request's budget."
    )]
    WallTimeout(u64),
    #[error(
        "Nobody decided on call `{call_id}` within {ms} ms (ai.agent.approval_timeout_ms); the run was stopped. Start it again and answer with ai.agent.approve."
    )]
    ApprovalTimeout { call_id: String, ms: u64 },
    #[error("The agent run was cancelled.")]
    Cancelled,
    #[error("The agent run was cancelled: the client that started it disconnected.")]
    CallerLeft,
    #[error("The agent run was stopped: the kernel is shutting down.")]
    Shutdown,
}

impl ServiceError for AgentError {
    fn code(&self) -> ErrorCode {
        match self {
            AgentError::Ai(e) => e.code(),
            AgentError::EmptyGoal | AgentError::StillRunning(_) => ErrorCode::BadRequest,
            AgentError::TooManyRuns(_)
            | AgentError::Budget { .. }
            | AgentError::RepeatedFailure { .. } => ErrorCode::ResourceExceeded,
            AgentError::NoSuchRun(_) => ErrorCode::NotFound,
            AgentError::NotWaiting { .. } => ErrorCode::Conflict,
            AgentError::NoTab => ErrorCode::SessionNotFound,
            AgentError::UndoFailed { cause, .. } => cause.code,
            AgentError::Store(_) => ErrorCode::Internal,
            AgentError::WallTimeout(_) | AgentError::ApprovalTimeout { .. } => ErrorCode::Timeout,
            AgentError::Cancelled | AgentError::CallerLeft | AgentError::Shutdown => {
                ErrorCode::Cancelled
            }
        }
    }

    /// `limit` and `value` for budgets and timeouts, `call_id`, `path` and the tab's own error.
    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            AgentError::Ai(e) => e.details(error),
            AgentError::TooManyRuns(n) => error
                .with_detail("limit", "max_runs_per_client")
                .with_detail("value", *n),
            AgentError::Budget { limit, value } => error
                .with_detail("limit", limit.limit())
                .with_detail("value", *value),
            AgentError::RepeatedFailure { tool, times } => error
                .with_detail("limit", "repeated_failure")
                .with_detail("value", *times)
                .with_detail("tool", tool.as_str()),
            AgentError::WallTimeout(ms) => error
                .with_detail("limit", "wall_timeout_ms")
                .with_detail("value", *ms),
            AgentError::ApprovalTimeout { call_id, ms } => error
                .with_detail("limit", "approval_timeout_ms")
                .with_detail("value", *ms)
                .with_detail("call_id", call_id.as_str()),
            AgentError::UndoFailed { path, cause } => error
                .with_detail("path", path.as_str())
                .with_detail("cause", cause.error.as_str()),
            _ => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_endings_carry_the_limit_they_hit() {
        let budget = AgentError::Budget {
            limit: Exhausted::ToolCalls,
            value: 3,
        }
        .to_payload();
        assert_eq!(budget.code, ErrorCode::ResourceExceeded);
        assert_eq!(budget.details.as_ref().unwrap()["limit"], "max_tool_calls");
        assert!(
            budget.error.contains("max_tool_calls (3) reached"),
            "{}",
            budget.error
        );
        let looped = AgentError::RepeatedFailure {
            tool: "read_file".into(),
            times: 3,
        }
        .to_payload();
        assert_eq!(looped.details.unwrap()["limit"], "repeated_failure");
        let waited = AgentError::ApprovalTimeout {
            call_id: "c1".into(),
            ms: 50,
        }
        .to_payload();
        assert_eq!(waited.code, ErrorCode::Timeout);
        assert_eq!(waited.details.unwrap()["call_id"], "c1");
        assert_eq!(AgentError::Cancelled.code(), ErrorCode::Cancelled);
    }

    #[test]
    fn provider_failures_keep_the_ai_mapping() {
        let err = AgentError::from(AiError::Http {
            status: 429,
            message: "slow down".into(),
            retry_after_ms: Some(1000),
        })
        .to_payload();
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.details.unwrap()["retry_after_ms"], 1000);
        assert_eq!(
            AgentError::from(AiError::NotConfigured).code(),
            ErrorCode::NotConfigured
        );
    }
}
