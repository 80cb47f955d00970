//! The VFS semantics, checked natively on the in-memory store.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aether_shared::ErrorCode;
use proptest::prelude::*;

use super::*;
use crate::services::vfs::store::memory::MemoryStore;

/// Runs a future that never waits (the memory store is synchronous underneath).
pub(in crate::services::vfs) fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the memory store never waits"),
    }
}

fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

fn code<T: std::fmt::Debug>(result: Result<T, VfsError>) -> ErrorCode {
    result.unwrap_err().code()
}

#[test]
fn a_write_creates_its_parents_and_reads_back() {
    let store = MemoryStore::default();
    let written = run(write(&store, "/a/b/c.txt", b"hi", 7)).unwrap();
    assert_eq!((written.size, written.mtime), (2, 7));
    assert_eq!(store.paths(), ["/a", "/a/b", "/a/b/c.txt"]);
    let file = run(read(&store, "/a/./b/../b/c.txt")).unwrap();
    assert_eq!(file.bytes, b"hi");
    assert_eq!(file.entry.name, "c.txt");
    assert_eq!(run(stat(&store, "/a/b")).unwrap().kind, EntryKind::Dir);
    assert_eq!(run(stat(&store, "/")).unwrap().path, "/");
}

#[test]
fn listing_shows_direct_children_folders_first() {
    let store = MemoryStore::default();
    run(write(&store, "/z.txt", b"", 1)).unwrap();
    run(write(&store, "/b/deep/x", b"", 1)).unwrap();
    run(mkdir(&store, "/a", 1)).unwrap();
    assert_eq!(names(&run(list(&store, "/")).unwrap()), ["a", "b", "z.txt"]);
    assert_eq!(names(&run(list(&store, "/b")).unwrap()), ["deep"]);
    assert_eq!(code(run(list(&store, "/nope"))), ErrorCode::NotFound);
    assert_eq!(code(run(list(&store, "/z.txt"))), ErrorCode::Conflict);
}

