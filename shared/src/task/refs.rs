//! References from a node's payload to an earlier node's result: `${node}` or `${node.a.b.0}`.
//!
//! A string that is exactly one reference is replaced by the referenced JSON value, whatever its
//! type (`"${build}"` → the whole result object). A reference inside a longer string is spliced in
//! as text: a string as it is, anything else as its JSON. `$${` is a literal `${`. Path segments
//! name object fields, or array indexes when they are numbers. A node may refer only to the nodes
//! it waits for (directly or through others), which [`check`] verifies when a task is defined.
//!
//! Expansion is budgeted: [`resolve`] charges the payload's own JSON and then every quoted value
//! *before* copying it, and stops at the first reference that would pass the budget, so a payload
//! quoting a large result thousands of times costs at most the budget, never the full expansion.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::Node;
use crate::envelope::Payload;
use crate::json_size::json_len_within;

/// A reference found in a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    pub node: String,
    pub path: Vec<String>,
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${{{}", self.node)?;
        for segment in &self.path {
            write!(f, ".{segment}")?;
        }
        f.write_str("}")
    }
}

/// Why a reference cannot be used. Each maps to `bad_request`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(
        "`{0}` is not a reference: write `${{node}}` or `${{node.field}}` (and `$${{` for a literal `${{`)"
    )]
    Syntax(String),
    #[error(
        "node `{node}` refers to `{target}`, which it does not wait for; add `{target}` to its `after`"
    )]
    NotADependency { node: String, target: String },
    #[error("`{reference}` has no value: the result of `{node}` has no `{missing}`")]
    Missing {
        reference: String,
        node: String,
        missing: String,
    },
    /// The expanded payload would pass the budget given to [`resolve`] (`resource_exceeded`).
    #[error(
        "the payload would pass {max_bytes} bytes once its references are expanded; quote fewer or smaller results (e.g. one field instead of the whole result)"
    )]
    TooLarge { max_bytes: usize },
}

/// Bytes the expansion may still use.
struct Budget {
    left: usize,
    max_bytes: usize,
}

impl Budget {
    fn charge(&mut self, bytes: usize) -> Result<(), RefError> {
        self.left = self.left.checked_sub(bytes).ok_or(RefError::TooLarge {
            max_bytes: self.max_bytes,
        })?;
        Ok(())
    }

    /// Charges `value`'s JSON, measured without building it and only up to what is left.
    fn charge_json<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RefError> {
        let bytes = json_len_within(value, self.left).ok_or(RefError::TooLarge {
            max_bytes: self.max_bytes,
        })?;
        self.charge(bytes)
    }
}

enum Piece<'a> {
    Text(&'a str),
    Ref(Ref),
}

fn parse(s: &str) -> Result<Vec<Piece<'_>>, RefError> {
    let mut pieces = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        if after.starts_with("${") {
            pieces.push(Piece::Text(&rest[..at + 1]));
            rest = &after[1..];
            // Skip the literal `{` so it is not read as a reference.
            pieces.push(Piece::Text("{"));
            rest = &rest[1..];
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            pieces.push(Piece::Text(&rest[..at + 1]));
            rest = after;
            continue;
        };
        let end = body
            .find('}')
            .ok_or_else(|| RefError::Syntax(rest[at..].to_owned()))?;
        let inner = &body[..end];
        let mut segments = inner.split('.');
        let node = segments.next().unwrap_or_default();
        let path: Vec<String> = segments.map(str::to_owned).collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !valid(node) || !path.iter().all(|s| valid(s)) {
            return Err(RefError::Syntax(format!("${{{inner}}}")));
        }
        pieces.push(Piece::Text(&rest[..at]));
        pieces.push(Piece::Ref(Ref {
            node: node.to_owned(),
            path,
        }));
        rest = &body[end + 1..];
    }
    pieces.push(Piece::Text(rest));
    pieces.retain(|p| !matches!(p, Piece::Text("")));
    Ok(pieces)
}

