//! `vfs:search`: the lines of this tab's text files that contain a text or match a regular
//! expression, in path order, with 1-based line and column (in characters) and the line's text
//! cut to [`MAX_MATCH_TEXT_CHARS`] around the match (see `aether_shared::vfs::Search`).
//!
//! [`search`] compiles the query and the path glob once ([`compiled`]), lists the files in one
//! read transaction, keeps those the glob accepts, and reads their contents in runs of
//! neighbouring files, one request per run ([`runs`], `StoreTx::contents_in_runs`, a few runs in flight) instead of one
//! per file. Files that are binary (not UTF-8, or holding NUL) are skipped, and so are files over
//! [`MAX_SEARCHED_FILE_BYTES`] (a saved machine state is tens of MiB and never text worth
//! searching): they are never read. The regular-expression engine and its Unicode tables live in
//! [`compiled`], an on-demand wasm chunk in release builds, so they cost the first load nothing.
//! This module never talks to the bus; `server` answers the request with it.

pub mod compiled;
pub mod glob;
pub mod matcher;

use std::ops::{ControlFlow, Range};

#[cfg(doc)]
use aether_shared::vfs::MAX_MATCH_TEXT_CHARS;
use aether_shared::vfs::{EntryKind, MAX_SEARCH_RESULTS, Search, SearchResults, normalize};

use super::content::as_text;
use super::error::VfsError;
use super::store::{StoreTx, VfsStore};
use compiled::CompileError;

/// Largest file a search reads, in bytes; bigger files are skipped.
pub const MAX_SEARCHED_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most bytes of contents one store request brings in (a run is cut before it would pass this).
pub const MAX_RUN_BYTES: u64 = 4 * 1024 * 1024;
/// Most files one store request brings in.
pub const MAX_RUN_FILES: usize = 1024;

