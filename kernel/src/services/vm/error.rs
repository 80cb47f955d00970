//! Why a `vm.*` request was refused or a program ended without `vm.exit`, WASM or x86, and the
//! one place that gives each reason its SPEC §4 code, its sentence and its details (`limit` and
//! `value` for a cap, `pid` for a program). Why a module could not be had is the
//! [`SourceError`] of [`super::source`]; an error the tab hosting a machine answered is passed
//! on as it came ([`VmError::Relayed`]).

use aether_shared::{ErrorCode, ErrorPayload, vm};

use super::bridge::MIN_MEMORY_BYTES;
use super::source::SourceError;
use super::watch::Stop;
use crate::bus::RequestError;
use crate::services::request::ServiceError;

/// A refused `vm.*` request, or why a program ended with `vm.error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VmError {
    #[error("The WASM runner failed to start (see the kernel log); restart the kernel.")]
    Unavailable,
    #[error(
        "`module` is missing: give the program as {{path}}, {{base64}}, {{wat}} or {{sha256}}."
    )]
    MissingModule,
    #[error(
        "The kernel holds no module with sha256 {0} sent by you (it was never sent, or it left the cache); send its bytes once as {{path}}, {{base64}} or {{wat}}."
    )]
    UnknownModule(String),
    /// The spawn's `module` breaks the contract (the sentence of `serve`'s own refusal).
    #[error("{0}; fix the payload and resend.")]
    BadModule(String),
    #[error(
        "The spawn's `stdin` is {len} bytes but at most {max} may wait for a program to read them (max_pending_stdin_bytes); send it in parts with `{}` as the program reads, or raise the limit.",
        vm::STDIN
    )]
    SpawnStdinTooLarge { len: usize, max: usize },
    /// A concurrency cap: `limit` is `max_concurrent_per_client` or `max_concurrent_total`.
    #[error("Too many programs running ({limit} is {value}); wait for one to end or kill one.")]
    TooManyPrograms { limit: &'static str, value: u32 },
    #[error("You have no running program {pid}; see `{}`.", vm::LIST)]
    NoSuchProgram { pid: u64 },
    #[error("Program {pid}'s stdin has already ended; spawn it again to give it more input.")]
    StdinEnded { pid: u64 },
    #[error(
        "Program {pid} has not read {pending} bytes of its stdin yet and at most {max} may wait (max_pending_stdin_bytes); send less at a time, or wait until it reads."
    )]
    StdinFull {
        pid: u64,
        pending: usize,
        max: usize,
    },

    /// The module could not be had (read, decoded, parsed).
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("The compiler crashed: {0}")]
    CompilerCrashed(String),
    #[error("The module does not compile: {0}")]
    DoesNotCompile(String),
    /// The module cannot run here (no `_start`, an import WASI does not provide, …).
    #[error("{0}")]
    Unrunnable(String),
    #[error("The program's thread crashed: {0}")]
    ThreadCrashed(String),
    /// A program used up a resource: `what` in words, `limit` its name, `value` the cap.
    #[error(
        "The program used all the {what} it was allowed ({limit} = {value}); raise the limit or make it do less."
    )]
    Exhausted {
        what: &'static str,
        limit: &'static str,
        value: u64,
    },
    #[error("Program {pid} was killed.")]
    Killed { pid: u64 },
    #[error("Program {pid} was stopped: its requester left.")]
    Abandoned { pid: u64 },
    #[error(
        "Program {pid} ran longer than {limit_ms} ms and was stopped; raise wall_timeout_ms or make it faster."
    )]
    WallTimeout { pid: u64, limit_ms: u64 },
    #[error(
        "Program {pid} wrote nothing and read nothing for {limit_ms} ms and was stopped; send it input or raise idle_timeout_ms."
    )]
    IdleTimeout { pid: u64, limit_ms: u64 },

    #[error(
        "No x86 machine host in this tab: open the Aether desktop (the Terminal app) in your browser and spawn from there."
    )]
    NoMachineHost,
    #[error(
        "An x86 machine needs at least {MIN_MEMORY_BYTES} bytes of memory; raise limits.max_memory_bytes."
    )]
    MachineTooSmall,
    #[error(
        "An x86 machine boots without a module, or resumes a saved state from your own files with `module: {{path}}`."
    )]
    MachineModule,
    #[error(
        "You already run {running} x86 machines (max_machines_per_client is {cap}); power one off first."
    )]
    TooManyMachines { running: usize, cap: u32 },
    #[error(
        "Machine {pid} has not yet taken {pending} bytes of keys and at most {max} may wait (max_pending_stdin_bytes); send less at a time, or wait for the earlier keys' acknowledgements."
    )]
    KeysFull {
        pid: u64,
        pending: usize,
        max: usize,
    },
    #[error("Machine {pid} was killed.")]
    MachineKilled { pid: u64 },
    #[error("Machine {pid} stopped: the tab running it left.")]
    HostLeft { pid: u64 },
    #[error("This tab hosts no running machine {pid}; it may have been stopped.")]
    NotHosted { pid: u64 },
    /// The tab hosting a machine did not answer `what` (start, type into, …) in time, or left.
    #[error(
        "The tab hosting the x86 machine did not {what} ({reason}); reload the desktop and try again."
    )]
    TabUnreachable { what: &'static str, reason: String },

    #[error(
        "The command ran longer than its limit of {limit_ms} ms (timeout_ms) and was killed; ask for a longer timeout_ms (at most max_exec_timeout_ms) or make it do less."
    )]
    ExecTimeout { pid: u64, limit_ms: u64 },
    #[error("`timeout_ms` must be more than 0; leave it out for the kernel's default.")]
    ExecTimeoutZero,
    #[error("Machine {pid} stopped before the command could run; run it again.")]
    MachineGone { pid: u64 },

    /// An error the tab hosting a machine answered, passed on with its code, sentence and
    /// details.
    #[error("{}", .0.error)]
    Relayed(ErrorPayload),
}

