//! [`BusError`]: why a request or a send failed, mapped to the SPEC's [`ErrorCode`] in one place.
//!
//! Errors from the kernel keep their payload as sent; errors the client decides on its own
//! (no connection, no answer in time, a reply that breaks the contract) get a code from the
//! closed set so callers handle both the same way.

use aether_shared::{ContractError, ErrorCode, ErrorPayload};

/// A failed bus operation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BusError {
    /// The kernel answered on an error topic.
    #[error("{}", .0.error)]
    Remote(ErrorPayload),
    /// No answer within the request's timeout.
    #[error(
        "`{topic}` got no answer within {timeout_ms} ms; check that the kernel is running, then retry"
    )]
    TimedOut { topic: String, timeout_ms: u32 },
    /// The connection dropped while the request was in flight; it may or may not have run.
    #[error(
        "the connection to the kernel dropped before `{topic}` was answered; check whether it ran, then retry"
    )]
    Dropped { topic: String },
    /// Not connected, so nothing was sent: retrying once connected is safe.
    #[error(
        "not connected to the kernel, so `{topic}` was not sent; wait for the connection, then retry"
    )]
    NotConnected { topic: String },
    /// The reply arrived but does not match the contract.
    #[error(
        "the reply to `{topic}` does not match the contract ({why}); report this as a kernel bug"
    )]
    BadReply { topic: String, why: String },
    /// The caller passed a topic, pattern or payload that breaks the contract.
    #[error("{0}; fix the request and retry")]
    Invalid(#[from] ContractError),
}

impl BusError {
    /// The wire code. Pending-on-drop is `timeout` (like a missed answer: the outcome is unknown);
    /// not-connected is `backend_unavailable` (nothing was sent).
    pub fn code(&self) -> ErrorCode {
        match self {
            BusError::Remote(payload) => payload.code,
            BusError::TimedOut { .. } | BusError::Dropped { .. } => ErrorCode::Timeout,
            BusError::NotConnected { .. } => ErrorCode::BackendUnavailable,
            BusError::BadReply { .. } => ErrorCode::Internal,
            BusError::Invalid(_) => ErrorCode::BadRequest,
        }
    }

    /// The error as an [`ErrorPayload`]: the kernel's own for [`BusError::Remote`], otherwise
    /// the code and sentence above, correlated with `request_id` when one was assigned.
    pub fn to_payload(&self, request_id: Option<&str>) -> ErrorPayload {
        match self {
            BusError::Remote(payload) => payload.clone(),
            other => ErrorPayload::new(other.code(), other.to_string())
                .with_request_id(request_id.map(str::to_owned)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::Topic;

    #[test]
    fn local_failures_map_to_the_documented_codes() {
        let topic = || "kernel.ping".to_owned();
        let cases = [
            (
                BusError::TimedOut {
                    topic: topic(),
                    timeout_ms: 5,
                },
                ErrorCode::Timeout,
            ),
            (BusError::Dropped { topic: topic() }, ErrorCode::Timeout),
            (
                BusError::NotConnected { topic: topic() },
                ErrorCode::BackendUnavailable,
            ),
            (
                BusError::BadReply {
                    topic: topic(),
                    why: "x".into(),
                },
                ErrorCode::Internal,
            ),
            (
                BusError::Invalid(Topic::parse("nope").unwrap_err()),
                ErrorCode::BadRequest,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
            let payload = error.to_payload(Some("r-1-x"));
            assert_eq!(payload.code, code);
            assert_eq!(payload.request_id.as_deref(), Some("r-1-x"));
            assert!(payload.error.contains("retry") || payload.error.contains("report"));
        }
    }

    #[test]
    fn kernel_errors_keep_their_payload() {
        let sent = ErrorPayload::new(ErrorCode::PermissionDenied, "Ask an admin.")
            .with_request_id(Some("r-9-z".into()));
        let error = BusError::Remote(sent.clone());
        assert_eq!(error.code(), ErrorCode::PermissionDenied);
        assert_eq!(error.to_string(), "Ask an admin.");
        assert_eq!(error.to_payload(None), sent);
    }
}
