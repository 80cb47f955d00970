//! The agent's tools: each is a typed request of the contract, sent as the caller.
//!
//! | tool           | request        | arguments                          |
//! |----------------|----------------|------------------------------------|
//! | `list_files`   | `vfs:list`     | [`ListFiles`] `{path}`             |
//! | `read_file`    | `vfs:read`     | [`ReadFile`] `{path, offset?, length?}` |
//! | `search_files` | `vfs:search`   | [`SearchFiles`] `{query, path?}`   |
//! | `write_file`   | `vfs:write`    | [`WriteFile`] `{path, content}`    |
//! | `run_program`  | `vm.spawn`     | [`RunProgram`] `{path | wat, args?, stdin?}` |
//! | `run_task`     | `task.parse` + `task.define` + `task.run` | [`RunTask`] `{definition}` |
//! | `shell`        | `vm.exec`      | [`Shell`] `{command, timeout_ms?}` |
//!
//! With the `schema` feature (the kernel's), [`parameters`] derives each tool's JSON Schema from
//! these types, so what the model is offered is what the bus accepts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vfs;
use crate::vm::{self, ModuleSource};

/// `list_files`: the entries of a folder of the user's files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListFiles {
    /// An absolute folder path, e.g. `/` or `/welcome`.
    pub path: String,
}

/// `read_file`: a text file, whole or a byte range of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReadFile {
    /// An absolute file path.
    pub path: String,
    /// The byte to start at (for large files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// How many bytes to read at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// `search_files`: lines containing a text, in the user's files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SearchFiles {
    /// The text to find (plain text, case-sensitive).
    pub query: String,
    /// The folder to search in; `/` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `write_file`: replaces (or creates) a text file with `content`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WriteFile {
    /// An absolute file path; missing folders are created.
    pub path: String,
    /// The whole new text of the file.
    pub content: String,
}

/// `run_program`: runs a WebAssembly (WASI) program to its end and returns its output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunProgram {
    /// A `.wasm` or `.wat` file of the user's files. Give this or `wat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// WebAssembly text to run. Give this or `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wat: Option<String>,
    /// Arguments after the program name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// All of the program's standard input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

/// `run_task`: defines and runs a task graph written as YAML or JSON (as in the Tasks app).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunTask {
    /// The task definition: `name` and `nodes` (each `id`, `topic`, `payload`, `depends_on`).
    pub definition: String,
}

/// `shell`: a shell command in the x86 Linux machine of the user's tab (busybox).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Shell {
    /// The command line, run with `sh -c` (busybox); stdin is empty.
    pub command: String,
    /// How long it may run, in milliseconds (the kernel's default when absent, e.g. 30000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// A tool call with typed arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolCall {
    ListFiles(ListFiles),
    ReadFile(ReadFile),
    SearchFiles(SearchFiles),
    WriteFile(WriteFile),
    RunProgram(RunProgram),
    RunTask(RunTask),
    Shell(Shell),
}

/// A tool as the model is told about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub description: &'static str,
    /// The tool only reads the user's files: it changes nothing and runs nothing.
    pub read_only: bool,
}

/// Every tool, in the order the model is offered them.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "list_files",
        description: "List the files and folders in a folder of the user's files.",
        read_only: true,
    },
    Tool {
        name: "read_file",
        description: "Read a file of the user's files (text; base64 for binary files).",
        read_only: true,
    },
    Tool {
        name: "search_files",
        description: "Find the lines containing a text in the user's files.",
        read_only: true,
    },
    Tool {
        name: "write_file",
        description: "Replace or create a text file in the user's files with new content.",
        read_only: false,
    },
    Tool {
        name: "run_program",
        description: "Run a WebAssembly program (a .wasm or .wat file, or WAT text) to its end; returns exit code, stdout and stderr.",
        read_only: false,
    },
    Tool {
        name: "run_task",
        description: "Define and run a task graph of bus requests (YAML or JSON) and return its results.",
        read_only: false,
    },
    Tool {
        name: "shell",
        description: "Run a shell command (sh -c, busybox) in the x86 Linux machine of the user's tab (the Terminal's when it runs); returns its exit status and its output (stdout and stderr together, cut at a limit).",
        read_only: false,
    },
];

