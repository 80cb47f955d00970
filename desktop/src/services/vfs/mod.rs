//! The VFS proxy: this tab's files, in IndexedDB, served to the bus under the tab's session id.
//!
//! [`VfsProxy`] is the handle apps use: the same operations the bus serves, called directly (no
//! round trip), plus [`VfsProxy::revision`], a tracked counter that moves after every change
//! (local or relayed) so views refresh. The parts, one concern each: `ops` (the semantics,
//! unit tested on `store::memory`), `store` (the transactional seam) and `idb` (IndexedDB),
//! `content` (utf8/base64 at the edge), `archive` (zip export/import), `search` (`vfs:search`),
//! `session` (the tab's id), `seed` (the welcome folder), `server` (the bus glue), `uploads` (chunked writes staged until
//! their last chunk), `remote` (a session over the relay, chunked) and `devtools`
//! (`window.aether.vfs`).
//!
//! The proxy never renders and never decides what a file means; it never loses a file silently:
//! every failure is a [`VfsError`] with a sentence.

mod archive;
mod content;
pub mod devtools;
mod error;
mod idb;
mod ops;
pub mod remote;
mod search;
mod seed;
mod server;
mod session;
mod store;
mod uploads;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use aether_shared::vfs::{Entry, Search, SearchResults, Written};
use leptos::prelude::{ArcRwSignal, Get, GetUntracked, Update};
use send_wrapper::SendWrapper;

pub use archive::EXPORT_FILE_NAME;
pub use content::as_text;
pub use error::VfsError;
pub use ops::FileData;

use crate::services::bus::BusClient;
use idb::IdbStore;

/// The handle on this tab's files. Clone it freely; `Send + Sync` only for Leptos context (wasm
/// is single-threaded, see `BusClient`).
#[derive(Clone)]
pub struct VfsProxy {
    inner: SendWrapper<Rc<Inner>>,
}

struct Inner {
    session_id: String,
    /// The bus this tab serves its files on (and reaches sessions through).
    bus: BusClient,
    store: RefCell<Option<Rc<IdbStore>>>,
    /// Moves after every change, and once when the store opens.
    revision: ArcRwSignal<u64>,
    /// Why the store could not open, if it could not.
    failure: RefCell<Option<VfsError>>,
    /// Chunked writes waiting for their last chunk.
    uploads: RefCell<uploads::Uploads>,
    /// True once the kernel has acknowledged this tab's session (`vfs:register`).
    registered: Cell<bool>,
}

/// Starts the VFS of this tab: opens its store (seeding a new session), then serves it on `bus`.
pub fn start(bus: BusClient) -> VfsProxy {
    let proxy = VfsProxy {
        inner: SendWrapper::new(Rc::new(Inner {
            session_id: session::tab_session_id(),
            bus: bus.clone(),
            store: RefCell::new(None),
            revision: ArcRwSignal::new(0),
            failure: RefCell::new(None),
            uploads: RefCell::new(uploads::Uploads::default()),
            registered: Cell::new(false),
        })),
    };
    let opening = proxy.clone();
    wasm_bindgen_futures::spawn_local(async move {
        match IdbStore::open(&idb::database_name(opening.session_id())).await {
            Ok(store) => {
                let store = Rc::new(store);
                seed::seed_new_session(&*store, opening.session_id()).await;
                *opening.inner.store.borrow_mut() = Some(store);
                opening.changed();
                server::serve(bus, opening);
            }
            Err(e) => {
                web_sys::console::error_1(
                    &format!("aether: the file store is unavailable: {e}").into(),
                );
                *opening.inner.failure.borrow_mut() = Some(e);
                opening.changed();
            }
        }
    });
    proxy
}

impl VfsProxy {
    /// This tab's session id (the address other clients and the kernel use for its files).
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// The bus the files are served on.
    pub fn bus(&self) -> &BusClient {
        &self.inner.bus
    }

    /// Chunked uploads in progress (staged, not yet written).
    pub fn uploads_in_flight(&self) -> usize {
        self.inner.uploads.borrow().len()
    }

    /// True once the store is open.
    pub fn is_ready(&self) -> bool {
        self.inner.store.borrow().is_some()
    }

    /// True once the kernel has acknowledged this tab's session: from then on other clients
    /// (and this tab through the relay) reach these files at [`VfsProxy::session_id`].
    pub fn is_registered(&self) -> bool {
        self.inner.registered.get()
    }

