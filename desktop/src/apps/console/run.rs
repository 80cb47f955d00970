//! The runs of one Console window: each run is a tab with its program's status and
//! [`Transcript`]; [`RunBook`] holds them, applies each run's [`SpawnEvent`]s (the bus client
//! hands every run the events of its own spawn) and knows which tab is in front.
//!
//! Pure state and rules, unit tested natively: the book never talks to the bus and never
//! renders. A run that has ended ignores anything that still arrives for it.

use aether_shared::vm::{Exit, SpawnEvent};
use aether_shared::{ErrorCode, ErrorPayload};

use super::transcript::{Stream, Transcript};
use super::units;

/// Identifies a run (a tab) within its window.
pub type RunId = u32;

/// Where a program is in its life.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Sent (or about to be); no `pid` yet.
    Starting,
    Running {
        pid: u64,
    },
    /// Ended by itself: `vm.exit`.
    Exited(Exit),
    /// Refused, stopped by a limit or a kill, or lost with the connection: `vm.error`.
    Failed(ErrorPayload),
}

/// One program run: what was asked, where it is, and what it printed.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: RunId,
    /// The tab's title: the sample, path or file name, or `wat`.
    pub label: String,
    pub status: Status,
    pub transcript: Transcript,
    /// False once the user ended stdin.
    pub stdin_open: bool,
}

impl Run {
    /// The program's pid while it runs.
    pub fn pid(&self) -> Option<u64> {
        match self.status {
            Status::Running { pid } => Some(pid),
            _ => None,
        }
    }

    /// True until the program has ended (or failed to start).
    pub fn is_live(&self) -> bool {
        matches!(self.status, Status::Starting | Status::Running { .. })
    }

    /// `data-state` of the status line: `running` (also while starting), `exited` or `error`.
    pub fn state(&self) -> &'static str {
        match self.status {
            Status::Starting | Status::Running { .. } => "running",
            Status::Exited(_) => "exited",
            Status::Failed(_) => "error",
        }
    }

    /// The status line: `running · pid 3`, `exit 0 · 12 ms · fuel 1.2 M · memory 1.1 MiB`,
    /// or `timeout (wall_timeout_ms): <the kernel's sentence>`.
    pub fn status_line(&self) -> String {
        match &self.status {
            Status::Starting => "starting…".to_owned(),
            Status::Running { pid } => format!("running · pid {pid}"),
            Status::Exited(exit) => format!(
                "exit {} · {} · fuel {} · memory {}",
                exit.code,
                units::duration_ms(exit.duration_ms),
                units::count(exit.stats.fuel_used),
                units::bytes(exit.stats.peak_memory_bytes),
            ),
            Status::Failed(error) => match limit_of(error) {
                Some(limit) => format!("{} ({limit}): {}", error.code.as_str(), error.error),
                None => format!("{}: {}", error.code.as_str(), error.error),
            },
        }
    }

    /// Applies what the kernel said about this run.
    pub fn apply(&mut self, event: SpawnEvent) {
        if !self.is_live() {
            return;
        }
        match event {
            SpawnEvent::Spawned(spawned) => {
                if self.status == Status::Starting {
                    self.status = Status::Running { pid: spawned.pid };
                }
            }
            SpawnEvent::Stdout(out) => self.transcript.push(out.seq, Stream::Stdout, out.data),
            SpawnEvent::Stderr(out) => self.transcript.push(out.seq, Stream::Stderr, out.data),
            SpawnEvent::Exited(exit) => self.end(Status::Exited(exit)),
            SpawnEvent::Failed(error) => self.end(Status::Failed(error)),
        }
    }

    /// Ends a live run with an error decided here (a sample that could not be fetched, a spawn
    /// that could not be sent).
    pub fn fail(&mut self, code: ErrorCode, sentence: impl Into<String>) {
        self.apply(SpawnEvent::Failed(ErrorPayload::new(code, sentence)));
    }

    /// Notes the user's stdin in the transcript; `eof` closes the input line.
    pub fn typed(&mut self, data: &str, eof: bool) {
        self.transcript.push_local(Stream::Stdin, data);
        if eof {
            self.stdin_open = false;
        }
    }

    fn end(&mut self, status: Status) {
        self.transcript.flush();
        self.status = status;
        self.stdin_open = false;
    }
}

/// Every run of one window, in tab order, and the one in front.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunBook {
    runs: Vec<Run>,
    active: Option<RunId>,
    issued: RunId,
}

impl RunBook {
    /// Adds a starting run as the last tab and brings it to the front.
    pub fn open(&mut self, label: String) -> RunId {
        self.issued += 1;
        let id = self.issued;
        self.runs.push(Run {
            id,
            label,
            status: Status::Starting,
            transcript: Transcript::default(),
            stdin_open: true,
        });
        self.active = Some(id);
        id
    }

    /// Applies an event of run `id`'s spawn; false when the run is gone (its tab was closed).
    pub fn apply(&mut self, id: RunId, event: SpawnEvent) -> bool {
        match self.get_mut(id) {
            Some(run) => {
                run.apply(event);
                true
            }
            None => false,
        }
    }

    /// Removes a tab (returning its run); the tab after it, else before it, comes to the front.
    pub fn close(&mut self, id: RunId) -> Option<Run> {
        let index = self.runs.iter().position(|r| r.id == id)?;
        let run = self.runs.remove(index);
        if self.active == Some(id) {
            let next = self.runs.get(index).or_else(|| self.runs.last());
            self.active = next.map(|r| r.id);
        }
        Some(run)
    }

