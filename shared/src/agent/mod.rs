//! The `ai.agent.*` topics: an AI agent that reads, searches, writes and runs in the caller's own
//! tab, every action a request of the caller through the kernel's guardrails.
//!
//! `ai.agent.start` is acknowledged with a `run_id`; the requester then receives
//! `ai.agent.event`s (streamed text, each tool call with its **full** arguments, its result, token
//! usage, checkpoints of files about to change) and one `ai.agent.done` or one `ai.error` with
//! `details.run_id`. A call the policy marks `ask` waits for `ai.agent.approve`; a denied call goes
//! back to the model as a declined tool result and the run goes on. `ai.agent.cancel` stops the
//! model and any running tool; `ai.agent.undo` puts back every file the run wrote, byte for byte.
//! Every message of a run carries the `_request_id` of its `ai.agent.start` and is addressed to
//! the requester only.
//!
//! The tools the model may call are typed requests of the contract ([`tools`]); their JSON
//! Schemas are derived from the Rust types, so the model's tool list cannot drift from the bus.

mod event;
pub mod tools;

use serde::{Deserialize, Serialize};

pub use event::{AgentEvent, Done, Event, EventKind, RunTotals, WritePreview};

use crate::ai::Usage;

crate::contract! {
    namespace: Ai, error: ERROR = "ai.error";
    requests {
        START = "ai.agent.start": Start => Ack(Started);
        APPROVE = "ai.agent.approve": Approve => Ack(Approved);
        CANCEL = "ai.agent.cancel": Cancel => Ack(Cancelling);
        UNDO = "ai.agent.undo": Undo => Ack(Undone);
        LIST = "ai.agent.list": List => Resp(RunList);
        STATUS = "ai.agent.status": Status => Resp(RunRecord);
    }
    aliases {}
    events {
        /// One step of a run ([`Event`]).
        EVENT = "ai.agent.event";
        /// A run finished ([`Done`]).
        DONE = "ai.agent.done";
    }
}

/// What the user had in front of them when they asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Files of the tab the goal is about (the file open in the Editor first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// The text selected in the Editor, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<String>,
}

/// Limits of one run. Each may only tighten the kernel's configured one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Model requests (turns) at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u64>,
    /// Prompt plus completion tokens at most, as the provider reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Tool calls at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tool_calls: Option<u64>,
    /// Wall time of the whole run, approvals included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_timeout_ms: Option<u64>,
}

/// `ai.agent.start {goal, context?, model?, budget?, ask_before_reads?}` →
/// `ai.agent.start:ack {run_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// What the user wants done, in their words.
    pub goal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    /// Overrides the configured model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// True: a call of a read-only tool (`Tool::read_only`) that the policy would run at once
    /// waits for the user's approval like a write. It only tightens the policy: a call the
    /// policy asks about or refuses stays so, and other tools are untouched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_before_reads: bool,
}

/// The answer to [`Start`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub run_id: String,
}

/// What the user decided about a tool call that waits for approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Run this call.
    Allow,
    /// Do not run it; the model hears that the user declined.
    Deny,
    /// Run this call and every later call of the same tool in this run without asking.
    AllowToolForRun,
}

/// `ai.agent.approve {run_id, call_id, decision}` → `:ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approve {
    pub run_id: String,
    pub call_id: String,
    pub decision: Decision,
}

/// The acknowledgement of [`Approve`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approved {}

/// `ai.agent.cancel {run_id}` → `:ack`; the run then ends with `ai.error {code: cancelled}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub run_id: String,
}

/// The acknowledgement of [`Cancel`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelling {}

/// `ai.agent.undo {run_id}` → `:ack {restored}`: every file the run wrote is put back as it was
/// before the run; files it created are deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undo {
    pub run_id: String,
}

/// The answer to [`Undo`]: the paths put back or deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    pub restored: Vec<String>,
}

/// `ai.agent.list {}` → `:resp` ([`RunList`]): the caller's runs, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {}

/// How a run stands or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    /// Waiting for the user to approve a tool call.
    WaitingForApproval,
    Done,
    Failed,
    Cancelled,
    /// The kernel stopped while the run was going.
    Interrupted,
}

/// One run, without its transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub goal: String,
    pub state: RunState,
    /// RFC 3339, stamped by the kernel.
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub usage: Usage,
    pub turns: u64,
    pub tool_calls: u64,
    /// Files the run wrote (what `ai.agent.undo` would put back).
    #[serde(default)]
    pub changed: Vec<String>,
    /// Whether the run's writes were undone.
    #[serde(default)]
    pub undone: bool,
}

/// The answer to [`List`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
}

/// `ai.agent.status {run_id}` → `:resp` ([`RunRecord`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub run_id: String,
}

/// A run and its transcript (every event it sent, in order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub transcript: Vec<Event>,
    /// How the run ended, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorPayload>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BusRequest;
    use crate::catalog::{TopicKind, classify};
    use serde_json::json;

    #[test]
    fn agent_topics_are_in_the_catalog_and_err_on_ai_error() {
        for (topic, reply) in [
            (Start::topic(), Start::reply_topic()),
            (Approve::topic(), Approve::reply_topic()),
            (Cancel::topic(), Cancel::reply_topic()),
            (Undo::topic(), Undo::reply_topic()),
            (List::topic(), List::reply_topic()),
            (Status::topic(), Status::reply_topic()),
        ] {
            assert!(
                matches!(classify(&topic), Some(TopicKind::Request(_))),
                "{topic}"
            );
            assert_eq!(classify(&reply), Some(TopicKind::Reply), "{reply}");
            assert_eq!(Start::error_topic().as_str(), "ai.error");
        }
        assert_eq!(START, "ai.agent.start");
        assert_eq!(Status::REPLY_TOPIC, "ai.agent.status:resp");
        for event in [EVENT, DONE] {
            let topic = crate::Topic::parse(event).unwrap();
            assert_eq!(classify(&topic), Some(TopicKind::Event));
        }
    }

    #[test]
    fn start_and_approve_have_the_issue_shape() {
        let start: Start = serde_json::from_value(json!({
            "goal": "fix hello.wat",
            "context": {"paths": ["/welcome/hello.wat"], "selection": "(module)"},
            "budget": {"max_turns": 5, "max_tokens": 1000, "max_tool_calls": 3, "wall_timeout_ms": 60000}
        }))
        .unwrap();
        assert_eq!(start.budget.unwrap().max_turns, Some(5));
        assert!(
            serde_json::from_value::<Start>(json!({"goal": "x", "budget": {"turns": 1}})).is_err()
        );
        let approve: Approve = serde_json::from_value(
            json!({"run_id": "a", "call_id": "c", "decision": "allow_tool_for_run"}),
        )
        .unwrap();
        assert_eq!(approve.decision, Decision::AllowToolForRun);
        // A request's payload carries its `_request_id` beside the fields.
        let mut env = crate::Envelope::new(Start::topic());
        env.payload = json!({"goal": "x", "_request_id": "r-1"})
            .as_object()
            .cloned();
        assert_eq!(env.decode::<Start>().unwrap().goal, "x");
        assert!(
            serde_json::from_value::<Approve>(
                json!({"run_id": "a", "call_id": "c", "decision": "maybe"})
            )
            .is_err()
        );
    }
}
