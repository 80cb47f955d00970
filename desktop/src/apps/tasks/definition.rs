//! Task definitions as the user writes them: YAML or JSON text, read into the contract's
//! [`Define`]. JSON is anything that starts with `{`; everything else is read as YAML (a JSON
//! document is valid YAML too, so either way works). The kernel checks the graph itself; this only
//! reports text that does not parse, with the line the parser names.

use aether_shared::task::Define;

/// The definition a new Tasks window starts with (also seeded as `/welcome/pipeline.task.yaml`):
/// three nodes, the second reading a program from the welcome folder, the third quoting its
/// output.
pub const SAMPLE: &str = r#"# A task is a graph of bus requests: each node starts once the nodes in its `after`
# succeeded. `${node.field}` quotes an earlier node's result (a program's has stdout, stderr,
# code). Press Run to define and run it; the graph shows each node's state as it changes.
name: welcome-pipeline
timeout_ms: 30000
nodes:
  - id: check
    topic: kernel.ping
  - id: hello
    topic: vm.spawn
    after: [check]
    payload:
      module: { path: /welcome/hello.wat }
  - id: echo
    topic: vm.spawn
    after: [hello]
    timeout_ms: 10000
    payload:
      module: { path: /welcome/echo.wasm }
      stdin: "hello said: ${hello.stdout}"
"#;

/// Reads a definition, or says why it does not parse.
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

    #[test]
    fn the_sample_reads_as_three_chained_nodes() {
        let define = parse(SAMPLE).unwrap();
        assert_eq!(define.name, "welcome-pipeline");
        let ids: Vec<&str> = define.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["check", "hello", "echo"]);
        assert_eq!(define.nodes[2].after, ["hello"]);
        assert_eq!(define.nodes[2].payload["stdin"], "hello said: ${hello.stdout}");
        assert_eq!(define.timeout_ms, Some(30_000));
    }

    #[test]
    fn json_works_too_and_bad_text_is_explained() {
        let json = r#"{"name": "j", "nodes": [{"id": "a", "topic": "kernel.ping"}]}"#;
        assert_eq!(parse(json).unwrap().nodes.len(), 1);
        assert!(parse("  ").unwrap_err().contains("empty"));
        let bad = parse("name: x\nnodes:\n  - id: a\n    topic: not a topic\n").unwrap_err();
        assert!(bad.contains("YAML"), "{bad}");
        let unknown = parse("name: x\nnodes:\n  - id: a\n    topic: kernel.ping\n    afterr: [b]\n");
        assert!(unknown.is_err(), "unknown fields are refused");
    }
}
