//! Tool calls as a chat-completions stream sends them: fragments (`delta.tool_calls[]`, each
//! with an `index`, the `id` and `function.name` once, `function.arguments` in pieces) put back
//! together into whole calls, in index order.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One fragment of `choices[0].delta.tool_calls`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Fragment {
    /// Which call of the answer this piece belongs to (servers that omit it send one call).
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionFragment>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct FunctionFragment {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// A whole call: the model's id for it, the tool's name, its arguments as JSON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Collects fragments until the answer ends.
#[derive(Debug, Default)]
pub struct Assembler {
    calls: BTreeMap<u32, Call>,
}

impl Assembler {
    /// Adds one fragment.
    pub fn push(&mut self, fragment: Fragment) {
        let call = self.calls.entry(fragment.index).or_insert_with(|| Call {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = fragment.id.filter(|id| !id.is_empty()) {
            call.id = id;
        }
        if let Some(function) = fragment.function {
            if let Some(name) = function.name {
                call.name.push_str(&name);
            }
            if let Some(arguments) = function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
    }

    /// The whole calls in index order. A call the server gave no id gets `call-<index>`; empty
    /// arguments read as `{}`.
    pub fn finish(self) -> Vec<Call> {
        self.calls
            .into_iter()
            .filter(|(_, call)| !call.name.is_empty())
            .map(|(index, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call-{index}");
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".into();
                }
                call
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(json: &str) -> Fragment {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fragments_join_into_whole_calls_in_index_order() {
        let mut calls = Assembler::default();
        calls.push(fragment(
            r#"{"index":1,"id":"b","type":"function","function":{"name":"write_file","arguments":""}}"#,
        ));
        calls.push(fragment(
            r#"{"index":0,"id":"a","function":{"name":"read_file","arguments":"{\"pa"}}"#,
        ));
        calls.push(fragment(
            r#"{"index":0,"function":{"arguments":"th\": \"/x\"}"}}"#,
        ));
        calls.push(fragment(r#"{"index":1,"function":{"arguments":"{}"}}"#));
        let calls = calls.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].id.as_str(), calls[0].name.as_str()),
            ("a", "read_file")
        );
        assert_eq!(calls[0].arguments, r#"{"path": "/x"}"#);
        assert_eq!(calls[1].name, "write_file");
    }

    #[test]
    fn missing_ids_indexes_and_arguments_get_defaults() {
        let mut calls = Assembler::default();
        calls.push(fragment(r#"{"function":{"name":"list_files"}}"#));
        calls.push(fragment(r#"{"index":3}"#));
        let calls = calls.finish();
        assert_eq!(calls.len(), 1, "a fragment without a name is no call");
        assert_eq!(calls[0].id, "call-0");
        assert_eq!(calls[0].arguments, "{}");
    }
}
