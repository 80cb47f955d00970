//! The `vm.*` namespace (and its legacy alias `wasm.run`): run a program, feed it, stop it, and
//! receive its output as it happens.
//!
//! `vm.spawn` is acknowledged with a `pid` as soon as it is accepted; the program's output then
//! streams as `vm.stdout` / `vm.stderr` (`seq` counts every chunk of the program, both streams
//! together, from 0, so a client can order chunks and see gaps), and it ends with exactly one of
//! `vm.exit` or `vm.error` (with `details.pid`). All of them carry the spawn's `_request_id` and
//! are addressed to the requester only.
//!
//! `vm.exec` runs one shell command in the requester's own tab's x86 machine and answers with its
//! status and output ([`exec`]).

pub mod exec;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;
use crate::error::ErrorPayload;
use crate::request::BusRequest;
use crate::stream::BusStream;

pub use self::exec::{Exec, Executed};

crate::contract! {
    namespace: Vm, error: ERROR = "vm.error";
    requests {
        SPAWN = "vm.spawn": Spawn => Ack(Spawned);
        STDIN = "vm.stdin": Stdin => Ack(Accepted);
        KILL = "vm.kill": Kill => Ack(Accepted);
        LIST = "vm.list": ListPrograms => Resp(Programs);
        EXEC = "vm.exec": Exec => Ack(Executed);
    }
    aliases {
        /// Legacy: a [`Spawn`] with the `wasm` backend, answered on `vm.spawn:ack`.
        WASM_RUN = "wasm.run": WasmRun => Spawn;
    }
    events {
        /// Program output on stdout ([`Output`]).
        STDOUT = "vm.stdout";
        /// Program output on stderr ([`Output`]).
        STDERR = "vm.stderr";
        /// A program's normal end ([`Exit`]).
        EXIT = "vm.exit";
    }
}

/// Where a program runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// WASI preview 1 on the kernel's wasmtime.
    #[default]
    Wasm,
    /// An x86 machine in a browser tab.
    V86,
}

/// The program to run: a VFS path (read from the requester's session unless `session` names
/// another of the same principal), base64 bytes of a `.wasm`, WAT text, or the SHA-256 of a
/// module's wasm bytes that this principal has sent before (reported as `vm.exit`'s
/// `stats.module_sha256`): a warm spawn then carries 64 hex digits instead of the module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ModuleSource {
    Path {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    Base64 {
        base64: String,
    },
    Wat {
        wat: String,
    },
    /// Lowercase or uppercase hex of the SHA-256 of the module's wasm bytes (for WAT, of the
    /// wasm it compiles to). Runs only a module the kernel still holds compiled in memory and
    /// that the same principal sent as `path`, `base64` or `wat`; else `vm.error` `not_found`.
    Sha256 {
        sha256: String,
    },
}

/// Caps a request may set; each may only tighten the kernel's configured one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpawnLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fuel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
    /// `v86` only: how long the guest may take to reach its shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_timeout_ms: Option<u64>,
}

/// `vm.spawn` → `vm.spawn:ack` ([`Spawned`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spawn {
    #[serde(default)]
    pub backend: Backend,
    /// Required for `wasm`. For `v86`: absent boots the machine cold, `{path}` resumes a saved
    /// machine state from the tab's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<ModuleSource>,
    /// Arguments after the program name (`argv[1..]`).
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// All of stdin at once; when given, stdin ends after it. Without it, stdin stays open for
    /// `vm.stdin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<SpawnLimits>,
}

/// The answer to [`Spawn`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spawned {
    pub pid: u64,
}

/// Legacy `wasm.run`: a [`Spawn`] with the `wasm` backend, answered on `vm.spawn:ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WasmRun(pub Spawn);

/// `vm.stdin {pid, data, eof?}` → `vm.stdin:ack`: feeds a running program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stdin {
    pub pid: u64,
    #[serde(default)]
    pub data: String,
    /// Ends the program's stdin after `data`.
    #[serde(default)]
    pub eof: bool,
}

