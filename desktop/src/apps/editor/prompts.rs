//! What the Editor asks the AI, and how it reads the answer: the conversation for a chat
//! question (with the current file and selection), "Explain selection", "Fix this" (the file and
//! the last run's stderr), "Write a test", and the code block an edit proposal is taken from.
//! Pure and unit tested.

use aether_shared::ai::{Message, Role};

/// The file a request is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileContext {
    pub path: String,
    pub language: String,
    pub text: String,
    /// The selected text, when there is a selection.
    pub selection: Option<String>,
}

const SYSTEM: &str = "You are the coding assistant of the Aether editor. Be concise and precise. \
When you propose a change to the file, reply with the complete new file in one fenced code block.";

/// Which command asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Explain,
    Fix,
    WriteTest,
}

impl Command {
    /// True when the answer is an edit proposal (shown as a diff), not just text.
    pub fn proposes_edit(self) -> bool {
        matches!(self, Command::Fix | Command::WriteTest)
    }

    /// The label shown in the chat for the user's turn.
    pub fn label(self) -> &'static str {
        match self {
            Command::Explain => "Explain selection",
            Command::Fix => "Fix this",
            Command::WriteTest => "Write a test",
        }
    }
}

fn file_block(file: &FileContext) -> String {
    format!(
        "File `{}` ({}):\n```{}\n{}\n```",
        file.path, file.language, file.language, file.text
    )
}

/// The conversation for a free question, with the file (and selection) as context.
pub fn chat(history: &[Message], file: Option<&FileContext>, question: &str) -> Vec<Message> {
    let mut messages = vec![Message::new(Role::System, SYSTEM)];
    messages.extend(history.iter().cloned());
    let mut content = String::new();
    if let Some(file) = file {
        content.push_str(&file_block(file));
        if let Some(selection) = &file.selection {
            content.push_str(&format!("\n\nSelected:\n```\n{selection}\n```"));
        }
        content.push_str("\n\n");
    }
    content.push_str(question);
    messages.push(Message::new(Role::User, content));
    messages
}

/// The conversation for a command.
pub fn command(command: Command, file: &FileContext, stderr: &str) -> Vec<Message> {
    let ask = match command {
        Command::Explain => {
            let what = file.selection.as_deref().unwrap_or(&file.text);
            format!(
                "{}\n\nExplain what this part does:\n```\n{what}\n```",
                file_block(file)
            )
        }
        Command::Fix => format!(
            "{}\n\nRunning it failed with:\n```\n{}\n```\nFix the file. Reply with the complete corrected file in one fenced code block, then one sentence on what was wrong.",
            file_block(file),
            if stderr.trim().is_empty() { "(no output: look for the bug)" } else { stderr }
        ),
        Command::WriteTest => format!(
            "{}\n\nWrite a test for this code. Reply with the complete file including the test in one fenced code block.",
            file_block(file)
        ),
    };
    vec![
        Message::new(Role::System, SYSTEM),
        Message::new(Role::User, ask),
    ]
}

/// The content of the first fenced code block of an answer (the longest one if several), or
/// `None` when it has none.
pub fn code_block(answer: &str) -> Option<String> {
    let mut best: Option<String> = None;
    let mut rest = answer;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let body_start = after.find('\n').map(|i| i + 1)?;
        let body = &after[body_start..];
        let Some(end) = body.find("```") else { break };
        let block = body[..end].trim_end_matches('\n').to_owned();
        if best.as_ref().is_none_or(|b| block.len() > b.len()) {
            best = Some(block);
        }
        rest = &body[end + 3..];
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileContext {
        FileContext {
            path: "/a.wat".into(),
            language: "wat".into(),
            text: "(module)".into(),
            selection: Some("module".into()),
        }
    }

    #[test]
    fn fix_sends_the_file_and_the_runs_stderr() {
        let messages = command(Command::Fix, &file(), "trap: unreachable");
        assert_eq!(messages[0].role, Role::System);
        assert!(messages[1].content.contains("```wat\n(module)\n```"));
        assert!(messages[1].content.contains("trap: unreachable"));
        assert!(Command::Fix.proposes_edit() && !Command::Explain.proposes_edit());
        let explain = command(Command::Explain, &file(), "");
        assert!(explain[1].content.contains("```\nmodule\n```"));
    }

    #[test]
    fn chat_keeps_history_and_sees_file_and_selection() {
        let history = [Message::new(Role::User, "hi"), Message::new(Role::Assistant, "hello")];
        let messages = chat(&history, Some(&file()), "what is this?");
        assert_eq!(messages.len(), 4);
        let last = &messages[3].content;
        assert!(last.contains("(module)") && last.contains("Selected:") && last.ends_with("what is this?"));
        assert_eq!(chat(&[], None, "q")[1].content, "q");
    }

    #[test]
    fn the_longest_fenced_block_is_the_proposal() {
        let answer = "Here:\n```wat\n(module\n  (func))\n```\nAlso `x`:\n```\nx\n```";
        assert_eq!(code_block(answer).as_deref(), Some("(module\n  (func))"));
        assert_eq!(code_block("no code"), None);
        assert_eq!(code_block("```rust\nunfinished"), None);
    }
}
