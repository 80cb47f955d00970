//! `vm.exec`: one shell command in the requester's own tab's x86 machine, answered with its
//! exit status and its output once it ends.
//!
//! The kernel picks the machine: the `pid` the request names (one the requester's tab runs for
//! it), else the newest machine of the tab's own client that has a window (the Terminal's),
//! else the machine it started earlier for `vm.exec` in that tab, else it starts one (no window;
//! listed by `vm.list`, kept for later calls, powered off by `vm.kill` or when the tab leaves).
//! The command runs with `sh -c` on the guest's third serial port, apart from what the user
//! types on the first. A command that outlives `timeout_ms` is killed and answered with
//! `vm.error {code: timeout}` naming the limit.

use serde::{Deserialize, Serialize};

/// `vm.exec {command, timeout_ms?, pid?}` → `vm.exec:ack` ([`Executed`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    /// The command line, run as `sh -c <command>` in the guest (stdin is empty).
    pub command: String,
    /// How long the command may run, in milliseconds: the kernel's `exec_timeout_ms` when
    /// absent, never more than its `max_exec_timeout_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// A machine of the requester's own tab to run it in; the kernel picks one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
}

/// The answer to [`Exec`]: the command ended by itself within its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    /// The machine it ran in.
    pub pid: u64,
    /// `sh -c`'s exit status (128 + the signal for a command killed by one).
    pub status: i32,
    /// Its stdout and stderr together, in the order written, UTF-8 (invalid bytes replaced);
    /// the first `max_output_bytes` bytes at most.
    pub output: String,
    /// The command wrote more than `max_output_bytes`: `output` is its beginning only.
    pub truncated: bool,
    /// The most output kept, in bytes (the kernel's `max_exec_output_bytes`).
    pub max_output_bytes: u64,
    /// The time the request took in the kernel, a machine's start included, in milliseconds.
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BusRequest;
    use crate::catalog::{TopicKind, classify};
    use serde_json::json;

    #[test]
    fn exec_is_a_command_of_the_vm_namespace_answered_on_its_ack() {
        assert_eq!(Exec::TOPIC, "vm.exec");
        assert_eq!(Exec::REPLY_TOPIC, "vm.exec:ack");
        assert!(matches!(
            classify(&Exec::topic()),
            Some(TopicKind::Request(crate::ReplyKind::Ack))
        ));
        assert_eq!(Exec::error_topic().as_str(), "vm.error");
    }

    #[test]
    fn an_exec_needs_a_command_and_leaves_out_what_it_lacks() {
        let exec: Exec = serde_json::from_value(json!({"command": "uname -m"})).unwrap();
        assert_eq!((exec.timeout_ms, exec.pid), (None, None));
        let exec: Exec =
            serde_json::from_value(json!({"command": "true", "timeout_ms": 500, "pid": 3}))
                .unwrap();
        assert_eq!((exec.timeout_ms, exec.pid), (Some(500), Some(3)));
        assert!(serde_json::from_value::<Exec>(json!({"timeout_ms": 500})).is_err());
        assert!(serde_json::from_value::<Exec>(json!({"command": 7})).is_err());
        assert_eq!(
            serde_json::to_value(Exec {
                command: "true".into(),
                timeout_ms: None,
                pid: None
            })
            .unwrap(),
            json!({"command": "true"})
        );
    }
}
