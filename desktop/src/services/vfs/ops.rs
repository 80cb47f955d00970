//! The VFS semantics (SPEC §5 `vfs:*`), on top of any [`VfsStore`]: one transaction per
//! operation, so an operation happens whole or not at all.
//!
//! Paths are normalized first (a bad path is `bad_request` with the `PathError` sentence).
//! Folders are real entries: `write`, `mkdir` and `rename` create missing parents, `delete` of a
//! non-empty folder needs `recursive`, and `rename` of a folder moves everything inside it.
//! This module never talks to the bus or the UI; `server` and the local API call it.

use aether_shared::vfs::path::{file_name, is_within, parent};
use aether_shared::vfs::{Entry, EntryKind, Written, normalize};

use super::error::VfsError;
use super::store::{StoreTx, VfsStore};

/// A file's entry and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileData {
    pub entry: Entry,
    pub bytes: Vec<u8>,
}

/// An entry to write: its path, and `None` for a folder or the bytes of a file.
pub type NewEntry = (String, Option<Vec<u8>>);

/// A stored entry with its content (`None` for a folder).
pub type StoredEntry = (Entry, Option<Vec<u8>>);

/// The root folder as an entry.
fn root() -> Entry {
    Entry {
        name: String::new(),
        path: "/".into(),
        kind: EntryKind::Dir,
        size: 0,
        mtime: 0,
    }
}

fn entry(path: &str, kind: EntryKind, size: u64, mtime: u64) -> Entry {
    Entry {
        name: file_name(path).to_owned(),
        path: path.to_owned(),
        kind,
        size,
        mtime,
    }
}

/// The entry at a normalized `path` (the root included), if any.
async fn lookup<T: StoreTx>(tx: &T, path: &str) -> Result<Option<Entry>, VfsError> {
    if path == "/" {
        return Ok(Some(root()));
    }
    tx.entry(path).await
}

/// Creates every missing folder above `path`; an ancestor that is a file is a conflict.
async fn ensure_parents<T: StoreTx>(tx: &T, path: &str, now: u64) -> Result<(), VfsError> {
    let mut missing = Vec::new();
    let mut up = parent(path);
    while let Some(dir) = up.filter(|d| *d != "/") {
        match tx.entry(dir).await? {
            Some(found) if found.kind == EntryKind::Dir => break,
            Some(_) => return Err(VfsError::NotFolder(dir.to_owned())),
            None => missing.push(dir.to_owned()),
        }
        up = parent(dir);
    }
    for dir in missing.iter().rev() {
        tx.put(&entry(dir, EntryKind::Dir, 0, now), None).await?;
    }
    Ok(())
}

/// Writes (creates or replaces) the file at `path`. `now` is the new mtime in ms.
pub async fn write<S: VfsStore>(
    store: &S,
    path: &str,
    bytes: &[u8],
    now: u64,
) -> Result<Written, VfsError> {
    let path = normalize(path)?;
    let tx = store.begin(true)?;
    write_in(&tx, &path, bytes, now).await?;
    tx.commit().await?;
    Ok(Written {
        size: bytes.len() as u64,
        mtime: now,
        committed: true,
    })
}

async fn write_in<T: StoreTx>(tx: &T, path: &str, bytes: &[u8], now: u64) -> Result<(), VfsError> {
    if path == "/" {
        return Err(VfsError::IsFolder(path.to_owned()));
    }
    if let Some(found) = tx.entry(path).await?
        && found.kind == EntryKind::Dir
    {
        return Err(VfsError::IsFolder(path.to_owned()));
    }
    ensure_parents(tx, path, now).await?;
    let file = entry(path, EntryKind::File, bytes.len() as u64, now);
    tx.put(&file, Some(bytes)).await
}

/// Reads the file at `path`.
pub async fn read<S: VfsStore>(store: &S, path: &str) -> Result<FileData, VfsError> {
    let path = normalize(path)?;
    let tx = store.begin(false)?;
    let found = lookup(&tx, &path)
        .await?
        .ok_or_else(|| VfsError::NotFound(path.clone()))?;
    if found.kind == EntryKind::Dir {
        return Err(VfsError::IsFolder(path));
    }
    let bytes = tx.content(&path).await?.unwrap_or_default();
    Ok(FileData {
        entry: found,
        bytes,
    })
}

/// `length` bytes (fewer at the end) of the file at `path` from `offset`, with its entry. An
/// offset past the end is `bad_request`.
pub async fn read_range<S: VfsStore>(
    store: &S,
    path: &str,
    offset: u64,
    length: u64,
) -> Result<FileData, VfsError> {
    let path = normalize(path)?;
    let tx = store.begin(false)?;
    let found = lookup(&tx, &path)
        .await?
        .ok_or_else(|| VfsError::NotFound(path.clone()))?;
    if found.kind == EntryKind::Dir {
        return Err(VfsError::IsFolder(path));
    }
    if offset > found.size {
        return Err(VfsError::BadPayload(format!(
            "offset {offset} is past the end of `{path}` ({} bytes); read from 0 to {}",
            found.size, found.size
        )));
    }
    let bytes = tx
        .content_range(&found, offset, length)
        .await?
        .unwrap_or_default();
    Ok(FileData {
        entry: found,
        bytes,
    })
}

