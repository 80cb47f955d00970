//! The pure rules of the search overlay: matches grouped by file ([`group`]), a line's preview
//! split around its match ([`Preview::of`]), and the selection moving over the results
//! ([`step`]). Unit tested natively; the overlay only renders what these return.

use aether_shared::vfs::SearchMatch;

/// The matches of one file, in line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGroup {
    pub path: String,
    /// Each match with its place in the flat list the keyboard moves over.
    pub matches: Vec<(usize, SearchMatch)>,
}

/// `matches` (in path order, as `vfs:search` answers) grouped by file, keeping the order; each
/// match keeps its index in `matches`.
pub fn group(matches: &[SearchMatch]) -> Vec<FileGroup> {
    let mut groups: Vec<FileGroup> = Vec::new();
    for (index, found) in matches.iter().enumerate() {
        match groups.last_mut() {
            Some(last) if last.path == found.path => last.matches.push((index, found.clone())),
            _ => groups.push(FileGroup {
                path: found.path.clone(),
                matches: vec![(index, found.clone())],
            }),
        }
    }
    groups
}

/// A line's text in three parts: before the match, the match, after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    pub before: String,
    pub hit: String,
    pub after: String,
}

impl Preview {
    /// The preview of `found`: its `text` split at `text_column` (1-based, in characters) for
    /// `length` characters, both held inside the text. Leading blanks are dropped from `before`
    /// so indented lines line up.
    pub fn of(found: &SearchMatch) -> Preview {
        let chars: Vec<char> = found.text.chars().collect();
        let start = (found.text_column.max(1) as usize - 1).min(chars.len());
        let end = start.saturating_add(found.length as usize).min(chars.len());
        Preview {
            before: chars[..start]
                .iter()
                .collect::<String>()
                .trim_start()
                .to_owned(),
            hit: chars[start..end].iter().collect(),
            after: chars[end..].iter().collect(),
        }
    }
}

/// The selection after ↓ (`down`) or ↑ from `selected` among `count` results, wrapping around.
pub fn step(selected: usize, count: usize, down: bool) -> usize {
    match (count, down) {
        (0, _) => 0,
        (_, true) => (selected + 1) % count,
        (_, false) => (selected + count - 1) % count,
    }
}

/// "3 results in 2 files" (and a word when more matched than were returned).
pub fn summary(matches: usize, files: usize, truncated: bool) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = format!(
        "{} in {}",
        plural(matches, "result", "results"),
        plural(files, "file", "files")
    );
    if truncated {
        text.push_str(" (more not shown: narrow the search)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str, line: u64, text: &str, text_column: u64, length: u64) -> SearchMatch {
        SearchMatch {
            path: path.into(),
            line,
            column: text_column,
            text: text.into(),
            text_column,
            length,
        }
    }

    #[test]
    fn matches_are_grouped_by_file_in_order_with_their_flat_index() {
        let found = [
            hit("/a", 1, "x", 1, 1),
            hit("/a", 4, "x", 1, 1),
            hit("/b", 2, "x", 1, 1),
        ];
        let groups = group(&found);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].path, "/a");
        let places: Vec<(usize, u64)> = groups
            .iter()
            .flat_map(|g| g.matches.iter().map(|(i, m)| (*i, m.line)))
            .collect();
        assert_eq!(places, [(0, 1), (1, 4), (2, 2)]);
        assert!(group(&[]).is_empty());
    }

    #[test]
    fn a_preview_splits_the_line_around_its_match_in_characters() {
        let preview = Preview::of(&hit("/a", 1, "    let été = needle;", 15, 6));
        assert_eq!(
            preview,
            Preview {
                before: "let été = ".into(),
                hit: "needle".into(),
                after: ";".into()
            }
        );
        // Out-of-range figures stay inside the text (an old answer without them: no highlight).
        let whole = Preview::of(&hit("/a", 1, "abc", 0, 0));
        assert_eq!(
            (
                whole.before.as_str(),
                whole.hit.as_str(),
                whole.after.as_str()
            ),
            ("", "", "abc")
        );
        let past = Preview::of(&hit("/a", 1, "abc", 3, 10));
        assert_eq!(
            (past.before.as_str(), past.hit.as_str(), past.after.as_str()),
            ("ab", "c", "")
        );
    }

    #[test]
    fn the_selection_wraps_around() {
        assert_eq!(step(0, 3, true), 1);
        assert_eq!(step(2, 3, true), 0);
        assert_eq!(step(0, 3, false), 2);
        assert_eq!(step(0, 0, true), 0);
    }

    #[test]
    fn the_summary_counts_results_and_files() {
        assert_eq!(summary(1, 1, false), "1 result in 1 file");
        assert_eq!(summary(3, 2, false), "3 results in 2 files");
        assert!(summary(200, 9, true).ends_with("(more not shown: narrow the search)"));
    }
}
