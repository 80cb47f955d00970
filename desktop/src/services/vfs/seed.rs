//! The welcome folder of a new session: a README, a WASI hello world in WAT, a task graph, and the sample
//! modules the kernel serves at `/samples/*.wasm` when it has them (skipped silently otherwise).
//!
//! A session is seeded once: only when its store is empty and this tab has not seeded it before
//! (a user who deletes everything is not re-seeded on reload). Seeding never fails the start-up:
//! a failure is logged and the store is used as it is.

use super::ops;
use super::store::VfsStore;
use crate::services::web_storage::Area;

/// The `sessionStorage` key that remembers which session this tab seeded.
const SEEDED_KEY: &str = "aether.vfs.seeded";

const README: &str = "# Welcome to Aether

Aether is a desktop in your browser, backed by a small Rust kernel over one WebSocket bus.

- Your files live in this tab's browser storage (IndexedDB); the kernel only relays requests
  addressed to this tab's session, so it can read them on your behalf and no one else can.
- Use the Files app to create, rename, move, upload and download files, and to export the
  whole tree as a .zip (and import it back in another browser).
- `hello.wat` is a WebAssembly program in text form: it prints a greeting through WASI.
- `pipeline.task.yaml` is a task graph: open the Tasks app and press Run to watch it.
";

const HELLO_WAT: &str = r#";; Hello world for WASI: writes one line to stdout with fd_write.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; The text, at offset 8 (19 bytes).
  (data (i32.const 8) "Hello from Aether!\n")
  (func (export "_start")
    ;; One iovec at offset 0: { buf = 8, len = 19 }.
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 19))
    ;; fd 1 (stdout), 1 iovec, bytes written stored at offset 32.
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))
"#;

/// Sample modules: (URL on the kernel, path in the VFS).
const SAMPLES: [(&str, &str); 2] = [
    ("/samples/hello.wasm", "/welcome/hello.wasm"),
    ("/samples/echo.wasm", "/welcome/echo.wasm"),
];

/// Seeds `store` for `session_id` when it is new.
pub async fn seed_new_session<S: VfsStore>(store: &S, session_id: &str) {
    if Area::Session.get(SEEDED_KEY).as_deref() == Some(session_id) {
        return;
    }
    match ops::is_empty(store).await {
        Ok(true) => {}
        Ok(false) => return Area::Session.set(SEEDED_KEY, session_id),
        Err(e) => return warn(&format!("cannot check the file store: {e}")),
    }
    let mut items = vec![
        (
            "/welcome/README.md".to_owned(),
            Some(README.as_bytes().to_vec()),
        ),
        (
            "/welcome/hello.wat".to_owned(),
            Some(HELLO_WAT.as_bytes().to_vec()),
        ),
        (
            "/welcome/pipeline.task.yaml".to_owned(),
            Some(aether_shared::task::SAMPLE_YAML.as_bytes().to_vec()),
        ),
    ];
    for (url, path) in SAMPLES {
        if let Some(bytes) = fetch_module(url).await {
            items.push((path.to_owned(), Some(bytes)));
        }
    }
    match ops::write_all(store, &items, js_sys::Date::now() as u64).await {
        Ok(_) => Area::Session.set(SEEDED_KEY, session_id),
        Err(e) => warn(&format!("cannot write the welcome folder: {e}")),
    }
}

/// The bytes at `url` when it answers 200 with a WebAssembly module (not, say, an HTML page).
async fn fetch_module(url: &str) -> Option<Vec<u8>> {
    let response = gloo_net::http::Request::get(url).send().await.ok()?;
    if !response.ok() {
        return None;
    }
    let bytes = response.binary().await.ok()?;
    bytes.starts_with(b"\0asm").then_some(bytes)
}

fn warn(message: &str) {
    web_sys::console::warn_1(&format!("aether: {message}").into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_world_writes_exactly_its_greeting() {
        let greeting = "Hello from Aether!\n";
        assert_eq!(greeting.len(), 19);
        assert!(HELLO_WAT.contains(r#""Hello from Aether!\n""#));
        assert!(HELLO_WAT.contains("(i32.const 19)"));
    }
}
