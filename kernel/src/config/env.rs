//! `AETHER_*` environment overrides. Every key of the config has one: the key path in upper
//! case joined by `__` (`AETHER_LISTEN`, `AETHER_LIMITS__MAX_FRAME_BYTES`). A value is read as
//! YAML (`AETHER_RATE_LIMITS='[{topic: vm.spawn, limit: 5, burst: 2, window_ms: 60000}]'`); a
//! list of strings may also be given comma-separated (`AETHER_ALLOWED_ORIGINS=http://a,http://b`).
//! A map that is empty (`ai.mcp_servers` when the file names no server) is one key, given whole
//! (`AETHER_AI__MCP_SERVERS='{docs: {url: http://127.0.0.1:9000/mcp}}'`); the keys of a server
//! the file names have their own (`AETHER_AI__MCP_SERVERS__DOCS__CALL_TIMEOUT_MS`).
//! An empty, `~` or `null` value is refused rather than read as "no value": it is nearly always an
//! unset shell variable, and it would silently drop what the config file says.

use serde_norway::{Mapping, Value};

use super::{Config, ConfigError};

/// Applies every `AETHER_*` override found by `lookup` (normally `std::env::var`).
pub fn apply_env(
    config: Config,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut tree = serde_norway::to_value(&config).expect("the config serializes");
    let mut paths = Vec::new();
    collect_paths(&tree, &mut Vec::new(), &mut paths);
    let mut changed = false;
    for path in paths {
        let name = env_name(&path);
        let Some(raw) = lookup(&name) else { continue };
        let current = get(&tree, &path).cloned().unwrap_or(Value::Null);
        let value = parse_value(&raw, &current);
        if value.is_null() {
            // `AETHER_CLIENT_TOKEN=` (often `$TOKEN` of an unset variable) must not quietly drop
            // the file's token: an override always says what the key becomes.
            return Err(ConfigError::Invalid {
                origin: name,
                message: format!(
                    "the value is empty or null, which would silently remove any `{}` set in the config file; unset the variable to keep the file's value, or give it a real value",
                    path.join(".")
                ),
            });
        }
        set(&mut tree, &path, value);
        // Check each override on its own so the error names the variable.
        serde_norway::from_value::<Config>(tree.clone()).map_err(|e| ConfigError::Invalid {
            origin: name.clone(),
            message: e.to_string(),
        })?;
        changed = true;
    }
    if !changed {
        return Ok(config);
    }
    serde_norway::from_value(tree).map_err(|e| ConfigError::Invalid {
        origin: "environment".into(),
        message: e.to_string(),
    })
}

/// The environment variable of a key path.
pub fn env_name(path: &[String]) -> String {
    format!("AETHER_{}", path.join("__").to_ascii_uppercase())
}

fn collect_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Mapping(map) = value {
        for (key, child) in map {
            let Some(key) = key.as_str() else { continue };
            prefix.push(key.to_owned());
            match child {
                Value::Mapping(m) if !m.is_empty() => collect_paths(child, prefix, out),
                _ => out.push(prefix.clone()),
            }
            prefix.pop();
        }
    }
}

fn parse_value(raw: &str, current: &Value) -> Value {
    let parsed: Value =
        serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    match (current, &parsed) {
        (Value::Sequence(_), Value::String(s)) => Value::Sequence(
            s.split(',')
                .map(|item| Value::String(item.trim().to_owned()))
                .filter(|v| v.as_str() != Some(""))
                .collect(),
        ),
        // Tokens stay text even when they look like numbers.
        (Value::Null | Value::String(_), Value::Number(_) | Value::Bool(_)) => {
            Value::String(raw.to_owned())
        }
        _ => parsed,
    }
}

fn get<'a>(tree: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(tree, |node, key| node.get(key.as_str()))
}

fn set(tree: &mut Value, path: &[String], value: Value) {
    let mut node = tree;
    for key in &path[..path.len() - 1] {
        node = node
            .as_mapping_mut()
            .expect("a config section is a mapping")
            .entry(Value::String(key.clone()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
    }
    node.as_mapping_mut()
        .expect("a config section is a mapping")
        .insert(Value::String(path[path.len() - 1].clone()), value);
}
