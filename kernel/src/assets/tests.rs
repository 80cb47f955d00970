//! Router-level tests of asset serving (`tower::ServiceExt::oneshot`, no socket needed).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::security::inline_script_hashes;
use super::*;
use crate::config::Config;

static TABLE: &[Asset] = &[
    Asset {
        path: "/app-0123456789abcdef.js",
        body: b"console.log(1)",
        brotli: Some(b"BR"),
        gzip: Some(b"GZ"),
        content_type: "text/javascript; charset=utf-8",
        immutable: true,
        etag: "\"js1\"",
    },
    Asset {
        path: "/index.html",
        body: b"<!doctype html>",
        brotli: None,
        gzip: None,
        content_type: "text/html; charset=utf-8",
        immutable: false,
        etag: "\"idx\"",
    },
];

async fn get(table: AssetTable, path: &str, headers: &[(header::HeaderName, &str)]) -> Response {
    let kernel = Kernel::with_assets(Config::default(), CancellationToken::new(), table);
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    kernel
        .router()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(resp: Response) -> Vec<u8> {
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn root_serves_index_html_revalidated_on_every_load() {
    let resp = get(TABLE, "/", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(body(resp).await, b"<!doctype html>");
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_precompressed() {
    let resp = get(
        TABLE,
        "/app-0123456789abcdef.js",
        &[(header::ACCEPT_ENCODING, "gzip, deflate, br")],
    )
    .await;
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "br");
    assert!(
        resp.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(body(resp).await, b"BR");

    let resp = get(
        TABLE,
        "/app-0123456789abcdef.js",
        &[(header::ACCEPT_ENCODING, "gzip, br;q=0")],
    )
    .await;
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(body(resp).await, b"GZ");

    let resp = get(TABLE, "/app-0123456789abcdef.js", &[]).await;
    assert!(resp.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(body(resp).await, b"console.log(1)");
}

#[tokio::test]
async fn a_matching_etag_is_not_modified() {
    let resp = get(TABLE, "/index.html", &[(header::IF_NONE_MATCH, "\"idx\"")]).await;
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn unknown_paths_are_404_and_a_missing_desktop_says_how_to_build_it() {
    assert_eq!(
        get(TABLE, "/nope.js", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    let resp = get(&[], "/", &[]).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        String::from_utf8(body(resp).await)
            .unwrap()
            .contains("cargo xtask run")
    );
}

#[tokio::test]
async fn healthz_answers_ok() {
    let resp = get(TABLE, "/healthz", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body(resp).await, b"ok");
}

#[test]
fn accept_encoding_respects_q_values() {
    assert!(accepts("gzip, br", "br"));
    assert!(!accepts("gzip, br;q=0", "br"));
    assert!(accepts("*", "gzip"));
    assert!(!accepts("", "gzip"));
    assert!(accepts("BR;q=0.5", "br"));
}

// ---- Security headers (issue #13, finding 14) ----

static PAGE_WITH_SCRIPTS: &[Asset] = &[Asset {
    path: "/index.html",
    body: b"<!doctype html><head><SCRIPT type=\"module\">\nimport init from '/app.js';\nawait init();\n</script>\
<script src=\"/other.js\"></script><script>alert(1)</script></head>",
    brotli: None,
    gzip: None,
    content_type: "text/html; charset=utf-8",
    immutable: false,
    etag: "\"scr\"",
}];

fn csp(resp: &Response) -> String {
    resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    for (table, path) in [
        (TABLE, "/"),
        (TABLE, "/app-0123456789abcdef.js"),
        (TABLE, "/nope.js"),
        (TABLE, "/healthz"),
        (&[][..], "/"),
    ] {
        let resp = get(table, path, &[]).await;
        let headers = resp.headers();
        assert!(
            csp(&resp).contains("frame-ancestors 'self'"),
            "{path}: {headers:?}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "SAMEORIGIN", "{path}");
    }
}

#[tokio::test]
async fn the_policy_allows_wasm_and_the_pages_own_inline_scripts_by_hash_only() {
    let policy = csp(&get(PAGE_WITH_SCRIPTS, "/", &[]).await);
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(script_src.contains("'self'"), "{script_src}");
    assert!(script_src.contains("'wasm-unsafe-eval'"), "{script_src}");
    assert!(
        script_src.contains("'sha256-mStLiw5ufhC4Rn65S+yuobFT1L6YIq0IsINW02YqTpc='"),
        "{script_src}"
    );
    assert!(
        script_src.contains("'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"),
        "{script_src}"
    );
    assert!(!script_src.contains("unsafe-inline"), "{script_src}");
    assert!(!policy.contains("'unsafe-eval'"), "{policy}");
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "worker-src 'self' blob:",
        "connect-src 'self' ws: wss:",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
}

#[test]
fn inline_script_hashes_skip_external_scripts() {
    assert_eq!(
        inline_script_hashes(b"<script src=/a.js></script><p>no scripts</p>"),
        Vec::<String>::new()
    );
    assert_eq!(
        inline_script_hashes(b"<script>alert(1)</script><script>alert(1)"),
        vec!["sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=".to_owned()]
    );
}
