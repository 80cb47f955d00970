//! The storage seam under the VFS: a transactional key-value store of entries and contents.
//!
//! [`VfsStore`] opens transactions; a [`StoreTx`] reads and writes entries (keyed by their
//! normalized path) and file contents, and makes its changes visible all at once on
//! [`StoreTx::commit`] — a transaction dropped before that changes nothing. The root `/` is never
//! stored. The browser implementation is `idb`; the unit tests use [`memory::MemoryStore`].
//! This module knows nothing of paths' meaning, only of keys.

use std::ops::ControlFlow;

use aether_shared::vfs::Entry;

use super::error::VfsError;

/// A store that opens transactions.
#[allow(async_fn_in_trait)] // single-threaded wasm: the futures never need to be `Send`
pub trait VfsStore {
    type Tx<'a>: StoreTx
    where
        Self: 'a;

    /// Starts a transaction; `write` makes it read-write.
    fn begin(&self, write: bool) -> Result<Self::Tx<'_>, VfsError>;
}

/// One transaction. Errors abort it (nothing it wrote is kept).
#[allow(async_fn_in_trait)]
pub trait StoreTx {
    /// The entry at `path`, if stored.
    async fn entry(&self, path: &str) -> Result<Option<Entry>, VfsError>;
    /// Every entry strictly inside the folder `dir` (all of them for `/`), in key order.
    async fn descendants(&self, dir: &str) -> Result<Vec<Entry>, VfsError>;
    /// The content of the file at `path`, if stored.
    async fn content(&self, path: &str) -> Result<Option<Vec<u8>>, VfsError>;
    /// `length` bytes (fewer at the end) of the content of the file `entry` (as just looked up
    /// in this transaction), from `offset`.
    async fn content_range(
        &self,
        entry: &Entry,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, VfsError> {
        Ok(self.content(&entry.path).await?.map(|bytes| {
            let start = (offset as usize).min(bytes.len());
            let end = start.saturating_add(length as usize).min(bytes.len());
            bytes[start..end].to_vec()
        }))
    }
    /// Calls `visit(path, bytes)` with the stored content of every file whose path is between
    /// `first` and `last` (both included) of each of `runs`, run after run, in key order, until
    /// it breaks; one request per run (a few runs in flight at once where the store allows it).
    /// The bytes are lent for the call only.
    async fn contents_in_runs(
        &self,
        runs: &[(&str, &str)],
        visit: &mut dyn FnMut(&str, &[u8]) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, VfsError>;
    /// Stores `entry` (replacing one at the same path) and, for a file, its content.
    async fn put(&self, entry: &Entry, content: Option<&[u8]>) -> Result<(), VfsError>;
    /// Removes the entry at `path` and its content, if any.
    async fn remove(&self, path: &str) -> Result<(), VfsError>;
    /// Makes every change of this transaction durable and visible.
    async fn commit(self) -> Result<(), VfsError>;
}

#[cfg(test)]
pub mod memory {
    //! An in-memory [`VfsStore`] for unit tests: a transaction works on a copy that replaces
    //! the store's map on commit, so an uncommitted transaction changes nothing.

    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::ops::ControlFlow;

    use aether_shared::vfs::Entry;
    use aether_shared::vfs::path::is_within;

    use super::{StoreTx, VfsStore};
    use crate::services::vfs::error::VfsError;

    type Map = BTreeMap<String, (Entry, Option<Vec<u8>>)>;

    #[derive(Default)]
    pub struct MemoryStore {
        map: RefCell<Map>,
    }

    pub struct MemoryTx<'a> {
        store: &'a MemoryStore,
        staged: RefCell<Map>,
    }

    impl MemoryStore {
        /// Every stored path, in order.
        pub fn paths(&self) -> Vec<String> {
            self.map.borrow().keys().cloned().collect()
        }
    }

    impl VfsStore for MemoryStore {
        type Tx<'a> = MemoryTx<'a>;

        fn begin(&self, _write: bool) -> Result<MemoryTx<'_>, VfsError> {
            Ok(MemoryTx {
                store: self,
                staged: RefCell::new(self.map.borrow().clone()),
            })
        }
    }

    impl StoreTx for MemoryTx<'_> {
        async fn entry(&self, path: &str) -> Result<Option<Entry>, VfsError> {
            Ok(self.staged.borrow().get(path).map(|(e, _)| e.clone()))
        }

        async fn descendants(&self, dir: &str) -> Result<Vec<Entry>, VfsError> {
            Ok(self
                .staged
                .borrow()
                .iter()
                .filter(|(path, _)| path.as_str() != dir && is_within(path, dir))
                .map(|(_, (e, _))| e.clone())
                .collect())
        }

        async fn content(&self, path: &str) -> Result<Option<Vec<u8>>, VfsError> {
            Ok(self.staged.borrow().get(path).and_then(|(_, c)| c.clone()))
        }

        async fn contents_in_runs(
            &self,
            runs: &[(&str, &str)],
            visit: &mut dyn FnMut(&str, &[u8]) -> ControlFlow<()>,
        ) -> Result<ControlFlow<()>, VfsError> {
            let staged = self.staged.borrow();
            for (first, last) in runs {
                let range = (*first).to_owned()..=(*last).to_owned();
                for (path, (_, content)) in staged.range(range) {
                    if let Some(bytes) = content
                        && visit(path, bytes).is_break()
                    {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        }

        async fn put(&self, entry: &Entry, content: Option<&[u8]>) -> Result<(), VfsError> {
            self.staged.borrow_mut().insert(
                entry.path.clone(),
                (entry.clone(), content.map(<[u8]>::to_vec)),
            );
            Ok(())
        }

        async fn remove(&self, path: &str) -> Result<(), VfsError> {
            self.staged.borrow_mut().remove(path);
            Ok(())
        }

        async fn commit(self) -> Result<(), VfsError> {
            *self.store.map.borrow_mut() = self.staged.into_inner();
            Ok(())
        }
    }
}