fn each_string<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| each_string(v, out)),
        Value::Object(map) => map.values().for_each(|v| each_string(v, out)),
        _ => {}
    }
}

/// Every reference in a payload.
pub fn find(payload: &Payload) -> Result<Vec<Ref>, RefError> {
    let mut strings = Vec::new();
    payload.values().for_each(|v| each_string(v, &mut strings));
    let mut refs = Vec::new();
    for s in strings {
        for piece in parse(s)? {
            if let Piece::Ref(r) = piece {
                refs.push(r);
            }
        }
    }
    Ok(refs)
}

/// Checks that every node refers only to nodes it waits for (transitively). The graph must
/// already have passed [`super::check`].
pub fn check(nodes: &[Node]) -> Result<(), RefError> {
    let by_id: HashMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    for node in nodes {
        let refs = find(&node.payload)?;
        if refs.is_empty() {
            continue;
        }
        let mut ancestors = HashSet::new();
        let mut stack: Vec<&str> = node.after.iter().map(String::as_str).collect();
        while let Some(id) = stack.pop() {
            if ancestors.insert(id)
                && let Some(n) = by_id.get(id)
            {
                stack.extend(n.after.iter().map(String::as_str));
            }
        }
        if let Some(r) = refs.iter().find(|r| !ancestors.contains(r.node.as_str())) {
            return Err(RefError::NotADependency {
                node: node.id.clone(),
                target: r.node.clone(),
            });
        }
    }
    Ok(())
}

fn lookup<'a>(
    r: &Ref,
    results: &'a dyn Fn(&str) -> Option<&'a Value>,
) -> Result<&'a Value, RefError> {
    let missing = |what: &str| RefError::Missing {
        reference: r.to_string(),
        node: r.node.clone(),
        missing: what.to_owned(),
    };
    let mut value = results(&r.node).ok_or_else(|| missing("result"))?;
    for segment in &r.path {
        value = match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(|| missing(segment))?;
    }
    Ok(value)
}

fn substitute<'a>(
    value: &Value,
    results: &'a dyn Fn(&str) -> Option<&'a Value>,
    budget: &mut Budget,
) -> Result<Value, RefError> {
    Ok(match value {
        Value::String(s) if s.contains('$') => {
            let pieces = parse(s)?;
            if let [Piece::Ref(r)] = pieces.as_slice() {
                let found = lookup(r, results)?;
                budget.charge_json(found)?;
                return Ok(found.clone());
            }
            let mut text = String::with_capacity(s.len());
            for piece in pieces {
                match piece {
                    Piece::Text(t) => text.push_str(t),
                    Piece::Ref(r) => match lookup(&r, results)? {
                        Value::String(v) => {
                            budget.charge(v.len())?;
                            text.push_str(v);
                        }
                        other => {
                            budget.charge_json(other)?;
                            text.push_str(&other.to_string());
                        }
                    },
                }
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, results, budget))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, results, budget)?)))
                .collect::<Result<_, RefError>>()?,
        ),
        other => other.clone(),
    })
}