/// The entries directly inside the folder `path`: folders first, then by name.
pub async fn list<S: VfsStore>(store: &S, path: &str) -> Result<Vec<Entry>, VfsError> {
    let path = normalize(path)?;
    let tx = store.begin(false)?;
    let found = lookup(&tx, &path)
        .await?
        .ok_or_else(|| VfsError::NotFound(path.clone()))?;
    if found.kind != EntryKind::Dir {
        return Err(VfsError::NotFolder(path));
    }
    let mut entries: Vec<Entry> = tx
        .descendants(&path)
        .await?
        .into_iter()
        .filter(|e| parent(&e.path) == Some(path.as_str()))
        .collect();
    sort_entries(&mut entries);
    Ok(entries)
}

/// Folders first, then by name.
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name))
    });
}

/// Every entry of the store, in path order (for the tree view and export).
pub async fn walk<S: VfsStore>(store: &S) -> Result<Vec<Entry>, VfsError> {
    store.begin(false)?.descendants("/").await
}

/// The entry at `path`.
pub async fn stat<S: VfsStore>(store: &S, path: &str) -> Result<Entry, VfsError> {
    let path = normalize(path)?;
    let tx = store.begin(false)?;
    lookup(&tx, &path).await?.ok_or(VfsError::NotFound(path))
}

/// Creates the folder `path` and its missing parents; an existing folder is fine.
pub async fn mkdir<S: VfsStore>(store: &S, path: &str, now: u64) -> Result<(), VfsError> {
    let path = normalize(path)?;
    let tx = store.begin(true)?;
    match lookup(&tx, &path).await? {
        Some(found) if found.kind == EntryKind::Dir => return Ok(()),
        Some(_) => return Err(VfsError::AlreadyExists(path)),
        None => {}
    }
    ensure_parents(&tx, &path, now).await?;
    tx.put(&entry(&path, EntryKind::Dir, 0, now), None).await?;
    tx.commit().await
}

/// Deletes the entry at `path`; a non-empty folder needs `recursive`.
pub async fn delete<S: VfsStore>(store: &S, path: &str, recursive: bool) -> Result<(), VfsError> {
    let path = normalize(path)?;
    if path == "/" {
        return Err(VfsError::Root("deleted"));
    }
    let tx = store.begin(true)?;
    let found = tx
        .entry(&path)
        .await?
        .ok_or_else(|| VfsError::NotFound(path.clone()))?;
    if found.kind == EntryKind::Dir {
        let inside = tx.descendants(&path).await?;
        if !inside.is_empty() && !recursive {
            return Err(VfsError::NotEmpty(path));
        }
        for child in inside {
            tx.remove(&child.path).await?;
        }
    }
    tx.remove(&path).await?;
    tx.commit().await
}

/// Moves the entry at `from` to `to` (a folder with everything inside it). `to` must not exist;
/// its missing parents are created.
pub async fn rename<S: VfsStore>(
    store: &S,
    from: &str,
    to: &str,
    now: u64,
) -> Result<(), VfsError> {
    let (from, to) = (normalize(from)?, normalize(to)?);
    if from == "/" || to == "/" {
        return Err(VfsError::Root("renamed"));
    }
    if to != from && is_within(&to, &from) {
        return Err(VfsError::IntoItself { from, to });
    }
    let tx = store.begin(true)?;
    let found = tx
        .entry(&from)
        .await?
        .ok_or_else(|| VfsError::NotFound(from.clone()))?;
    if tx.entry(&to).await?.is_some() {
        return Err(VfsError::AlreadyExists(to));
    }
    ensure_parents(&tx, &to, now).await?;
    let mut moving = vec![found];
    if moving[0].kind == EntryKind::Dir {
        moving.extend(tx.descendants(&from).await?);
    }
    for old in moving {
        let new_path = format!("{to}{}", &old.path[from.len()..]);
        let content = match old.kind {
            EntryKind::File => Some(tx.content(&old.path).await?.unwrap_or_default()),
            EntryKind::Dir => None,
        };
        tx.remove(&old.path).await?;
        let moved = entry(&new_path, old.kind, old.size, old.mtime);
        tx.put(&moved, content.as_deref()).await?;
    }
    tx.commit().await
}

/// Every entry with its content (for export).
pub async fn snapshot<S: VfsStore>(store: &S) -> Result<Vec<StoredEntry>, VfsError> {
    let tx = store.begin(false)?;
    let mut out = Vec::new();
    for found in tx.descendants("/").await? {
        let content = match found.kind {
            EntryKind::File => Some(tx.content(&found.path).await?.unwrap_or_default()),
            EntryKind::Dir => None,
        };
        out.push((found, content));
    }
    Ok(out)
}

/// Writes many entries in one transaction (import, seeding): folders (`None`) and files
/// (`Some(bytes)`), replacing files at the same paths. All or nothing.
pub async fn write_all<S: VfsStore>(
    store: &S,
    items: &[NewEntry],
    now: u64,
) -> Result<usize, VfsError> {
    let tx = store.begin(true)?;
    for (path, content) in items {
        let path = normalize(path)?;
        match content {
            Some(bytes) => write_in(&tx, &path, bytes, now).await?,
            None if path == "/" => {}
            None => match tx.entry(&path).await? {
                Some(found) if found.kind == EntryKind::Dir => {}
                Some(_) => return Err(VfsError::NotFolder(path)),
                None => {
                    ensure_parents(&tx, &path, now).await?;
                    tx.put(&entry(&path, EntryKind::Dir, 0, now), None).await?;
                }
            },
        }
    }
    tx.commit().await?;
    Ok(items.len())
}

/// True when the store holds nothing.
pub async fn is_empty<S: VfsStore>(store: &S) -> Result<bool, VfsError> {
    Ok(walk(store).await?.is_empty())
}

#[cfg(test)]
pub(super) mod tests;
