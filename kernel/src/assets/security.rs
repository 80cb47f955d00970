//! The security headers every HTTP response carries: a `Content-Security-Policy` that keeps other
//! sites from framing the desktop and limits what its pages may load and run, with
//! `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and `X-Frame-Options` (the
//! older browsers' form of `frame-ancestors`).
//!
//! The policy allows what the desktop needs and nothing else: its own files; WebAssembly
//! (`'wasm-unsafe-eval'`, for the desktop, the WASM guests' tooling and v86's JIT); the inline
//! module script Trunk writes into `index.html`, by its SHA-256 (read from the embedded pages when
//! the kernel starts, so a rebuilt desktop needs no edit here); inline styles (Monaco and xterm.js
//! add `<style>` elements, Leptos sets `style` attributes); workers from the kernel or `blob:`
//! (the v86 machine, Monaco's language workers); WebSockets (the bus). It never allows `eval` of
//! JavaScript, plugins, or any other origin's scripts.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::AssetTable;

/// The directives besides `script-src`, in the order they are sent.
const OTHER_DIRECTIVES: &[&str] = &[
    "default-src 'self'",
    // Monaco and xterm.js insert <style> elements; Leptos writes `style` attributes.
    "style-src 'self' 'unsafe-inline'",
    // The favicon is a data: URL; Monaco draws some glyphs from data: and blob: images.
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    // The bus socket. `ws:`/`wss:` are spelled out: older browsers do not count them as 'self'.
    "connect-src 'self' ws: wss:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
];

/// The headers added to every response (when a handler has not set them itself).
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// The headers for a desktop made of `table`: its pages' inline scripts are allowed by hash.
    pub fn for_assets(table: AssetTable) -> SecurityHeaders {
        let mut hashes: Vec<String> = table
            .iter()
            .filter(|a| a.content_type.starts_with("text/html"))
            .flat_map(|a| inline_script_hashes(a.body))
            .collect();
        hashes.sort();
        hashes.dedup();
        let csp = content_security_policy(&hashes);
        let headers = vec![
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&csp).expect("the policy is plain ASCII"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("SAMEORIGIN"),
            ),
        ];
        SecurityHeaders { headers }
    }

    /// Adds each header `headers` does not have yet.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
    }

    /// The `Content-Security-Policy` value.
    pub fn content_security_policy(&self) -> &HeaderValue {
        &self.headers[0].1
    }
}

/// The policy text: `script-src` with the given `'sha256-…'` sources, then the other directives.
fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script_src = String::from("script-src 'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push_str(" '");
        script_src.push_str(hash);
        script_src.push('\'');
    }
    std::iter::once(script_src.as_str())
        .chain(OTHER_DIRECTIVES.iter().copied())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `sha256-<base64>` of the text of every `<script>` without `src` in an HTML page, the form a
/// CSP source expression takes.
pub fn inline_script_hashes(html: &[u8]) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hashes = Vec::new();
    let mut at = 0;
    while let Some(start) = find(&lower[at..], b"<script").map(|i| at + i) {
        let Some(tag_end) = find(&lower[start..], b">").map(|i| start + i) else {
            break;
        };
        let Some(close) = find(&lower[tag_end..], b"</script").map(|i| tag_end + i) else {
            break;
        };
        let attributes = &lower[start + b"<script".len()..tag_end];
        let external = find(attributes, b"src=").is_some();
        if !external {
            let digest = Sha256::digest(&html[tag_end + 1..close]);
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push(format!("sha256-{b64}"));
        }
        at = close + b"</script".len();
    }
    hashes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