/// The payload with every reference replaced by the value `results` gives for it, as long as
/// the payload's JSON plus every quoted value stays within `max_bytes`; past it,
/// [`RefError::TooLarge`], found before the value that passes it is copied.
pub fn resolve<'a>(
    payload: &Payload,
    results: &'a dyn Fn(&str) -> Option<&'a Value>,
    max_bytes: usize,
) -> Result<Payload, RefError> {
    let mut budget = Budget {
        left: max_bytes,
        max_bytes,
    };
    budget.charge_json(payload)?;
    payload
        .iter()
        .map(|(k, v)| Ok((k.clone(), substitute(v, results, &mut budget)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::Topic;
    use proptest::prelude::*;
    use serde_json::json;

    fn payload(v: Value) -> Payload {
        v.as_object().unwrap().clone()
    }

    fn node(id: &str, after: &[&str], body: Value) -> Node {
        Node {
            id: id.into(),
            topic: Topic::from_static("kernel.ping"),
            payload: payload(body),
            after: after.iter().map(|s| s.to_string()).collect(),
            timeout_ms: None,
        }
    }

    #[test]
    fn whole_references_keep_their_type_and_embedded_ones_become_text() {
        let build = json!({"code": 0, "stdout": "ok\n", "files": ["a", "b"]});
        let results = |id: &str| (id == "build").then_some(&build);
        let out = resolve(
            &payload(json!({
                "whole": "${build}",
                "code": "${build.code}",
                "line": "exit ${build.code}: ${build.stdout}",
                "second": ["${build.files.1}"],
                "literal": "costs $5 and $${x}",
            })),
            &results,
            usize::MAX,
        )
        .unwrap();
        assert_eq!(out["whole"], build);
        assert_eq!(out["code"], 0);
        assert_eq!(out["line"], "exit 0: ok\n");
        assert_eq!(out["second"], json!(["b"]));
        assert_eq!(out["literal"], "costs $5 and ${x}");
    }

    #[test]
    fn missing_values_and_bad_syntax_are_named() {
        let build = json!({"code": 1});
        let results = |id: &str| (id == "build").then_some(&build);
        let err = resolve(
            &payload(json!({"a": "${build.stdout}"})),
            &results,
            usize::MAX,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no `stdout`"), "{err}");
        let err = resolve(&payload(json!({"a": "${build"})), &results, usize::MAX).unwrap_err();
        assert!(matches!(err, RefError::Syntax(_)), "{err}");
        let err = resolve(&payload(json!({"a": "${a b}"})), &results, usize::MAX).unwrap_err();
        assert!(matches!(err, RefError::Syntax(_)), "{err}");
    }

    #[test]
    fn a_node_may_only_refer_to_what_it_waits_for() {
        let ok = [
            node("a", &[], json!({})),
            node("b", &["a"], json!({})),
            node("c", &["b"], json!({"x": "${a.code}"})),
        ];
        assert_eq!(check(&ok), Ok(()));
        let bad = [
            node("a", &[], json!({})),
            node("b", &[], json!({"x": "${a.code}"})),
        ];
        assert_eq!(
            check(&bad),
            Err(RefError::NotADependency {
                node: "b".into(),
                target: "a".into()
            })
        );
    }

    #[test]
    fn a_reference_bomb_stops_at_the_budget_without_expanding_the_rest() {
        let big = json!({"stdout": "x".repeat(1024)});
        let looked_up = std::cell::Cell::new(0);
        let results = |id: &str| {
            looked_up.set(looked_up.get() + 1);
            (id == "a").then_some(&big)
        };
        let whole: Vec<Value> = (0..2000).map(|_| json!("${a.stdout}")).collect();
        let err = resolve(&payload(json!({"q": whole})), &results, 10 * 1024).unwrap_err();
        assert_eq!(
            err,
            RefError::TooLarge {
                max_bytes: 10 * 1024
            }
        );
        assert!(looked_up.get() <= 10, "{} lookups", looked_up.get());

        looked_up.set(0);
        let spliced = "${a.stdout}".repeat(2000);
        let err = resolve(&payload(json!({"q": spliced})), &results, 10 * 1024).unwrap_err();
        assert!(matches!(err, RefError::TooLarge { .. }), "{err}");
        assert!(looked_up.get() <= 10, "{} lookups", looked_up.get());

        // Within the budget, the same quotes expand.
        let three = vec![json!("${a.stdout}"); 3];
        let fits = resolve(&payload(json!({"q": three})), &results, 10 * 1024);
        assert_eq!(fits.unwrap()["q"][2].as_str().unwrap().len(), 1024);
    }

    proptest! {
        #[test]
        fn strings_without_references_are_left_alone(s in "[^$]*") {
            let results = |_: &str| None;
            let out = resolve(&payload(json!({"s": s.clone()})), &results, usize::MAX).unwrap();
            prop_assert_eq!(out["s"].as_str().unwrap(), s.as_str());
        }

        #[test]
        fn parsing_never_panics(s in ".*") {
            let _ = find(&payload(json!({"s": s})));
        }
    }
}
