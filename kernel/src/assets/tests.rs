//! Router-level tests of asset serving (`tower::ServiceExt::oneshot`, no socket needed).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

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
