//! The prompt of an inline completion (`ai.complete`) and the cleanup of its answer.
//!
//! Chat-tuned models are asked to fill a marked hole; the answer is then stripped of the code
//! fences and the echoed surroundings that models add despite being told not to.

use aether_shared::ai::{Complete, Message, Role};

/// The hole's marker in the prompt.
pub const HOLE: &str = "<CURSOR>";

/// Characters of prefix and suffix sent with a completion (the end nearest the cursor is kept).
pub const CONTEXT_CHARS: usize = 6_000;

const SYSTEM: &str = "You are a code completion engine. The user sends a file with the marker <CURSOR>. \
Reply with only the text to insert at <CURSOR>: no explanation, no code fences, no repetition of the \
text around the marker. Reply with nothing if nothing fits.";

/// The conversation asking for the text at the cursor.
pub fn completion(req: &Complete) -> Vec<Message> {
    let prefix = tail(&req.prefix, CONTEXT_CHARS);
    let suffix = head(&req.suffix, CONTEXT_CHARS);
    vec![
        Message::new(Role::System, SYSTEM),
        Message::new(
            Role::User,
            format!(
                "File: {} (language: {})\n\n{prefix}{HOLE}{suffix}",
                req.path, req.language
            ),
        ),
    ]
}

/// The text to insert, from a model's answer.
pub fn clean(answer: &str, req: &Complete) -> String {
    let mut text = answer.to_owned();
    let trimmed = text.trim();
    if trimmed.starts_with("```") {
        let body = trimmed
            .split_once('\n')
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        text = body
            .trim_end()
            .trim_end_matches("```")
            .trim_end_matches('\n')
            .to_owned();
    }
    text = text.replace(HOLE, "");
    let line_start = req.prefix.rsplit('\n').next().unwrap_or_default();
    if !line_start.trim().is_empty()
        && let Some(rest) = text.strip_prefix(line_start)
    {
        text = rest.to_owned();
    }
    text
}

fn tail(s: &str, chars: usize) -> &str {
    let count = s.chars().count();
    if count <= chars {
        return s;
    }
    let skip = s.char_indices().nth(count - chars).map_or(0, |(i, _)| i);
    &s[skip..]
}

fn head(s: &str, chars: usize) -> &str {
    match s.char_indices().nth(chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prefix: &str) -> Complete {
        Complete {
            path: "/a.rs".into(),
            language: "rust".into(),
            prefix: prefix.into(),
            suffix: "\n}".into(),
            model: None,
        }
    }

    #[test]
    fn the_prompt_marks_the_hole_between_prefix_and_suffix() {
        let messages = completion(&req("fn main() {\n    let x = "));
        assert_eq!(messages[0].role, Role::System);
        assert!(messages[1].content.ends_with("let x = <CURSOR>\n}"));
        assert!(messages[1].content.contains("/a.rs (language: rust)"));
        let long = "é".repeat(CONTEXT_CHARS + 10);
        let messages = completion(&req(&long));
        assert!(messages[1].content.contains(&"é".repeat(CONTEXT_CHARS)));
        assert!(!messages[1].content.contains(&"é".repeat(CONTEXT_CHARS + 1)));
    }

    #[test]
    fn fences_markers_and_echoed_line_starts_are_removed() {
        let r = req("fn main() {\n    let x = ");
        assert_eq!(clean("```rust\n42;\n```", &r), "42;");
        assert_eq!(clean("    let x = 42;", &r), "42;");
        assert_eq!(clean("42;<CURSOR>", &r), "42;");
        assert_eq!(clean(" 1 + 1", &r), " 1 + 1");
    }
}
