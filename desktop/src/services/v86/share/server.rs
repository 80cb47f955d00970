//! The 9P2000.L server: one per machine, answering its guest's requests one at a time.
//!
//! The namespace has two trees: `/files` (the tab's files, read-write) and `/tools` (the guest's
//! tools, read-only, when the build has them). Reads go to the tree each time, so the guest sees
//! an Editor save at its next read. Writes are held: a file open for writing keeps its bytes
//! here, and they are written back whole when its last writer closes it (or on `fsync`) — the
//! tab's files are stored whole, so writing each 128 KiB piece through would rewrite the file
//! once per piece. The rule for conflicts follows: **the last close wins** (an Editor save made
//! while the guest holds the file open for writing is replaced when the guest closes it).
//! The tab's files have no permission bits: files are `0644` and folders `0755` unless a
//! `chmod` in this page's life said otherwise.

use std::collections::HashMap;

use super::Errno;
use super::fids::{Fids, Listed, Open, under};
use super::tree::{Kind, Node, Tree};
use super::wire::{self, Message, QT_DIR, QT_FILE, QT_SYMLINK, Qid, Reply, Request};

/// The largest message the server agrees to (the guest asks for its own `msize`).
pub const MAX_MSIZE: u32 = 512 * 1024;

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const DT_DIR: u8 = 4;
const DT_REG: u8 = 8;
const DT_LNK: u8 = 10;
const O_ACCMODE: u32 = 3;
const O_TRUNC: u32 = 0o1000;
const AT_REMOVEDIR: u32 = 0x200;
/// `Rgetattr`'s fields that are filled (`P9_GETATTR_BASIC`).
const GETATTR_BASIC: u64 = 0x7ff;
/// Linux's magic number for 9p file systems.
const V9FS_MAGIC: u32 = 0x0102_1997;

/// The bytes of a file open for writing.
struct Held {
    bytes: Vec<u8>,
    /// Written since it was loaded or last written back.
    changed: bool,
    /// Deleted while open: its bytes are dropped at the last close.
    unlinked: bool,
}

/// Where a namespace path lives.
enum Place<'a> {
    Root,
    Files(&'a str),
    Tools(&'a str),
}

fn place(ns: &str) -> Option<Place<'_>> {
    if ns == "/" {
        return Some(Place::Root);
    }
    if let Some(rest) = under(ns, "/files") {
        return Some(Place::Files(tree_path(rest)));
    }
    if let Some(rest) = under(ns, "/tools") {
        return Some(Place::Tools(tree_path(rest)));
    }
    None
}

/// A tree's path from what follows its top folder (`""` is its root).
fn tree_path(rest: &str) -> &str {
    if rest.is_empty() { "/" } else { rest }
}

fn join(dir: &str, name: &str) -> Result<String, Errno> {
    if name.is_empty() || name.contains('/') || name == "." {
        return Err(Errno::INVAL);
    }
    if name == ".." {
        return Ok(match dir.rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(i) => dir[..i].to_owned(),
        });
    }
    Ok(if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    })
}

fn dir_node(name: &str) -> Node {
    Node {
        name: name.to_owned(),
        kind: Kind::Dir,
        size: 0,
        mtime_ms: 0,
        mode: Some(0o755),
    }
}

/// FNV-1a: a stable number for a path (the guest's inode number).
fn path_number(ns: &str) -> u64 {
    ns.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1
}

/// The server of one machine.
pub struct Server<F: Tree, T: Tree> {
    files: F,
    tools: Option<T>,
    fids: Fids,
    msize: u32,
    held: HashMap<String, Held>,
    modes: HashMap<String, u32>,
}

impl<F: Tree, T: Tree> Server<F, T> {
    /// A server for a fresh machine, or for a resumed one with the fid table it saved.
    pub fn new(files: F, tools: Option<T>, fids: Option<&str>) -> Server<F, T> {
        Server {
            files,
            tools,
            fids: fids.map(Fids::load).unwrap_or_default(),
            msize: 8192,
            held: HashMap::new(),
            modes: HashMap::new(),
        }
    }

    #[cfg(test)]
    pub fn files_for_tests(&self) -> &F {
        &self.files
    }

