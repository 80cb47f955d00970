//! [`VfsError`]: why a file operation failed, mapped to the SPEC's [`ErrorCode`] in one place.
//!
//! Every sentence names the path and says what to do next. The bus glue sends these as
//! `vfs:error` payloads; the Files app shows the same sentence. Nothing here touches the store.

use aether_shared::vfs::PathError;
use aether_shared::{ErrorCode, ErrorPayload};

/// A failed file operation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum VfsError {
    /// The path breaks the rules of `aether_shared::vfs::path`.
    #[error("{0}")]
    BadPath(#[from] PathError),
    /// The payload does not match the contract of its topic.
    #[error("{0}")]
    BadPayload(String),
    #[error("`{0}` does not exist; check the path, or list its folder")]
    NotFound(String),
    #[error("`{0}` already exists; pick another name, or delete it first")]
    AlreadyExists(String),
    #[error("`{0}` is a folder, not a file; list it, or pick a file inside it")]
    IsFolder(String),
    #[error("`{0}` is a file, not a folder; pick a folder, or rename the file first")]
    NotFolder(String),
    #[error(
        "`{0}` is not empty; delete it with `recursive: true` to remove it and everything in it"
    )]
    NotEmpty(String),
    #[error("the root folder `/` cannot be {0}; act on the entries inside it")]
    Root(&'static str),
    #[error("`{from}` cannot move inside itself (`{to}`); pick a destination outside it")]
    IntoItself { from: String, to: String },
    #[error("the content is not valid {encoding} ({why}); send text as utf8 and bytes as base64")]
    BadContent { encoding: &'static str, why: String },
    /// The browser refused to store more (`QuotaExceededError`). Figures in bytes, when known.
    #[error(
        "the browser's storage for this site is full{}; delete or export some files, then retry",
        quota_figures(*usage_bytes, *quota_bytes)
    )]
    QuotaExceeded {
        usage_bytes: Option<f64>,
        quota_bytes: Option<f64>,
    },
    /// The answer would not fit in one bus frame.
    #[error(
        "`{path}` is {size} bytes, too large to send in one bus message (the kernel accepts {max_frame_bytes} bytes); read it in chunks with `offset` and `length`"
    )]
    TooLargeToSend {
        path: String,
        size: u64,
        max_frame_bytes: u64,
    },
    /// A chunk of an upload this tab does not know (never started, expired or already done).
    #[error(
        "upload `{0}` is not in progress (never started, idle too long, or finished); send it again from offset 0"
    )]
    UnknownUpload(String),
    /// A chunk that does not continue its upload.
    #[error(
        "upload `{upload}` expected the chunk at offset {expected}, got {offset}; the upload was dropped, send it again from offset 0"
    )]
    UploadOutOfOrder {
        upload: String,
        expected: u64,
        offset: u64,
    },
    #[error("{0} uploads are already in progress in this tab; finish one, or retry in a minute")]
    TooManyUploads(usize),
    #[error(
        "uploads in progress would stage more than {0} bytes in this tab; upload fewer or smaller files at once"
    )]
    UploadTooLarge(u64),
    /// The file store has not finished opening.
    #[error("the file store of this tab is still opening; retry in a moment")]
    NotReady,
    /// IndexedDB failed for another reason.
    #[error("the browser's file store failed ({0}); reload the page and retry")]
    Store(String),
    /// An archive that cannot be imported.
    #[error("the archive cannot be read ({0}); pick a .zip exported by Aether or another zip tool")]
    BadArchive(String),
}

fn quota_figures(usage: Option<f64>, quota: Option<f64>) -> String {
    match (usage, quota) {
        (Some(usage), Some(quota)) => format!(
            " ({:.1} MB used of {:.1} MB)",
            usage / 1_000_000.0,
            quota / 1_000_000.0
        ),
        _ => String::new(),
    }
}

impl VfsError {
    /// The wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            VfsError::BadPath(_)
            | VfsError::Root(_)
            | VfsError::IntoItself { .. }
            | VfsError::BadContent { .. }
            | VfsError::BadArchive(_)
            | VfsError::BadPayload(_) => ErrorCode::BadRequest,
            VfsError::NotFound(_) => ErrorCode::NotFound,
            VfsError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            VfsError::IsFolder(_) | VfsError::NotFolder(_) | VfsError::NotEmpty(_) => {
                ErrorCode::Conflict
            }
            VfsError::QuotaExceeded { .. }
            | VfsError::TooManyUploads(_)
            | VfsError::UploadTooLarge(_) => ErrorCode::ResourceExceeded,
            VfsError::UnknownUpload(_) => ErrorCode::NotFound,
            VfsError::UploadOutOfOrder { .. } => ErrorCode::Conflict,
            VfsError::TooLargeToSend { .. } => ErrorCode::PayloadTooLarge,
            VfsError::NotReady => ErrorCode::BackendUnavailable,
            VfsError::Store(_) => ErrorCode::Internal,
        }
    }

    /// The error as a `vfs:error` payload (uncorrelated; the bus glue adds `_request_id`).
    pub fn to_payload(&self) -> ErrorPayload {
        let payload = ErrorPayload::new(self.code(), self.to_string());
        match self {
            VfsError::QuotaExceeded {
                usage_bytes,
                quota_bytes,
            } => {
                let mut payload = payload.with_detail("limit", "storage_quota");
                if let Some(usage) = usage_bytes {
                    payload = payload.with_detail("usage_bytes", *usage as u64);
                }
                if let Some(quota) = quota_bytes {
                    payload = payload.with_detail("quota_bytes", *quota as u64);
                }
                payload
            }
            VfsError::TooLargeToSend {
                max_frame_bytes, ..
            } => payload
                .with_detail("limit", "max_frame_bytes")
                .with_detail("value", *max_frame_bytes),
            VfsError::TooManyUploads(max) => payload
                .with_detail("limit", "uploads")
                .with_detail("value", *max as u64),
            VfsError::UploadTooLarge(max) => payload
                .with_detail("limit", "staged_upload_bytes")
                .with_detail("value", *max),
            VfsError::UploadOutOfOrder { expected, .. } => {
                payload.with_detail("expected_offset", *expected)
            }
            _ => payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_spec_code_and_a_sentence_that_says_what_to_do() {
        let cases = [
            (
                VfsError::BadPath(PathError::AboveRoot),
                ErrorCode::BadRequest,
            ),
            (VfsError::NotFound("/a".into()), ErrorCode::NotFound),
            (
                VfsError::AlreadyExists("/a".into()),
                ErrorCode::AlreadyExists,
            ),
            (VfsError::NotEmpty("/a".into()), ErrorCode::Conflict),
            (
                VfsError::QuotaExceeded {
                    usage_bytes: Some(9e6),
                    quota_bytes: Some(1e7),
                },
                ErrorCode::ResourceExceeded,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error}");
            assert_eq!(error.to_payload().code, code);
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn a_full_quota_reports_its_figures() {
        let error = VfsError::QuotaExceeded {
            usage_bytes: Some(9_000_000.0),
            quota_bytes: Some(10_000_000.0),
        };
        assert!(error.to_string().contains("9.0 MB used of 10.0 MB"));
        let details = error.to_payload().details.unwrap();
        assert_eq!(details["limit"], "storage_quota");
        assert_eq!(details["quota_bytes"], 10_000_000);
    }
}