#[test]
fn bad_paths_are_bad_requests_with_the_path_sentence() {
    let store = MemoryStore::default();
    let err = run(read(&store, "/../etc")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    assert!(err.to_string().contains("leave the root"));
    assert_eq!(code(run(write(&store, "", b"", 1))), ErrorCode::BadRequest);
    assert_eq!(
        code(run(write(&store, "/a\0b", b"", 1))),
        ErrorCode::BadRequest
    );
}

#[test]
fn files_and_folders_do_not_stand_in_for_each_other() {
    let store = MemoryStore::default();
    run(write(&store, "/f", b"x", 1)).unwrap();
    run(mkdir(&store, "/d", 1)).unwrap();
    assert_eq!(
        code(run(write(&store, "/f/child", b"", 1))),
        ErrorCode::Conflict
    );
    assert_eq!(code(run(write(&store, "/d", b"", 1))), ErrorCode::Conflict);
    assert_eq!(code(run(read(&store, "/d"))), ErrorCode::Conflict);
    assert_eq!(code(run(mkdir(&store, "/f", 1))), ErrorCode::AlreadyExists);
    run(mkdir(&store, "/d", 2)).unwrap();
    assert_eq!(code(run(read(&store, "/missing"))), ErrorCode::NotFound);
}

#[test]
fn a_non_empty_folder_is_deleted_only_recursively() {
    let store = MemoryStore::default();
    run(write(&store, "/d/e/f", b"x", 1)).unwrap();
    run(write(&store, "/keep", b"x", 1)).unwrap();
    assert_eq!(code(run(delete(&store, "/d", false))), ErrorCode::Conflict);
    assert_eq!(store.paths().len(), 4, "a refused delete changes nothing");
    run(delete(&store, "/d", true)).unwrap();
    assert_eq!(store.paths(), ["/keep"]);
    assert_eq!(code(run(delete(&store, "/d", true))), ErrorCode::NotFound);
    assert_eq!(code(run(delete(&store, "/", true))), ErrorCode::BadRequest);
    run(mkdir(&store, "/empty", 1)).unwrap();
    run(delete(&store, "/empty", false)).unwrap();
}

#[test]
fn renaming_a_folder_moves_its_children() {
    let store = MemoryStore::default();
    run(write(&store, "/src/a.txt", b"A", 1)).unwrap();
    run(write(&store, "/src/sub/b.bin", &[0, 1, 2], 2)).unwrap();
    run(write(&store, "/srcx", b"not inside", 3)).unwrap();
    run(rename(&store, "/src", "/moved/dst", 9)).unwrap();
    assert_eq!(
        store.paths(),
        [
            "/moved",
            "/moved/dst",
            "/moved/dst/a.txt",
            "/moved/dst/sub",
            "/moved/dst/sub/b.bin",
            "/srcx"
        ]
    );
    let b = run(read(&store, "/moved/dst/sub/b.bin")).unwrap();
    assert_eq!(
        (b.bytes, b.entry.mtime, b.entry.name.as_str()),
        (vec![0, 1, 2], 2, "b.bin")
    );
}

#[test]
fn renames_refuse_existing_targets_missing_sources_and_moves_into_themselves() {
    let store = MemoryStore::default();
    run(write(&store, "/a/x", b"", 1)).unwrap();
    run(write(&store, "/b", b"", 1)).unwrap();
    assert_eq!(
        code(run(rename(&store, "/a", "/b", 1))),
        ErrorCode::AlreadyExists
    );
    assert_eq!(
        code(run(rename(&store, "/nope", "/c", 1))),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(run(rename(&store, "/a", "/a/inner", 1))),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code(run(rename(&store, "/", "/c", 1))),
        ErrorCode::BadRequest
    );
    assert_eq!(store.paths(), ["/a", "/a/x", "/b"]);
}

#[test]
fn an_uncommitted_transaction_leaves_the_old_file_whole() {
    let store = MemoryStore::default();
    run(write(&store, "/f", b"old", 1)).unwrap();
    run(async {
        let tx = store.begin(true).unwrap();
        write_in(&tx, "/f", b"new, half written", 2).await.unwrap();
        // The tab closes: the transaction is dropped without commit.
    });
    assert_eq!(run(read(&store, "/f")).unwrap().bytes, b"old");
}

#[test]
fn a_batch_is_all_or_nothing() {
    let store = MemoryStore::default();
    let good = [
        ("/w/a".to_owned(), Some(b"a".to_vec())),
        ("/w/e".to_owned(), None),
    ];
    assert_eq!(run(write_all(&store, &good, 1)).unwrap(), 2);
    let bad = [
        ("/x".to_owned(), Some(vec![])),
        ("/w/a/under-a-file".to_owned(), None),
    ];
    assert_eq!(code(run(write_all(&store, &bad, 1))), ErrorCode::Conflict);
    assert_eq!(store.paths(), ["/w", "/w/a", "/w/e"]);
    let all = run(snapshot(&store)).unwrap();
    assert_eq!(all[1].1.as_deref(), Some(&b"a"[..]));
}

proptest! {
    /// Whatever spelling reaches a file, it is the same file.
    #[test]
    fn equivalent_spellings_reach_the_same_file(segments in proptest::collection::vec("[a-c]{1,2}", 1..5), noise in 0usize..4) {
        let store = MemoryStore::default();
        let canonical = format!("/{}", segments.join("/"));
        let mut spelled = String::new();
        for seg in &segments {
            spelled.push_str(["/", "//", "/./", "/zz/../"][noise]);
            spelled.push_str(seg);
        }
        run(write(&store, &spelled, canonical.as_bytes(), 1)).unwrap();
        prop_assert_eq!(run(read(&store, &canonical)).unwrap().bytes, canonical.as_bytes().to_vec());
        prop_assert_eq!(store.paths().last().cloned(), Some(canonical.clone()));
        prop_assert_eq!(store.paths().len(), segments.len());
    }

    /// Rename then rename back restores the tree exactly.
    #[test]
    fn rename_round_trips(files in proptest::collection::btree_set("[a-c]{1,2}(/[a-c]{1,2}){0,2}", 1..6)) {
        let store = MemoryStore::default();
        let mut written = Vec::new();
        for f in &files {
            let path = format!("/root/{f}");
            if run(write(&store, &path, path.as_bytes(), 1)).is_ok() {
                written.push(path);
            }
        }
        let before = run(snapshot(&store)).unwrap();
        run(rename(&store, "/root", "/other/place", 2)).unwrap();
        prop_assert!(store.paths().iter().all(|p| p.starts_with("/other")));
        run(rename(&store, "/other/place", "/root", 3)).unwrap();
        run(delete(&store, "/other", false)).unwrap();
        prop_assert_eq!(run(snapshot(&store)).unwrap(), before);
    }
}

#[test]
fn a_range_read_gives_the_slice_and_refuses_an_offset_past_the_end() {
    let store = MemoryStore::default();
    run(write(&store, "/f.bin", b"0123456789", 3)).unwrap();
    let part = run(read_range(&store, "/f.bin", 4, 3)).unwrap();
    assert_eq!((part.bytes.as_slice(), part.entry.size), (&b"456"[..], 10));
    assert_eq!(
        run(read_range(&store, "/f.bin", 8, 100)).unwrap().bytes,
        b"89"
    );
    assert!(
        run(read_range(&store, "/f.bin", 10, 5))
            .unwrap()
            .bytes
            .is_empty()
    );
    assert_eq!(
        code(run(read_range(&store, "/f.bin", 11, 1))),
        ErrorCode::BadRequest
    );
    run(mkdir(&store, "/d", 1)).unwrap();
    assert_eq!(
        code(run(read_range(&store, "/d", 0, 1))),
        ErrorCode::Conflict
    );
}
