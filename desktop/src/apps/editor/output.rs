//! The output panel's state: one run of the file in front (`vm.spawn`), its stdout and stderr
//! in arrival order, and how it ended; plus where a compile error points in the source.
//! Pure and unit tested; `runner` feeds it from the bus.

use aether_shared::ErrorPayload;
use aether_shared::vm::Exit;

/// How far a run got.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    Running,
    Exited(Exit),
    Failed(ErrorPayload),
}

/// One run and what it printed.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// The file that ran.
    pub path: String,
    pub state: RunState,
    /// stdout and stderr interleaved as they came: `(is_stderr, text)`.
    pub chunks: Vec<(bool, String)>,
}

impl RunOutput {
    pub fn new(path: String) -> RunOutput {
        RunOutput {
            path,
            state: RunState::Running,
            chunks: Vec::new(),
        }
    }

    /// Everything the program wrote to stderr, plus the kernel's error if the run failed:
    /// what "Fix this" sends.
    pub fn stderr(&self) -> String {
        let mut text: String = self
            .chunks
            .iter()
            .filter(|(err, _)| *err)
            .map(|(_, t)| t.as_str())
            .collect();
        if let RunState::Failed(error) = &self.state {
            text.push_str(&error.error);
        }
        text
    }

    /// `data-state` of the panel: `running`, `exited` or `error`.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            RunState::Running => "running",
            RunState::Exited(_) => "exited",
            RunState::Failed(_) => "error",
        }
    }

    /// The status line under the output.
    pub fn status(&self) -> String {
        match &self.state {
            RunState::Running => "running…".to_owned(),
            RunState::Exited(exit) => format!("exit {} · {} ms", exit.code, exit.duration_ms),
            RunState::Failed(error) => format!("{}: {}", error.code, error.error),
        }
    }
}

/// The 1-based line and column a WAT compiler message points at (`--> <anon>:3:5`), if any.
pub fn error_position(message: &str) -> Option<(u32, u32)> {
    let (_, after) = message.split_once("-->")?;
    let location = after.split_whitespace().next()?;
    let mut parts = location.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::ErrorCode;

    #[test]
    fn compiler_messages_point_at_their_line_and_column() {
        let message = "The module is neither valid WebAssembly nor valid WAT: unknown operator or unexpected token\n     --> <anon>:3:6\n      |\n    3 |     i32.bogus\n      |      ^";
        assert_eq!(error_position(message), Some((3, 6)));
        assert_eq!(error_position("type mismatch (at offset 0x1d)"), None);
    }

    #[test]
    fn stderr_includes_the_kernels_error() {
        let mut run = RunOutput::new("/a.wat".into());
        run.chunks.push((false, "out".into()));
        run.chunks.push((true, "oops\n".into()));
        run.state = RunState::Failed(ErrorPayload::new(ErrorCode::BadRequest, "bad"));
        assert_eq!(run.stderr(), "oops\nbad");
        assert_eq!(run.state_name(), "error");
    }
}
