//! Each tool as the requests of the contract it stands for, sent as the caller ([`Caller`]):
//! `list_files`, `read_file`, `search_files`, `write_file` as `vfs:*` to the caller's own tab;
//! `run_program` as a `vm.spawn` followed to its end (exit code, stdout and stderr, each kept to
//! a bound); `run_task` as `task.parse`, `task.define`, `task.run` followed to `task.done` or
//! `task.error`; `shell` as one `vm.exec` in the caller's own tab's x86 machine (its output kept
//! to the same bound). A tool's result is its reply as JSON; its failure is the error payload the bus
//! answered (or the kernel's own sentence), which the model reads. Whether a call may run is
//! decided before this module is reached.

use aether_shared::agent::WritePreview;
use aether_shared::agent::tools::{RunProgram, RunTask, Shell, ToolCall, WriteFile};
use aether_shared::stream::BusStream;
use aether_shared::task::{self, run::RunEvent};
use aether_shared::vfs::{self, Encoding};
use aether_shared::vm::{self, Kill, ModuleSource, SpawnEvent};
use aether_shared::{ErrorCode, ErrorPayload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::{Value, json};

use super::caller::{Caller, cut_off};
use super::checkpoint::{Before, Checkpoints};

/// A program the run started and has not seen end: its request id and, once acknowledged, pid.
#[derive(Debug, Default)]
pub struct RunningProgram {
    pub request_id: String,
    pub pid: Option<u64>,
}

/// Runs one call as the caller. `kept_chars` bounds a program's stdout and stderr each;
/// `program` is where a running program is noted, so a stopped run can kill it.
pub async fn execute(
    caller: &mut Caller,
    call: ToolCall,
    kept_chars: usize,
    program: &mut Option<RunningProgram>,
) -> Result<Value, ErrorPayload> {
    match call {
        ToolCall::ListFiles(a) => json_of(caller.vfs(&vfs::List::from(a)).await?),
        ToolCall::ReadFile(a) => json_of(caller.vfs(&vfs::Read::from(a)).await?),
        ToolCall::SearchFiles(a) => json_of(caller.vfs(&vfs::Search::from(a)).await?),
        ToolCall::WriteFile(a) => json_of(caller.vfs(&vfs::Write::from(a)).await?),
        ToolCall::RunProgram(a) => run_program(caller, a, kept_chars, program).await,
        ToolCall::RunTask(a) => run_task(caller, a).await,
        ToolCall::Shell(a) => shell(caller, a, kept_chars).await,
    }
}

/// The state of `path` before a write: its bytes, or that it does not exist. Read as the
/// caller, whole (a file too large for one message cannot be checkpointed, so is not written).
/// Also returns its text, when it is text, for the write's preview.
pub async fn read_before(
    caller: &Caller,
    path: &str,
) -> Result<(Before, Option<String>), ErrorPayload> {
    let read = vfs::Read {
        path: path.to_owned(),
        ..vfs::Read::default()
    };
    match caller.vfs(&read).await {
        Ok(file) => {
            let (base64, text) = match file.encoding {
                Encoding::Utf8 => (BASE64.encode(file.content.as_bytes()), Some(file.content)),
                Encoding::Base64 => (file.content, None),
            };
            Ok((Before::Bytes { base64 }, text))
        }
        Err(e) if e.code == ErrorCode::NotFound => Ok((Before::Absent, None)),
        Err(e) => Err(ErrorPayload::new(
            e.code,
            format!(
                "`{path}` cannot be checkpointed before the write, so it was not written: {}",
                e.error
            ),
        )),
    }
}

/// A `write_file` about to happen: its normalized path, the file's state before (kept for undo)
/// and what the user is shown (the text now against the text to be written).
pub struct PreparedWrite {
    pub path: String,
    pub before: Before,
    pub preview: WritePreview,
}

/// Normalizes a write's path and reads the file as it is now, as the caller: what the agent and
/// a grant's call both do before a write is approved and run.
pub async fn prepare_write(
    caller: &Caller,
    write: &WriteFile,
) -> Result<PreparedWrite, ErrorPayload> {
    let path = vfs::normalize(&write.path).map_err(|e| {
        ErrorPayload::new(
            ErrorCode::BadRequest,
            format!("`{}` is not a file path: {e}", write.path),
        )
    })?;
    let (before, text) = read_before(caller, &path).await?;
    let preview = WritePreview {
        path: path.clone(),
        before: text,
        after: write.content.clone(),
    };
    Ok(PreparedWrite {
        path,
        before,
        preview,
    })
}

/// Puts back every file of `checkpoints`, in path order: the paths put back, or the first path
/// that could not be with the tab's error (what came before it stays put back; writing a
/// before-state again changes nothing, so a retry is safe).
pub async fn restore_all(
    caller: &Caller,
    checkpoints: &Checkpoints,
) -> Result<Vec<String>, (String, ErrorPayload)> {
    let mut restored = Vec::new();
    for (path, before) in checkpoints.iter() {
        restore(caller, path, before)
            .await
            .map_err(|cause| (path.to_owned(), cause))?;
        restored.push(path.to_owned());
    }
    Ok(restored)
}

/// Puts `path` back as it was: writes its bytes (base64) or deletes it.
pub async fn restore(caller: &Caller, path: &str, before: &Before) -> Result<(), ErrorPayload> {
    match before {
        Before::Bytes { base64 } => {
            let write = vfs::Write {
                path: path.to_owned(),
                content: base64.clone(),
                encoding: Encoding::Base64,
                ..vfs::Write::default()
            };
            caller.vfs(&write).await.map(drop)
        }
        Before::Absent => {
            let delete = vfs::Delete {
                path: path.to_owned(),
                recursive: false,
            };
            match caller.vfs(&delete).await {
                Err(e) if e.code != ErrorCode::NotFound => Err(e),
                _ => Ok(()),
            }
        }
    }
}

/// `run_program`: a `vm.spawn` of the caller's, to its end.
async fn run_program(
    caller: &mut Caller,
    run: RunProgram,
    kept_chars: usize,
    program: &mut Option<RunningProgram>,
) -> Result<Value, ErrorPayload> {
    let mut spawn = vm::Spawn::from(run);
    // A path is read from the caller's own tab, named explicitly (its compute session serves no
    // files).
    if let Some(ModuleSource::Path { session, .. }) = spawn.module.as_mut() {
        *session = Some(caller.session()?);
    }
    let request_id = caller.send(&spawn)?;
    *program = Some(RunningProgram {
        request_id: request_id.clone(),
        pid: None,
    });
    let (mut stdout, mut stderr) = (Kept::new(kept_chars), Kept::new(kept_chars));
    loop {
        let env = caller.next_for(&request_id).await.ok_or_else(cut_off)?;
        match <vm::Spawn as BusStream>::decode(&env) {
            Some(SpawnEvent::Spawned(spawned)) => {
                if let Some(p) = program.as_mut() {
                    p.pid = Some(spawned.pid);
                }
            }
            Some(SpawnEvent::Stdout(out)) => stdout.push(&out.data),
            Some(SpawnEvent::Stderr(out)) => stderr.push(&out.data),
            Some(SpawnEvent::Exited(exit)) => {
                *program = None;
                return Ok(json!({
                    "code": exit.code,
                    "stdout": stdout.text,
                    "stderr": stderr.text,
                    "stdout_truncated": stdout.cut,
                    "stderr_truncated": stderr.cut,
                    "duration_ms": exit.duration_ms,
                }));
            }
            Some(SpawnEvent::Failed(error)) => {
                *program = None;
                return Err(error);
            }
            None => {}
        }
    }
}

/// Kills the run's program, if one runs, and waits for its last word (a stopped run must not
/// leave it behind). The caller bounds the wait.
pub async fn stop_program(caller: &mut Caller, program: &mut Option<RunningProgram>) {
    let Some(running) = program.take() else {
        return;
    };
    let mut pid = running.pid;
    if let Some(pid) = pid {
        caller.send_own(&Kill { pid });
    }
    while let Some(env) = caller.next_for(&running.request_id).await {
        match <vm::Spawn as BusStream>::decode(&env) {
            Some(SpawnEvent::Spawned(spawned)) if pid.is_none() => {
                pid = Some(spawned.pid);
                caller.send_own(&Kill { pid: spawned.pid });
            }
            Some(SpawnEvent::Exited(_) | SpawnEvent::Failed(_)) => return,
            _ => {}
        }
    }
}

/// `shell`: a `vm.exec` of the caller's; its output kept to `kept_chars` as well as the kernel's
/// `max_exec_output_bytes`, and the model told when and where it was cut.
async fn shell(
    caller: &mut Caller,
    shell: Shell,
    kept_chars: usize,
) -> Result<Value, ErrorPayload> {
    let done = caller.ask(&vm::Exec::from(shell)).await?;
    let mut output = Kept::new(kept_chars);
    output.push(&done.output);
    let note = if done.truncated {
        Some(format!(
            "The command wrote more than {} bytes; only the first {} are shown.",
            done.max_output_bytes, done.max_output_bytes
        ))
    } else if output.cut {
        Some(format!(
            "The output was longer than {kept_chars} characters; only the first {kept_chars} are shown."
        ))
    } else {
        None
    };
    let mut result = json!({
        "status": done.status,
        "output": output.text,
        "truncated": done.truncated || output.cut,
        "pid": done.pid,
        "duration_ms": done.duration_ms,
    });
    if let Some(note) = note {
        result["note"] = note.into();
    }
    Ok(result)
}

/// `run_task`: the definition parsed, defined and run as the caller's, to its end.
async fn run_task(caller: &mut Caller, run: RunTask) -> Result<Value, ErrorPayload> {
    let define = caller
        .ask(&task::Parse {
            text: run.definition,
        })
        .await?;
    let defined = caller.ask(&define).await?;
    let request_id = caller.send(&task::Run {
        task_id: defined.task_id,
    })?;
    loop {
        let env = caller.next_for(&request_id).await.ok_or_else(cut_off)?;
        match <task::Run as BusStream>::decode(&env) {
            Some(RunEvent::Done(done)) => return json_of(done),
            Some(RunEvent::Failed(error)) => return Err(error),
            _ => {}
        }
    }
}

/// Output kept up to a number of characters, and whether some was left out.
struct Kept {
    text: String,
    left: usize,
    cut: bool,
}

impl Kept {
    fn new(chars: usize) -> Kept {
        Kept {
            text: String::new(),
            left: chars,
            cut: false,
        }
    }

    fn push(&mut self, data: &str) {
        let taken: String = data.chars().take(self.left).collect();
        let n = taken.chars().count();
        self.left -= n;
        self.cut |= n < data.chars().count();
        self.text.push_str(&taken);
    }
}

fn json_of(value: impl Serialize) -> Result<Value, ErrorPayload> {
    serde_json::to_value(value)
        .map_err(|e| ErrorPayload::new(ErrorCode::Internal, format!("a reply as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_output_is_kept_to_its_bound_by_characters() {
        let mut kept = Kept::new(5);
        kept.push("ab");
        kept.push("cdéfg");
        kept.push("h");
        assert_eq!(kept.text, "abcdé");
        assert!(kept.cut);
        let mut whole = Kept::new(5);
        whole.push("abcde");
        assert!(!whole.cut);
    }
}
