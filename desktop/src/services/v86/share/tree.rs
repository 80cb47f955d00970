//! [`Tree`]: what the 9p server needs of a file tree, and the two it serves — the tab's files
//! ([`VfsProxy`], read-write) and the guest's tools ([`super::tools::Tools`], read-only).
//!
//! Paths here are the tree's own, absolute (`/` is its root). Errors are Linux errno values,
//! which is what the guest's programs see.

use aether_shared::vfs::{Entry, EntryKind};

use super::Errno;
use crate::services::vfs::{VfsError, VfsProxy};

/// What a path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    /// A symbolic link and its target.
    Link(String),
}

/// One entry of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub kind: Kind,
    pub size: u64,
    /// Milliseconds since the Unix epoch.
    pub mtime_ms: u64,
    /// Permission bits, when the tree keeps them.
    pub mode: Option<u32>,
}

/// A file tree the server can serve.
#[allow(async_fn_in_trait)] // single-threaded wasm: the futures never need to be `Send`
pub trait Tree {
    /// The entry at `path`, `None` when there is none.
    async fn stat(&self, path: &str) -> Result<Option<Node>, Errno>;
    /// The entries of the folder `path`.
    async fn list(&self, path: &str) -> Result<Vec<Node>, Errno>;
    /// Up to `length` bytes of the file `path` from `offset`.
    async fn read(&self, path: &str, offset: u64, length: u64) -> Result<Vec<u8>, Errno>;
    /// Replaces (or creates) the file `path`; returns its new mtime (ms since the Unix epoch).
    async fn write(&self, path: &str, bytes: &[u8]) -> Result<u64, Errno>;
    /// Creates the folder `path`.
    async fn mkdir(&self, path: &str) -> Result<(), Errno>;
    /// Deletes `path` (a folder only when empty).
    async fn delete(&self, path: &str) -> Result<(), Errno>;
    /// Moves `from` to `to`, which does not exist.
    async fn rename(&self, from: &str, to: &str) -> Result<(), Errno>;
}

impl From<&VfsError> for Errno {
    fn from(e: &VfsError) -> Errno {
        match e {
            VfsError::NotFound(_) => Errno::NOENT,
            VfsError::AlreadyExists(_) => Errno::EXIST,
            VfsError::IsFolder(_) => Errno::ISDIR,
            VfsError::NotFolder(_) => Errno::NOTDIR,
            VfsError::NotEmpty(_) => Errno::NOTEMPTY,
            VfsError::BadPath(_) | VfsError::IntoItself { .. } | VfsError::Root(_) => Errno::INVAL,
            VfsError::QuotaExceeded { .. } => Errno::NOSPC,
            _ => Errno::IO,
        }
    }
}

fn errno(e: VfsError) -> Errno {
    Errno::from(&e)
}

fn node(entry: Entry) -> Node {
    Node {
        kind: match entry.kind {
            EntryKind::Dir => Kind::Dir,
            EntryKind::File => Kind::File,
        },
        name: entry.name,
        size: entry.size,
        mtime_ms: entry.mtime,
        mode: None,
    }
}

impl Tree for VfsProxy {
    async fn stat(&self, path: &str) -> Result<Option<Node>, Errno> {
        match VfsProxy::stat(self, path).await {
            Ok(entry) => Ok(Some(node(entry))),
            Err(VfsError::NotFound(_)) => Ok(None),
            Err(e) => Err(errno(e)),
        }
    }

    async fn list(&self, path: &str) -> Result<Vec<Node>, Errno> {
        let entries = VfsProxy::list(self, path).await.map_err(errno)?;
        Ok(entries.into_iter().map(node).collect())
    }

    async fn read(&self, path: &str, offset: u64, length: u64) -> Result<Vec<u8>, Errno> {
        match self.read_range(path, offset, length).await {
            Ok(data) => Ok(data.bytes),
            // Past the end (the file shrank, or the program seeked there): nothing to read.
            Err(VfsError::BadPayload(_)) => Ok(Vec::new()),
            Err(e) => Err(errno(e)),
        }
    }

    async fn write(&self, path: &str, bytes: &[u8]) -> Result<u64, Errno> {
        VfsProxy::write(self, path, bytes)
            .await
            .map(|written| written.mtime)
            .map_err(errno)
    }

    async fn mkdir(&self, path: &str) -> Result<(), Errno> {
        VfsProxy::mkdir(self, path).await.map_err(errno)
    }

