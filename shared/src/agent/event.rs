//! What a run tells its requester: `ai.agent.event` steps, the one `ai.agent.done`, and the typed
//! stream ([`AgentEvent`]) that reads them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DONE, ERROR, EVENT, Start, Started};
use crate::ai::Usage;
use crate::envelope::Envelope;
use crate::error::ErrorPayload;
use crate::request::BusRequest;
use crate::stream::BusStream;

/// A file write shown before it happens: the desktop renders `before` → `after` as a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritePreview {
    pub path: String,
    /// The file's text now; `None` when the file does not exist yet (or is not text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The text the call would write.
    pub after: String,
}

/// One step of a run, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// Streamed assistant text.
    Message { delta: String },
    /// The model asked for a tool: the **full** arguments, as the tool will receive them.
    ToolCall {
        call_id: String,
        tool: String,
        arguments: Value,
        /// True when the run waits for `ai.agent.approve` before running it.
        needs_approval: bool,
        /// For a file write: the path, the text now and the text it would write.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        write: Option<WritePreview>,
    },
    /// What a tool call returned (or why it was not run).
    ToolResult {
        call_id: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorPayload>,
    },
    /// Tokens used so far by the run.
    Usage {
        prompt_tokens: u64,
        completion_tokens: u64,
        total: u64,
    },
    /// Files about to change: their current bytes are kept for `ai.agent.undo`.
    Checkpoint { paths: Vec<String> },
}

/// `ai.agent.event {run_id, seq, kind, …}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub run_id: String,
    /// Counts the events of one run from 0.
    pub seq: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Counts of a finished run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTotals {
    pub turns: u64,
    pub tool_calls: u64,
}

/// `ai.agent.done {run_id, summary, usage, turns, tool_calls}`: the model finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub run_id: String,
    /// The model's last words.
    pub summary: String,
    pub usage: Usage,
    pub turns: u64,
    pub tool_calls: u64,
}

/// Everything an `ai.agent.start` causes, in order: the `:ack`, events, and one `ai.agent.done`
/// or `ai.error`.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentEvent {
    Started(Started),
    Step(Event),
    Done(Done),
    Failed(ErrorPayload),
}

impl BusStream for Start {
    type Event = AgentEvent;
    const TERMINAL: &'static [&'static str] = &[DONE];

    fn decode(envelope: &Envelope) -> Option<AgentEvent> {
        Some(match envelope.topic.as_str() {
            <Start as BusRequest>::REPLY_TOPIC => AgentEvent::Started(envelope.decode().ok()?),
            EVENT => AgentEvent::Step(envelope.decode().ok()?),
            DONE => AgentEvent::Done(envelope.decode().ok()?),
            ERROR => AgentEvent::Failed(crate::stream::failure(envelope)?),
            _ => return None,
        })
    }

    fn is_terminal(event: &AgentEvent) -> bool {
        matches!(event, AgentEvent::Done(_) | AgentEvent::Failed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Topic;
    use serde_json::json;

    fn envelope(topic: &str, payload: Value) -> Envelope {
        let mut env = Envelope::new(Topic::parse(topic).unwrap());
        env.payload = payload.as_object().cloned();
        env
    }

    #[test]
    fn events_are_flat_objects_tagged_by_kind() {
        let call = Event {
            run_id: "a-1".into(),
            seq: 3,
            kind: EventKind::ToolCall {
                call_id: "call-1".into(),
                tool: "write_file".into(),
                arguments: json!({"path": "/a.txt", "content": "new"}),
                needs_approval: true,
                write: Some(WritePreview {
                    path: "/a.txt".into(),
                    before: Some("old".into()),
                    after: "new".into(),
                }),
            },
        };
        let value = serde_json::to_value(&call).unwrap();
        assert_eq!(
            value,
            json!({"run_id": "a-1", "seq": 3, "kind": "tool_call", "call_id": "call-1",
                   "tool": "write_file", "arguments": {"path": "/a.txt", "content": "new"},
                   "needs_approval": true,
                   "write": {"path": "/a.txt", "before": "old", "after": "new"}})
        );
        assert_eq!(serde_json::from_value::<Event>(value).unwrap(), call);
        let usage = json!({"run_id": "a", "seq": 0, "kind": "usage",
                           "prompt_tokens": 1, "completion_tokens": 2, "total": 3});
        assert!(matches!(
            serde_json::from_value::<Event>(usage).unwrap().kind,
            EventKind::Usage { total: 3, .. }
        ));
    }

    #[test]
    fn a_run_stream_decodes_each_topic() {
        let step = envelope(
            "ai.agent.event",
            json!({"_request_id": "r", "run_id": "a", "seq": 0, "kind": "message", "delta": "hi"}),
        );
        assert!(matches!(Start::decode(&step), Some(AgentEvent::Step(_))));
        let done = envelope(
            "ai.agent.done",
            json!({"run_id": "a", "summary": "ok", "usage": {}, "turns": 1, "tool_calls": 0}),
        );
        let done = Start::decode(&done).unwrap();
        assert!(Start::is_terminal(&done));
        let failed = envelope(
            "ai.error",
            json!({"code": "cancelled", "error": "Stopped."}),
        );
        assert!(matches!(
            Start::decode(&failed),
            Some(AgentEvent::Failed(_))
        ));
        assert_eq!(
            Start::decode(&envelope("ai.chunk", json!({"seq": 0, "delta": ""}))),
            None
        );
    }
}
