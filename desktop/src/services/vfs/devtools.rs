//! `window.aether.vfs`: this tab's files from the browser console and end-to-end tests.
//!
//! Calls the [`VfsProxy`] directly (no bus round trip), except `relayRead`/`relayWrite`, which go
//! through the kernel's relay with the chunked client of `remote`. Results are plain JS objects shaped like
//! the `vfs:*` replies; failures reject with an error payload (`{code, error}`). It adds no
//! behaviour of its own.
//!
//! ```js
//! aether.vfs.sessionId()                      // "s-0123456789abcdef"
//! await aether.vfs.ready()                    // true once the store is open and the kernel
//!                                             // relays to sessionId() (rejects if the store fails)
//! await aether.vfs.write("/a.txt", "hi")      // → { size, mtime }; encoding "utf8" | "base64"
//! await aether.vfs.read("/a.txt")             // → { content, encoding, size, mtime }
//! await aether.vfs.readBytes("/a.bin")        // → Uint8Array (IndexedDB only, no encoding)
//! await aether.vfs.writeBytes("/a.bin", u8)   // → { size, mtime }
//! await aether.vfs.writeMany(["/a", "/b"], ["x", "y"])  // → 2; one transaction, text files
//! await aether.vfs.search({ query: "x", regex: false, ignore_case: false, glob: "*.rs" })
//! await aether.vfs.list("/")                  // → { entries: [...] }
//! await aether.vfs.stat("/a.txt"); aether.vfs.mkdir("/d"); aether.vfs.delete("/d", true)
//! await aether.vfs.rename("/a.txt", "/b.txt")
//! await aether.vfs.relayRead(session, "/a.bin")        // → Uint8Array, through the kernel, chunked
//! await aether.vfs.relayWrite(session, "/a.bin", u8)   // → { size, mtime, committed }
//! aether.vfs.binaryFrames()                   // true when the relay moves raw bytes (SPEC §1)
//! ```

use aether_shared::vfs::{Encoding, FileContent, Listing, Search};
use js_sys::{JSON, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{VfsError, VfsProxy, content, remote};

/// How often `ready()` looks again, in milliseconds.
const READY_POLL_MS: u32 = 10;

/// The object behind `window.aether.vfs`.
#[wasm_bindgen(js_name = AetherVfs)]
pub struct VfsDevtools {
    proxy: VfsProxy,
}

/// Installs `window.aether.vfs` (after `window.aether` exists).
pub fn install(proxy: VfsProxy) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let installed = Reflect::get(&window, &"aether".into())
        .ok()
        .filter(JsValue::is_object)
        .is_some_and(|aether| {
            Reflect::set(&aether, &"vfs".into(), &VfsDevtools { proxy }.into()).unwrap_or(false)
        });
    if !installed {
        web_sys::console::warn_1(&"aether: cannot install window.aether.vfs".into());
    }
}

