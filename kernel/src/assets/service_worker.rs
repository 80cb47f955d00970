//! `/sw.js`, the desktop's service worker, as the kernel serves it: the desktop's own `sw.js`
//! with its line `const BUILD = null;` (the whole line) naming this build, so a reload without
//! the kernel still shows the desktop and a new kernel's desktop replaces the cached one on the
//! next load.
//!
//! The build is `{id, shell, scope}`:
//! - `id` is a digest of every file's path and `ETag`, so it changes whenever any file does (and
//!   with it the script's bytes, which is what makes the browser install a new worker);
//! - `shell` is what a page load needs, which the worker's install keeps: `/` and every file
//!   `index.html` names, the scripts and style sheets those name in turn (the JS glue imports the
//!   chunk loader and wasm-bindgen's snippets) and what the style sheets name, but not the other
//!   files a script names (the apps' wasm chunks, fetched when an app first opens);
//! - `scope` is the desktop's top-level files and folders, the only paths the worker may cache
//!   (never a kernel route: `/ws`, `/wisp`, `/mcp`, `/healthz` are not files).
//!
//! The script is always revalidated (`no-cache`), never `immutable`: its URL must stay the
//! same from build to build. Built once per router; nothing here reads the file system.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AssetTable;

/// Where the service worker is served; its scope is the whole origin.
pub const PATH: &str = "/sw.js";

/// The line of `sw.js` the kernel replaces with the build.
const MARKER: &str = "const BUILD = null;";

/// The build the worker is told about.
#[derive(Debug, PartialEq, Serialize)]
pub struct Build {
    /// Changes whenever any file of the desktop changes: 16 hex digits.
    pub id: String,
    /// What the worker's install caches: `/` and the files a page load fetches.
    pub shell: Vec<String>,
    /// The desktop's top-level files and folders (`/monaco/`): the paths the worker may cache.
    pub scope: Vec<String>,
}

/// The `/sw.js` response body and its `ETag`.
#[derive(Clone, Debug)]
pub struct ServiceWorker {
    body: Bytes,
    etag: HeaderValue,
}

impl ServiceWorker {
    /// The worker of a desktop made of `table`; `None` when it ships no `sw.js` with the
    /// marker line (a desktop built without one, or a table of tests).
    pub fn for_assets(table: AssetTable) -> Option<ServiceWorker> {
        let source = table.iter().find(|a| a.path == PATH)?;
        let source = std::str::from_utf8(source.body).ok()?;
        if !source.lines().any(|line| line == MARKER) {
            tracing::warn!(
                "{PATH} has no `{MARKER}` line: the desktop is served without offline support"
            );
            return None;
        }
        let build = Build::of(table);
        let line = format!(
            "const BUILD = {};",
            serde_json::to_string(&build).expect("strings serialize")
        );
        let body: String = source
            .split_inclusive('\n')
            .map(|l| {
                if l.strip_suffix('\n').unwrap_or(l) == MARKER {
                    l.replacen(MARKER, &line, 1)
                } else {
                    l.to_owned()
                }
            })
            .collect();
        let etag = HeaderValue::from_str(&format!("\"sw-{}\"", build.id))
            .expect("hex digits are a valid header value");
        Some(ServiceWorker {
            body: Bytes::from(body),
            etag,
        })
    }

    /// The script, revalidated on every load (`no-cache`, `ETag`).
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        let mut out = HeaderMap::new();
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        out.insert(header::ETAG, self.etag.clone());
        let unchanged = headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == self.etag.as_bytes());
        if unchanged {
            return (StatusCode::NOT_MODIFIED, out).into_response();
        }
        (StatusCode::OK, out, self.body.clone()).into_response()
    }
}

/// The `/sw.js` route of a desktop made of `table`; no route when it ships no worker.
pub fn router<S: Clone + Send + Sync + 'static>(table: AssetTable) -> Router<S> {
    let Some(worker) = ServiceWorker::for_assets(table) else {
        return Router::new();
    };
    let worker = Arc::new(worker);
    Router::new().route(
        PATH,
        get(move |headers: HeaderMap| std::future::ready(worker.respond(&headers))),
    )
}

impl Build {
    /// The build of a desktop made of `table`.
    pub fn of(table: AssetTable) -> Build {
        let mut digest = Sha256::new();
        for asset in table {
            digest.update(asset.path.as_bytes());
            digest.update([0]);
            digest.update(asset.etag.as_bytes());
            digest.update([0]);
        }
        let id = digest.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let scope: BTreeSet<String> = table
            .iter()
            .filter(|a| a.path != PATH)
            .map(|a| match a.path[1..].split_once('/') {
                Some((folder, _)) => format!("/{folder}/"),
                None => a.path.to_owned(),
            })
            .collect();
        Build {
            id,
            shell: shell(table),
            scope: scope.into_iter().collect(),
        }
    }
}

/// `/`, then the files `index.html` names and, transitively, the scripts and style sheets
/// those name and what style sheets name (a script's other references, such as wasm chunks,
/// are left for first use).
fn shell(table: AssetTable) -> Vec<String> {
    let find = |path: &str| table.iter().find(|a| a.path == path);
    let mut shell = vec!["/".to_owned()];
    let Some(index) = find("/index.html") else {
        return shell;
    };
    let mut seen = BTreeSet::new();
    let mut queue = vec![index];
    while let Some(file) = queue.pop() {
        // The page and its style sheets load all they name; a script may name files it only
        // fetches later (wasm chunks), so only its imports of scripts and styles are taken.
        let loads_all = file.path == "/index.html" || file.path.ends_with(".css");
        for path in references(file.path, file.body) {
            let Some(found) = find(&path) else { continue };
            let loads_more = is_script_or_style(found.path);
            if (loads_all || loads_more) && found.path != PATH && seen.insert(found.path) {
                shell.push(found.path.to_owned());
                if loads_more {
                    queue.push(found);
                }
            }
        }
    }
    shell
}

fn is_script_or_style(path: &str) -> bool {
    [".js", ".mjs", ".css"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// Longest path [`references`] reads, in bytes.
const MAX_PATH_BYTES: usize = 512;

/// Every quoted (or `url(…)`) absolute or relative path in a text file, resolved against `from`.
fn references(from: &str, body: &[u8]) -> Vec<String> {
    let dir = &from[..from.rfind('/').map_or(0, |i| i + 1)];
    let mut found = Vec::new();
    for (start, &open) in body.iter().enumerate() {
        let close = match open {
            b'"' | b'\'' | b'`' => open,
            b'(' => b')',
            _ => continue,
        };
        let rest = &body[start + 1..];
        let window = &rest[..rest.len().min(MAX_PATH_BYTES + 1)];
        let end = window
            .iter()
            .position(|&c| c == close || c.is_ascii_whitespace() || c == b'<');
        let Some(end) = end.filter(|&end| window[end] == close) else {
            continue;
        };
        let Ok(quoted) = std::str::from_utf8(&rest[..end]) else {
            continue;
        };
        let quoted = quoted.split(['?', '#']).next().unwrap_or("");
        if quoted.starts_with("//") {
            continue;
        }
        if let Some(path) = resolve(dir, quoted) {
            found.push(path);
        }
    }
    found
}

/// `quoted` as an absolute path: `/a` as it is, `./a` and `../a` against `dir` (ends in `/`).
fn resolve(dir: &str, quoted: &str) -> Option<String> {
    let joined = if quoted.starts_with('/') {
        quoted.to_owned()
    } else if quoted.starts_with("./") || quoted.starts_with("../") {
        format!("{dir}{quoted}")
    } else {
        return None;
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/').skip(1) {
        match part {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests;
