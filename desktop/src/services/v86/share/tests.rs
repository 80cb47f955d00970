//! The server driven as the guest's Linux drives it, message by message, on memory trees.

use super::server::Server;
use super::tools::Tools;
use super::tools::tests::{MapFetch, tools};
use super::tree::memory::MemoryTree;
use super::wire::tests::{request, s};
use super::{Errno, run};

/// A guest: sends requests, reads replies (`Err` for `Rlerror`).
struct Guest {
    server: Server<MemoryTree, Tools<MapFetch>>,
    tag: u16,
}

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

const ROOT: u32 = 0;

impl Guest {
    fn new(files: MemoryTree) -> Guest {
        Guest::resume(files, None)
    }

    fn resume(files: MemoryTree, fids: Option<&str>) -> Guest {
        let mut g = Guest {
            server: Server::new(files, Some(tools()), fids),
            tag: 0,
        };
        if fids.is_none() {
            let mut body = 131_072u32.to_le_bytes().to_vec();
            body.extend(s("9P2000.L"));
            let r = g.send(100, &body).unwrap();
            assert_eq!(&r[..4], &131_072u32.to_le_bytes());
            let mut body = u32s(&[ROOT, u32::MAX]);
            body.extend(s("root"));
            body.extend(s(""));
            body.extend(u32s(&[0]));
            g.send(104, &body).unwrap();
        }
        g
    }

    /// The server's own tree (the test plays the Editor's part on it).
    fn files(&self) -> &MemoryTree {
        self.server.files_for_tests()
    }

    fn send(&mut self, kind: u8, body: &[u8]) -> Result<Vec<u8>, Errno> {
        self.tag += 1;
        let reply = run(self.server.handle(&request(kind, self.tag, body)));
        assert_eq!(&reply[..4], &(reply.len() as u32).to_le_bytes());
        assert_eq!(u16::from_le_bytes([reply[5], reply[6]]), self.tag);
        if reply[4] == 7 {
            let e = &reply[7..11];
            return Err(Errno(u32::from_le_bytes([e[0], e[1], e[2], e[3]])));
        }
        assert_eq!(reply[4], kind + 1, "reply type");
        Ok(reply[7..].to_vec())
    }

    /// Walks `fid` along `path` (names split on `/`) to `newfid`.
    fn walk(&mut self, fid: u32, newfid: u32, path: &str) -> Result<u16, Errno> {
        let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
        let mut body = u32s(&[fid, newfid]);
        body.extend((names.len() as u16).to_le_bytes());
        for n in &names {
            body.extend(s(n));
        }
        let r = self.send(110, &body)?;
        Ok(u16::from_le_bytes([r[0], r[1]]))
    }

    fn open(&mut self, fid: u32, flags: u32) -> Result<(), Errno> {
        self.send(12, &u32s(&[fid, flags])).map(drop)
    }

    fn read(&mut self, fid: u32, offset: u64, count: u32) -> Result<Vec<u8>, Errno> {
        let mut body = fid.to_le_bytes().to_vec();
        body.extend(offset.to_le_bytes());
        body.extend(count.to_le_bytes());
        Ok(self.send(116, &body)?[4..].to_vec())
    }