#[wasm_bindgen(js_class = AetherVfs)]
impl VfsDevtools {
    /// This tab's session id.
    #[wasm_bindgen(js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.proxy.session_id().to_owned()
    }

    /// Resolves to `true` once the store is open and the kernel has acknowledged this tab's
    /// session, so [`VfsDevtools::session_id`] can be addressed; rejects when the store cannot
    /// open. Waits as long as it takes (the bus client keeps reconnecting).
    pub fn ready(&self) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            loop {
                if let Some(e) = proxy.failure() {
                    return Err(to_js_error(&e));
                }
                if proxy.is_ready() && proxy.is_registered() {
                    return Ok(JsValue::TRUE);
                }
                gloo_timers::future::TimeoutFuture::new(READY_POLL_MS).await;
            }
        })
    }

    /// True when this tab's bus connection negotiated binary frames, so `relayRead` and
    /// `relayWrite` move raw bytes (no base64).
    #[wasm_bindgen(js_name = binaryFrames)]
    pub fn binary_frames(&self) -> bool {
        self.proxy.bus().binary_frames()
    }

    /// Chunked uploads staged and waiting for their last chunk.
    #[wasm_bindgen(js_name = uploadsInFlight)]
    pub fn uploads_in_flight(&self) -> usize {
        self.proxy.uploads_in_flight()
    }

    /// Writes `content` (`encoding` `"utf8"`, the default, or `"base64"`) to `path`.
    pub fn write(&self, path: String, content: String, encoding: Option<String>) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            let encoding = match encoding.as_deref() {
                None | Some("utf8") => Encoding::Utf8,
                Some("base64") => Encoding::Base64,
                Some(other) => {
                    return Err(to_js_error(&VfsError::BadPayload(format!(
                        "unknown encoding `{other}`; use utf8 or base64"
                    ))));
                }
            };
            let bytes = content::decode(&content, encoding).map_err(|e| to_js_error(&e))?;
            settle(proxy.write(&path, &bytes).await)
        })
    }

    /// Writes raw bytes to `path`.
    #[wasm_bindgen(js_name = writeBytes)]
    pub fn write_bytes(&self, path: String, bytes: Uint8Array) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move { settle(proxy.write(&path, &bytes.to_vec()).await) })
    }

    /// Writes the text `texts[i]` to `paths[i]` for every `i`, in one transaction (all or none);
    /// resolves with how many files it wrote. For seeding many files at once.
    #[wasm_bindgen(js_name = writeMany)]
    pub fn write_many(&self, paths: Vec<String>, texts: Vec<String>) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            if paths.len() != texts.len() {
                return Err(to_js_error(&VfsError::BadPayload(format!(
                    "{} paths but {} texts; give one text per path",
                    paths.len(),
                    texts.len()
                ))));
            }
            let items: Vec<_> = paths
                .into_iter()
                .zip(texts)
                .map(|(path, text)| (path, Some(text.into_bytes())))
                .collect();
            settle(proxy.write_many(&items).await)
        })
    }

    /// Answers `request` (a `vfs:search` payload) from this tab's files, as the tab answers the
    /// kernel's `vfs:search` (no bus round trip).
    pub fn search(&self, request: JsValue) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            let text = JSON::stringify(&request)
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default();
            let request: Search = serde_json::from_str(&text).map_err(|e| {
                to_js_error(&VfsError::BadPayload(format!(
                    "not a vfs:search payload ({e}); give at least `query`"
                )))
            })?;
            settle(proxy.search(&request).await)
        })
    }

    /// Reads `path` as the `vfs:read` reply would carry it.
    pub fn read(&self, path: String) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            settle(proxy.read(&path).await.map(|file| {
                let (content, encoding) = content::encode(&file.bytes);
                FileContent {
                    content,
                    encoding,
                    size: file.entry.size,
                    mtime: file.entry.mtime,
                    offset: 0,
                    eof: true,
                }
            }))
        })
    }

    /// Reads the raw bytes of `path`.
    #[wasm_bindgen(js_name = readBytes)]
    pub fn read_bytes(&self, path: String) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            match proxy.read(&path).await {
                Ok(file) => Ok(Uint8Array::from(file.bytes.as_slice()).into()),
                Err(e) => Err(to_js_error(&e)),
            }
        })
    }

    /// Reads `path` from `session` through the kernel's relay, in chunks when it is larger than
    /// one frame (`vfs:read {offset, length}`); resolves with the bytes.
    #[wasm_bindgen(js_name = relayRead)]
    pub fn relay_read(&self, session: String, path: String) -> Promise {
        let bus = self.proxy.bus().clone();
        future_to_promise(async move {
            match remote::read(&bus, &session, &path).await {
                Ok(bytes) => Ok(Uint8Array::from(bytes.as_slice()).into()),
                Err(e) => Err(to_js(&e)),
            }
        })
    }

    /// Writes `bytes` to `path` in `session` through the kernel's relay: one `vfs:write`, or an
    /// upload in chunks committed whole by its last chunk.
    #[wasm_bindgen(js_name = relayWrite)]
    pub fn relay_write(&self, session: String, path: String, bytes: Uint8Array) -> Promise {
        let bus = self.proxy.bus().clone();
        future_to_promise(async move {
            match remote::write(&bus, &session, &path, &bytes.to_vec()).await {
                Ok(written) => Ok(to_js(&written)),
                Err(e) => Err(to_js(&e)),
            }
        })
    }

    /// The entries directly inside the folder `path`.
    pub fn list(&self, path: String) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            settle(proxy.list(&path).await.map(|entries| Listing { entries }))
        })
    }

    /// The entry at `path`.
    pub fn stat(&self, path: String) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move { settle(proxy.stat(&path).await) })
    }

    /// Creates the folder `path`.
    pub fn mkdir(&self, path: String) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move { settle(proxy.mkdir(&path).await.map(|()| Empty {})) })
    }

    /// Deletes `path` (`recursive` for a non-empty folder).
    pub fn delete(&self, path: String, recursive: Option<bool>) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move {
            settle(
                proxy
                    .delete(&path, recursive.unwrap_or(false))
                    .await
                    .map(|()| Empty {}),
            )
        })
    }

    /// Moves `from` to `to`.
    pub fn rename(&self, from: String, to: String) -> Promise {
        let proxy = self.proxy.clone();
        future_to_promise(async move { settle(proxy.rename(&from, &to).await.map(|()| Empty {})) })
    }
}

#[derive(Serialize)]
struct Empty {}

fn settle<T: Serialize>(result: Result<T, VfsError>) -> Result<JsValue, JsValue> {
    match result {
        Ok(value) => Ok(to_js(&value)),
        Err(e) => Err(to_js_error(&e)),
    }
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| JSON::parse(&text).ok())
        .unwrap_or(JsValue::NULL)
}

fn to_js_error(error: &VfsError) -> JsValue {
    to_js(&error.to_payload())
}
