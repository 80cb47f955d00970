//! [`Transcript`]: one agent run as the Agent window shows it, built from the run's typed events
//! (live, from `stream::<agent::Start>`) or from its `ai.agent.status` record (the history).
//!
//! Streamed text is joined into paragraphs, each tool call is a [`Call`] with its full arguments,
//! its write preview, the user's decision and its result folded in; checkpoints, errors and the
//! final summary are entries of their own. The counts for the budget meter (turns, tokens, tool
//! calls) follow the events and take the kernel's exact figures when the run ends. Pure state,
//! unit tested natively; `card` and `mod.rs` render it, `session` feeds it.

use aether_shared::ErrorPayload;
use aether_shared::agent::{
    AgentEvent, Budget, Decision, Done, Event, EventKind, RunRecord, RunState, WritePreview,
};
use serde_json::Value;

/// How the run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Sent, not acknowledged yet.
    Starting,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl Phase {
    /// The word for the DOM (`data-state`).
    pub fn word(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        }
    }

    pub fn is_over(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed | Phase::Cancelled)
    }
}

/// What a tool call returned.
#[derive(Clone, Debug, PartialEq)]
pub struct CallResult {
    pub ok: bool,
    pub result: Option<Value>,
    pub error: Option<ErrorPayload>,
}

/// One tool call, as the model asked for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub call_id: String,
    pub tool: String,
    /// The full arguments, as the tool receives them.
    pub arguments: Value,
    pub needs_approval: bool,
    pub write: Option<WritePreview>,
    /// What the user decided here (`None`: not asked, or not answered yet).
    pub decision: Option<Decision>,
    pub result: Option<CallResult>,
}

impl Call {
    /// True while the run waits for the user's decision on this call.
    pub fn awaits_decision(&self) -> bool {
        self.needs_approval && self.decision.is_none() && self.result.is_none()
    }

    /// The word for the DOM (`data-state`): `waiting`, `allowed`, `denied`, `running`, `ok` or
    /// `failed`.
    pub fn state_word(&self) -> &'static str {
        match (&self.result, self.decision) {
            (Some(r), _) if r.ok => "ok",
            (Some(_), _) => "failed",
            (None, Some(Decision::Deny)) => "denied",
            (None, Some(_)) => "allowed",
            (None, None) if self.needs_approval => "waiting",
            (None, None) => "running",
        }
    }
}

/// One entry of the transcript, in the order the run produced them.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// Assistant text (consecutive deltas joined).
    Text(String),
    Call(Call),
    /// Files about to change.
    Checkpoint(Vec<String>),
    /// Something went wrong (the run's end, or a request of this window).
    Error(ErrorPayload),
    /// The run finished with these last words.
    Summary(String),
}

/// Counts of a run so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub turns: u64,
    pub tokens: u64,
    pub tool_calls: u64,
}

/// One run as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    pub run_id: Option<String>,
    pub goal: String,
    pub phase: Phase,
    pub entries: Vec<Entry>,
    pub counts: Counts,
    /// The limits the user asked for (the kernel's own are not sent).
    pub limits: Budget,
    /// Every file the run wrote or was about to, in first-seen order.
    pub touched: Vec<String>,
    /// What `ai.agent.undo` put back, once it did.
    pub restored: Option<Vec<String>>,
    /// True for a run being streamed to this window (its calls can be decided).
    pub live: bool,
    /// The last event was a tool result (the next text or call starts a turn).
    after_result: bool,
}

impl Transcript {
    /// A run just asked for.
    pub fn starting(goal: &str, limits: Budget) -> Transcript {
        Transcript {
            run_id: None,
            goal: goal.to_owned(),
            phase: Phase::Starting,
            entries: Vec::new(),
            counts: Counts::default(),
            limits,
            touched: Vec::new(),
            restored: None,
            live: true,
            after_result: true,
        }
    }

    /// A run as the kernel recorded it (not live: its calls cannot be decided here).
    pub fn recorded(record: &RunRecord) -> Transcript {
        let summary = &record.summary;
        let mut t = Transcript::starting(&summary.goal, Budget::default());
        t.live = false;
        t.run_id = Some(summary.run_id.clone());
        t.phase = Phase::Running;
        for event in &record.transcript {
            t.step(event);
        }
        t.counts = Counts {
            turns: summary.turns,
            tokens: summary.usage.total_tokens,
            tool_calls: summary.tool_calls,
        };
        for path in &summary.changed {
            t.touch(path);
        }
        if summary.undone {
            t.restored = Some(summary.changed.clone());
        }
        t.phase = match summary.state {
            RunState::Running | RunState::WaitingForApproval => Phase::Running,
            RunState::Done => Phase::Done,
            RunState::Cancelled => Phase::Cancelled,
            RunState::Failed | RunState::Interrupted => Phase::Failed,
        };
        if let Some(error) = &record.error {
            t.entries.push(Entry::Error(error.clone()));
        }
        t
    }

