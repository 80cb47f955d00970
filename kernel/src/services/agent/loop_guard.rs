//! The loop guard: the same tool with the same arguments failing again and again ends the run
//! (`resource_exceeded {limit: repeated_failure}`) instead of burning the budget on a fix loop.

use std::collections::HashMap;

use serde_json::Value;

/// Failures of each (tool, arguments) of one run.
#[derive(Debug)]
pub struct LoopGuard {
    max: u32,
    failures: HashMap<(String, String), u32>,
}

impl LoopGuard {
    /// A guard that trips on the `max`-th identical failure.
    pub fn new(max: u32) -> LoopGuard {
        LoopGuard {
            max: max.max(1),
            failures: HashMap::new(),
        }
    }

    /// Records a failed call; true when it has now failed `max` times with these arguments.
    /// Arguments are compared as canonical JSON, so key order does not matter.
    pub fn failed(&mut self, tool: &str, arguments: &Value) -> bool {
        let key = (tool.to_owned(), canonical(arguments));
        let count = self.failures.entry(key).or_insert(0);
        *count += 1;
        *count >= self.max
    }
}

/// JSON text with object keys sorted at every level.
fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_third_identical_failure_trips_and_other_calls_count_apart() {
        let mut guard = LoopGuard::new(3);
        let args = json!({"path": "/a.wat", "args": ["x"]});
        assert!(!guard.failed("run_program", &args));
        assert!(!guard.failed("run_program", &json!({"args": ["x"], "path": "/a.wat"})));
        assert!(!guard.failed("run_program", &json!({"path": "/b.wat"})));
        assert!(!guard.failed("read_file", &args));
        assert!(
            guard.failed("run_program", &args),
            "same arguments, any key order"
        );
    }
}