    /// Brings tab `id` to the front.
    pub fn select(&mut self, id: RunId) {
        if self.get(id).is_some() {
            self.active = Some(id);
        }
    }

    pub fn active(&self) -> Option<RunId> {
        self.active
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    pub fn get(&self, id: RunId) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: RunId) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// The pids of the programs still running.
    pub fn running_pids(&self) -> Vec<u64> {
        self.runs.iter().filter_map(Run::pid).collect()
    }

}

/// Which limit an error names (`details.limit`), if any.
pub fn limit_of(error: &ErrorPayload) -> Option<&str> {
    error.details.as_ref()?.get("limit")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::vm::{ExitStats, Output, Spawned};

    fn spawned(pid: u64) -> SpawnEvent {
        SpawnEvent::Spawned(Spawned { pid })
    }

    fn exit(code: i32) -> SpawnEvent {
        SpawnEvent::Exited(Exit {
            pid: 7,
            code,
            duration_ms: 1_250,
            stats: ExitStats {
                fuel_used: 4_500_000,
                peak_memory_bytes: 1_572_864,
                output_bytes: 3,
                module_sha256: None,
            },
        })
    }

    fn out(seq: u64, data: &str) -> SpawnEvent {
        SpawnEvent::Stdout(Output {
            pid: 7,
            seq,
            data: data.into(),
        })
    }

    #[test]
    fn a_run_goes_from_starting_to_running_to_exited_with_a_readable_status() {
        let mut book = RunBook::default();
        let id = book.open("hello".into());
        let run = book.get(id).unwrap();
        assert_eq!(
            (run.state(), run.status_line().as_str()),
            ("running", "starting…")
        );
        assert!(book.apply(id, spawned(7)));
        assert_eq!(book.get(id).unwrap().status_line(), "running · pid 7");
        assert_eq!(book.running_pids(), [7]);
        book.apply(id, out(0, "hi\n"));
        book.apply(id, exit(0));
        let run = book.get(id).unwrap();
        assert_eq!(run.state(), "exited");
        assert_eq!(
            run.status_line(),
            "exit 0 · 1.25 s · fuel 4.5 M · memory 1.5 MiB"
        );
        assert_eq!(run.transcript.segments()[0].text, "hi\n");
        assert!(book.running_pids().is_empty());
        assert!(!run.stdin_open);
    }

    #[test]
    fn an_error_shows_its_code_limit_and_sentence_and_nothing_changes_after_the_end() {
        let mut book = RunBook::default();
        let id = book.open("spin".into());
        book.apply(id, spawned(3));
        let error = ErrorPayload::new(ErrorCode::Timeout, "It ran too long.")
            .with_detail("pid", 3)
            .with_detail("limit", "wall_timeout_ms");
        book.apply(id, SpawnEvent::Failed(error));
        book.apply(id, exit(0));
        book.apply(id, out(0, "late"));
        let run = book.get(id).unwrap();
        assert_eq!(run.state(), "error");
        assert_eq!(
            run.status_line(),
            "timeout (wall_timeout_ms): It ran too long."
        );
        assert!(run.transcript.segments().is_empty());
    }

    #[test]
    fn events_reach_only_the_run_whose_spawn_they_answer() {
        let mut book = RunBook::default();
        let a = book.open("a".into());
        let b = book.open("b".into());
        book.apply(a, spawned(1));
        book.apply(b, spawned(2));
        book.apply(b, out(0, "for b"));
        book.close(a);
        assert!(!book.apply(a, out(0, "stray")), "a closed tab hears nothing");
        assert!(book.get(a).is_none());
        assert_eq!(book.get(b).unwrap().transcript.segments()[0].text, "for b");
    }

    #[test]
    fn closing_the_front_tab_brings_its_neighbour_forward() {
        let mut book = RunBook::default();
        let a = book.open("a".into());
        let b = book.open("b".into());
        let c = book.open("c".into());
        assert_eq!(book.active(), Some(c));
        book.select(b);
        assert_eq!(book.close(b).map(|r| r.label), Some("b".to_owned()));
        assert_eq!(book.active(), Some(c));
        book.close(c);
        assert_eq!(book.active(), Some(a));
        book.close(a);
        assert_eq!(book.active(), None);
        assert!(book.close(a).is_none());
        assert_eq!(book.open("d".into()), 4, "ids are never reused");
    }

    #[test]
    fn an_error_names_its_limit_when_it_has_one() {
        let plain = ErrorPayload::new(ErrorCode::Cancelled, "Killed.");
        assert_eq!(limit_of(&plain), None);
        let limited = plain.with_detail("limit", "max_fuel");
        assert_eq!(limit_of(&limited), Some("max_fuel"));
    }

    #[test]
    fn typed_stdin_is_echoed_and_eof_closes_the_input() {
        let mut book = RunBook::default();
        let id = book.open("echo".into());
        let run = book.get_mut(id).unwrap();
        run.typed("hi\n", false);
        assert!(run.stdin_open);
        run.typed("", true);
        assert!(!run.stdin_open);
        assert_eq!(run.transcript.segments()[0].stream, Stream::Stdin);
    }
}
