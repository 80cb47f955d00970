//! Why an `ai.*` request failed, and the one place that maps each reason to its SPEC §4 code and
//! its sentence ([`ServiceError`]). A provider's own message is kept word for word (in the sentence and in
//! `details.provider_message`), so the user sees what the endpoint said.

use aether_shared::{ErrorCode, ErrorPayload};

use crate::services::request::ServiceError;

/// A failed `ai.chat` or `ai.complete`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    #[error(
        "No AI provider is configured: set ai.provider.base_url and ai.provider.model in aether.yaml (or AETHER_AI__PROVIDER__BASE_URL and AETHER_AI__PROVIDER__MODEL) to an OpenAI-compatible endpoint such as a llama.cpp server, Ollama or vLLM, then restart the kernel."
    )]
    NotConfigured,
    #[error(
        "No model is configured: set ai.provider.model (or AETHER_AI__PROVIDER__MODEL), or name one in the request's `model`."
    )]
    NoModel,
    #[error(
        "The AI provider's key is missing: ai.provider.api_key_env names `{0}`, which is not set in the kernel's environment; set it and restart the kernel."
    )]
    MissingKey(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "You already have {0} AI requests running (ai.max_concurrent_per_client); wait for one to finish or cancel one."
    )]
    TooMany(u32),
    #[error(
        "You already have an AI request `{0}` running; use a fresh _request_id or cancel that one."
    )]
    Duplicate(String),
    #[error(
        "The AI provider cannot be reached ({0}); check that it is running and ai.provider.base_url is right."
    )]
    Unreachable(String),
    #[error("The AI provider {what} within {ms} ms ({limit}); try again, or raise {limit}.")]
    Timeout {
        what: &'static str,
        limit: &'static str,
        ms: u64,
    },
    #[error("The AI provider answered HTTP {status}: {message}")]
    Http {
        status: u16,
        message: String,
        retry_after_ms: Option<u64>,
    },
    #[error("The AI provider reported an error mid-answer: {0}")]
    Provider(String),
    #[error(
        "The AI provider sent a malformed stream ({0}); check that ai.provider.base_url is an OpenAI-compatible API."
    )]
    Malformed(String),
    #[error("The AI request was cancelled.")]
    Cancelled,
    /// `ai.cancel` named no running request of the sender.
    #[error("You have no running AI request `{0}`; it may have finished already.")]
    NoSuchRequest(String),
}

impl ServiceError for AiError {
    fn code(&self) -> ErrorCode {
        match self {
            AiError::NotConfigured | AiError::NoModel | AiError::MissingKey(_) => {
                ErrorCode::NotConfigured
            }
            AiError::BadRequest(_) => ErrorCode::BadRequest,
            AiError::TooMany(_) => ErrorCode::ResourceExceeded,
            AiError::Duplicate(_) => ErrorCode::Conflict,
            AiError::Unreachable(_) | AiError::Provider(_) | AiError::Malformed(_) => {
                ErrorCode::BackendUnavailable
            }
            AiError::Timeout { .. } => ErrorCode::Timeout,
            AiError::Http { status, .. } => match status {
                400 | 413 | 422 => ErrorCode::BadRequest,
                401 | 403 => ErrorCode::NotConfigured,
                404 => ErrorCode::NotFound,
                429 => ErrorCode::RateLimited,
                _ => ErrorCode::BackendUnavailable,
            },
            AiError::Cancelled => ErrorCode::Cancelled,
            AiError::NoSuchRequest(_) => ErrorCode::NotFound,
        }
    }

    /// `status`, `provider_message`, `limit` and `value`, `retry_after_ms`.
    fn details(&self, mut error: ErrorPayload) -> ErrorPayload {
        match self {
            AiError::Http {
                status,
                message,
                retry_after_ms,
            } => {
                error = error
                    .with_detail("status", *status)
                    .with_detail("provider_message", message.clone());
                if let Some(ms) = retry_after_ms {
                    error = error.with_detail("retry_after_ms", *ms);
                }
            }
            AiError::Provider(message) => {
                error = error.with_detail("provider_message", message.clone());
            }
            AiError::Timeout { limit, ms, .. } => {
                error = error.with_detail("limit", *limit).with_detail("value", *ms);
            }
            AiError::TooMany(n) => {
                error = error
                    .with_detail("limit", "max_concurrent_per_client")
                    .with_detail("value", *n);
            }
            _ => {}
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_spec_codes_and_keep_the_providers_words() {
        let err = AiError::Http {
            status: 429,
            message: "slow down".into(),
            retry_after_ms: Some(2000),
        };
        let payload = err.to_payload();
        assert_eq!(payload.code, ErrorCode::RateLimited);
        assert!(payload.error.contains("slow down"));
        let details = payload.details.unwrap();
        assert_eq!(details["retry_after_ms"], 2000);
        assert_eq!(details["provider_message"], "slow down");
        let code = |status| {
            AiError::Http {
                status,
                message: String::new(),
                retry_after_ms: None,
            }
            .code()
        };
        assert_eq!(code(401), ErrorCode::NotConfigured);
        assert_eq!(code(404), ErrorCode::NotFound);
        assert_eq!(code(500), ErrorCode::BackendUnavailable);
        assert_eq!(AiError::NotConfigured.code(), ErrorCode::NotConfigured);
    }

    #[test]
    fn every_refusal_keeps_its_code_sentence_and_details() {
        let busy = AiError::TooMany(2).to_payload();
        assert_eq!(busy.code, ErrorCode::ResourceExceeded);
        assert_eq!(
            busy.error,
            "You already have 2 AI requests running (ai.max_concurrent_per_client); wait for one to finish or cancel one."
        );
        let details = busy.details.unwrap();
        assert_eq!(details["limit"], "max_concurrent_per_client");
        assert_eq!(details["value"], 2);

        let slow = AiError::Timeout {
            what: "did not finish its answer",
            limit: "request_timeout_ms",
            ms: 50,
        }
        .to_payload();
        assert_eq!(slow.code, ErrorCode::Timeout);
        let details = slow.details.unwrap();
        assert_eq!(details["limit"], "request_timeout_ms");
        assert_eq!(details["value"], 50);

        let mid = AiError::Provider("overloaded".into()).to_payload();
        assert_eq!(mid.code, ErrorCode::BackendUnavailable);
        assert_eq!(mid.details.unwrap()["provider_message"], "overloaded");

        let gone = AiError::NoSuchRequest("r-9".into()).to_payload();
        assert_eq!(gone.code, ErrorCode::NotFound);
        assert_eq!(
            gone.error,
            "You have no running AI request `r-9`; it may have finished already."
        );
        assert_eq!(gone.details, None);

        for (error, code) in [
            (AiError::Cancelled, ErrorCode::Cancelled),
            (AiError::Duplicate("r".into()), ErrorCode::Conflict),
            (AiError::NoModel, ErrorCode::NotConfigured),
            (AiError::MissingKey("KEY".into()), ErrorCode::NotConfigured),
            (AiError::BadRequest("x".into()), ErrorCode::BadRequest),
            (
                AiError::Unreachable("x".into()),
                ErrorCode::BackendUnavailable,
            ),
            (
                AiError::Malformed("x".into()),
                ErrorCode::BackendUnavailable,
            ),
        ] {
            let payload = error.to_payload();
            assert_eq!(payload.code, code, "{error:?}");
            assert_eq!(payload.error, error.to_string());
        }
    }
}
