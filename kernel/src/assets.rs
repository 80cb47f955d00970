//! The desktop, embedded in the binary at build time (see `build.rs`), served with the best
//! precompressed variant the browser accepts (brotli, then gzip), its content type, an `ETag`,
//! and a year-long immutable cache for content-hashed file names.
//!
//! Every HTTP response, not only the desktop's, carries the headers of [`SecurityHeaders`]
//! (Content-Security-Policy, `nosniff`, `no-referrer`); its policy allows the embedded pages'
//! inline scripts by hash.
//!
//! `/sw.js` is served apart ([`service_worker`]): the desktop's service worker with this build's
//! id and shell filled in, always revalidated. The table is embedded, or read from a folder once
//! at start ([`folder`], config `desktop_dir`).
//!
//! This module never compresses at run time and never reads the file system after start-up.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::app::Kernel;

pub mod folder;
mod kind;
mod security;
pub mod service_worker;

pub use security::SecurityHeaders;
pub use service_worker::ServiceWorker;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// URL path, starting with `/`.
    pub path: &'static str,
    pub body: &'static [u8],
    pub brotli: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
    pub content_type: &'static str,
    /// The name carries a content hash, so the file never changes under it.
    pub immutable: bool,
    pub etag: &'static str,
}

/// A table of assets sorted by path.
pub type AssetTable = &'static [Asset];

include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));

/// The desktop embedded at build time (empty when it was not built first).
pub const EMBEDDED: AssetTable = EMBEDDED_ASSETS;

const NOT_BUILT: &str = "<!doctype html><title>Aether</title><h1>The desktop is not built into this kernel</h1>\
<p>Run <code>cargo xtask run</code>: it builds the desktop first, then the kernel that embeds it.</p>";

/// Serves an embedded file.
pub async fn serve(State(kernel): State<Kernel>, uri: Uri, headers: HeaderMap) -> Response {
    let path = match uri.path() {
        "/" => "/index.html",
        other => other,
    };
    let table = kernel.assets;
    let Ok(index) = table.binary_search_by(|a| a.path.cmp(path)) else {
        if table.is_empty() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response();
        }
        return (
            StatusCode::NOT_FOUND,
            "Not found: the desktop has no such file.",
        )
            .into_response();
    };
    respond(&table[index], &headers)
}

fn respond(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let etag_matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    if etag_matches {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (body, encoding) = match (asset.brotli, asset.gzip) {
        (Some(br), _) if accepts(accept, "br") => (br, Some("br")),
        (_, Some(gz)) if accepts(accept, "gzip") => (gz, Some("gzip")),
        _ => (asset.body, None),
    };
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    (StatusCode::OK, out, body).into_response()
}

/// True when an `Accept-Encoding` value accepts `coding` (a `q=0` refuses it).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        if !(name.eq_ignore_ascii_case(coding) || name == "*") {
            return false;
        }
        parts
            .filter_map(|p| p.strip_prefix("q="))
            .all(|q| q.parse::<f32>().map(|q| q > 0.0).unwrap_or(false))
    })
}

#[cfg(test)]
mod tests;
