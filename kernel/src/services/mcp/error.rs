//! The MCP service's errors, each with its wire code and a sentence saying what to do next:
//! [`McpError`] answers a tab's `mcp.*` request; [`CallRefusal`] is what an outside agent reads
//! when a call made with a grant does not run. Nothing here decides when either happens.

use aether_shared::{ErrorCode, ErrorPayload};

use crate::services::request::ServiceError;

/// A bad `mcp.*` request from a tab, or one about something it does not have.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("{0}")]
    BadRequest(String),
    #[error("There is no grant `{0}` of yours; list them with mcp.grants.")]
    NotFound(String),
    #[error(
        "No call `{0}` waits for this tab's decision (it was settled, or asked another tab); see mcp.settled."
    )]
    NoSuchAsk(String),
    #[error("This tab already has {0} live grants; revoke one with mcp.revoke first.")]
    TooMany(usize),
    #[error("This tab serves no files (no vfs:register); reload the desktop, then undo again.")]
    NoTab,
    #[error("`{path}` could not be put back ({}); nothing is lost: undo again.", cause.error)]
    UndoFailed { path: String, cause: ErrorPayload },
}

impl ServiceError for McpError {
    fn code(&self) -> ErrorCode {
        match self {
            McpError::BadRequest(_) => ErrorCode::BadRequest,
            McpError::NotFound(_) | McpError::NoSuchAsk(_) => ErrorCode::NotFound,
            McpError::TooMany(_) => ErrorCode::ResourceExceeded,
            McpError::NoTab => ErrorCode::SessionNotFound,
            McpError::UndoFailed { cause, .. } => cause.code,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            McpError::TooMany(n) => error
                .with_detail("limit", "max_grants_per_client")
                .with_detail("value", *n),
            McpError::UndoFailed { path, cause } => error
                .with_detail("path", path.as_str())
                .with_detail("cause", cause.error.as_str()),
            _ => error,
        }
    }
}

/// Why a call made with a grant did not run (or did not finish), for the outside agent.
#[derive(Debug, thiserror::Error)]
pub enum CallRefusal {
    #[error("This grant was revoked or has expired; ask the user for a new one.")]
    GrantEnded,
    #[error(
        "The Aether tab that made this grant was closed; ask the user to reopen it and make a new grant."
    )]
    TabClosed,
    #[error("This grant does not allow `{tool}`; it allows {allowed}.")]
    NotGranted { tool: String, allowed: String },
    #[error(
        "The user declined this `{0}` call. Do not repeat it; adapt, or ask the user what they want."
    )]
    Declined(String),
    #[error(
        "Nobody answered this call in the Aether tab within {0} ms, so it did not run; ask the user to watch the tab, then try again."
    )]
    Unanswered(u64),
    #[error("The MCP client hung up before the call ended.")]
    HungUp,
    #[error(
        "This write would make the grant keep more than {0} bytes of files for undo, so it did not run; ask the user to undo or revoke the grant and make a new one."
    )]
    UndoFull(usize),
}

impl ServiceError for CallRefusal {
    fn code(&self) -> ErrorCode {
        match self {
            CallRefusal::GrantEnded | CallRefusal::NotGranted { .. } | CallRefusal::Declined(_) => {
                ErrorCode::PermissionDenied
            }
            CallRefusal::TabClosed => ErrorCode::SessionNotFound,
            CallRefusal::Unanswered(_) => ErrorCode::Timeout,
            CallRefusal::HungUp => ErrorCode::Cancelled,
            CallRefusal::UndoFull(_) => ErrorCode::ResourceExceeded,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            CallRefusal::Unanswered(ms) => error
                .with_detail("limit", "approval_timeout_ms")
                .with_detail("value", *ms),
            CallRefusal::UndoFull(bytes) => error
                .with_detail("limit", "max_undo_bytes_per_grant")
                .with_detail("value", *bytes),
            _ => error,
        }
    }
}

impl From<CallRefusal> for ErrorPayload {
    fn from(refusal: CallRefusal) -> ErrorPayload {
        refusal.to_payload()
    }
}
