//! What `vfs:search` looks for in a file: the query compiled once per search ([`Matcher::new`]),
//! and the matching lines of one text ([`Matcher::lines_in`]).
//!
//! Plain text is escaped into a regular expression, so one engine does both (its literal search
//! finds a plain query as fast as `str::find`). The whole file is searched at once rather than
//! line by line: a file without a match costs one scan and no allocation, and lines are counted
//! only up to the matches. A line is reported once (its first match), with its text cut to
//! [`MAX_MATCH_TEXT_CHARS`] around the match. Pure: unit tested natively.

use aether_shared::vfs::{MAX_MATCH_TEXT_CHARS, Search, SearchMatch};
use regex::{Regex, RegexBuilder};

/// Largest compiled query, in bytes (the `regex` crate's own measure); a bigger one is refused.
const MAX_COMPILED_QUERY_BYTES: usize = 8 * 1024 * 1024;

/// A compiled query.
#[derive(Clone, Debug)]
pub struct Matcher {
    regex: Regex,
}

/// Why a query cannot be searched for: a sentence for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("`query` is empty; give the text to find")]
    Empty,
    #[error("`query` is not a valid regular expression: {0}; fix it or search for plain text")]
    BadRegex(String),
}

impl Matcher {
    /// Compiles `request.query` as `request.regex` and `request.ignore_case` say.
    pub fn new(request: &Search) -> Result<Matcher, QueryError> {
        if request.query.is_empty() {
            return Err(QueryError::Empty);
        }
        let pattern = if request.regex {
            request.query.clone()
        } else {
            regex::escape(&request.query)
        };
        let regex = RegexBuilder::new(&pattern)
            .case_insensitive(request.ignore_case)
            .multi_line(true)
            .crlf(true)
            .size_limit(MAX_COMPILED_QUERY_BYTES)
            .build()
            .map_err(|e| QueryError::BadRegex(one_line(&e.to_string())))?;
        Ok(Matcher { regex })
    }

    /// The lines of `text` (the file at `path`) with a match, at most `room` of them, and
    /// whether more lines matched than that. A match that runs past its line's end is cut there.
    pub fn lines_in(&self, path: &str, text: &str, room: usize) -> (Vec<SearchMatch>, bool) {
        let mut found = Vec::new();
        let (mut line, mut counted_to) = (1_u64, 0_usize);
        let mut from = 0;
        while from <= text.len() {
            let Some(hit) = self.regex.find_at(text, from) else {
                break;
            };
            if found.len() == room {
                return (found, true);
            }
            let start = hit.start();
            line += text.as_bytes()[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted_to = start;
            let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |at| start + at);
            let whole = &text[line_start..line_end];
            let shown = whole.strip_suffix('\r').unwrap_or(whole);
            let column = text[line_start..start].chars().count();
            let end = hit.end().min(line_start + shown.len()).max(start);
            let length = text[start..end].chars().count();
            let (cut, offset) = cut_around(shown, column, length);
            found.push(SearchMatch {
                path: path.to_owned(),
                line,
                column: column as u64 + 1,
                text: cut,
                text_column: (column - offset) as u64 + 1,
                length: length.min(MAX_MATCH_TEXT_CHARS - (column - offset)) as u64,
            });
            from = line_end + 1;
        }
        (found, false)
    }
}

/// `line` cut to at most [`MAX_MATCH_TEXT_CHARS`] characters keeping the match (`len`
/// characters from character `column`, 0-based) in view: centred when the line is longer, from
/// its start when the match itself is longer. Returns the text and the character it starts at.
pub fn cut_around(line: &str, column: usize, len: usize) -> (String, usize) {
    let total = line.chars().count();
    if total <= MAX_MATCH_TEXT_CHARS {
        return (line.to_owned(), 0);
    }
    let start = if len >= MAX_MATCH_TEXT_CHARS {
        column
    } else {
        column
            .saturating_sub((MAX_MATCH_TEXT_CHARS - len) / 2)
            .min(total - MAX_MATCH_TEXT_CHARS)
    };
    let text = line
        .chars()
        .skip(start)
        .take(MAX_MATCH_TEXT_CHARS)
        .collect();
    (text, start)
}

