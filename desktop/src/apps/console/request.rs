//! The form's fields turned into a `vm.spawn` request: arguments, environment and limits are
//! checked here, before a tab opens, so a typo is reported next to the Run button and never
//! reaches the kernel. Pure and unit tested.

use std::collections::BTreeMap;

use aether_shared::vm::{Backend, ModuleSource, Spawn, SpawnLimits};

use super::argv::{ArgsError, split_args};
use super::environment::{EnvError, parse_env};

/// Bytes in one MiB, the unit of the memory limit field.
const MIB: u64 = 1024 * 1024;

/// The text fields of the form besides the module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pub args: String,
    pub env: String,
    /// Wall-clock limit in milliseconds; empty for the kernel's.
    pub wall_ms: String,
    /// Fuel (CPU) limit in units of wasmtime fuel; empty for the kernel's.
    pub fuel: String,
    /// Memory limit in MiB; empty for the kernel's.
    pub memory_mib: String,
}

/// A field that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Args(#[from] ArgsError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(
        "the {field} limit `{value}` is not a whole number above zero; fix it or leave it empty"
    )]
    Limit { field: &'static str, value: String },
}

/// Everything of a `vm.spawn` but the module, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub limits: Option<SpawnLimits>,
}

impl Fields {
    /// Checks every field; the first error found is returned.
    pub fn parse(&self) -> Result<Options, FieldError> {
        let limit =
            |field: &'static str, text: &str, scale: u64| -> Result<Option<u64>, FieldError> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(None);
                }
                text.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .and_then(|n| n.checked_mul(scale))
                    .map(Some)
                    .ok_or_else(|| FieldError::Limit {
                        field,
                        value: text.to_owned(),
                    })
            };
        let limits = SpawnLimits {
            wall_timeout_ms: limit("wall-clock", &self.wall_ms, 1)?,
            max_fuel: limit("fuel", &self.fuel, 1)?,
            max_memory_bytes: limit("memory", &self.memory_mib, MIB)?,
            ..SpawnLimits::default()
        };
        Ok(Options {
            args: split_args(&self.args)?,
            env: parse_env(&self.env)?,
            limits: (limits != SpawnLimits::default()).then_some(limits),
        })
    }
}

impl Options {
    /// The request for `module` on the wasm backend, stdin left open for `vm.stdin`.
    pub fn spawn(self, module: ModuleSource) -> Spawn {
        Spawn {
            backend: Backend::Wasm,
            module: Some(module),
            args: self.args,
            env: self.env,
            stdin: None,
            limits: self.limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_ask_for_nothing_special() {
        let options = Fields::default().parse().unwrap();
        assert_eq!(options, Options::default());
        let spawn = options.spawn(ModuleSource::Wat {
            wat: "(module)".into(),
        });
        let json = serde_json::to_value(&spawn).unwrap();
        assert_eq!(json["backend"], "wasm");
        assert!(json.get("limits").is_none() && json.get("stdin").is_none());
    }

    #[test]
    fn filled_fields_become_args_env_and_limits_in_their_units() {
        let fields = Fields {
            args: r#"one "two words""#.into(),
            env: "GREETING=hi".into(),
            wall_ms: " 1500 ".into(),
            fuel: "".into(),
            memory_mib: "64".into(),
        };
        let options = fields.parse().unwrap();
        assert_eq!(options.args, ["one", "two words"]);
        assert_eq!(options.env["GREETING"], "hi");
        assert_eq!(
            options.limits,
            Some(SpawnLimits {
                wall_timeout_ms: Some(1500),
                max_memory_bytes: Some(64 * MIB),
                ..SpawnLimits::default()
            })
        );
    }

    #[test]
    fn a_bad_field_is_named_in_the_error() {
        let bad = |fields: Fields| fields.parse().unwrap_err().to_string();
        let with = |f: fn(&mut Fields)| {
            let mut fields = Fields::default();
            f(&mut fields);
            fields
        };
        assert!(bad(with(|f| f.fuel = "lots".into())).contains("fuel limit `lots`"));
        assert!(bad(with(|f| f.wall_ms = "0".into())).contains("wall-clock"));
        assert!(bad(with(|f| f.memory_mib = "99999999999999999".into())).contains("memory"));
        assert!(bad(with(|f| f.args = "'open".into())).contains("unclosed"));
        assert!(bad(with(|f| f.env = "nope".into())).contains("line 1"));
    }
}
