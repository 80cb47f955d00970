//! The `compute:` namespace between the kernel's VM bridge and a browser tab that hosts x86
//! machines (the v86 backend), after the tab registered with `compute:register`.
//!
//! The kernel allots the pid (from the same counter as the WASM runner's, so pids never clash)
//! and drives the tab: [`Spawn`], [`Stdin`], [`Kill`], addressed to the tab's session id. The
//! tab reports back to the kernel, un-addressed: [`Output`] for serial output and one [`Exit`]
//! when the machine stops. The kernel turns these into the requester's `vm.stdout` (with `seq`)
//! and its one `vm.exit` or `vm.error`, so a v86 machine keeps the WASM runner's contract. A
//! machine the requesting window of the same tab reads directly sends no [`Output`]; its
//! [`Exit`] says how many bytes went that way.
//!
//! [`Exec`] (kernel → tab) runs one shell command in machine `pid` on the guest's third serial
//! port, answered with [`Executed`] (`timed_out` when the guest killed it at its limit): what
//! `vm.exec` becomes. Only the kernel reaches it (the router keeps it private to the tab, like
//! its file session), so no other tab, even of the same principal, types into a machine this way.

use serde::{Deserialize, Serialize};

use crate::error::ErrorPayload;
use crate::vm::Accepted;

crate::contract! {
    namespace: Compute, error: ERROR = "compute:error";
    requests {
        REGISTER = "compute:register": crate::vfs::ComputeRegister => Ack(crate::vfs::Registered);
        SPAWN = "compute:spawn": Spawn => Ack(Accepted);
        STDIN = "compute:stdin": Stdin => Ack(Accepted);
        KILL = "compute:kill": Kill => Ack(Accepted);
        OUTPUT = "compute:output": Output => Ack(Accepted);
        EXIT = "compute:exit": Exit => Ack(Accepted);
        EXEC = "compute:exec": Exec => Ack(Executed);
    }
    aliases {}
    events {}
}

/// `compute:spawn` (kernel → tab) → `:ack`: start machine `pid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spawn {
    pub pid: u64,
    /// Guest RAM, already capped by the kernel's configuration.
    pub memory_bytes: u64,
    /// How long the guest may take to reach its shell before the machine is stopped.
    pub boot_timeout_ms: u64,
    /// A saved machine state in the tab's VFS to resume instead of booting cold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

/// `compute:stdin` (kernel → tab) → `:ack`: keys for machine `pid`'s serial port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stdin {
    pub pid: u64,
    pub data: String,
}

/// `compute:kill` (kernel → tab) → `:ack`: power machine `pid` off; the tab then sends [`Exit`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub pid: u64,
}

/// `compute:output` (tab → kernel) → `:ack`: serial output of machine `pid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub pid: u64,
    pub data: String,
}

/// `compute:exit` (tab → kernel) → `:ack`: machine `pid` stopped, with an exit code (137 when it
/// was powered off) or with the error that stopped it (boot timeout, emulator failure).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exit {
    pub pid: u64,
    #[serde(default)]
    pub code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorPayload>,
    /// Serial output the tab delivered straight to a window of its own instead of as
    /// `compute:output` (the Terminal's direct line), in bytes: counted in `vm.exit`'s stats.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub direct_output_bytes: u64,
}

/// `compute:exec` (kernel → tab) → `:ack` ([`Executed`]): run `command` with `sh -c` in machine
/// `pid` (once its guest is ready) and answer when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    pub pid: u64,
    pub command: String,
    /// The guest kills the command after this long (whole seconds, rounded up) and the tab
    /// answers `timed_out`.
    pub timeout_ms: u64,
    /// Output past this many bytes is left out (and `truncated` set).
    pub max_output_bytes: u64,
}

/// The answer to [`Exec`]: the command's exit status and its stdout and stderr together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    pub status: i32,
    /// UTF-8, invalid bytes replaced; at most `max_output_bytes` bytes of the command's output.
    pub output: String,
    /// The command wrote more than `max_output_bytes`.
    pub truncated: bool,
    /// The guest killed the command at `timeout_ms` (the kernel answers `vm.exec` with
    /// `timeout` then).
    #[serde(default)]
    pub timed_out: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The exit code of a machine that was powered off (`vm.kill`, or the Terminal's power button).
pub const POWERED_OFF: i32 = 137;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BusRequest;
    use crate::catalog::{TopicKind, classify};

    #[test]
    fn compute_requests_agree_with_the_catalog() {
        for (topic, reply) in [
            (Spawn::topic(), Spawn::reply_topic()),
            (Stdin::topic(), Stdin::reply_topic()),
            (Kill::topic(), Kill::reply_topic()),
            (Output::topic(), Output::reply_topic()),
            (Exit::topic(), Exit::reply_topic()),
            (Exec::topic(), Exec::reply_topic()),
        ] {
            assert!(
                matches!(classify(&topic), Some(TopicKind::Request(_))),
                "{topic}"
            );
            assert_eq!(classify(&reply), Some(TopicKind::Reply), "{reply}");
        }
    }

    #[test]
    fn an_exit_carries_a_code_or_an_error() {
        let e: Exit = serde_json::from_value(serde_json::json!({"pid": 3, "code": 137})).unwrap();
        assert_eq!((e.pid, e.code, e.error), (3, POWERED_OFF, None));
        assert_eq!(e.direct_output_bytes, 0);
        let e: Exit = serde_json::from_value(
            serde_json::json!({"pid": 3, "code": 137, "direct_output_bytes": 90}),
        )
        .unwrap();
        assert_eq!(e.direct_output_bytes, 90);
        let e: Exit = serde_json::from_value(serde_json::json!({"pid": 3,
            "error": {"code": "timeout", "error": "Too slow."}}))
        .unwrap();
        assert_eq!(e.error.unwrap().code, crate::ErrorCode::Timeout);
    }
}
