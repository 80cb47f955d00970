//! `vfs:search`: the lines of this tab's text files that contain a text (plain, case-sensitive),
//! in path order, with 1-based line and column (in characters) and the line's text cut to
//! [`MAX_MATCH_TEXT_CHARS`] around the match.
//!
//! [`search`] walks the store in one read transaction; [`matches_in`] and [`cut_around`] are the
//! pure rules, unit tested natively. A line is counted once (its first match). Files that are not
//! valid UTF-8 are binary and skipped, and so are files over [`MAX_SEARCHED_FILE_BYTES`] (a saved
//! machine state is tens of MiB and never text worth searching). This module never talks to the
//! bus; `server` answers the request with it.

use aether_shared::vfs::{
    EntryKind, MAX_MATCH_TEXT_CHARS, MAX_SEARCH_RESULTS, Search, SearchMatch, SearchResults,
    normalize,
};

use super::error::VfsError;
use super::store::{StoreTx, VfsStore};

/// Largest file a search reads, in bytes; bigger files are skipped.
pub const MAX_SEARCHED_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Answers `request` from `store`: the matching lines of the text files at or under
/// `request.path` (`/` when absent). Errors: an empty query or a bad path is `bad_request`, a
/// path that does not exist `not_found`.
pub async fn search<S: VfsStore>(store: &S, request: &Search) -> Result<SearchResults, VfsError> {
    if request.query.is_empty() {
        return Err(VfsError::BadPayload(
            "`query` is empty; give the text to find (plain text, case-sensitive)".into(),
        ));
    }
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
    files.retain(|e| e.kind == EntryKind::File && e.size <= MAX_SEARCHED_FILE_BYTES);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut results = SearchResults::default();
    for file in files {
        let Some(bytes) = tx.content(&file.path).await? else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue; // binary
        };
        let room = limit - results.matches.len();
        let (found, more) = matches_in(&file.path, text, &request.query, room);
        results.matches.extend(found);
        if more {
            results.truncated = true;
            break;
        }
    }
    Ok(results)
}

/// The lines of `text` (the file at `path`) that contain `query`, at most `room` of them, and
/// whether more lines matched than that.
pub fn matches_in(path: &str, text: &str, query: &str, room: usize) -> (Vec<SearchMatch>, bool) {
    let mut found = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(byte) = line.find(query) else {
            continue;
        };
        if found.len() == room {
            return (found, true);
        }
        let column = line[..byte].chars().count();
        found.push(SearchMatch {
            path: path.to_owned(),
            line: index as u64 + 1,
            column: column as u64 + 1,
            text: cut_around(line, column, query.chars().count()),
        });
    }
    (found, false)
}

