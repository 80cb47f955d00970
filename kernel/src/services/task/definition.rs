//! `task.parse`: task definitions as users write them, YAML or JSON text, read into the contract's
//! [`Define`]. JSON is anything that starts with `{`; everything else is read as YAML. Only the
//! text is checked here; the graph is checked by `task.define`.

use aether_shared::task::Define;

/// Reads a definition, or says why it does not parse (with the line the parser names).
pub fn parse(text: &str) -> Result<Define, String> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err("The definition is empty; write one or load a .yaml/.json file.".into());
    }
    if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).map_err(|e| format!("The JSON does not read as a task: {e}"))
    } else {
        serde_norway::from_str(text).map_err(|e| format!("The YAML does not read as a task: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(parse("  ").unwrap_err().contains("empty"));
        let bad = parse("name: x\nnodes:\n  - id: a\n    topic: not a topic\n").unwrap_err();
        assert!(bad.contains("YAML") && bad.contains("line"), "{bad}");
        let unknown =
            parse("name: x\nnodes:\n  - id: a\n    topic: kernel.ping\n    afterr: [b]\n");
        assert!(unknown.is_err(), "unknown fields are refused");
        assert!(parse("{\"name\": 1}").unwrap_err().contains("JSON"));
    }
}
