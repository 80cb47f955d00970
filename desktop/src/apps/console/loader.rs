//! Getting module bytes in the browser: a sample over HTTP (gloo-net's `fetch`), or a file the
//! user picked (`Blob.arrayBuffer`). Browser glue only; what the bytes mean is decided in `module`.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use aether_shared::ErrorCode;

/// Why bytes could not be had.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The server answered, but not with the file.
    #[error("{url} is not available (HTTP {status}); build the samples or pick another source")]
    Missing { url: String, status: u16 },
    /// The browser could not fetch or read it.
    #[error("could not read {what} ({why}); check the connection and retry")]
    Unreadable { what: String, why: String },
}

impl LoadError {
    /// The code shown on the run's status line.
    pub fn code(&self) -> ErrorCode {
        match self {
            LoadError::Missing { .. } => ErrorCode::NotFound,
            LoadError::Unreadable { .. } => ErrorCode::BackendUnavailable,
        }
    }
}

/// The body of `GET url`.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, LoadError> {
    let unreadable = |e: gloo_net::Error| LoadError::Unreadable {
        what: url.to_owned(),
        why: e.to_string(),
    };
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(unreadable)?;
    if !response.ok() {
        return Err(LoadError::Missing {
            url: url.to_owned(),
            status: response.status(),
        });
    }
    response.binary().await.map_err(unreadable)
}

/// The bytes of a file the user picked.
pub async fn read_file(file: &File) -> Result<Vec<u8>, LoadError> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| LoadError::Unreadable {
            what: file.name(),
            why: describe(&e),
        })?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
