//! The build the worker is told about, and `/sw.js` as the router serves it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::assets::Asset;

const fn asset(path: &'static str, body: &'static [u8], etag: &'static str) -> Asset {
    Asset {
        path,
        body,
        brotli: None,
        gzip: None,
        content_type: "text/plain; charset=utf-8",
        immutable: false,
        etag,
    }
}

const INDEX: &[u8] = br#"<!doctype html><head>
<link rel="stylesheet" href="/main-0123456789abcdef.css" integrity="sha384-x"/>
<link rel="preload" href="/app-0123456789abcdef_bg.wasm" as="fetch" type="application/wasm">
<link rel="manifest" href="/manifest.webmanifest"><link rel="icon" href="/favicon-0123456789abcdef.svg"/>
<script type="module">import init from '/app-0123456789abcdef.js';await init({module_or_path: '/app-0123456789abcdef_bg.wasm'});</script>
<a href="https://example.com/x.js">elsewhere</a><a href="//cdn.example/y.js">elsewhere</a>
<link href="/missing-0123456789abcdef.css"></head>"#;

const GLUE: &[u8] = br#"import { load } from "./__wasm_split-0123456789abcdef.js";
import { hi } from './snippets/app-0123/inline0.js';
const wasm = new URL('app_bg.wasm', import.meta.url);"#;

const LOADER: &[u8] = br#"export const agent = () => fetch(new URL("./split_agent-0123456789abcdef.wasm", import.meta.url));
import * as main from "./app-0123456789abcdef.js";"#;

const SNIPPET: &[u8] = b"export function hi() { return `../../icons/icon.svg` }";

const CSS: &[u8] = b"body { background: url(/icons/bg.png) }";

const WORKER: &[u8] = b"// the kernel fills in const BUILD = null;\nconst BUILD = null;\nself.addEventListener('fetch', () => {});\n";

static TABLE: &[Asset] = &[
    asset("/__wasm_split-0123456789abcdef.js", LOADER, "\"l\""),
    asset("/app-0123456789abcdef.js", GLUE, "\"g\""),
    asset("/app-0123456789abcdef_bg.wasm", b"\0asm", "\"w\""),
    asset("/favicon-0123456789abcdef.svg", b"<svg/>", "\"f\""),
    asset("/icons/bg.png", b"png", "\"b\""),
    asset("/icons/icon.svg", b"<svg/>", "\"i\""),
    asset("/index.html", INDEX, "\"h\""),
    asset("/main-0123456789abcdef.css", CSS, "\"c\""),
    asset("/manifest.webmanifest", b"{}", "\"m\""),
    asset("/monaco/vs/loader.js", b"//", "\"v\""),
    asset("/snippets/app-0123/inline0.js", SNIPPET, "\"s\""),
    asset("/split_agent-0123456789abcdef.wasm", b"\0asm", "\"a\""),
    asset("/sw.js", WORKER, "\"sw\""),
];

#[test]
fn the_shell_is_what_the_page_names_and_what_its_scripts_and_styles_import() {
    let build = Build::of(TABLE);
    let mut shell = build.shell.clone();
    shell.sort();
    assert_eq!(
        shell,
        [
            "/",
            "/__wasm_split-0123456789abcdef.js",
            "/app-0123456789abcdef.js",
            "/app-0123456789abcdef_bg.wasm",
            "/favicon-0123456789abcdef.svg",
            "/icons/bg.png",
            "/main-0123456789abcdef.css",
            "/manifest.webmanifest",
            "/snippets/app-0123/inline0.js",
        ],
        "the app's wasm chunk (named only by a script), other origins, missing files and the \
         worker itself stay out; a snippet's `../../icons/icon.svg` is a script's non-script \
         reference, left for first use; the style sheet's image is in"
    );
    assert_eq!(build.shell[0], "/");
}

#[test]
fn the_scope_is_the_top_level_files_and_folders_but_not_the_worker() {
    let build = Build::of(TABLE);
    assert!(build.scope.contains(&"/monaco/".to_owned()));
    assert!(build.scope.contains(&"/icons/".to_owned()));
    assert!(build.scope.contains(&"/index.html".to_owned()));
    assert!(
        build
            .scope
            .contains(&"/split_agent-0123456789abcdef.wasm".to_owned())
    );
    assert!(!build.scope.iter().any(|s| s == "/sw.js"));
    for route in ["/ws", "/wisp/", "/mcp", "/healthz"] {
        assert!(!build.scope.iter().any(|s| s == route), "{route}");
    }
}

#[test]
fn the_build_id_changes_with_any_file_and_only_then() {
    let same = Build::of(TABLE).id;
    assert_eq!(same.len(), 16);
    assert_eq!(Build::of(TABLE).id, same);
    let mut changed: Vec<Asset> = TABLE
        .iter()
        .map(|a| asset(a.path, a.body, a.etag))
        .collect();
    changed[9].etag = "\"v2\"";
    let changed: AssetTable = Box::leak(changed.into_boxed_slice());
    assert_ne!(Build::of(changed).id, same);
}

#[test]
fn relative_references_resolve_against_the_file_and_never_climb_out() {
    assert_eq!(resolve("/a/b/", "./c.js").as_deref(), Some("/a/b/c.js"));
    assert_eq!(resolve("/a/b/", "../c.js").as_deref(), Some("/a/c.js"));
    assert_eq!(resolve("/a/", "/c.js").as_deref(), Some("/c.js"));
    assert_eq!(resolve("/", "../../c.js"), None);
    assert_eq!(resolve("/", "c.js"), None);
}

#[test]
fn the_shipped_worker_has_the_line_the_kernel_fills_in() {
    let shipped = include_str!("../../../../public/sw.js");
    assert_eq!(shipped.lines().filter(|l| *l == MARKER).count(), 1);
}

async fn get(table: AssetTable, path: &str, etag: Option<&str>) -> Response {
    let mut request = Request::get(path);
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    router::<()>(table)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn sw_js_names_the_build_and_is_revalidated_on_every_load() {
    let resp = get(TABLE, "/sw.js", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body = std::str::from_utf8(&body).unwrap();
    let build = serde_json::to_string(&Build::of(TABLE)).unwrap();
    assert!(body.contains(&format!("const BUILD = {build};")), "{body}");
    assert!(!body.lines().any(|l| l == MARKER), "{body}");
    assert!(body.starts_with("// the kernel fills in const BUILD = null;\n"));
    assert!(body.ends_with("self.addEventListener('fetch', () => {});\n"));

    let etag = headers[header::ETAG].to_str().unwrap();
    let again = get(TABLE, "/sw.js", Some(etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn a_desktop_without_a_worker_has_no_sw_js_route() {
    let resp = get(&TABLE[..6], "/sw.js", None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    static UNMARKED: &[Asset] = &[asset("/sw.js", b"// no marker", "\"x\"")];
    assert!(ServiceWorker::for_assets(UNMARKED).is_none());
}