impl VmError {
    /// Why program `pid` was stopped, as its `vm.error`.
    pub fn stopped(pid: u64, reason: Stop) -> VmError {
        match reason {
            Stop::Killed => VmError::Killed { pid },
            Stop::Abandoned => VmError::Abandoned { pid },
            Stop::WallTimeout { limit_ms } => VmError::WallTimeout { pid, limit_ms },
            Stop::IdleTimeout { limit_ms } => VmError::IdleTimeout { pid, limit_ms },
            Stop::Memory { limit_bytes } => VmError::Exhausted {
                what: "memory",
                limit: "max_memory_bytes",
                value: limit_bytes,
            },
            Stop::Output { limit_bytes } => VmError::Exhausted {
                what: "output",
                limit: "max_output_bytes",
                value: limit_bytes,
            },
        }
    }

    /// The `vm.error` payload of program `pid`: this error with `details.pid`.
    pub fn of_program(&self, pid: u64) -> ErrorPayload {
        self.to_payload().with_detail("pid", pid)
    }

    /// The tab hosting a machine failed to `what`: its own error as it sent it, or why it did
    /// not answer.
    pub fn tab_failed(error: RequestError, what: &'static str) -> VmError {
        match error {
            RequestError::Remote(payload) => VmError::Relayed(payload),
            other => VmError::TabUnreachable {
                what,
                reason: other.to_string(),
            },
        }
    }
}