impl ToolCall {
    /// Reads a model's call: the tool's name and its JSON arguments. The error is a sentence
    /// for the model.
    pub fn parse(tool: &str, arguments: &Value) -> Result<ToolCall, String> {
        fn args<T: serde::de::DeserializeOwned>(tool: &str, v: &Value) -> Result<T, String> {
            serde_json::from_value(v.clone())
                .map_err(|e| format!("The arguments of `{tool}` do not match its schema: {e}."))
        }
        Ok(match tool {
            "list_files" => ToolCall::ListFiles(args(tool, arguments)?),
            "read_file" => ToolCall::ReadFile(args(tool, arguments)?),
            "search_files" => ToolCall::SearchFiles(args(tool, arguments)?),
            "write_file" => ToolCall::WriteFile(args(tool, arguments)?),
            "run_program" => {
                let run: RunProgram = args(tool, arguments)?;
                if run.path.is_some() == run.wat.is_some() {
                    return Err("`run_program` takes exactly one of `path` or `wat`.".into());
                }
                ToolCall::RunProgram(run)
            }
            "run_task" => ToolCall::RunTask(args(tool, arguments)?),
            "shell" => {
                let shell: Shell = args(tool, arguments)?;
                if shell.command.trim().is_empty() {
                    return Err("`shell` needs a `command` to run.".into());
                }
                if shell.timeout_ms == Some(0) {
                    return Err("`timeout_ms` of `shell` must be more than 0.".into());
                }
                ToolCall::Shell(shell)
            }
            other => {
                let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
                return Err(format!(
                    "There is no tool `{other}`; the tools are {}.",
                    names.join(", ")
                ));
            }
        })
    }

    /// The tool's name.
    pub fn name(&self) -> &'static str {
        match self {
            ToolCall::ListFiles(_) => "list_files",
            ToolCall::ReadFile(_) => "read_file",
            ToolCall::SearchFiles(_) => "search_files",
            ToolCall::WriteFile(_) => "write_file",
            ToolCall::RunProgram(_) => "run_program",
            ToolCall::RunTask(_) => "run_task",
            ToolCall::Shell(_) => "shell",
        }
    }
}

impl From<ListFiles> for vfs::List {
    fn from(a: ListFiles) -> vfs::List {
        vfs::List { path: a.path }
    }
}

impl From<ReadFile> for vfs::Read {
    fn from(a: ReadFile) -> vfs::Read {
        vfs::Read {
            path: a.path,
            offset: a.offset,
            length: a.length,
            ..vfs::Read::default()
        }
    }
}

impl From<SearchFiles> for vfs::Search {
    fn from(a: SearchFiles) -> vfs::Search {
        vfs::Search {
            query: a.query,
            path: a.path,
            ..vfs::Search::default()
        }
    }
}

impl From<WriteFile> for vfs::Write {
    fn from(a: WriteFile) -> vfs::Write {
        vfs::Write {
            path: a.path,
            content: a.content,
            ..vfs::Write::default()
        }
    }
}

impl From<RunProgram> for vm::Spawn {
    /// A program read from `session` (the caller's tab) when it names a path.
    fn from(a: RunProgram) -> vm::Spawn {
        let module = match (a.path, a.wat) {
            (Some(path), _) => ModuleSource::Path {
                path,
                session: None,
            },
            (None, wat) => ModuleSource::Wat {
                wat: wat.unwrap_or_default(),
            },
        };
        vm::Spawn {
            backend: vm::Backend::Wasm,
            module: Some(module),
            args: a.args,
            env: Default::default(),
            stdin: Some(a.stdin.unwrap_or_default()),
            limits: None,
        }
    }
}

impl From<Shell> for vm::Exec {
    /// Runs in the machine the kernel picks for the caller's tab.
    fn from(a: Shell) -> vm::Exec {
        vm::Exec {
            command: a.command,
            timeout_ms: a.timeout_ms,
            pid: None,
        }
    }
}

