//! The browser's [`VfsStore`]: one IndexedDB database per session, through `indexed_db_futures`.
//!
//! Two object stores keyed by normalized path: `entries` (each an [`Entry`] as JSON text) and
//! `contents` (each file's bytes as a `Uint8Array`). A transaction spans both, so a write of an
//! entry and its bytes commits whole or not at all — a tab closed mid-write leaves the old file.
//! Descendants of `/dir` are the key range `["/dir/", "/dir0")` (`0` sorts right after `/`).
//! The content of the file read last by a chunked read is kept for its next chunks (a few
//! seconds, while its entry is unchanged; any write drops it). A `QuotaExceededError` becomes [`VfsError::QuotaExceeded`] with `navigator.storage.estimate()`
//! figures. This module never interprets paths beyond that range.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::ControlFlow;

use aether_shared::vfs::Entry;
use indexed_db_futures::KeyRange;
use indexed_db_futures::database::Database;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

use super::error::VfsError;
use super::store::{StoreTx, VfsStore};

const ENTRIES: &str = "entries";
const CONTENTS: &str = "contents";
/// The schema version; bump it (and handle the upgrade) when the stores change.
const SCHEMA_VERSION: u8 = 1;

/// The name of the database of `session_id`.
pub fn database_name(session_id: &str) -> String {
    format!("aether-vfs.{session_id}")
}

/// Runs of contents asked for at once by [`StoreTx::contents_in_runs`] (each at most a few MiB,
/// see `search::MAX_RUN_BYTES`).
const RUNS_IN_FLIGHT: usize = 3;

/// How long the content of the file read last stays at hand for the next chunk, in ms.
const RECENT_TTL_MS: f64 = 3_000.0;

/// An open VFS database.
pub struct IdbStore {
    db: Database,
    /// The file read last by a chunked read, so its next chunks skip IndexedDB.
    recent: RefCell<Option<Recent>>,
}

/// The content of one file as the browser holds it, with the entry it was read for.
struct Recent {
    path: String,
    size: u64,
    mtime: u64,
    array: js_sys::Uint8Array,
    read_at_ms: f64,
}

impl IdbStore {
    /// Opens (creating on first use) the database `name`.
    pub async fn open(name: &str) -> Result<IdbStore, VfsError> {
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    db.create_object_store(ENTRIES).build()?;
                    db.create_object_store(CONTENTS).build()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| VfsError::Store(format!("cannot open IndexedDB: {e}")))?;
        Ok(IdbStore {
            db,
            recent: RefCell::new(None),
        })
    }
}

/// One IndexedDB transaction over both stores.
pub struct IdbTx<'a> {
    tx: Transaction<'a>,
    recent: &'a RefCell<Option<Recent>>,
}

impl VfsStore for IdbStore {
    type Tx<'a> = IdbTx<'a>;

    fn begin(&self, write: bool) -> Result<IdbTx<'_>, VfsError> {
        let mode = if write {
            TransactionMode::Readwrite
        } else {
            TransactionMode::Readonly
        };
        let tx = self
            .db
            .transaction([ENTRIES, CONTENTS])
            .with_mode(mode)
            .build()
            .map_err(store_error)?;
        Ok(IdbTx {
            tx,
            recent: &self.recent,
        })
    }
}

fn store_error(e: impl std::fmt::Display) -> VfsError {
    VfsError::Store(e.to_string())
}

fn parse_entry(text: &str) -> Result<Entry, VfsError> {
    serde_json::from_str(text)
        .map_err(|e| VfsError::Store(format!("a stored entry is unreadable: {e}")))
}

impl IdbTx<'_> {
    /// Turns a failed request into the transaction's own error when it has one (the quota).
    async fn failure(&self, e: impl std::fmt::Display) -> VfsError {
        let name = self.tx.as_sys().error().map(|dom| dom.name());
        if name.as_deref() == Some("QuotaExceededError") || e.to_string().contains("Quota") {
            return quota_exceeded().await;
        }
        store_error(e)
    }
}

impl IdbTx<'_> {
    /// The stored content of `path` as the browser holds it.
    async fn content_array(&self, path: &str) -> Result<Option<js_sys::Uint8Array>, VfsError> {
        let store = self.tx.object_store(CONTENTS).map_err(store_error)?;
        let value: Option<JsValue> = store
            .get(path)
            .primitive()
            .map_err(store_error)?
            .await
            .map_err(store_error)?;
        Ok(value.and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok()))
    }
}

