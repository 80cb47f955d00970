//! What the model reads: the system prompt naming its tools and rules, the user's goal with its
//! context, and each tool result cut to the budget the model sees.

use aether_shared::agent::Context;
use aether_shared::agent::tools::TOOLS;
use serde_json::Value;

/// The system prompt of every run.
pub fn system() -> String {
    let mut text = String::from(
        "You are the coding agent of Aether, a development desktop in the user's browser tab. \
         You act only through the tools below; every call runs as the user, on the user's own \
         files (absolute paths such as /welcome/hello.wat), and the user may be asked to approve \
         it with its full arguments. Read before you write; write whole files; run programs to \
         check your work. When a call fails or is declined, adapt instead of repeating it. When \
         the goal is reached (or cannot be), answer with a short summary and no tool call.\n\nTools:\n",
    );
    for tool in TOOLS {
        text.push_str(&format!("- {}: {}\n", tool.name, tool.description));
    }
    text
}

/// The user's first message: the goal and what they had in front of them.
pub fn goal(goal: &str, context: Option<&Context>) -> String {
    let mut text = goal.trim().to_owned();
    if let Some(context) = context {
        if !context.paths.is_empty() {
            text.push_str("\n\nFiles in view: ");
            text.push_str(&context.paths.join(", "));
        }
        if let Some(selection) = context.selection.as_deref().filter(|s| !s.is_empty()) {
            text.push_str("\n\nSelected text:\n```\n");
            text.push_str(selection);
            text.push_str("\n```");
        }
    }
    text
}

/// A tool result as the model reads it: compact JSON, cut to `max_chars` characters with a note
/// saying how much was left out.
pub fn tool_result(result: &Value, max_chars: usize) -> String {
    let text = match result {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let total = text.chars().count();
    if total <= max_chars {
        return text;
    }
    let mut cut: String = text.chars().take(max_chars).collect();
    cut.push_str(&format!(
        "\n[… cut: {} of {total} characters shown; read a range with offset/length for more]",
        max_chars
    ));
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_system_prompt_names_every_tool() {
        let text = system();
        for tool in TOOLS {
            assert!(text.contains(tool.name), "{}", tool.name);
        }
    }

    #[test]
    fn the_goal_carries_its_context() {
        let context = Context {
            paths: vec!["/welcome/hello.wat".into()],
            selection: Some("(func)".into()),
        };
        let text = goal(" fix it ", Some(&context));
        assert!(text.starts_with("fix it\n"));
        assert!(text.contains("/welcome/hello.wat") && text.contains("(func)"));
        assert_eq!(goal("fix it", None), "fix it");
    }

    #[test]
    fn results_are_cut_to_the_budget_by_characters() {
        let small = json!({"code": 0, "stdout": "hi"});
        assert_eq!(tool_result(&small, 100), small.to_string());
        let big = json!("é".repeat(50));
        let cut = tool_result(&big, 10);
        assert!(cut.starts_with(&"é".repeat(10)));
        assert!(cut.contains("10 of 50 characters"), "{cut}");
        assert_eq!(tool_result(&json!("exact"), 5), "exact");
    }
}