    /// Answers one request (an unreadable one with `Rlerror`).
    pub async fn handle(&mut self, bytes: &[u8]) -> Vec<u8> {
        let message = match wire::decode(bytes) {
            Ok(message) => message,
            Err(errno) => {
                return wire::header(bytes)
                    .map(|(_, tag)| Reply::error(tag, errno))
                    .unwrap_or_default();
            }
        };
        let tag = message.tag;
        self.answer(message)
            .await
            .unwrap_or_else(|errno| Reply::error(tag, errno))
    }

    /// Writes back every held file that changed (before the machine's state is saved), and
    /// returns the fid table to keep with it.
    pub async fn save(&mut self) -> String {
        let changed: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.changed && !h.unlinked)
            .map(|(p, _)| p.clone())
            .collect();
        for path in changed {
            let _ = self.write_back(&path).await;
        }
        self.fids.save()
    }

    async fn answer(&mut self, m: Message) -> Result<Vec<u8>, Errno> {
        let reply = Reply::to(m.kind, m.tag);
        Ok(match m.request {
            Request::Version { msize, version } => {
                self.msize = msize.clamp(4096, MAX_MSIZE);
                self.fids = Fids::default();
                self.held.clear();
                let version = if version.starts_with("9P2000.L") {
                    "9P2000.L"
                } else {
                    "unknown"
                };
                reply.u32(self.msize).string(version).finish()
            }
            Request::Attach { fid } => {
                self.fids.put(fid, "/".into());
                reply.qid(self.qid("/", &dir_node(""))).finish()
            }
            Request::Walk { fid, newfid, names } => self.walk(reply, fid, newfid, names).await?,
            Request::Getattr { fid } => self.getattr(reply, fid).await?,
            Request::Setattr { fid, attr } => {
                let path = self.path(fid)?;
                if attr.valid & (wire::SETATTR_MODE | wire::SETATTR_SIZE) != 0 {
                    self.writable(&path)?;
                }
                if attr.valid & wire::SETATTR_MODE != 0 {
                    self.modes.insert(path.clone(), attr.mode & 0o7777);
                }
                if attr.valid & wire::SETATTR_SIZE != 0 {
                    self.truncate(&path, attr.size).await?;
                }
                reply.finish()
            }
            Request::Lopen { fid, flags } => self.lopen(reply, fid, flags).await?,
            Request::Lcreate {
                fid,
                name,
                flags: _,
                mode,
            } => {
                let path = join(&self.path(fid)?, &name)?;
                self.writable(&path)?;
                if self.stat(&path).await?.is_some() {
                    return Err(Errno::EXIST);
                }
                let mtime_ms = self.tree_write(&path, &[]).await?;
                self.modes.insert(path.clone(), mode & 0o7777);
                self.held.insert(
                    path.clone(),
                    Held {
                        bytes: Vec::new(),
                        changed: false,
                        unlinked: false,
                    },
                );
                // What was just written: no need to ask the tree again.
                let node = Node {
                    name,
                    kind: Kind::File,
                    size: 0,
                    mtime_ms,
                    mode: None,
                };
                let f = self.fids.get_mut(fid).ok_or(Errno::BADF)?;
                f.path = path.clone();
                f.open = Open::Write;
                reply.qid(self.qid(&path, &node)).u32(0).finish()
            }
            Request::Read { fid, offset, count } => {
                let f = self.fids.get(fid).ok_or(Errno::BADF)?;
                if f.open == Open::No {
                    return Err(Errno::BADF);
                }
                let path = f.path.clone();
                let count = count.min(self.msize - 11) as u64;
                let data = match self.held.get(&path) {
                    Some(held) => {
                        let start = (offset as usize).min(held.bytes.len());
                        let end = start.saturating_add(count as usize).min(held.bytes.len());
                        held.bytes[start..end].to_vec()
                    }
                    None => self.tree_read(&path, offset, count).await?,
                };
                reply.u32(data.len() as u32).bytes(&data).finish()
            }
            Request::Write { fid, offset, data } => {
                let f = self.fids.get(fid).ok_or(Errno::BADF)?;
                if f.open != Open::Write {
                    return Err(Errno::BADF);
                }
                let path = f.path.clone();
                self.hold(&path, None).await?;
                let held = self.held.get_mut(&path).ok_or(Errno::IO)?;
                let start = offset as usize;
                let end = start.checked_add(data.len()).ok_or(Errno::INVAL)?;
                if held.bytes.len() < end {
                    held.bytes.resize(end, 0);
                }
                held.bytes[start..end].copy_from_slice(&data);
                held.changed = true;
                reply.u32(data.len() as u32).finish()
            }
            Request::Readdir { fid, offset, count } => {
                self.readdir(reply, fid, offset, count).await?
            }
            Request::Clunk { fid } => {
                self.clunk(fid).await?;
                reply.finish()
            }
            Request::Remove { fid } => {
                let path = self.path(fid)?;
                let removed = self.unlink(&path, None).await;
                let closed = self.clunk(fid).await;
                removed.and(closed)?;
                reply.finish()
            }
            Request::Mkdir { dfid, name } => {
                let path = join(&self.path(dfid)?, &name)?;
                self.writable(&path)?;
                if self.stat(&path).await?.is_some() {
                    return Err(Errno::EXIST);
                }
                self.tree_mkdir(&path).await?;
                reply.qid(self.qid(&path, &dir_node(&name))).finish()
            }
            Request::Unlinkat { dfid, name, flags } => {
                let path = join(&self.path(dfid)?, &name)?;
                self.unlink(&path, Some(flags & AT_REMOVEDIR != 0)).await?;
                reply.finish()
            }
            Request::Renameat {
                olddfid,
                oldname,
                newdfid,
                newname,
            } => {
                let from = join(&self.path(olddfid)?, &oldname)?;
                let to = join(&self.path(newdfid)?, &newname)?;
                self.rename(&from, &to).await?;
                reply.finish()
            }
            Request::Rename { fid, dfid, name } => {
                let from = self.path(fid)?;
                let to = join(&self.path(dfid)?, &name)?;
                self.rename(&from, &to).await?;
                reply.finish()
            }
            Request::Readlink { fid } => {
                let path = self.path(fid)?;
                match self.stat(&path).await?.map(|n| n.kind) {
                    Some(Kind::Link(target)) => reply.string(&target).finish(),
                    Some(_) => return Err(Errno::INVAL),
                    None => return Err(Errno::NOENT),
                }
            }
            Request::Symlink { dfid } => {
                self.writable(&self.path(dfid)?)?;
                // The tab's files are files and folders only.
                return Err(Errno::PERM);
            }
            Request::Link | Request::Mknod => return Err(Errno::PERM),
            Request::Fsync { fid } => {
                let path = self.path(fid)?;
                if self.held.get(&path).is_some_and(|h| h.changed) {
                    self.write_back(&path).await?;
                }
                reply.finish()
            }
            Request::Statfs => reply
                .u32(V9FS_MAGIC)
                .u32(4096)
                .u64(1 << 20)
                .u64(1 << 20)
                .u64(1 << 20)
                .u64(1 << 20)
                .u64(1 << 20)
                .u64(0)
                .u32(255)
                .finish(),
            Request::Flush => reply.finish(),
            // One guest, one client: its own kernel already orders its locks.
            Request::Lock => reply.u8(0).finish(),
            Request::Getlock {
                kind: _,
                start,
                length,
                proc_id,
                client,
            } => reply
                .u8(2)
                .u64(start)
                .u64(length)
                .u32(proc_id)
                .string(&client)
                .finish(),
            Request::Xattr | Request::Auth | Request::Unknown(_) => return Err(Errno::OPNOTSUPP),
        })
    }

    fn path(&self, fid: u32) -> Result<String, Errno> {
        Ok(self.fids.get(fid).ok_or(Errno::BADF)?.path.clone())
    }

    fn qid(&self, ns: &str, node: &Node) -> Qid {
        let (kind, version) = match node.kind {
            Kind::Dir => (QT_DIR, 0),
            Kind::File => (QT_FILE, (node.mtime_ms / 1000) as u32),
            Kind::Link(_) => (QT_SYMLINK, 0),
        };
        Qid {
            kind,
            version,
            path: path_number(ns),
        }
    }

    fn mode(&self, ns: &str, node: &Node) -> u32 {
        match node.kind {
            Kind::Dir => S_IFDIR | node.mode.unwrap_or(0o755),
            Kind::File => S_IFREG | self.modes.get(ns).copied().or(node.mode).unwrap_or(0o644),
            Kind::Link(_) => S_IFLNK | 0o777,
        }
    }

    fn writable(&self, ns: &str) -> Result<(), Errno> {
        match place(ns) {
            Some(Place::Files(p)) if p != "/" => Ok(()),
            Some(Place::Tools(_)) => Err(Errno::ROFS),
            _ => Err(Errno::PERM),
        }
    }

    async fn stat(&self, ns: &str) -> Result<Option<Node>, Errno> {
        match place(ns) {
            Some(Place::Root) => Ok(Some(dir_node(""))),
            Some(Place::Files(p)) => {
                let node = self.files.stat(p).await?;
                Ok(node.map(|n| if p == "/" { dir_node("files") } else { n }))
            }
            Some(Place::Tools(p)) => match &self.tools {
                Some(tools) => tools.stat(p).await,
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    async fn list(&self, ns: &str) -> Result<Vec<Node>, Errno> {
        match place(ns) {
            Some(Place::Root) => {
                let mut nodes = vec![dir_node("files")];
                if self.tools.is_some() {
                    nodes.push(dir_node("tools"));
                }
                Ok(nodes)
            }
            Some(Place::Files(p)) => self.files.list(p).await,
            Some(Place::Tools(p)) => match &self.tools {
                Some(tools) => tools.list(p).await,
                None => Err(Errno::NOENT),
            },
            None => Err(Errno::NOENT),
        }
    }

    async fn tree_read(&self, ns: &str, offset: u64, length: u64) -> Result<Vec<u8>, Errno> {
        match place(ns) {
            Some(Place::Files(p)) => self.files.read(p, offset, length).await,
            Some(Place::Tools(p)) => match &self.tools {
                Some(tools) => tools.read(p, offset, length).await,
                None => Err(Errno::NOENT),
            },
            _ => Err(Errno::ISDIR),
        }
    }

    async fn tree_write(&self, ns: &str, bytes: &[u8]) -> Result<u64, Errno> {
        match place(ns) {
            Some(Place::Files(p)) => self.files.write(p, bytes).await,
            _ => Err(Errno::ROFS),
        }
    }

    async fn tree_mkdir(&self, ns: &str) -> Result<(), Errno> {
        match place(ns) {
            Some(Place::Files(p)) => self.files.mkdir(p).await,
            _ => Err(Errno::ROFS),
        }
    }

    async fn tree_delete(&self, ns: &str) -> Result<(), Errno> {
        match place(ns) {
            Some(Place::Files(p)) => self.files.delete(p).await,
            _ => Err(Errno::ROFS),
        }
    }

    async fn walk(
        &mut self,
        reply: Reply,
        fid: u32,
        newfid: u32,
        names: Vec<String>,
    ) -> Result<Vec<u8>, Errno> {
        let mut path = self.path(fid)?;
        let mut qids = Vec::new();
        for name in &names {
            let next = join(&path, name)?;
            let Some(node) = self.stat(&next).await? else {
                if qids.is_empty() {
                    return Err(Errno::NOENT);
                }
                break;
            };
            qids.push(self.qid(&next, &node));
            path = next;
        }
        if qids.len() == names.len() {
            self.fids.put(newfid, path);
        }
        let mut reply = reply.u16(qids.len() as u16);
        for qid in qids {
            reply = reply.qid(qid);
        }
        Ok(reply.finish())
    }

    async fn getattr(&self, reply: Reply, fid: u32) -> Result<Vec<u8>, Errno> {
        let path = self.path(fid)?;
        let node = self.stat(&path).await?.ok_or(Errno::NOENT)?;
        let size = match (&node.kind, self.held.get(&path)) {
            (Kind::File, Some(held)) => held.bytes.len() as u64,
            (Kind::Link(target), _) => target.len() as u64,
            _ => node.size,
        };
        let (secs, nanos) = (node.mtime_ms / 1000, (node.mtime_ms % 1000) * 1_000_000);
        let nlink = if node.kind == Kind::Dir { 2 } else { 1 };
        let mut reply = reply
            .u64(GETATTR_BASIC)
            .qid(self.qid(&path, &node))
            .u32(self.mode(&path, &node))
            .u32(0)
            .u32(0)
            .u64(nlink)
            .u64(0)
            .u64(size)
            .u64(4096)
            .u64(size.div_ceil(512));
        for _ in 0..3 {
            reply = reply.u64(secs).u64(nanos);
        }
        Ok(reply.u64(0).u64(0).u64(0).u64(0).finish())
    }

    async fn lopen(&mut self, reply: Reply, fid: u32, flags: u32) -> Result<Vec<u8>, Errno> {
        let path = self.path(fid)?;
        let node = self.stat(&path).await?.ok_or(Errno::NOENT)?;
        let write = matches!(flags & O_ACCMODE, 1 | 2);
        if write {
            self.writable(&path)?;
            if node.kind == Kind::Dir {
                return Err(Errno::ISDIR);
            }
            let truncate = (flags & O_TRUNC != 0).then_some(node.size);
            self.hold(&path, truncate).await?;
        }
        let qid = self.qid(&path, &node);
        let f = self.fids.get_mut(fid).ok_or(Errno::BADF)?;
        f.open = if write { Open::Write } else { Open::Read };
        f.listing = None;
        Ok(reply.qid(qid).u32(0).finish())
    }

    /// Makes sure the bytes of `path` are held; `truncate` (the file's size in the tree, which
    /// the caller has just read) empties them.
    async fn hold(&mut self, path: &str, truncate: Option<u64>) -> Result<(), Errno> {
        if let Some(held) = self.held.get_mut(path) {
            if truncate.is_some() && !held.bytes.is_empty() {
                held.bytes.clear();
                held.changed = true;
            }
            return Ok(());
        }
        let bytes = match truncate {
            Some(_) => Vec::new(),
            None => self.tree_read(path, 0, u64::MAX).await?,
        };
        let changed = truncate.is_some_and(|size| size > 0);
        self.held.insert(
            path.to_owned(),
            Held {
                bytes,
                changed,
                unlinked: false,
            },
        );
        Ok(())
    }

    async fn truncate(&mut self, path: &str, size: u64) -> Result<(), Errno> {
        if let Some(held) = self.held.get_mut(path) {
            held.bytes.resize(size as usize, 0);
            held.changed = true;
            return Ok(());
        }
        let mut bytes = if size == 0 {
            Vec::new()
        } else {
            self.tree_read(path, 0, u64::MAX).await?
        };
        bytes.resize(size as usize, 0);
        self.tree_write(path, &bytes).await.map(drop)
    }

    async fn write_back(&mut self, path: &str) -> Result<(), Errno> {
        let Some(held) = self.held.get(path) else {
            return Ok(());
        };
        let result = self.tree_write(path, &held.bytes).await;
        if result.is_ok()
            && let Some(held) = self.held.get_mut(path)
        {
            held.changed = false;
        }
        result.map(drop)
    }

    async fn clunk(&mut self, fid: u32) -> Result<(), Errno> {
        let f = self.fids.remove(fid).ok_or(Errno::BADF)?;
        if f.open != Open::Write || self.fids.other_writer(&f.path, fid) {
            return Ok(());
        }
        let result = match self.held.get(&f.path) {
            Some(held) if held.changed && !held.unlinked => self.write_back(&f.path).await,
            _ => Ok(()),
        };
        self.held.remove(&f.path);
        result
    }

    /// Deletes `path`; `dir` says what it must be (`None`: either).
    async fn unlink(&mut self, path: &str, dir: Option<bool>) -> Result<(), Errno> {
        self.writable(path)?;
        let node = self.stat(path).await?.ok_or(Errno::NOENT)?;
        match (dir, node.kind == Kind::Dir) {
            (Some(true), false) => return Err(Errno::NOTDIR),
            (Some(false), true) => return Err(Errno::ISDIR),
            _ => {}
        }
        self.tree_delete(path).await?;
        if let Some(held) = self.held.get_mut(path) {
            held.unlinked = true;
        }
        self.modes.remove(path);
        Ok(())
    }

    /// `rename(2)`: `to` is replaced when it is a file, or an empty folder and `from` a folder.
    async fn rename(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        self.writable(from)?;
        self.writable(to)?;
        if from == to {
            return Ok(());
        }
        if under(to, from).is_some() {
            return Err(Errno::INVAL);
        }
        let source = self.stat(from).await?.ok_or(Errno::NOENT)?;
        if let Some(target) = self.stat(to).await? {
            match (source.kind == Kind::Dir, target.kind == Kind::Dir) {
                (false, true) => return Err(Errno::ISDIR),
                (true, false) => return Err(Errno::NOTDIR),
                _ => self.unlink(to, None).await?,
            }
        }
        // The tree moves what it has: write back what the guest holds under `from` first.
        let held: Vec<String> = self
            .held
            .iter()
            .filter(|(p, h)| under(p, from).is_some() && h.changed && !h.unlinked)
            .map(|(p, _)| p.clone())
            .collect();
        for path in &held {
            self.write_back(path).await?;
        }
        match (place(from), place(to)) {
            (Some(Place::Files(a)), Some(Place::Files(b))) => self.files.rename(a, b).await?,
            _ => return Err(Errno::XDEV),
        }
        self.fids.rebase(from, to);
        self.modes.rebase(from, to);
        self.held.rebase(from, to);
        Ok(())
    }

    async fn readdir(
        &mut self,
        reply: Reply,
        fid: u32,
        offset: u64,
        count: u32,
    ) -> Result<Vec<u8>, Errno> {
        let path = self.path(fid)?;
        let stale = offset == 0 || self.fids.get(fid).is_some_and(|f| f.listing.is_none());
        if stale {
            let listing = self.listing(&path).await?;
            if let Some(f) = self.fids.get_mut(fid) {
                f.listing = Some(listing);
            }
        }
        let f = self.fids.get(fid).ok_or(Errno::BADF)?;
        let listing = f.listing.as_deref().unwrap_or(&[]);
        let room = count.min(self.msize - 11) as usize;
        let mut data = Vec::new();
        for (i, entry) in listing.iter().enumerate().skip(offset as usize) {
            if data.len() + wire::dirent_len(&entry.name) > room {
                break;
            }
            wire::dirent(&mut data, entry.qid, i as u64 + 1, entry.dtype, &entry.name);
        }
        Ok(reply.u32(data.len() as u32).bytes(&data).finish())
    }

    async fn listing(&self, path: &str) -> Result<Vec<Listed>, Errno> {
        let nodes = self.list(path).await?;
        let here = self.qid(path, &dir_node(""));
        let parent = join(path, "..")?;
        let mut listing = vec![
            Listed {
                name: ".".into(),
                qid: here,
                dtype: DT_DIR,
            },
            Listed {
                name: "..".into(),
                qid: self.qid(&parent, &dir_node("")),
                dtype: DT_DIR,
            },
        ];
        for node in nodes {
            let child = join(path, &node.name)?;
            let dtype = match node.kind {
                Kind::Dir => DT_DIR,
                Kind::File => DT_REG,
                Kind::Link(_) => DT_LNK,
            };
            listing.push(Listed {
                qid: self.qid(&child, &node),
                name: node.name,
                dtype,
            });
        }
        Ok(listing)
    }
}

/// A map by namespace path whose keys follow a rename.
trait Rebase {
    fn rebase(&mut self, from: &str, to: &str);
}

impl<V> Rebase for HashMap<String, V> {
    fn rebase(&mut self, from: &str, to: &str) {
        let moved: Vec<String> = self
            .keys()
            .filter(|p| under(p, from).is_some())
            .cloned()
            .collect();
        for old in moved {
            if let Some(v) = self.remove(&old) {
                let rest = under(&old, from).unwrap_or("");
                self.insert(format!("{to}{rest}"), v);
            }
        }
    }
}
