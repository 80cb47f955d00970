//! What the model reads: the system prompt naming its tools (the built-in ones, then those of
//! the outside MCP servers, and which servers could not be reached for this run) and rules, the
//! user's goal with its context, and each tool result cut to the budget the model sees.

use aether_shared::agent::Context;
use aether_shared::agent::tools::TOOLS;
use serde_json::Value;

use super::mcp_client::Offer;

/// Longest outside tool description in the system prompt, in characters (the tool list the
/// model is sent carries the whole description).
const MAX_OUTSIDE_LINE_CHARS: usize = 200;

/// The system prompt of a run that was offered `outside` tools.
pub fn system(outside: &Offer) -> String {
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
    if !outside.tools.is_empty() {
        text.push_str(
            "\nTools of outside MCP servers the user configured (named <server>__<tool>; they act \
             outside the user's files, as those servers do):\n",
        );
        for tool in &outside.tools {
            let first_line = tool.description.lines().next().unwrap_or("");
            let said: String = first_line.chars().take(MAX_OUTSIDE_LINE_CHARS).collect();
            text.push_str(&format!("- {}: {said}\n", tool.name));
        }
    }
    for (server, why) in &outside.unavailable {
        text.push_str(&format!(
            "\nThe outside MCP server `{server}` is not available in this run, so its tools are not offered: {why}\n"
        ));
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
        let text = system(&Offer::default());
        for tool in TOOLS {
            assert!(text.contains(tool.name), "{}", tool.name);
        }
        assert!(!text.contains("outside MCP"), "{text}");
    }

    #[test]
    fn the_system_prompt_names_outside_tools_and_the_servers_left_out() {
        let offer = Offer {
            tools: vec![super::super::mcp_client::OutsideTool {
                name: "everything__echo".into(),
                server: "everything".into(),
                tool: "echo".into(),
                description: "Echoes back the input string\nmore".into(),
                parameters: json!({"type": "object"}),
            }],
            unavailable: vec![("docs".into(), "it could not be started".into())],
        };
        let text = system(&offer);
        assert!(
            text.contains("- everything__echo: Echoes back the input string\n"),
            "{text}"
        );
        assert!(!text.contains("more"), "{text}");
        assert!(
            text.contains("`docs` is not available in this run"),
            "{text}"
        );
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
