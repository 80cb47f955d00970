//! Errors of the contract: the closed set of wire [`ErrorCode`]s and the [`ErrorPayload`] every
//! error topic carries (SPEC §4), plus [`ContractError`] for values that break the contract.
//!
//! `ErrorPayload::error` is one human sentence that says what to do next.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every code an error topic can carry. Serialized snake_case; the set is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    UnknownTopic,
    Unauthorized,
    PermissionDenied,
    /// `details.retry_after_ms` says when to try again.
    RateLimited,
    PayloadTooLarge,
    NotFound,
    AlreadyExists,
    Conflict,
    SessionNotFound,
    BackendUnavailable,
    Timeout,
    /// `details.limit` names the limit that was hit.
    ResourceExceeded,
    Cancelled,
    NotConfigured,
    Internal,
}

impl ErrorCode {
    /// Every code, for exhaustive tests and documentation.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::BadRequest,
        ErrorCode::UnknownTopic,
        ErrorCode::Unauthorized,
        ErrorCode::PermissionDenied,
        ErrorCode::RateLimited,
        ErrorCode::PayloadTooLarge,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::Conflict,
        ErrorCode::SessionNotFound,
        ErrorCode::BackendUnavailable,
        ErrorCode::Timeout,
        ErrorCode::ResourceExceeded,
        ErrorCode::Cancelled,
        ErrorCode::NotConfigured,
        ErrorCode::Internal,
    ];

    /// The wire name (`rate_limited`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownTopic => "unknown_topic",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::Conflict => "conflict",
            ErrorCode::SessionNotFound => "session_not_found",
            ErrorCode::BackendUnavailable => "backend_unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ResourceExceeded => "resource_exceeded",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::NotConfigured => "not_configured",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of every error topic: `{ _request_id?, code, error, details? }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorPayload {
    #[serde(
        rename = "_request_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    pub code: ErrorCode,
    /// One sentence that says what went wrong and what to do.
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

impl ErrorPayload {
    /// An error with a code and a sentence.
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ErrorPayload {
            request_id: None,
            code,
            error: error.into(),
            details: None,
        }
    }

    /// Correlates the error with the request that caused it.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Adds one detail (`retry_after_ms`, `limit`, …).
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }
}

/// A value that breaks the contract. Each maps to [`ErrorCode::BadRequest`] on the wire.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContractError {
    #[error("invalid topic `{topic}`: {why}")]
    InvalidTopic { topic: String, why: String },
    #[error("invalid subscription pattern `{pattern}`: {why}")]
    InvalidPattern { pattern: String, why: String },
    #[error("the message is not a valid envelope: {0}; send {{\"topic\": …, \"payload\": {{…}}}}")]
    InvalidEnvelope(String),
    #[error("the payload of `{topic}` does not match the contract: {why}")]
    InvalidPayload { topic: String, why: String },
}

impl ContractError {
    /// The wire code for this error.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadRequest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_to_its_snake_case_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, Value::String(code.as_str().to_owned()));
            let back: ErrorCode = serde_json::from_value(json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn error_payload_has_the_spec_shape() {
        let err = ErrorPayload::new(ErrorCode::RateLimited, "Too many requests; wait and retry.")
            .with_request_id(Some("r-1".into()))
            .with_detail("retry_after_ms", 250);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "_request_id": "r-1",
                "code": "rate_limited",
                "error": "Too many requests; wait and retry.",
                "details": {"retry_after_ms": 250}
            })
        );
        let bare = serde_json::to_value(ErrorPayload::new(ErrorCode::Internal, "x")).unwrap();
        assert_eq!(bare, serde_json::json!({"code": "internal", "error": "x"}));
    }

    #[test]
    fn unknown_codes_are_refused() {
        assert!(serde_json::from_str::<ErrorCode>("\"teapot\"").is_err());
    }
}