/// `line` cut to at most [`MAX_MATCH_TEXT_CHARS`] characters, keeping the match (`len`
/// characters from character `column`, 0-based) in view: centred when the line is longer, from
/// its start when the match itself is longer.
pub fn cut_around(line: &str, column: usize, len: usize) -> String {
    let total = line.chars().count();
    if total <= MAX_MATCH_TEXT_CHARS {
        return line.to_owned();
    }
    let start = if len >= MAX_MATCH_TEXT_CHARS {
        column
    } else {
        column
            .saturating_sub((MAX_MATCH_TEXT_CHARS - len) / 2)
            .min(total - MAX_MATCH_TEXT_CHARS)
    };
    line.chars()
        .skip(start)
        .take(MAX_MATCH_TEXT_CHARS)
        .collect()
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
        }
    }

    #[test]
    fn lines_are_numbered_from_one_and_columns_count_characters() {
        let text = "first\r\nnothing\nhé hé needle here\n\nneedle";
        let (found, more) = matches_in("/a.txt", text, "needle", 10);
        assert!(!more);
        let at: Vec<(u64, u64, &str)> = found
            .iter()
            .map(|m| (m.line, m.column, m.text.as_str()))
            .collect();
        assert_eq!(at, [(3, 7, "hé hé needle here"), (5, 1, "needle")]);
        assert_eq!(found[0].path, "/a.txt");
    }

    #[test]
    fn matching_is_case_sensitive_and_counts_a_line_once() {
        let (found, _) = matches_in("/a", "Needle needle needle\nNEEDLE", "needle", 10);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].column, 8);
    }

    #[test]
    fn a_full_room_says_more_matched() {
        let (found, more) = matches_in("/a", "x\nx\nx", "x", 2);
        assert_eq!((found.len(), more), (2, true));
        let (found, more) = matches_in("/a", "x\nx", "x", 2);
        assert_eq!((found.len(), more), (2, false));
        let (found, more) = matches_in("/a", "x", "x", 0);
        assert_eq!((found.len(), more), (0, true));
    }

    #[test]
    fn long_lines_are_cut_around_the_match() {
        let line = format!("{}NEEDLE{}", "a".repeat(500), "é".repeat(500));
        let cut = cut_around(&line, 500, 6);
        assert_eq!(cut.chars().count(), MAX_MATCH_TEXT_CHARS);
        assert!(cut.contains("NEEDLE"));
        let at = cut.find("NEEDLE").unwrap();
        assert_eq!(cut[..at].chars().count(), (MAX_MATCH_TEXT_CHARS - 6) / 2);
        // Near either end the window stays inside the line.
        let start = cut_around(&line, 2, 1);
        assert!(start.starts_with("aaa") && start.chars().count() == MAX_MATCH_TEXT_CHARS);
        let end = cut_around(&line, 1005, 1);
        assert!(end.ends_with('é') && end.chars().count() == MAX_MATCH_TEXT_CHARS);
        // A match longer than the window starts it.
        let long = "b".repeat(300);
        assert_eq!(cut_around(&format!("xx{long}"), 2, 300), "b".repeat(200));
        assert_eq!(cut_around("short", 0, 5), "short");
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
        run(ops::write(
            &store,
            "/c.bin",
            &[0xff, b'f', b'i', b'n', b'd'],
            1,
        ))
        .unwrap();
        run(ops::mkdir(&store, "/find", 1)).unwrap();
        let all = run(search(&store, &query("find", None, None))).unwrap();
        let at: Vec<(&str, u64)> = all
            .matches
            .iter()
            .map(|m| (m.path.as_str(), m.line))
            .collect();
        assert_eq!(at, [("/a.txt", 1), ("/b/two.txt", 1), ("/b/two.txt", 2)]);
        assert!(!all.truncated);
        let under = run(search(&store, &query("find", Some("/b/"), None))).unwrap();
        assert_eq!(under.matches.len(), 2);
        let one = run(search(&store, &query("find", Some("/a.txt"), None))).unwrap();
        assert_eq!(one.matches.len(), 1);
        let capped = run(search(&store, &query("find", None, Some(2)))).unwrap();
        assert_eq!((capped.matches.len(), capped.truncated), (2, true));
    }

    #[test]
    fn results_are_capped_and_bad_requests_say_why() {
        let store = MemoryStore::default();
        let many = "hit\n".repeat(300);
        run(ops::write(&store, "/many.txt", many.as_bytes(), 1)).unwrap();
        let capped = run(search(&store, &query("hit", None, Some(10_000)))).unwrap();
        assert_eq!(capped.matches.len() as u64, MAX_SEARCH_RESULTS);
        assert!(capped.truncated);
        let empty = run(search(&store, &query("", None, None))).unwrap_err();
        assert_eq!(empty.code(), aether_shared::ErrorCode::BadRequest);
        let missing = run(search(&store, &query("x", Some("/nope"), None))).unwrap_err();
        assert_eq!(missing.code(), aether_shared::ErrorCode::NotFound);
        let bad = run(search(&store, &query("x", Some("/../up"), None))).unwrap_err();
        assert_eq!(bad.code(), aether_shared::ErrorCode::BadRequest);
    }
}