/// Answers `request` from `store`: the matching lines of the text files at or under
/// `request.path` (`/` when absent). Errors: an empty query, an invalid regex or glob, or a bad
/// path is `bad_request`; a path that does not exist `not_found`.
pub async fn search<S: VfsStore>(store: &S, request: &Search) -> Result<SearchResults, VfsError> {
    #[cfg(aether_split)]
    let compiled = compiled::compile(request).await;
    #[cfg(not(aether_split))]
    let compiled = compiled::compile(request);
    let query = compiled.map_err(|e| match e {
        CompileError::Refused(why) => VfsError::BadPayload(why),
        #[cfg(aether_split)]
        CompileError::Load(e) => VfsError::Store(format!(
            "the search code did not load ({e}); was the desktop rebuilt? reload the page"
        )),
    })?;
    let root = normalize(request.path.as_deref().unwrap_or("/"))?;
    let limit = request
        .max_results
        .unwrap_or(MAX_SEARCH_RESULTS)
        .min(MAX_SEARCH_RESULTS) as usize;
    let tx = store.begin(false)?;
    let mut files = if root == "/" {
        Vec::new()
    } else {
        let found = tx
            .entry(&root)
            .await?
            .ok_or_else(|| VfsError::NotFound(root.clone()))?;
        vec![found]
    };
    if files.first().is_none_or(|e| e.kind == EntryKind::Dir) {
        files = tx.descendants(&root).await?;
    }
    let wanted: Vec<(u64, bool)> = files
        .iter()
        .map(|e| {
            let searched = e.kind == EntryKind::File
                && e.size <= MAX_SEARCHED_FILE_BYTES
                && query.wants(&e.path);
            (e.size, searched)
        })
        .collect();
    let mut results = SearchResults::default();
    let runs: Vec<(&str, &str)> = runs(&wanted, |i| files[i].kind == EntryKind::Dir)
        .into_iter()
        .map(|run| {
            (
                files[run.start].path.as_str(),
                files[run.end - 1].path.as_str(),
            )
        })
        .collect();
    let mut visit = |path: &str, bytes: &[u8]| {
        let Some(text) = as_text(bytes) else {
            return ControlFlow::Continue(()); // binary
        };
        let room = limit - results.matches.len();
        let (found, more) = query.lines_in(path, text, room);
        results.matches.extend(found);
        if more {
            results.truncated = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    };
    // Stopping early (the cap reached) is already said by `truncated`.
    let _ = tx.contents_in_runs(&runs, &mut visit).await?;
    Ok(results)
}

/// The runs of neighbouring entries to read in one request each: `entries[i]` is `(size,
/// wanted)` in key order, and `is_folder(i)` marks folders (they have no content, so they
/// neither join nor break a run, and a run never starts or ends on one). A run holds at most
/// [`MAX_RUN_FILES`] files and, unless it is one file, at most [`MAX_RUN_BYTES`].
pub fn runs(entries: &[(u64, bool)], is_folder: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut current: Option<(Range<usize>, u64, usize)> = None; // range, bytes, files
    for (i, &(size, wanted)) in entries.iter().enumerate() {
        if is_folder(i) {
            continue;
        }
        if !wanted {
            runs.extend(current.take().map(|(r, _, _)| r));
            continue;
        }
        match &mut current {
            Some((range, bytes, count))
                if *count < MAX_RUN_FILES && *bytes + size <= MAX_RUN_BYTES =>
            {
                range.end = i + 1;
                *bytes += size;
                *count += 1;
            }
            _ => {
                runs.extend(current.take().map(|(r, _, _)| r));
                current = Some((i..i + 1, size, 1));
            }
        }
    }
    runs.extend(current.map(|(r, _, _)| r));
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::vfs::ops;
    use crate::services::vfs::ops::tests::run;
    use crate::services::vfs::store::memory::MemoryStore;

    fn query(q: &str, path: Option<&str>, max: Option<u64>) -> Search {
        Search {
            query: q.into(),
            path: path.map(str::to_owned),
            max_results: max,
            ..Search::default()
        }
    }

    fn found(store: &MemoryStore, request: &Search) -> Vec<(String, u64)> {
        run(search(store, request))
            .unwrap()
            .matches
            .into_iter()
            .map(|m| (m.path, m.line))
            .collect()
    }

    fn at(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(p, l)| ((*p).to_owned(), *l)).collect()
    }

    #[test]
    fn a_search_walks_text_files_in_path_order_and_skips_binary_ones() {
        let store = MemoryStore::default();
        run(ops::write(
            &store,
            "/b/two.txt",
            b"find me\nand me: find",
            1,
        ))
        .unwrap();
        run(ops::write(&store, "/a.txt", b"find", 1)).unwrap();
        // Not UTF-8, and UTF-8 holding NUL: both binary, both skipped.
        run(ops::write(
            &store,
            "/c.bin",
            &[0xff, b'f', b'i', b'n', b'd'],
            1,
        ))
        .unwrap();
        run(ops::write(&store, "/d.bin", b"find\0\0\0", 1)).unwrap();
        run(ops::mkdir(&store, "/find", 1)).unwrap();
        let all = run(search(&store, &query("find", None, None))).unwrap();
        assert!(!all.truncated);
        assert_eq!(
            found(&store, &query("find", None, None)),
            at(&[("/a.txt", 1), ("/b/two.txt", 1), ("/b/two.txt", 2)])
        );
        let under = run(search(&store, &query("find", Some("/b/"), None))).unwrap();
        assert_eq!(under.matches.len(), 2);
        let one = run(search(&store, &query("find", Some("/a.txt"), None))).unwrap();
        assert_eq!(one.matches.len(), 1);
        let capped = run(search(&store, &query("find", None, Some(2)))).unwrap();
        assert_eq!((capped.matches.len(), capped.truncated), (2, true));
    }

    #[test]
    fn regex_case_and_glob_narrow_the_search() {
        let store = MemoryStore::default();
        run(ops::write(
            &store,
            "/src/main.rs",
            b"fn main() {}\n// Needle",
            1,
        ))
        .unwrap();
        run(ops::write(
            &store,
            "/src/deep/lib.rs",
            b"pub fn lib() {} // needle",
            1,
        ))
        .unwrap();
        run(ops::write(&store, "/notes.md", b"needle\nNEEDLE", 1)).unwrap();
        let plain = query("needle", None, None);
        assert_eq!(
            found(&store, &plain),
            at(&[("/notes.md", 1), ("/src/deep/lib.rs", 1)])
        );
        let any_case = Search {
            ignore_case: true,
            ..plain.clone()
        };
        assert_eq!(found(&store, &any_case).len(), 4);
        let rust = Search {
            glob: Some("*.rs".into()),
            ..any_case.clone()
        };
        assert_eq!(
            found(&store, &rust),
            at(&[("/src/deep/lib.rs", 1), ("/src/main.rs", 2)])
        );
        let top = Search {
            glob: Some("src/*.rs".into()),
            ..any_case
        };
        assert_eq!(found(&store, &top), at(&[("/src/main.rs", 2)]));
        let functions = Search {
            regex: true,
            ..query(r"fn \w+\(\)", None, None)
        };
        assert_eq!(
            found(&store, &functions),
            at(&[("/src/deep/lib.rs", 1), ("/src/main.rs", 1)])
        );
    }

    #[test]
    fn results_are_capped_and_bad_requests_say_why() {
        let store = MemoryStore::default();
        let many = "hit\n".repeat(300);
        run(ops::write(&store, "/many.txt", many.as_bytes(), 1)).unwrap();
        let capped = run(search(&store, &query("hit", None, Some(10_000)))).unwrap();
        assert_eq!(capped.matches.len() as u64, MAX_SEARCH_RESULTS);
        assert!(capped.truncated);
        let code = |request: &Search| run(search(&store, request)).unwrap_err().code();
        use aether_shared::ErrorCode::{BadRequest, NotFound};
        assert_eq!(code(&query("", None, None)), BadRequest);
        assert_eq!(code(&query("x", Some("/nope"), None)), NotFound);
        assert_eq!(code(&query("x", Some("/../up"), None)), BadRequest);
        let bad_regex = Search {
            regex: true,
            ..query("a(", None, None)
        };
        let error = run(search(&store, &bad_regex)).unwrap_err();
        assert_eq!(error.code(), BadRequest);
        assert!(
            error.to_string().contains("not a valid regular expression"),
            "{error}"
        );
        let bad_glob = Search {
            glob: Some("{a".into()),
            ..query("x", None, None)
        };
        assert_eq!(code(&bad_glob), BadRequest);
    }

    #[test]
    fn contents_are_read_in_runs_of_wanted_neighbours() {
        let no_folders = |_| false;
        // Unwanted files cut runs; folders neither join nor cut them.
        let entries = [
            (1, true),
            (1, true),
            (1, false),
            (1, true),
            (0, true),
            (1, true),
        ];
        assert_eq!(runs(&entries, no_folders), [0..2, 3..6]);
        assert_eq!(runs(&entries, |i| i == 2), vec![Range { start: 0, end: 6 }]);
        assert_eq!(runs(&entries, |i| i == 5), [0..2, 3..5]);
        // A run stops at its byte and file budgets; a file bigger than the budget is alone.
        let big = [(MAX_RUN_BYTES, true), (1, true), (MAX_RUN_BYTES - 1, true)];
        assert_eq!(runs(&big, no_folders), [0..1, 1..3]);
        let many = vec![(0, true); MAX_RUN_FILES + 1];
        assert_eq!(
            runs(&many, no_folders),
            [0..MAX_RUN_FILES, MAX_RUN_FILES..MAX_RUN_FILES + 1]
        );
        assert!(runs(&[(1, false)], no_folders).is_empty());
    }
}