/// The JSON Schema of a tool's arguments (an object schema with its subschemas inlined, as
/// OpenAI-compatible servers expect), or `None` for an unknown tool.
#[cfg(feature = "schema")]
pub fn parameters(tool: &str) -> Option<Value> {
    use schemars::generate::SchemaSettings;
    fn of<T: schemars::JsonSchema>() -> Value {
        let generator = SchemaSettings::draft07()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        let mut schema = generator.into_root_schema_for::<T>().to_value();
        if let Some(map) = schema.as_object_mut() {
            map.remove("$schema");
            map.remove("title");
        }
        schema
    }
    Some(match tool {
        "list_files" => of::<ListFiles>(),
        "read_file" => of::<ReadFile>(),
        "search_files" => of::<SearchFiles>(),
        "write_file" => of::<WriteFile>(),
        "run_program" => of::<RunProgram>(),
        "run_task" => of::<RunTask>(),
        "shell" => of::<Shell>(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_parse_from_the_models_json_and_refuse_with_a_sentence() {
        let call = ToolCall::parse("read_file", &json!({"path": "/a.wat"})).unwrap();
        assert_eq!(call.name(), "read_file");
        let err = ToolCall::parse("read_file", &json!({"file": "/a"})).unwrap_err();
        assert!(err.contains("do not match its schema"), "{err}");
        let err = ToolCall::parse("rm_rf", &json!({})).unwrap_err();
        assert!(
            err.contains("There is no tool `rm_rf`") && err.contains("write_file"),
            "{err}"
        );
        let both = json!({"path": "/a.wat", "wat": "(module)"});
        assert!(ToolCall::parse("run_program", &both).is_err());
        assert!(ToolCall::parse("run_program", &json!({})).is_err());
        for tool in TOOLS {
            assert_eq!(
                ToolCall::parse(tool.name, &json!({}))
                    .map(|c| c.name())
                    .unwrap_or(tool.name),
                tool.name
            );
        }
    }

    #[test]
    fn shell_takes_a_command_and_an_optional_timeout_and_becomes_a_vm_exec() {
        let call = ToolCall::parse(
            "shell",
            &json!({"command": "echo $((6*7)); uname -m", "timeout_ms": 5000}),
        )
        .unwrap();
        let ToolCall::Shell(shell) = call else {
            panic!("not a shell call: {call:?}");
        };
        let exec = vm::Exec::from(shell);
        assert_eq!(exec.command, "echo $((6*7)); uname -m");
        assert_eq!((exec.timeout_ms, exec.pid), (Some(5000), None));
        let plain = ToolCall::parse("shell", &json!({"command": "ls"})).unwrap();
        assert!(matches!(
            plain,
            ToolCall::Shell(Shell {
                timeout_ms: None,
                ..
            })
        ));
        for bad in [
            json!({}),
            json!({"command": "  "}),
            json!({"command": "ls", "timeout_ms": 0}),
            json!({"command": "ls", "timeout_ms": -1}),
            json!({"command": "ls", "pid": 3}),
        ] {
            let err = ToolCall::parse("shell", &bad).unwrap_err();
            assert!(err.contains("shell"), "{bad}: {err}");
        }
    }

    #[test]
    fn only_the_tools_that_read_files_are_read_only() {
        let read_only: Vec<&str> = TOOLS
            .iter()
            .filter(|t| t.read_only)
            .map(|t| t.name)
            .collect();
        assert_eq!(read_only, ["list_files", "read_file", "search_files"]);
    }

    #[test]
    fn tools_become_their_contract_requests() {
        let write: vfs::Write = WriteFile {
            path: "/a.txt".into(),
            content: "x".into(),
        }
        .into();
        assert!(write.last && write.upload.is_none() && write.offset == 0);
        let spawn: vm::Spawn = RunProgram {
            path: Some("/hello.wat".into()),
            wat: None,
            args: vec!["a".into()],
            stdin: None,
        }
        .into();
        assert!(matches!(spawn.module, Some(ModuleSource::Path { .. })));
        assert_eq!(
            spawn.stdin.as_deref(),
            Some(""),
            "stdin is closed: the program runs to its end"
        );
    }

    #[cfg(feature = "schema")]
    #[test]
    fn schemas_are_plain_object_schemas_from_the_types() {
        for tool in TOOLS {
            let schema = parameters(tool.name).unwrap();
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert!(schema.get("$schema").is_none() && schema.get("$ref").is_none());
        }
        let read = parameters("read_file").unwrap();
        assert_eq!(read["required"], json!(["path"]));
        assert!(read["properties"]["offset"].is_object());
        assert_eq!(read["additionalProperties"], json!(false));
        assert!(parameters("nope").is_none());
    }
}