    async fn delete(&self, path: &str) -> Result<(), Errno> {
        VfsProxy::delete(self, path, false).await.map_err(errno)
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), Errno> {
        VfsProxy::rename(self, from, to).await.map_err(errno)
    }
}

#[cfg(test)]
pub mod memory {
    //! A [`Tree`] in memory, for the server's tests: the VFS's rules that matter to the
    //! server (parents must exist, a folder is deleted only when empty, a rename's target
    //! must not exist).

    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Default)]
    pub struct MemoryTree {
        /// Path → `None` for a folder, the bytes for a file.
        pub map: RefCell<BTreeMap<String, Option<Vec<u8>>>>,
    }

    fn parent(path: &str) -> &str {
        match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => "/",
        }
    }

    fn inside(path: &str, dir: &str) -> bool {
        path.len() > dir.len()
            && path.starts_with(dir)
            && (dir == "/" || path.as_bytes()[dir.len()] == b'/')
    }

    impl MemoryTree {
        fn is_dir(&self, path: &str) -> bool {
            path == "/" || matches!(self.map.borrow().get(path), Some(None))
        }

        pub fn file(&self, path: &str) -> Option<Vec<u8>> {
            self.map.borrow().get(path).cloned().flatten()
        }
    }

    impl Tree for MemoryTree {
        async fn stat(&self, path: &str) -> Result<Option<Node>, Errno> {
            if path == "/" {
                return Ok(Some(Node {
                    name: String::new(),
                    kind: Kind::Dir,
                    size: 0,
                    mtime_ms: 0,
                    mode: None,
                }));
            }
            Ok(self.map.borrow().get(path).map(|content| Node {
                name: path.rsplit('/').next().unwrap_or("").to_owned(),
                kind: if content.is_some() {
                    Kind::File
                } else {
                    Kind::Dir
                },
                size: content.as_ref().map_or(0, |c| c.len() as u64),
                mtime_ms: 1_000,
                mode: None,
            }))
        }

        async fn list(&self, path: &str) -> Result<Vec<Node>, Errno> {
            if !self.is_dir(path) {
                return Err(Errno::NOTDIR);
            }
            let children: Vec<String> = self
                .map
                .borrow()
                .keys()
                .filter(|p| inside(p, path) && parent(p) == path)
                .cloned()
                .collect();
            let mut nodes = Vec::new();
            for child in children {
                nodes.extend(self.stat(&child).await?);
            }
            Ok(nodes)
        }

        async fn read(&self, path: &str, offset: u64, length: u64) -> Result<Vec<u8>, Errno> {
            let bytes = self.file(path).ok_or(Errno::NOENT)?;
            let start = (offset as usize).min(bytes.len());
            let end = start.saturating_add(length as usize).min(bytes.len());
            Ok(bytes[start..end].to_vec())
        }

        async fn write(&self, path: &str, bytes: &[u8]) -> Result<u64, Errno> {
            if !self.is_dir(parent(path)) {
                return Err(Errno::NOENT);
            }
            if self.is_dir(path) {
                return Err(Errno::ISDIR);
            }
            self.map
                .borrow_mut()
                .insert(path.to_owned(), Some(bytes.to_vec()));
            // The mtime `stat` reports for every path.
            Ok(1_000)
        }

        async fn mkdir(&self, path: &str) -> Result<(), Errno> {
            if !self.is_dir(parent(path)) {
                return Err(Errno::NOENT);
            }
            self.map.borrow_mut().insert(path.to_owned(), None);
            Ok(())
        }

        async fn delete(&self, path: &str) -> Result<(), Errno> {
            let mut map = self.map.borrow_mut();
            if map.keys().any(|p| inside(p, path)) {
                return Err(Errno::NOTEMPTY);
            }
            map.remove(path).map(drop).ok_or(Errno::NOENT)
        }

        async fn rename(&self, from: &str, to: &str) -> Result<(), Errno> {
            let mut map = self.map.borrow_mut();
            if map.contains_key(to) {
                return Err(Errno::EXIST);
            }
            let moved: Vec<String> = map
                .keys()
                .filter(|p| *p == from || inside(p, from))
                .cloned()
                .collect();
            if moved.is_empty() {
                return Err(Errno::NOENT);
            }
            for old in moved {
                let content = map.remove(&old).unwrap();
                map.insert(format!("{to}{}", &old[from.len()..]), content);
            }
            Ok(())
        }
    }
}
