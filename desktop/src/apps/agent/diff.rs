//! A line diff for the Agent's write cards: `before` → `after` as kept, removed and added lines,
//! in order (a longest-common-subsequence of lines, after trimming the common head and tail).
//!
//! Pure and unit tested natively. Files an agent writes travel in one bus frame, so the middle
//! that differs is small; still, when it is past [`MAX_TABLE_CELLS`] the diff gives up on
//! alignment and shows that middle as removed then added (correct, only less tidy).

/// Largest LCS table (lines before × lines after, in the differing middle) the diff builds.
pub const MAX_TABLE_CELLS: usize = 4_000_000;

/// What happened to a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Same,
    Removed,
    Added,
}

impl Change {
    /// The word for the DOM (`data-kind`) and the CSS class.
    pub fn word(self) -> &'static str {
        match self {
            Change::Same => "same",
            Change::Removed => "removed",
            Change::Added => "added",
        }
    }

    /// The gutter sign.
    pub fn sign(self) -> &'static str {
        match self {
            Change::Same => " ",
            Change::Removed => "-",
            Change::Added => "+",
        }
    }
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub change: Change,
    pub text: String,
}

fn line(change: Change, text: &str) -> DiffLine {
    DiffLine {
        change,
        text: text.to_owned(),
    }
}

/// The lines of `before` and `after` (a missing `before` is an empty file) as a diff.
pub fn diff_lines(before: &str, after: &str) -> Vec<DiffLine> {
    let old: Vec<&str> = split(before);
    let new: Vec<&str> = split(after);
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    let mut out: Vec<DiffLine> = old[..head].iter().map(|l| line(Change::Same, l)).collect();
    if old_mid.len().saturating_mul(new_mid.len()) > MAX_TABLE_CELLS {
        out.extend(old_mid.iter().map(|l| line(Change::Removed, l)));
        out.extend(new_mid.iter().map(|l| line(Change::Added, l)));
    } else {
        out.extend(lcs(old_mid, new_mid));
    }
    out.extend(old[old.len() - tail..].iter().map(|l| line(Change::Same, l)));
    out
}

/// The text's lines; a final newline does not start another line.
fn split(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    text.strip_suffix('\n').unwrap_or(text).split('\n').collect()
}

/// The classic dynamic-programming diff of two short line lists.
fn lcs(old: &[&str], new: &[&str]) -> Vec<DiffLine> {
    let (n, m) = (old.len(), new.len());
    // suffix[i][j]: the LCS length of old[i..] and new[j..], flattened.
    let width = m + 1;
    let mut suffix = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            suffix[i * width + j] = if old[i] == new[j] {
                suffix[(i + 1) * width + j + 1] + 1
            } else {
                suffix[(i + 1) * width + j].max(suffix[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n + m);
    while i < n && j < m {
        if old[i] == new[j] {
            out.push(line(Change::Same, old[i]));
            (i, j) = (i + 1, j + 1);
        } else if suffix[(i + 1) * width + j] >= suffix[i * width + j + 1] {
            out.push(line(Change::Removed, old[i]));
            i += 1;
        } else {
            out.push(line(Change::Added, new[j]));
            j += 1;
        }
    }
    out.extend(old[i..].iter().map(|l| line(Change::Removed, l)));
    out.extend(new[j..].iter().map(|l| line(Change::Added, l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line with its sign, kept lines bare.
    fn show(lines: &[DiffLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| format!("{}{}", l.change.sign().trim(), l.text))
            .collect()
    }

    #[test]
    fn a_changed_line_is_removed_then_added_between_kept_ones() {
        let before = "(module\n  (func\n    i32.bogus))\n";
        let after = "(module\n  (func\n    nop))\n";
        assert_eq!(
            show(&diff_lines(before, after)),
            ["(module", "  (func", "-    i32.bogus))", "+    nop))"]
        );
    }

    #[test]
    fn insertions_and_deletions_keep_the_common_lines_in_order() {
        let diff = diff_lines("a\nb\nc\nd\ne", "a\nx\nc\ne\nf");
        assert_eq!(show(&diff), ["a", "-b", "+x", "c", "-d", "e", "+f"]);
        let kept: Vec<&str> = diff
            .iter()
            .filter(|l| l.change == Change::Same)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(kept, ["a", "c", "e"]);
    }

    #[test]
    fn a_new_file_is_all_added_and_an_emptied_one_all_removed() {
        assert_eq!(show(&diff_lines("", "one\ntwo\n")), ["+one", "+two"]);
        assert_eq!(show(&diff_lines("one\n", "")), ["-one"]);
        assert!(diff_lines("", "").is_empty());
        assert_eq!(show(&diff_lines("same\n", "same")), ["same"]);
    }

    #[test]
    fn a_huge_middle_is_shown_removed_then_added() {
        let before: String = (0..2100).map(|i| format!("old {i}\n")).collect();
        let after: String = (0..2100).map(|i| format!("new {i}\n")).collect();
        let diff = diff_lines(&format!("top\n{before}"), &format!("top\n{after}"));
        assert_eq!(diff.len(), 1 + 2 * 2100);
        assert_eq!(diff[0].change, Change::Same);
        assert!(diff[1..2101].iter().all(|l| l.change == Change::Removed));
        assert!(diff[2101..].iter().all(|l| l.change == Change::Added));
    }

    #[test]
    fn words_and_signs_name_each_change() {
        assert_eq!(Change::Added.word(), "added");
        assert_eq!(Change::Removed.sign(), "-");
        assert_eq!(Change::Same.word(), "same");
    }
}