/// The regex parser's multi-line message on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(query: &str, regex: bool, ignore_case: bool) -> Matcher {
        Matcher::new(&Search {
            query: query.into(),
            regex,
            ignore_case,
            ..Search::default()
        })
        .unwrap()
    }

    fn at(found: &[SearchMatch]) -> Vec<(u64, u64, &str)> {
        found
            .iter()
            .map(|m| (m.line, m.column, m.text.as_str()))
            .collect()
    }

    #[test]
    fn lines_are_numbered_from_one_and_columns_count_characters() {
        let text = "first\r\nnothing\nhé hé needle here\n\nneedle";
        let (found, more) = matcher("needle", false, false).lines_in("/a.txt", text, 10);
        assert!(!more);
        assert_eq!(at(&found), [(3, 7, "hé hé needle here"), (5, 1, "needle")]);
        assert_eq!(found[0].path, "/a.txt");
        assert_eq!((found[0].text_column, found[0].length), (7, 6));
    }

    #[test]
    fn plain_text_is_case_sensitive_literal_and_counts_a_line_once() {
        let plain = matcher("needle", false, false);
        let (found, _) = plain.lines_in("/a", "Needle needle needle\nNEEDLE", 10);
        assert_eq!(at(&found), [(1, 8, "Needle needle needle")]);
        // Regex characters in plain text mean themselves.
        let dots = matcher("a.b", false, false);
        assert_eq!(dots.lines_in("/a", "axb\na.b", 10).0[0].line, 2);
    }

    #[test]
    fn ignore_case_matches_any_case_even_beyond_ascii() {
        let any = matcher("needle", false, true);
        let (found, _) = any.lines_in("/a", "NEEDLE\nNeedle\nno", 10);
        assert_eq!(found.len(), 2);
        let (found, _) = matcher("ÉTÉ", false, true).lines_in("/a", "un été", 10);
        assert_eq!((found[0].column, found[0].length), (4, 3));
    }

    #[test]
    fn regexes_match_per_line_with_anchors_and_crlf() {
        let anchored = matcher(r"^fn \w+", true, false);
        let text = "fn main() {}\r\n  fn nested() {}\nfn other()";
        let (found, _) = anchored.lines_in("/a.rs", text, 10);
        assert_eq!(at(&found), [(1, 1, "fn main() {}"), (3, 1, "fn other()")]);
        assert_eq!(found[0].length, 7);
        let ends = matcher(r"\{\}$", true, false);
        assert_eq!(
            ends.lines_in("/a.rs", text, 10).0.len(),
            2,
            "$ before \\r\\n"
        );
        // A match running over the line's end is cut at it.
        let (over, _) = matcher(r"main[\s\S]*nested", true, false).lines_in("/a.rs", text, 10);
        assert_eq!((over[0].line, over[0].length), (1, 9));
    }

    #[test]
    fn empty_matches_report_each_line_once_and_end() {
        let (found, more) = matcher("x*", true, false).lines_in("/a", "a\nb\n", 10);
        assert_eq!(found.iter().map(|m| m.line).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(!more);
    }

    #[test]
    fn a_full_room_says_more_matched() {
        let x = matcher("x", false, false);
        let (found, more) = x.lines_in("/a", "x\nx\nx", 2);
        assert_eq!((found.len(), more), (2, true));
        let (found, more) = x.lines_in("/a", "x\nx", 2);
        assert_eq!((found.len(), more), (2, false));
        let (found, more) = x.lines_in("/a", "x", 0);
        assert_eq!((found.len(), more), (0, true));
    }

    #[test]
    fn bad_queries_say_what_to_do() {
        let empty = Matcher::new(&Search::default()).unwrap_err();
        assert_eq!(empty, QueryError::Empty);
        let bad = Matcher::new(&Search {
            query: "(unclosed".into(),
            regex: true,
            ..Search::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            bad.starts_with("`query` is not a valid regular expression"),
            "{bad}"
        );
        assert!(!bad.contains('\n'), "{bad}");
        // The same text as plain text is fine.
        assert!(
            Matcher::new(&Search {
                query: "(unclosed".into(),
                ..Search::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_match() {
        let line = format!("{}NEEDLE{}", "a".repeat(500), "é".repeat(500));
        let (cut, start) = cut_around(&line, 500, 6);
        assert_eq!(cut.chars().count(), MAX_MATCH_TEXT_CHARS);
        let at = cut.find("NEEDLE").unwrap();
        assert_eq!(cut[..at].chars().count(), (MAX_MATCH_TEXT_CHARS - 6) / 2);
        assert_eq!(start, 500 - (MAX_MATCH_TEXT_CHARS - 6) / 2);
        // Near either end the window stays inside the line.
        let (head, _) = cut_around(&line, 2, 1);
        assert!(head.starts_with("aaa") && head.chars().count() == MAX_MATCH_TEXT_CHARS);
        let (tail, _) = cut_around(&line, 1005, 1);
        assert!(tail.ends_with('é') && tail.chars().count() == MAX_MATCH_TEXT_CHARS);
        // A match longer than the window starts it.
        let long = "b".repeat(300);
        assert_eq!(
            cut_around(&format!("xx{long}"), 2, 300),
            ("b".repeat(200), 2)
        );
        assert_eq!(cut_around("short", 0, 5), ("short".to_owned(), 0));
        // Through the matcher: the match's place in the cut text is given.
        let text = format!("{}needle{}", "x".repeat(300), "y".repeat(300));
        let (found, _) = matcher("needle", false, false).lines_in("/a", &text, 1);
        let m = &found[0];
        assert_eq!(m.column, 301);
        let shown: String = m
            .text
            .chars()
            .skip(m.text_column as usize - 1)
            .take(m.length as usize)
            .collect();
        assert_eq!(shown, "needle");
    }
}