    /// Applies one event of the live stream.
    pub fn apply(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::Started(started) => {
                self.run_id = Some(started.run_id);
                self.phase = Phase::Running;
            }
            AgentEvent::Step(event) => self.step(&event),
            AgentEvent::Done(done) => self.done(done),
            AgentEvent::Failed(error) => self.failed(error),
        }
    }

    fn step(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Message { delta } => {
                self.turn_starts();
                match self.entries.last_mut() {
                    Some(Entry::Text(text)) => text.push_str(delta),
                    _ => self.entries.push(Entry::Text(delta.clone())),
                }
            }
            EventKind::ToolCall {
                call_id,
                tool,
                arguments,
                needs_approval,
                write,
            } => {
                self.turn_starts();
                self.counts.tool_calls += 1;
                if let Some(write) = write {
                    self.touch(&write.path);
                }
                self.entries.push(Entry::Call(Call {
                    call_id: call_id.clone(),
                    tool: tool.clone(),
                    arguments: arguments.clone(),
                    needs_approval: *needs_approval,
                    write: write.clone(),
                    decision: None,
                    result: None,
                }));
            }
            EventKind::ToolResult {
                call_id,
                ok,
                result,
                error,
            } => {
                self.after_result = true;
                if let Some(call) = self.call_mut(call_id) {
                    call.result = Some(CallResult {
                        ok: *ok,
                        result: result.clone(),
                        error: error.clone(),
                    });
                }
            }
            EventKind::Usage { total, .. } => self.counts.tokens = *total,
            EventKind::Checkpoint { paths } => {
                for path in paths {
                    self.touch(path);
                }
                self.entries.push(Entry::Checkpoint(paths.clone()));
            }
        }
    }

    /// Text or a call after a tool result (or first) is the model's next turn.
    fn turn_starts(&mut self) {
        if self.after_result {
            self.counts.turns += 1;
            self.after_result = false;
        }
    }

    fn done(&mut self, done: Done) {
        self.phase = Phase::Done;
        self.counts = Counts {
            turns: done.turns,
            tokens: done.usage.total_tokens,
            tool_calls: done.tool_calls,
        };
        self.entries.push(Entry::Summary(done.summary));
    }

    fn failed(&mut self, error: ErrorPayload) {
        self.phase = match error.code {
            aether_shared::ErrorCode::Cancelled => Phase::Cancelled,
            _ => Phase::Failed,
        };
        self.entries.push(Entry::Error(error));
    }

    /// Notes the user's decision on `call_id` (or takes it back with `None`, when it could not
    /// be sent).
    pub fn decide(&mut self, call_id: &str, decision: Option<Decision>) {
        if let Some(call) = self.call_mut(call_id) {
            call.decision = decision;
        }
    }

    /// Shows an error of this window's own request (an approval, the undo) in the transcript.
    pub fn note_error(&mut self, error: ErrorPayload) {
        self.entries.push(Entry::Error(error));
    }

    fn call_mut(&mut self, call_id: &str) -> Option<&mut Call> {
        self.entries.iter_mut().rev().find_map(|e| match e {
            Entry::Call(call) if call.call_id == call_id => Some(call),
            _ => None,
        })
    }

    fn touch(&mut self, path: &str) {
        if !self.touched.iter().any(|p| p == path) {
            self.touched.push(path.to_owned());
        }
    }

    /// True while calls can be decided here: the run streams to this window and is not over.
    pub fn decidable(&self) -> bool {
        self.live && !self.phase.is_over()
    }

    /// True while a call waits for the user.
    pub fn awaits_decision(&self) -> bool {
        self.decidable()
            && self
                .entries
            .iter()
            .any(|e| matches!(e, Entry::Call(c) if c.awaits_decision()))
    }

    /// True when **Undo run** makes sense: the run is over, wrote something, and was not undone.
    pub fn can_undo(&self) -> bool {
        self.run_id.is_some()
            && self.phase.is_over()
            && !self.touched.is_empty()
            && self.restored.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::ErrorCode;
    use aether_shared::agent::{RunSummary, Started};
    use aether_shared::ai::Usage;
    use serde_json::json;

    fn step(seq: u64, kind: EventKind) -> AgentEvent {
        AgentEvent::Step(Event {
            run_id: "a-1".into(),
            seq,
            kind,
        })
    }

    fn text(delta: &str) -> EventKind {
        EventKind::Message {
            delta: delta.into(),
        }
    }

    fn write_call(id: &str) -> EventKind {
        EventKind::ToolCall {
            call_id: id.into(),
            tool: "write_file".into(),
            arguments: json!({"path": "/w.wat", "content": "(module)"}),
            needs_approval: true,
            write: Some(WritePreview {
                path: "/w.wat".into(),
                before: Some("(modul".into()),
                after: "(module)".into(),
            }),
        }
    }

    fn result(id: &str, ok: bool) -> EventKind {
        EventKind::ToolResult {
            call_id: id.into(),
            ok,
            result: ok.then(|| json!({"size": 8})),
            error: (!ok).then(|| ErrorPayload::new(ErrorCode::PermissionDenied, "declined")),
        }
    }

    fn live_run() -> Transcript {
        let mut t = Transcript::starting("fix it", Budget::default());
        t.apply(AgentEvent::Started(Started {
            run_id: "a-1".into(),
        }));
        t
    }

    #[test]
    fn text_joins_and_calls_fold_their_decision_and_result() {
        let mut t = live_run();
        assert_eq!(t.phase, Phase::Running);
        t.apply(step(0, text("I will ")));
        t.apply(step(1, text("fix it.")));
        t.apply(step(2, write_call("c1")));
        assert!(t.awaits_decision());
        t.decide("c1", Some(Decision::Allow));
        assert!(!t.awaits_decision());
        t.apply(step(
            3,
            EventKind::Checkpoint {
                paths: vec!["/w.wat".into()],
            },
        ));
        t.apply(step(4, result("c1", true)));
        assert_eq!(t.entries.len(), 3);
        assert_eq!(t.entries[0], Entry::Text("I will fix it.".into()));
        let Entry::Call(call) = &t.entries[1] else {
            panic!("a call card")
        };
        assert_eq!(call.state_word(), "ok");
        assert_eq!(call.arguments["content"], "(module)");
        assert_eq!(t.touched, ["/w.wat"]);
    }

    #[test]
    fn counts_follow_the_events_and_take_the_kernels_figures_at_the_end() {
        let mut t = live_run();
        t.apply(step(0, write_call("c1")));
        t.apply(step(
            1,
            EventKind::Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                total: 15,
            },
        ));
        t.apply(step(2, result("c1", false)));
        t.apply(step(3, text("Declined; ")));
        t.apply(step(4, text("done.")));
        assert_eq!(
            t.counts,
            Counts {
                turns: 2,
                tokens: 15,
                tool_calls: 1
            }
        );
        let Entry::Call(call) = &t.entries[0] else {
            panic!()
        };
        assert_eq!(call.state_word(), "failed");
        assert!(!t.can_undo(), "not over yet");
        assert!(t.decidable());
        t.apply(AgentEvent::Done(Done {
            run_id: "a-1".into(),
            summary: "done.".into(),
            usage: Usage {
                total_tokens: 40,
                ..Usage::default()
            },
            turns: 2,
            tool_calls: 1,
        }));
        assert_eq!((t.phase, t.counts.tokens), (Phase::Done, 40));
        assert_eq!(t.entries.last(), Some(&Entry::Summary("done.".into())));
        assert!(t.can_undo());
    }

    #[test]
    fn a_cancelled_run_and_a_failed_one_end_with_their_error_entry() {
        let mut t = live_run();
        t.apply(AgentEvent::Failed(ErrorPayload::new(
            ErrorCode::Cancelled,
            "Stopped.",
        )));
        assert_eq!(t.phase, Phase::Cancelled);
        assert!(!t.decidable(), "an ended run's calls are not decided any more");
        assert!(matches!(t.entries.last(), Some(Entry::Error(e)) if e.code == ErrorCode::Cancelled));
        let mut t = live_run();
        t.apply(AgentEvent::Failed(ErrorPayload::new(
            ErrorCode::ResourceExceeded,
            "Too many turns.",
        )));
        assert_eq!(t.phase.word(), "failed");
    }

    #[test]
    fn a_record_replays_its_events_and_reads_its_ending() {
        let record = RunRecord {
            summary: RunSummary {
                run_id: "a-2".into(),
                goal: "g".into(),
                state: RunState::Done,
                started: "2025-01-01T00:00:00Z".into(),
                finished: None,
                usage: Usage {
                    total_tokens: 99,
                    ..Usage::default()
                },
                turns: 3,
                tool_calls: 2,
                changed: vec!["/w.wat".into()],
                undone: true,
            },
            transcript: vec![Event {
                run_id: "a-2".into(),
                seq: 0,
                kind: write_call("c1"),
            }],
            error: None,
        };
        let t = Transcript::recorded(&record);
        assert!(!t.live && t.phase == Phase::Done);
        assert_eq!((t.counts.turns, t.counts.tokens), (3, 99));
        assert_eq!(t.restored.as_deref(), Some(&["/w.wat".to_owned()][..]));
        assert!(!t.can_undo(), "already undone");
    }

    #[test]
    fn call_states_read_as_words() {
        let mut call = Call {
            call_id: "c".into(),
            tool: "read_file".into(),
            arguments: json!({}),
            needs_approval: false,
            write: None,
            decision: None,
            result: None,
        };
        assert_eq!(call.state_word(), "running");
        call.needs_approval = true;
        assert_eq!(call.state_word(), "waiting");
        call.decision = Some(Decision::Deny);
        assert_eq!(call.state_word(), "denied");
        call.decision = Some(Decision::AllowToolForRun);
        assert_eq!(call.state_word(), "allowed");
    }
}