/// `vm.kill {pid}` → `vm.kill:ack`; the program then ends with `vm.error {code: cancelled}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub pid: u64,
}

/// The empty acknowledgement of [`Stdin`] and [`Kill`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {}

/// `vm.list` → `vm.list:resp` ([`Programs`]): the caller's running programs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPrograms {}

/// One running program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramInfo {
    pub pid: u64,
    /// What was run: the path, or `<base64>` / `<wat>`.
    pub module: String,
    pub running_ms: u64,
}

/// The answer to [`ListPrograms`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programs {
    pub programs: Vec<ProgramInfo>,
}

/// `vm.stdout` / `vm.stderr`: one chunk of output, UTF-8 (invalid bytes replaced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub pid: u64,
    pub seq: u64,
    pub data: String,
}

/// What a finished program used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStats {
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    pub output_bytes: u64,
    /// Hex SHA-256 of the wasm that ran: `module: {sha256}` runs it again without its bytes.
    /// Absent for an x86 machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_sha256: Option<String>,
}

/// `vm.exit`: the program ended by itself (returned from `_start` or called `proc_exit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    pub pid: u64,
    pub code: i32,
    pub duration_ms: u64,
    pub stats: ExitStats,
}

/// Everything a [`Spawn`] (or [`WasmRun`]) causes, in order: the `:ack`, output chunks, and one
/// `vm.exit` or `vm.error`.
#[derive(Clone, Debug, PartialEq)]
pub enum SpawnEvent {
    /// The spawn was accepted under this pid.
    Spawned(Spawned),
    /// A chunk on stdout.
    Stdout(Output),
    /// A chunk on stderr.
    Stderr(Output),
    /// The program ended by itself.
    Exited(Exit),
    /// The spawn was refused, or the program was stopped (killed, a limit, a bad module).
    Failed(ErrorPayload),
}

impl BusStream for Spawn {
    type Event = SpawnEvent;
    const TERMINAL: &'static [&'static str] = &[EXIT];

    fn decode(envelope: &Envelope) -> Option<SpawnEvent> {
        Some(match envelope.topic.as_str() {
            <Spawn as BusRequest>::REPLY_TOPIC => SpawnEvent::Spawned(envelope.decode().ok()?),
            STDOUT => SpawnEvent::Stdout(envelope.decode().ok()?),
            STDERR => SpawnEvent::Stderr(envelope.decode().ok()?),
            EXIT => SpawnEvent::Exited(envelope.decode().ok()?),
            ERROR => SpawnEvent::Failed(crate::stream::failure(envelope)?),
            _ => return None,
        })
    }

    fn is_terminal(event: &SpawnEvent) -> bool {
        matches!(event, SpawnEvent::Exited(_) | SpawnEvent::Failed(_))
    }
}