    fn write(&mut self, fid: u32, offset: u64, data: &[u8]) -> Result<u32, Errno> {
        let mut body = fid.to_le_bytes().to_vec();
        body.extend(offset.to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(data);
        let r = self.send(118, &body)?;
        Ok(u32::from_le_bytes([r[0], r[1], r[2], r[3]]))
    }

    fn create(&mut self, dfid: u32, name: &str, mode: u32) -> Result<(), Errno> {
        let mut body = dfid.to_le_bytes().to_vec();
        body.extend(s(name));
        body.extend(u32s(&[0o101, mode, 0]));
        self.send(14, &body).map(drop)
    }

    fn clunk(&mut self, fid: u32) -> Result<(), Errno> {
        self.send(120, &fid.to_le_bytes()).map(drop)
    }

    fn size(&mut self, fid: u32) -> u64 {
        let mut body = fid.to_le_bytes().to_vec();
        body.extend(0x7ffu64.to_le_bytes());
        let r = self.send(24, &body).unwrap();
        // valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8]
        let at = 8 + 13 + 12 + 16;
        u64::from_le_bytes(r[at..at + 8].try_into().unwrap())
    }

    fn mode(&mut self, fid: u32) -> u32 {
        let mut body = fid.to_le_bytes().to_vec();
        body.extend(0x7ffu64.to_le_bytes());
        let r = self.send(24, &body).unwrap();
        u32::from_le_bytes(r[21..25].try_into().unwrap())
    }

    fn renameat(&mut self, dfid: u32, old: &str, ndfid: u32, new: &str) -> Result<(), Errno> {
        let mut body = dfid.to_le_bytes().to_vec();
        body.extend(s(old));
        body.extend(ndfid.to_le_bytes());
        body.extend(s(new));
        self.send(74, &body).map(drop)
    }

    fn unlinkat(&mut self, dfid: u32, name: &str, flags: u32) -> Result<(), Errno> {
        let mut body = dfid.to_le_bytes().to_vec();
        body.extend(s(name));
        body.extend(flags.to_le_bytes());
        self.send(76, &body).map(drop)
    }

    /// The names `Treaddir` lists, read `count` bytes at a time.
    fn readdir(&mut self, fid: u32, count: u32) -> Vec<String> {
        let mut names = Vec::new();
        let mut offset = 0u64;
        loop {
            let mut body = fid.to_le_bytes().to_vec();
            body.extend(offset.to_le_bytes());
            body.extend(count.to_le_bytes());
            let r = self.send(40, &body).unwrap();
            let len = u32::from_le_bytes(r[..4].try_into().unwrap()) as usize;
            if len == 0 {
                return names;
            }
            let mut at = 4;
            while at < 4 + len {
                offset = u64::from_le_bytes(r[at + 13..at + 21].try_into().unwrap());
                let n = u16::from_le_bytes([r[at + 22], r[at + 23]]) as usize;
                names.push(String::from_utf8(r[at + 24..at + 24 + n].to_vec()).unwrap());
                at += 24 + n;
            }
        }
    }
}

fn tree(files: &[(&str, Option<&[u8]>)]) -> MemoryTree {
    let t = MemoryTree::default();
    for (path, content) in files {
        t.map
            .borrow_mut()
            .insert((*path).to_owned(), content.map(<[u8]>::to_vec));
    }
    t
}

#[test]
fn an_editor_save_is_what_the_guest_reads_next() {
    let mut g = Guest::new(tree(&[("/a.txt", Some(b"old"))]));
    assert_eq!(g.walk(ROOT, 1, "files/a.txt"), Ok(2));
    g.walk(ROOT, 9, "files").unwrap();
    g.open(1, 0).unwrap();
    assert_eq!(g.read(1, 0, 100).unwrap(), b"old");
    g.files()
        .map
        .borrow_mut()
        .insert("/a.txt".into(), Some(b"new text".to_vec()));
    assert_eq!(g.read(1, 0, 100).unwrap(), b"new text");
    assert_eq!(g.size(1), 8);
    assert_eq!(g.walk(9, 2, "missing"), Err(Errno::NOENT));
    assert_eq!(
        g.walk(ROOT, 2, "files/a.txt/x"),
        Ok(2),
        "a partial walk returns the qids it found and makes no fid"
    );
    assert_eq!(g.clunk(2), Err(Errno::BADF));
}

#[test]
fn a_file_written_in_pieces_reaches_the_tab_whole_when_closed() {
    let mut g = Guest::new(tree(&[("/dir", None)]));
    g.walk(ROOT, 1, "files/dir").unwrap();
    g.create(1, "big.bin", 0o644).unwrap();
    assert_eq!(
        g.files().file("/dir/big.bin"),
        Some(Vec::new()),
        "created at once"
    );
    let piece = vec![7u8; 8192];
    assert_eq!(g.write(1, 0, &piece), Ok(8192));
    assert_eq!(g.write(1, 8192, &piece[..1]), Ok(1));
    assert_eq!(g.size(1), 8193, "the guest sees its own writes");
    assert_eq!(g.read(1, 8190, 10).unwrap(), [7, 7, 7]);
    assert_eq!(
        g.files().file("/dir/big.bin"),
        Some(Vec::new()),
        "held until closed"
    );
    g.clunk(1).unwrap();
    assert_eq!(g.files().file("/dir/big.bin").map(|b| b.len()), Some(8193));
}

#[test]
fn empty_and_one_byte_files_and_a_truncating_open() {
    let mut g = Guest::new(tree(&[("/f", Some(b"0123456789"))]));
    g.walk(ROOT, 1, "files").unwrap();
    g.create(1, "empty", 0o644).unwrap();
    g.clunk(1).unwrap();
    assert_eq!(g.files().file("/empty"), Some(Vec::new()));
    g.walk(ROOT, 2, "files/f").unwrap();
    g.open(2, 0o1001).unwrap();
    g.write(2, 0, b"x").unwrap();
    g.clunk(2).unwrap();
    assert_eq!(g.files().file("/f"), Some(b"x".to_vec()));
    g.walk(ROOT, 3, "files/f").unwrap();
    g.open(3, 0o2001).unwrap();
    g.write(3, 1, b"y").unwrap();
    g.clunk(3).unwrap();
    assert_eq!(g.files().file("/f"), Some(b"xy".to_vec()));
}

#[test]
fn a_rename_replaces_its_target_and_moves_open_fids() {
    let mut g = Guest::new(tree(&[
        ("/repo", None),
        ("/repo/config", Some(b"old")),
        ("/repo/config.lock", Some(b"new")),
    ]));
    g.walk(ROOT, 1, "files/repo").unwrap();
    g.walk(1, 2, "config.lock").unwrap();
    g.open(2, 0).unwrap();
    g.renameat(1, "config.lock", 1, "config").unwrap();
    assert_eq!(g.files().file("/repo/config"), Some(b"new".to_vec()));
    assert_eq!(g.files().file("/repo/config.lock"), None);
    assert_eq!(g.read(2, 0, 10).unwrap(), b"new", "the open fid follows");
    g.walk(ROOT, 3, "files").unwrap();
    g.renameat(3, "repo", 3, "moved").unwrap();
    assert_eq!(g.files().file("/moved/config"), Some(b"new".to_vec()));
    assert_eq!(g.read(2, 0, 10).unwrap(), b"new");
    assert_eq!(g.renameat(3, "nothing", 3, "x"), Err(Errno::NOENT));
    assert_eq!(g.renameat(3, "moved", 1, "inside"), Err(Errno::INVAL));
}

#[test]
fn deleting_follows_the_folder_rules() {
    let mut g = Guest::new(tree(&[("/d", None), ("/d/f", Some(b"1"))]));
    g.walk(ROOT, 1, "files").unwrap();
    assert_eq!(g.unlinkat(1, "d", 0x200), Err(Errno::NOTEMPTY));
    assert_eq!(g.unlinkat(1, "d", 0), Err(Errno::ISDIR));
    g.walk(ROOT, 2, "files/d").unwrap();
    assert_eq!(g.unlinkat(2, "f", 0x200), Err(Errno::NOTDIR));
    g.unlinkat(2, "f", 0).unwrap();
    g.unlinkat(1, "d", 0x200).unwrap();
    assert!(g.files().map.borrow().is_empty());
}

#[test]
fn a_file_deleted_while_open_is_not_brought_back_by_its_close() {
    let mut g = Guest::new(tree(&[("/tmp.txt", Some(b"a"))]));
    g.walk(ROOT, 1, "files/tmp.txt").unwrap();
    g.open(1, 2).unwrap();
    g.write(1, 0, b"b").unwrap();
    g.walk(ROOT, 2, "files").unwrap();
    g.unlinkat(2, "tmp.txt", 0).unwrap();
    g.clunk(1).unwrap();
    assert_eq!(g.files().file("/tmp.txt"), None);
}

#[test]
fn folders_list_in_pieces_and_the_root_shows_both_trees() {
    let mut g = Guest::new(tree(&[("/a", Some(b"")), ("/b", Some(b"")), ("/c", None)]));
    g.walk(ROOT, 1, "files").unwrap();
    g.open(1, 0).unwrap();
    // Room for about one entry a call: paging must neither skip nor repeat.
    assert_eq!(g.readdir(1, 30), [".", "..", "a", "b", "c"]);
    g.walk(ROOT, 2, "").unwrap();
    g.open(2, 0).unwrap();
    assert_eq!(g.readdir(2, 4096), [".", "..", "files", "tools"]);
}

#[test]
fn the_tools_are_read_only_and_their_links_read() {
    let mut g = Guest::new(MemoryTree::default());
    g.walk(ROOT, 1, "tools/usr/bin/python3").unwrap();
    let r = g.send(22, &1u32.to_le_bytes()).unwrap();
    assert_eq!(&r[2..], b"python3.11");
    assert_eq!(g.open(1, 1), Err(Errno::ROFS));
    g.walk(ROOT, 2, "tools/usr/bin").unwrap();
    assert_eq!(g.create(2, "x", 0o644), Err(Errno::ROFS));
    g.walk(ROOT, 3, "tools/usr/bin/python3.11").unwrap();
    assert_eq!(g.mode(3), 0o100_755);
    g.open(3, 0).unwrap();
    assert_eq!(g.read(3, 0, 4).unwrap(), b"\x7fELF");
    assert_eq!(
        g.renameat(2, "python3", ROOT, "files"),
        Err(Errno::ROFS),
        "nothing moves out of the tools"
    );
}

#[test]
fn a_resumed_machine_keeps_its_fids() {
    let mut g = Guest::new(tree(&[("/notes.txt", Some(b"one"))]));
    g.walk(ROOT, 5, "files/notes.txt").unwrap();
    g.open(5, 2).unwrap();
    g.write(5, 3, b" two").unwrap();
    let fids = run(g.server.save());
    assert_eq!(
        g.files().file("/notes.txt"),
        Some(b"one two".to_vec()),
        "a save writes back what the guest holds"
    );
    let files = std::mem::take(&mut *g.files().map.borrow_mut());
    let mut again = Guest::resume(MemoryTree { map: files.into() }, Some(&fids));
    again.write(5, 7, b" three").unwrap();
    again.clunk(5).unwrap();
    assert_eq!(
        again.files().file("/notes.txt"),
        Some(b"one two three".to_vec())
    );
}

#[test]
fn chmod_is_kept_for_the_page_and_bad_messages_are_refused() {
    let mut g = Guest::new(tree(&[("/run.sh", Some(b"echo hi"))]));
    g.walk(ROOT, 1, "files/run.sh").unwrap();
    assert_eq!(g.mode(1), 0o100_644);
    let mut body = u32s(&[1, 1, 0o755, 0, 0]);
    body.extend([0u8; 40]);
    g.send(26, &body).unwrap();
    assert_eq!(g.mode(1), 0o100_755);
    assert_eq!(g.send(30, &u32s(&[1, 2])), Err(Errno::OPNOTSUPP));
    assert_eq!(g.send(250, &[]), Err(Errno::OPNOTSUPP));
    assert_eq!(g.send(116, &[1, 0]), Err(Errno::PROTO));
    assert_eq!(g.read(99, 0, 1), Err(Errno::BADF));
}
