//! Fuzzy matching for the command palette: a query matches a label when its letters appear in
//! the label in order (case-insensitive; spaces in the query are ignored), and the best matches
//! are those whose letters start words and follow each other.
//!
//! [`score`] finds the best placement of the query's letters (a small dynamic programme over
//! query × label, both a few dozen characters); [`rank`] sorts candidates by it. Pure.

/// A letter at the start of the label.
const FIRST_LETTER: i32 = 10;
/// A letter starting a word (after a space or punctuation, or a capital after a small letter).
const WORD_START: i32 = 8;
/// A letter right after the previous matched one.
const CONSECUTIVE: i32 = 6;
/// Every matched letter.
const LETTER: i32 = 1;
/// Most a gap between two matched letters costs.
const MAX_GAP_PENALTY: i32 = 5;

/// How well `query` matches `label`: `None` when it does not, higher is better. An empty query
/// matches everything with 0.
pub fn score(query: &str, label: &str) -> Option<i32> {
    let query: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if query.is_empty() {
        return Some(0);
    }
    let original: Vec<char> = label.chars().collect();
    let lower: Vec<char> = original
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let bonus = |j: usize| -> i32 {
        if j == 0 {
            return FIRST_LETTER;
        }
        let (before, here) = (original[j - 1], original[j]);
        let boundary = !before.is_alphanumeric() || (before.is_lowercase() && here.is_uppercase());
        if boundary { WORD_START } else { 0 }
    };
    // best[j]: the best score with the query's letters so far matched, the last one at `j`.
    let mut best: Vec<Option<i32>> = lower
        .iter()
        .enumerate()
        .map(|(j, c)| (*c == query[0]).then(|| LETTER + bonus(j)))
        .collect();
    for letter in &query[1..] {
        let mut next = vec![None; lower.len()];
        for (j, c) in lower.iter().enumerate() {
            if c != letter {
                continue;
            }
            let from = (0..j)
                .filter_map(|k| best[k].map(|s| (k, s)))
                .map(|(k, s)| {
                    let gap = j - k - 1;
                    let link = if gap == 0 {
                        CONSECUTIVE
                    } else {
                        -(gap.min(MAX_GAP_PENALTY as usize) as i32)
                    };
                    s + link
                })
                .max();
            next[j] = from.map(|s| s + LETTER + bonus(j));
        }
        best = next;
    }
    best.into_iter().flatten().max()
}

/// The items whose label matches `query`, best first; equal scores keep the items' order.
pub fn rank<'a, T>(query: &str, items: &'a [T], label: impl Fn(&T) -> &str) -> Vec<&'a T> {
    let mut scored: Vec<(i32, usize, &T)> = items
        .iter()
        .enumerate()
        .filter_map(|(order, item)| score(query, label(item)).map(|s| (s, order, item)))
        .collect();
    scored.sort_by_key(|&(s, order, _)| (std::cmp::Reverse(s), order));
    scored.into_iter().map(|(_, _, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &[&str] = &[
        "Open Settings",
        "Editor: New file",
        "Files: Export files",
        "Toggle theme",
        "Editor: Save all",
        "Open Terminal",
    ];

    fn ranked(query: &str) -> Vec<&'static str> {
        rank(query, LABELS, |l| l).into_iter().copied().collect()
    }

    #[test]
    fn letters_must_appear_in_order_ignoring_case_and_spaces() {
        assert!(score("nf", "Editor: New file").is_some());
        assert!(score("NEW FILE", "Editor: New file").is_some());
        assert!(score("fn", "New").is_none());
        assert!(score("xyz", "Toggle theme").is_none());
        assert_eq!(score("", "anything"), Some(0));
        assert_eq!(score("   ", "anything"), Some(0));
        assert_eq!(ranked("").len(), LABELS.len());
    }

    #[test]
    fn word_starts_and_runs_beat_scattered_letters() {
        // T·t at word starts beats the "tt" inside "Settings".
        assert_eq!(ranked("tt")[0], "Toggle theme");
        assert_eq!(ranked("new file"), ["Editor: New file"]);
        assert_eq!(ranked("term")[0], "Open Terminal");
        // A run inside a word beats the same letters scattered inside another.
        assert!(score("port", "Export") > score("port", "pxoxrxt"));
        // Capitals after small letters start words too.
        assert!(score("nf", "newFile") > score("nf", "newfile"));
    }

    #[test]
    fn the_best_placement_wins_not_the_first_one() {
        // Greedy would take the first `s` of "Files"; the best takes "Save".
        assert!(score("sa", "Files: Save all") > score("sa", "Files: xsxa"));
        assert_eq!(ranked("save")[0], "Editor: Save all");
    }

    #[test]
    fn equal_scores_keep_the_registry_order() {
        assert_eq!(ranked("open"), ["Open Settings", "Open Terminal"]);
    }
}