    fn mark_registered(&self) {
        self.inner.registered.set(true);
    }

    /// Why the store could not open, if it could not.
    pub fn failure(&self) -> Option<VfsError> {
        self.inner.failure.borrow().clone()
    }

    /// A counter that moves after every change (tracked: a view that reads it refreshes).
    pub fn revision(&self) -> u64 {
        self.inner.revision.get()
    }

    /// The counter, without tracking.
    pub fn revision_untracked(&self) -> u64 {
        self.inner.revision.get_untracked()
    }

    fn changed(&self) {
        self.inner.revision.update(|r| *r += 1);
    }

    fn store(&self) -> Result<Rc<IdbStore>, VfsError> {
        if let Some(store) = self.inner.store.borrow().as_ref() {
            return Ok(Rc::clone(store));
        }
        Err(self.failure().unwrap_or(VfsError::NotReady))
    }

    /// After a successful change, tells the views.
    fn note<T>(&self, result: Result<T, VfsError>) -> Result<T, VfsError> {
        if result.is_ok() {
            self.changed();
        }
        result
    }

    /// Creates or replaces the file at `path` (creating missing folders).
    pub async fn write(&self, path: &str, bytes: &[u8]) -> Result<Written, VfsError> {
        let store = self.store()?;
        self.note(ops::write(&*store, path, bytes, now_ms()).await)
    }

    /// The file at `path`.
    pub async fn read(&self, path: &str) -> Result<FileData, VfsError> {
        ops::read(&*self.store()?, path).await
    }

    /// `length` bytes of the file at `path` from `offset` (fewer at its end).
    pub async fn read_range(
        &self,
        path: &str,
        offset: u64,
        length: u64,
    ) -> Result<FileData, VfsError> {
        ops::read_range(&*self.store()?, path, offset, length).await
    }

    /// The entries directly inside the folder `path`, folders first.
    pub async fn list(&self, path: &str) -> Result<Vec<Entry>, VfsError> {
        ops::list(&*self.store()?, path).await
    }

    /// Every entry, in path order.
    pub async fn walk(&self) -> Result<Vec<Entry>, VfsError> {
        ops::walk(&*self.store()?).await
    }

    /// The entry at `path`.
    pub async fn stat(&self, path: &str) -> Result<Entry, VfsError> {
        ops::stat(&*self.store()?, path).await
    }

    /// Creates the folder `path` (and missing parents); an existing folder is fine.
    pub async fn mkdir(&self, path: &str) -> Result<(), VfsError> {
        let store = self.store()?;
        self.note(ops::mkdir(&*store, path, now_ms()).await)
    }

    /// Deletes `path`; a non-empty folder needs `recursive`.
    pub async fn delete(&self, path: &str, recursive: bool) -> Result<(), VfsError> {
        let store = self.store()?;
        self.note(ops::delete(&*store, path, recursive).await)
    }

    /// Moves `from` (with everything inside it) to `to`, which must not exist.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), VfsError> {
        let store = self.store()?;
        self.note(ops::rename(&*store, from, to, now_ms()).await)
    }

    /// Writes every `(path, content)` of `items` in one transaction (creating missing folders):
    /// all or none. Returns how many it wrote.
    pub async fn write_many(&self, items: &[ops::NewEntry]) -> Result<usize, VfsError> {
        let store = self.store()?;
        self.note(ops::write_all(&*store, items, now_ms()).await)
    }

    /// The lines of text files that match `request` (see `search`).
    pub async fn search(&self, request: &Search) -> Result<SearchResults, VfsError> {
        search::search(&*self.store()?, request).await
    }

    /// The whole VFS as a `.zip`.
    pub async fn export_zip(&self) -> Result<Vec<u8>, VfsError> {
        let entries = ops::snapshot(&*self.store()?).await?;
        archive::export(&entries)
    }

    /// Unpacks a `.zip` into the VFS in one transaction (files at the same paths are replaced,
    /// nothing else is removed). Returns how many entries it held.
    pub async fn import_zip(&self, zip: &[u8]) -> Result<usize, VfsError> {
        let store = self.store()?;
        let items = archive::import(zip)?;
        self.note(ops::write_all(&*store, &items, now_ms()).await)
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

// Leptos context needs `Send + Sync`; keep that a compile-time fact.
const _: () = {
    const fn context_safe<T: Send + Sync + Clone + 'static>() {}
    context_safe::<VfsProxy>();
};