impl ServiceError for VmError {
    fn code(&self) -> ErrorCode {
        use VmError::*;
        match self {
            Unavailable | NoMachineHost | TabUnreachable { .. } => ErrorCode::BackendUnavailable,
            MissingModule | BadModule(_) | DoesNotCompile(_) | Unrunnable(_) | MachineTooSmall
            | MachineModule | ExecTimeoutZero => ErrorCode::BadRequest,
            SpawnStdinTooLarge { .. }
            | TooManyPrograms { .. }
            | StdinFull { .. }
            | Exhausted { .. }
            | TooManyMachines { .. }
            | KeysFull { .. } => ErrorCode::ResourceExceeded,
            NoSuchProgram { .. } | NotHosted { .. } | UnknownModule(_) => ErrorCode::NotFound,
            StdinEnded { .. } => ErrorCode::Conflict,
            CompilerCrashed(_) | ThreadCrashed(_) => ErrorCode::Internal,
            Killed { .. }
            | Abandoned { .. }
            | MachineKilled { .. }
            | HostLeft { .. }
            | MachineGone { .. } => ErrorCode::Cancelled,
            WallTimeout { .. } | IdleTimeout { .. } | ExecTimeout { .. } => ErrorCode::Timeout,
            Source(error) => error.code(),
            Relayed(payload) => payload.code,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        use VmError::*;
        let stdin_bound = |error: ErrorPayload, max: usize| {
            error
                .with_detail("limit", "max_pending_stdin_bytes")
                .with_detail("value", max)
        };
        match self {
            SpawnStdinTooLarge { max, .. } => stdin_bound(error, *max),
            StdinFull { pid, max, .. } | KeysFull { pid, max, .. } => {
                stdin_bound(error, *max).with_detail("pid", *pid)
            }
            TooManyPrograms { limit, value } => error
                .with_detail("limit", *limit)
                .with_detail("value", *value),
            Exhausted { limit, value, .. } => error
                .with_detail("limit", *limit)
                .with_detail("value", *value),
            WallTimeout { limit_ms, .. } => error
                .with_detail("limit", "wall_timeout_ms")
                .with_detail("value", *limit_ms),
            IdleTimeout { limit_ms, .. } => error
                .with_detail("limit", "idle_timeout_ms")
                .with_detail("value", *limit_ms),
            ExecTimeout { limit_ms, .. } => error
                .with_detail("limit", "timeout_ms")
                .with_detail("value", *limit_ms),
            MachineTooSmall => error.with_detail("limit", "max_memory_bytes"),
            TooManyMachines { cap, .. } => error
                .with_detail("limit", "max_machines_per_client")
                .with_detail("value", *cap),
            NoSuchProgram { pid } | StdinEnded { pid } | NotHosted { pid } => {
                error.with_detail("pid", *pid)
            }
            Source(source) => source.details(error),
            Relayed(payload) => ErrorPayload {
                details: payload.details.clone(),
                ..error
            },
            _ => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(error: &ErrorPayload, key: &str) -> serde_json::Value {
        error.details.as_ref().expect("details")[key].clone()
    }

    #[test]
    fn caps_name_their_limit_and_value() {
        let cases = [
            (
                VmError::SpawnStdinTooLarge { len: 9, max: 8 },
                "max_pending_stdin_bytes",
                8,
            ),
            (
                VmError::TooManyPrograms {
                    limit: "max_concurrent_total",
                    value: 4,
                },
                "max_concurrent_total",
                4,
            ),
            (
                VmError::Exhausted {
                    what: "CPU (fuel)",
                    limit: "max_fuel",
                    value: 10,
                },
                "max_fuel",
                10,
            ),
            (
                VmError::stopped(3, Stop::WallTimeout { limit_ms: 50 }),
                "wall_timeout_ms",
                50,
            ),
            (
                VmError::stopped(3, Stop::IdleTimeout { limit_ms: 60 }),
                "idle_timeout_ms",
                60,
            ),
            (
                VmError::stopped(3, Stop::Memory { limit_bytes: 64 }),
                "max_memory_bytes",
                64,
            ),
            (
                VmError::stopped(3, Stop::Output { limit_bytes: 32 }),
                "max_output_bytes",
                32,
            ),
            (
                VmError::TooManyMachines { running: 2, cap: 2 },
                "max_machines_per_client",
                2,
            ),
            (
                VmError::ExecTimeout {
                    pid: 3,
                    limit_ms: 2000,
                },
                "timeout_ms",
                2000,
            ),
        ];
        for (error, limit, value) in cases {
            let payload = error.to_payload();
            assert!(
                matches!(
                    payload.code,
                    ErrorCode::ResourceExceeded | ErrorCode::Timeout
                ),
                "{error:?}"
            );
            assert_eq!(payload.error, error.to_string());
            assert_eq!(detail(&payload, "limit"), limit, "{error:?}");
            assert_eq!(detail(&payload, "value"), value, "{error:?}");
        }
    }

    #[test]
    fn stdin_refusals_keep_the_pid_and_the_bound() {
        for error in [
            VmError::StdinFull {
                pid: 7,
                pending: 5,
                max: 8,
            },
            VmError::KeysFull {
                pid: 7,
                pending: 5,
                max: 8,
            },
        ] {
            let payload = error.to_payload();
            assert_eq!(payload.code, ErrorCode::ResourceExceeded);
            assert!(payload.error.contains("(max_pending_stdin_bytes)"));
            assert_eq!(detail(&payload, "pid"), 7);
            assert_eq!(detail(&payload, "limit"), "max_pending_stdin_bytes");
            assert_eq!(detail(&payload, "value"), 8);
        }
        let ended = VmError::StdinEnded { pid: 2 }.to_payload();
        assert_eq!(ended.code, ErrorCode::Conflict);
        assert_eq!(
            ended.error,
            "Program 2's stdin has already ended; spawn it again to give it more input."
        );
        assert_eq!(detail(&ended, "pid"), 2);
    }

    #[test]
    fn every_stop_has_its_code_and_sentence() {
        let killed = VmError::stopped(4, Stop::Killed).to_payload();
        assert_eq!(killed.code, ErrorCode::Cancelled);
        assert_eq!(killed.error, "Program 4 was killed.");
        let left = VmError::stopped(4, Stop::Abandoned).to_payload();
        assert_eq!(left.code, ErrorCode::Cancelled);
        assert_eq!(left.error, "Program 4 was stopped: its requester left.");
        let wall = VmError::stopped(4, Stop::WallTimeout { limit_ms: 9 }).to_payload();
        assert_eq!(wall.code, ErrorCode::Timeout);
        assert!(wall.error.starts_with("Program 4 ran longer than 9 ms"));
        let fuel = VmError::Exhausted {
            what: "CPU (fuel)",
            limit: "max_fuel",
            value: 10,
        }
        .to_payload();
        assert_eq!(
            fuel.error,
            "The program used all the CPU (fuel) it was allowed (max_fuel = 10); raise the limit or make it do less."
        );
    }

    #[test]
    fn requests_the_runner_cannot_take_say_what_to_send_instead() {
        let cases = [
            (VmError::Unavailable, ErrorCode::BackendUnavailable),
            (VmError::MissingModule, ErrorCode::BadRequest),
            (VmError::NoSuchProgram { pid: 1 }, ErrorCode::NotFound),
            (VmError::NoMachineHost, ErrorCode::BackendUnavailable),
            (VmError::MachineTooSmall, ErrorCode::BadRequest),
            (VmError::MachineModule, ErrorCode::BadRequest),
            (VmError::NotHosted { pid: 1 }, ErrorCode::NotFound),
            (VmError::MachineKilled { pid: 1 }, ErrorCode::Cancelled),
            (VmError::HostLeft { pid: 1 }, ErrorCode::Cancelled),
            (VmError::DoesNotCompile("x".into()), ErrorCode::BadRequest),
            (VmError::CompilerCrashed("x".into()), ErrorCode::Internal),
            (VmError::ThreadCrashed("x".into()), ErrorCode::Internal),
            (
                VmError::Unrunnable("no _start".into()),
                ErrorCode::BadRequest,
            ),
        ];
        for (error, code) in cases {
            let payload = error.to_payload();
            assert_eq!(payload.code, code, "{error:?}");
            assert_eq!(payload.error, error.to_string());
        }
        assert_eq!(
            VmError::NoSuchProgram { pid: 3 }.to_string(),
            "You have no running program 3; see `vm.list`."
        );
        assert!(
            VmError::SpawnStdinTooLarge { len: 9, max: 8 }
                .to_string()
                .contains("send it in parts with `vm.stdin` as the program reads")
        );
        assert_eq!(
            VmError::MissingModule.to_string(),
            "`module` is missing: give the program as {path}, {base64}, {wat} or {sha256}."
        );
        assert_eq!(
            detail(&VmError::MachineTooSmall.to_payload(), "limit"),
            "max_memory_bytes"
        );
        assert_eq!(
            detail(&VmError::NotHosted { pid: 5 }.to_payload(), "pid"),
            5
        );
    }

    #[test]
    fn a_relayed_error_passes_on_as_it_came() {
        let theirs = ErrorPayload::new(ErrorCode::PermissionDenied, "Not your session.")
            .with_detail("session", "s-1");
        let payload = VmError::Relayed(theirs.clone()).to_payload();
        assert_eq!(payload, theirs);
        let late = VmError::tab_failed(RequestError::Remote(theirs.clone()), "start the machine");
        assert_eq!(late, VmError::Relayed(theirs));
    }
}
