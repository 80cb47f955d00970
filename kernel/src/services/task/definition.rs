//! `task.parse`: task definitions as users write them, YAML or JSON text, read into the contract's
//! [`Define`]. JSON is anything that starts with `{`; everything else is read as YAML. Only the
//! text is checked here; the graph is checked by `task.define`.

use aether_shared::task::{Define, ParsePosition};

/// Why a text does not read as a definition: a sentence, and where when the parser knows (the
/// `bad_request` answering `task.parse` carries the position in its details: see
/// [`super::error::TaskError`]).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Unreadable {
    pub message: String,
    pub at: Option<ParsePosition>,
}

/// Reads a definition, or says why it does not parse (with the line the parser names).
pub fn parse(text: &str) -> Result<Define, Unreadable> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Unreadable {
            message: "The definition is empty; write one or load a .yaml/.json file.".into(),
            at: None,
        });
    }
    if trimmed.starts_with('{') {
        // The whole text, leading blank lines included, so that positions count from its start.
        serde_json::from_str(text).map_err(|e| Unreadable {
            message: format!("The JSON does not read as a task: {e}"),
            at: position(e.line(), e.column().max(1)),
        })
    } else {
        serde_norway::from_str(text).map_err(|e| Unreadable {
            message: format!("The YAML does not read as a task: {e}"),
            at: e.location().and_then(|l| position(l.line(), l.column())),
        })
    }
}

/// A parser's 1-based line and column (line 0: the parser names no place).
fn position(line: usize, column: usize) -> Option<ParsePosition> {
    Some(ParsePosition {
        line: u32::try_from(line).ok().filter(|l| *l >= 1)?,
        column: u32::try_from(column).ok().filter(|c| *c >= 1)?,
    })
}

#[cfg(test)]
mod tests {
    use aether_shared::ErrorCode;

    use super::super::error::TaskError;
    use super::*;
    use crate::services::request::ServiceError as _;

    const YAML: &str = r#"# a comment
name: welcome-pipeline
timeout_ms: 30000
nodes:
  - id: check
    topic: kernel.ping
  - id: echo
    topic: vm.spawn
    after: [check]
    payload:
      module: { path: /welcome/echo.wasm }
      stdin: "said: ${check.uptime_ms}"
"#;

    #[test]
    fn yaml_and_json_read_as_the_same_definition() {
        let define = parse(YAML).unwrap();
        assert_eq!(define.name, "welcome-pipeline");
        assert_eq!(define.nodes[1].after, ["check"]);
        assert_eq!(define.nodes[1].payload["stdin"], "said: ${check.uptime_ms}");
        assert_eq!(define.timeout_ms, Some(30_000));
        let json = serde_json::to_string(&define).unwrap();
        assert_eq!(parse(&json).unwrap(), define);
    }

    #[test]
    fn the_shipped_sample_reads_as_three_chained_nodes() {
        let define = parse(aether_shared::task::SAMPLE_YAML).unwrap();
        let ids: Vec<&str> = define.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["check", "hello", "echo"]);
        assert_eq!(
            define.nodes[2].payload["stdin"],
            "hello said: ${hello.stdout}"
        );
        aether_shared::task::check(&define.nodes).unwrap();
        aether_shared::task::refs::check(&define.nodes).unwrap();
    }

    #[test]
    fn bad_text_is_explained() {
        let empty = parse("  ").unwrap_err();
        assert!(empty.message.contains("empty") && empty.at.is_none());
        let bad = parse("name: x\nnodes:\n  - id: a\n    topic: not a topic\n").unwrap_err();
        assert!(
            bad.message.contains("YAML") && bad.message.contains("line"),
            "{bad}"
        );
        let unknown =
            parse("name: x\nnodes:\n  - id: a\n    topic: kernel.ping\n    afterr: [b]\n");
        assert!(unknown.is_err(), "unknown fields are refused");
        assert!(parse("{\"name\": 1}").unwrap_err().message.contains("JSON"));
    }

    #[test]
    fn a_parse_error_names_its_line_and_column() {
        let at = |text: &str| parse(text).unwrap_err().at;
        let bad_value =
            "name: x\nnodes:\n  - id: a\n    topic: kernel.ping\n    timeout_ms: soon\n";
        assert_eq!(
            at(bad_value),
            Some(ParsePosition {
                line: 5,
                column: 17
            })
        );
        let unknown = "name: x\nnodes:\n  - id: a\n    topic: kernel.ping\n    afterr: [b]\n";
        assert_eq!(at(unknown), Some(ParsePosition { line: 5, column: 5 }));
        let tab = "name: x\nnodes:\n\t- id: a\n";
        assert_eq!(at(tab), Some(ParsePosition { line: 3, column: 1 }));
        // JSON positions count the blank lines before the `{`.
        let json = "\n\n{\"name\": \"x\",\n \"nodes\": 7}";
        assert_eq!(at(json).map(|p| p.line), Some(4));
        assert_eq!(at("  "), None);
        let error = TaskError::from(parse(bad_value).unwrap_err()).to_payload();
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert_eq!(
            ParsePosition::of(&error),
            Some(ParsePosition {
                line: 5,
                column: 17
            })
        );
    }
}
