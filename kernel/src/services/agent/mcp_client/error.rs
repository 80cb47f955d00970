//! Why a call to an outside MCP server failed, as the model and the user read it: one sentence
//! naming the server and what happens next, its SPEC §4 code (`backend_unavailable` for a
//! server that cannot be started or went away, `timeout` for one that did not answer in time,
//! `bad_request` for arguments the server refused), and `details.server`. None of these ends the
//! run: the agent hands it back to the model as the call's failed result.

use aether_shared::{ErrorCode, ErrorPayload};

use crate::services::request::ServiceError;

/// A failed call (or start) of an outside MCP server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideError {
    #[error(
        "The MCP server `{server}` could not be started: {cause}. Check ai.mcp_servers.{server} and the kernel's log; it is tried again on its next use."
    )]
    Start { server: String, cause: String },
    #[error(
        "The MCP server `{server}` did not start within {ms} ms (ai.mcp_servers.{server}.call_timeout_ms); it was stopped and is tried again on its next use."
    )]
    StartTimeout { server: String, ms: u64 },
    #[error(
        "The MCP server `{server}` needs the header `{header}` from the environment variable `{var}`, which is not set in the kernel's environment; set it and restart the kernel."
    )]
    MissingHeader {
        server: String,
        header: String,
        var: String,
    },
    #[error(
        "The MCP server `{server}` went away during the call to `{tool}` ({cause}); it is restarted on its next use, so the call may be tried again."
    )]
    Lost {
        server: String,
        tool: String,
        cause: String,
    },
    #[error(
        "The MCP server `{server}` did not answer `{tool}` within {ms} ms (ai.mcp_servers.{server}.call_timeout_ms); it was stopped and is restarted on its next use."
    )]
    Timeout {
        server: String,
        tool: String,
        ms: u64,
    },
    #[error("The MCP server `{server}` refused the call to `{tool}`: {message}")]
    Refused {
        server: String,
        tool: String,
        message: String,
        /// The server's JSON-RPC error code.
        rpc_code: i32,
    },
    #[error("The kernel is shutting down; the MCP server `{server}` is not started.")]
    ShuttingDown { server: String },
}

/// JSON-RPC's "invalid params" and "method not found": the call, not the server, is wrong.
const CALLER_MISTAKES: [i32; 2] = [-32602, -32601];

impl OutsideError {
    /// The server the error is about.
    pub fn server(&self) -> &str {
        match self {
            OutsideError::Start { server, .. }
            | OutsideError::StartTimeout { server, .. }
            | OutsideError::MissingHeader { server, .. }
            | OutsideError::Lost { server, .. }
            | OutsideError::Timeout { server, .. }
            | OutsideError::Refused { server, .. }
            | OutsideError::ShuttingDown { server } => server,
        }
    }
}

impl ServiceError for OutsideError {
    fn code(&self) -> ErrorCode {
        match self {
            OutsideError::Start { .. }
            | OutsideError::MissingHeader { .. }
            | OutsideError::Lost { .. }
            | OutsideError::ShuttingDown { .. } => ErrorCode::BackendUnavailable,
            OutsideError::StartTimeout { .. } | OutsideError::Timeout { .. } => ErrorCode::Timeout,
            OutsideError::Refused { rpc_code, .. } if CALLER_MISTAKES.contains(rpc_code) => {
                ErrorCode::BadRequest
            }
            OutsideError::Refused { .. } => ErrorCode::BackendUnavailable,
        }
    }

    /// `server`; for timeouts also `limit` and `value`.
    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        let error = error.with_detail("server", self.server());
        match self {
            OutsideError::StartTimeout { ms, .. } | OutsideError::Timeout { ms, .. } => error
                .with_detail("limit", "call_timeout_ms")
                .with_detail("value", *ms),
            _ => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_names_its_server_and_says_what_happens_next() {
        let hung = OutsideError::Timeout {
            server: "slow".into(),
            tool: "wait".into(),
            ms: 1500,
        }
        .to_payload();
        assert_eq!(hung.code, ErrorCode::Timeout);
        assert!(hung.error.contains("`slow`") && hung.error.contains("1500 ms"));
        let details = hung.details.unwrap();
        assert_eq!(details["server"], "slow");
        assert_eq!(details["value"], 1500);

        let lost = OutsideError::Lost {
            server: "flaky".into(),
            tool: "exit".into(),
            cause: "the connection closed".into(),
        }
        .to_payload();
        assert_eq!(lost.code, ErrorCode::BackendUnavailable);
        assert!(
            lost.error.contains("restarted on its next use"),
            "{}",
            lost.error
        );

        let refused = |rpc_code| OutsideError::Refused {
            server: "x".into(),
            tool: "t".into(),
            message: "no".into(),
            rpc_code,
        };
        assert_eq!(refused(-32602).code(), ErrorCode::BadRequest);
        assert_eq!(refused(-32603).code(), ErrorCode::BackendUnavailable);
    }
}