impl BusStream for WasmRun {
    type Event = SpawnEvent;
    const TERMINAL: &'static [&'static str] = <Spawn as BusStream>::TERMINAL;

    fn decode(envelope: &Envelope) -> Option<SpawnEvent> {
        <Spawn as BusStream>::decode(envelope)
    }

    fn is_terminal(event: &SpawnEvent) -> bool {
        <Spawn as BusStream>::is_terminal(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{TopicKind, classify};
    use crate::topic::Topic;
    use serde_json::json;

    #[test]
    fn vm_requests_agree_with_the_catalog_and_wasm_run_answers_on_vm() {
        for (topic, reply) in [
            (Spawn::topic(), Spawn::reply_topic()),
            (Stdin::topic(), Stdin::reply_topic()),
            (Kill::topic(), Kill::reply_topic()),
            (ListPrograms::topic(), ListPrograms::reply_topic()),
            (WasmRun::topic(), WasmRun::reply_topic()),
        ] {
            assert!(
                matches!(classify(&topic), Some(TopicKind::Request(_))),
                "{topic}"
            );
            assert_eq!(classify(&reply), Some(TopicKind::Reply), "{reply}");
        }
        assert_eq!(WasmRun::reply_topic().as_str(), "vm.spawn:ack");
        assert_eq!(WasmRun::topic().error_topic().as_str(), "vm.error");
    }

    fn envelope(topic: &str, payload: serde_json::Value) -> Envelope {
        let mut env = Envelope::new(Topic::parse(topic).unwrap());
        env.payload = payload.as_object().cloned();
        env
    }

    #[test]
    fn each_topic_of_a_spawn_decodes_to_its_event() {
        let ack = envelope("vm.spawn:ack", json!({"_request_id": "c-1", "pid": 7}));
        assert_eq!(
            Spawn::decode(&ack),
            Some(SpawnEvent::Spawned(Spawned { pid: 7 }))
        );
        let err = envelope("vm.stderr", json!({"pid": 7, "seq": 3, "data": "x"}));
        assert!(matches!(
            Spawn::decode(&err),
            Some(SpawnEvent::Stderr(Output { seq: 3, .. }))
        ));
        let exit = envelope(
            "vm.exit",
            json!({"pid": 7, "code": 0, "duration_ms": 4,
                   "stats": {"fuel_used": 1, "peak_memory_bytes": 2, "output_bytes": 3}}),
        );
        let exited = Spawn::decode(&exit).unwrap();
        assert!(matches!(exited, SpawnEvent::Exited(Exit { code: 0, .. })));
        assert!(Spawn::is_terminal(&exited) && Spawn::ends_stream(&exit));
        let failed = envelope("vm.error", json!({"code": "timeout", "error": "Too slow."}));
        let failed_event = WasmRun::decode(&failed).unwrap();
        assert!(
            matches!(&failed_event, SpawnEvent::Failed(e) if e.code == crate::ErrorCode::Timeout)
        );
        assert!(Spawn::is_terminal(&failed_event) && WasmRun::ends_stream(&failed));
    }

    #[test]
    fn topics_and_payloads_outside_a_spawn_are_not_its_events() {
        assert_eq!(
            Spawn::decode(&envelope("vm.list:resp", json!({"programs": []}))),
            None
        );
        assert_eq!(
            Spawn::decode(&envelope("vm.stdout", json!({"pid": "x"}))),
            None
        );
        assert_eq!(
            Spawn::decode(&envelope(
                "ai.error",
                json!({"code": "timeout", "error": ""})
            )),
            None
        );
        assert!(!Spawn::ends_stream(&envelope("vm.stdout", json!({}))));
    }

    #[test]
    fn spawn_accepts_each_module_source() {
        let s: Spawn = serde_json::from_value(json!({"module": {"wat": "(module)"}})).unwrap();
        assert_eq!(s.backend, Backend::Wasm);
        assert!(matches!(s.module, Some(ModuleSource::Wat { .. })));
        let s: Spawn = serde_json::from_value(json!({"backend": "wasm",
            "module": {"path": "/hello.wasm"}, "args": ["a"], "env": {"K": "V"}, "limits": {"max_fuel": 5}}))
        .unwrap();
        assert!(matches!(
            s.module,
            Some(ModuleSource::Path { session: None, .. })
        ));
        assert_eq!(s.limits.unwrap().max_fuel, Some(5));
        let s: Spawn = serde_json::from_value(json!({"module": {"base64": "AGFzbQ=="}})).unwrap();
        assert!(matches!(s.module, Some(ModuleSource::Base64 { .. })));
        let s: Spawn = serde_json::from_value(json!({"backend": "v86"})).unwrap();
        assert_eq!((s.backend, s.module), (Backend::V86, None));
        assert!(serde_json::from_value::<Spawn>(json!({"module": {"nope": 1}})).is_err());
        assert!(
            serde_json::from_value::<Spawn>(json!({"module": {"wat": ""}, "limits": {"cpu": 1}}))
                .is_err()
        );
        let legacy: WasmRun =
            serde_json::from_value(json!({"module": {"wat": "(module)"}})).unwrap();
        assert_eq!(legacy.0.backend, Backend::Wasm);
    }
}