impl StoreTx for IdbTx<'_> {
    async fn entry(&self, path: &str) -> Result<Option<Entry>, VfsError> {
        let store = self.tx.object_store(ENTRIES).map_err(store_error)?;
        let text: Option<String> = store
            .get(path)
            .primitive()
            .map_err(store_error)?
            .await
            .map_err(store_error)?;
        text.as_deref().map(parse_entry).transpose()
    }

    async fn descendants(&self, dir: &str) -> Result<Vec<Entry>, VfsError> {
        let store = self.tx.object_store(ENTRIES).map_err(store_error)?;
        let texts: Vec<String> = if dir == "/" {
            store
                .get_all()
                .primitive()
                .map_err(store_error)?
                .await
                .map_err(store_error)?
                .collect::<Result<_, _>>()
                .map_err(store_error)?
        } else {
            let range = KeyRange::Bound(format!("{dir}/"), false, format!("{dir}0"), true);
            store
                .get_all()
                .with_query::<String, _>(range)
                .primitive()
                .map_err(store_error)?
                .await
                .map_err(store_error)?
                .collect::<Result<_, _>>()
                .map_err(store_error)?
        };
        texts.iter().map(|t| parse_entry(t)).collect()
    }

    async fn content(&self, path: &str) -> Result<Option<Vec<u8>>, VfsError> {
        Ok(self.content_array(path).await?.map(|array| array.to_vec()))
    }

    async fn content_range(
        &self,
        entry: &Entry,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, VfsError> {
        // The chunks of one read come one after the other: the file read last is kept (as the
        // browser holds it) while its entry is unchanged, for a few seconds, and is dropped by
        // any write. Only the range is copied into wasm memory.
        let now = js_sys::Date::now();
        let cached = self.recent.borrow().as_ref().and_then(|r| {
            let fresh = now - r.read_at_ms < RECENT_TTL_MS;
            let same = r.path == entry.path && r.size == entry.size && r.mtime == entry.mtime;
            (fresh && same).then(|| r.array.clone())
        });
        let array = match cached {
            Some(array) => Some(array),
            None => {
                let array = self.content_array(&entry.path).await?;
                *self.recent.borrow_mut() = array.as_ref().map(|array| Recent {
                    path: entry.path.clone(),
                    size: entry.size,
                    mtime: entry.mtime,
                    array: array.clone(),
                    read_at_ms: now,
                });
                array
            }
        };
        Ok(array.map(|array| {
            let len = array.length();
            let start = offset.min(u64::from(len)) as u32;
            let end = offset.saturating_add(length).min(u64::from(len)) as u32;
            array.subarray(start, end).to_vec()
        }))
    }

    async fn contents_in_runs(
        &self,
        runs: &[(&str, &str)],
        visit: &mut dyn FnMut(&str, &[u8]) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, VfsError> {
        // Two requests per run (its keys, then its values, in the same key order) in place of
        // one per file, and the next runs already asked for while one is being visited, so the
        // browser reads ahead as the page scans. Each file is copied into one reused buffer.
        let store = self.tx.object_store(CONTENTS).map_err(store_error)?;
        let ask = |(first, last): &(&str, &str)| {
            let range = || KeyRange::Bound((*first).to_owned(), false, (*last).to_owned(), false);
            let keys = store
                .get_all_keys::<String>()
                .with_query::<String, _>(range())
                .primitive()
                .map_err(store_error)?;
            let values = store
                .get_all::<JsValue>()
                .with_query::<String, _>(range())
                .primitive()
                .map_err(store_error)?;
            Ok::<_, VfsError>((keys, values))
        };
        let mut asked = VecDeque::with_capacity(RUNS_IN_FLIGHT);
        let mut next = runs.iter();
        let mut buffer = Vec::new();
        loop {
            while asked.len() < RUNS_IN_FLIGHT
                && let Some(run) = next.next()
            {
                asked.push_back(ask(run)?);
            }
            let Some((keys, values)) = asked.pop_front() else {
                return Ok(ControlFlow::Continue(()));
            };
            let keys: Vec<String> = keys
                .await
                .map_err(store_error)?
                .collect::<Result<_, _>>()
                .map_err(store_error)?;
            let values: Vec<JsValue> = values
                .await
                .map_err(store_error)?
                .collect::<Result<_, _>>()
                .map_err(store_error)?;
            for (key, value) in keys.iter().zip(values) {
                let Ok(array) = value.dyn_into::<js_sys::Uint8Array>() else {
                    continue;
                };
                buffer.clear();
                buffer.resize(array.length() as usize, 0);
                array.copy_to(&mut buffer);
                if visit(key, &buffer).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
    }

    async fn put(&self, entry: &Entry, content: Option<&[u8]>) -> Result<(), VfsError> {
        self.recent.take();
        let text = serde_json::to_string(entry).map_err(store_error)?;
        let key = entry.path.as_str();
        let entries = self.tx.object_store(ENTRIES).map_err(store_error)?;
        let contents = self.tx.object_store(CONTENTS).map_err(store_error)?;
        let put_entry = match entries.put(text).with_key(key).primitive() {
            Ok(request) => request.await.map(drop),
            Err(e) => Err(e),
        };
        let result = match (put_entry, content) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(bytes)) => {
                let array = JsValue::from(js_sys::Uint8Array::from(bytes));
                match contents.put(array).with_key(key).primitive() {
                    Ok(request) => request.await.map(drop),
                    Err(e) => Err(e),
                }
            }
            (Ok(()), None) => match contents.delete(key).primitive() {
                Ok(request) => request.await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failure(e).await),
        }
    }

    async fn remove(&self, path: &str) -> Result<(), VfsError> {
        self.recent.take();
        for name in [ENTRIES, CONTENTS] {
            let store = self.tx.object_store(name).map_err(store_error)?;
            store
                .delete(path)
                .primitive()
                .map_err(store_error)?
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), VfsError> {
        let sys = self.tx.as_sys().clone();
        match self.tx.commit().await {
            Ok(()) => Ok(()),
            Err(e) => {
                let name = sys.error().map(|dom| dom.name());
                if name.as_deref() == Some("QuotaExceededError") {
                    Err(quota_exceeded().await)
                } else {
                    Err(store_error(e))
                }
            }
        }
    }
}

/// [`VfsError::QuotaExceeded`] with the browser's figures, when it gives them.
async fn quota_exceeded() -> VfsError {
    let (usage_bytes, quota_bytes) = estimate().await.unwrap_or((None, None));
    VfsError::QuotaExceeded {
        usage_bytes,
        quota_bytes,
    }
}

/// `navigator.storage.estimate()`: (usage, quota) in bytes.
pub async fn estimate() -> Option<(Option<f64>, Option<f64>)> {
    let navigator = web_sys::window()?.navigator();
    let promise = navigator.storage().estimate().ok()?;
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let estimate: web_sys::StorageEstimate = value.unchecked_into();
    Some((estimate.get_usage(), estimate.get_quota()))
}
