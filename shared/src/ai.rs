//! The `ai.*` namespace: chat and code completion through the kernel's AI provider.
//!
//! `ai.chat` is acknowledged at once; the answer then streams to the requester as `ai.chunk`
//! deltas (`seq` from 0, in order) and ends with exactly one `ai.done` (with the provider's token
//! usage) or one `ai.error`. `ai.complete` is a query: its one `:resp` carries the whole
//! completion. `ai.cancel` names the `_request_id` of a running `ai.chat` or `ai.complete` of the
//! same client; that request then ends with `ai.error {code: cancelled}`. Every message carries
//! the `_request_id` of the request it belongs to and is addressed to the requester only.
//!
//! A kernel without a provider answers every request with `ai.error {code: not_configured}`.

use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;
use crate::error::ErrorPayload;
use crate::request::BusRequest;
use crate::stream::BusStream;

crate::contract! {
    namespace: Ai, error: ERROR = "ai.error";
    requests {
        CHAT = "ai.chat": Chat => Ack(ChatStarted);
        COMPLETE = "ai.complete": Complete => Resp(Completion);
        CANCEL = "ai.cancel": Cancel => Ack(CancelAccepted);
    }
    aliases {}
    events {
        /// A streamed piece of an answer ([`Chunk`]).
        CHUNK = "ai.chunk";
        /// The end of an answer ([`Done`]).
        DONE = "ai.done";
    }
}

/// Who said a [`Message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// A message of `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// `ai.chat {messages, model?}` → `ai.chat:ack` ([`ChatStarted`]), then `ai.chunk`s and one
/// `ai.done` or `ai.error`. `messages` must not be empty; `model` overrides the configured one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The acknowledgement of [`Chat`]: the provider has been asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatStarted {}

/// `ai.complete {path, language, prefix, suffix, model?}` → `ai.complete:resp` ([`Completion`]):
/// the text to insert between `prefix` and `suffix` of the file at `path`. `model` overrides the
/// configured one, as in [`Chat`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complete {
    pub path: String,
    /// A Monaco language id (`rust`, `wat`, `python`, …) or `plaintext`.
    pub language: String,
    pub prefix: String,
    pub suffix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The answer to [`Complete`] (may be empty: nothing worth inserting).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
}

/// `ai.cancel {request_id}` → `ai.cancel:ack`: stops the caller's running `ai.chat` or
/// `ai.complete` whose `_request_id` is `request_id` (the upstream request is aborted). An
/// unknown or finished id is `not_found`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub request_id: String,
}

/// The acknowledgement of [`Cancel`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAccepted {}

/// `ai.chunk`: the next piece of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Counts the chunks of one answer from 0.
    pub seq: u64,
    pub delta: String,
}

/// Tokens an answer cost, as the provider reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

/// `ai.done`: the answer is complete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// `None` when the provider did not report usage.
    pub usage: Option<Usage>,
    /// The provider's reason for stopping (`stop`, `length`, …), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// Everything an [`Chat`] causes, in order: the `:ack`, `ai.chunk`s, and one `ai.done` or
/// `ai.error`.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatEvent {
    /// The provider has been asked.
    Started(ChatStarted),
    /// The next piece of the answer.
    Chunk(Chunk),
    /// The answer is complete.
    Done(Done),
    /// The request was refused, cancelled, or the provider failed.
    Failed(ErrorPayload),
}

impl BusStream for Chat {
    type Event = ChatEvent;
    const TERMINAL: &'static [&'static str] = &[DONE];

    fn decode(envelope: &Envelope) -> Option<ChatEvent> {
        Some(match envelope.topic.as_str() {
            <Chat as BusRequest>::REPLY_TOPIC => ChatEvent::Started(envelope.decode().ok()?),
            CHUNK => ChatEvent::Chunk(envelope.decode().ok()?),
            DONE => ChatEvent::Done(envelope.decode().ok()?),
            ERROR => ChatEvent::Failed(crate::stream::failure(envelope)?),
            _ => return None,
        })
    }

    fn is_terminal(event: &ChatEvent) -> bool {
        matches!(event, ChatEvent::Done(_) | ChatEvent::Failed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{TopicKind, classify};
    use crate::topic::Topic;
    use serde_json::json;

    #[test]
    fn ai_requests_and_events_agree_with_the_catalog() {
        for (topic, reply) in [
            (Chat::topic(), Chat::reply_topic()),
            (Complete::topic(), Complete::reply_topic()),
            (Cancel::topic(), Cancel::reply_topic()),
        ] {
            assert!(
                matches!(classify(&topic), Some(TopicKind::Request(_))),
                "{topic}"
            );
            assert_eq!(classify(&reply), Some(TopicKind::Reply), "{reply}");
            assert_eq!(topic.error_topic().as_str(), "ai.error");
        }
        assert_eq!(Complete::reply_topic().as_str(), "ai.complete:resp");
        for event in [CHUNK, DONE] {
            let t = Topic::parse(event).unwrap();
            assert_eq!(classify(&t), Some(TopicKind::Event));
        }
    }

    #[test]
    fn each_topic_of_a_chat_decodes_to_its_event() {
        let env = |topic: &str, payload: serde_json::Value| {
            let mut env = Envelope::new(Topic::parse(topic).unwrap());
            env.payload = payload.as_object().cloned();
            env
        };
        assert_eq!(
            Chat::decode(&env("ai.chat:ack", json!({"_request_id": "r"}))),
            Some(ChatEvent::Started(ChatStarted {}))
        );
        assert_eq!(
            Chat::decode(&env("ai.chunk", json!({"seq": 2, "delta": "hi"}))),
            Some(ChatEvent::Chunk(Chunk {
                seq: 2,
                delta: "hi".into()
            }))
        );
        let done = Chat::decode(&env("ai.done", json!({"usage": null}))).unwrap();
        assert!(Chat::is_terminal(&done));
        let failed = Chat::decode(&env("ai.error", json!({"code": "cancelled", "error": "x"})));
        assert!(matches!(failed, Some(ChatEvent::Failed(_))));
        assert_eq!(
            Chat::decode(&env("ai.complete:resp", json!({"text": ""}))),
            None
        );
        assert_eq!(Chat::decode(&env("ai.chunk", json!({"delta": 1}))), None);
    }

    #[test]
    fn chat_has_the_spec_shape() {
        let chat: Chat = serde_json::from_value(json!({
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            "model": "m"
        }))
        .unwrap();
        assert_eq!(chat.messages[1], Message::new(Role::User, "hi"));
        assert_eq!(chat.model.as_deref(), Some("m"));
        assert!(
            serde_json::from_value::<Chat>(json!({"messages": [{"role": "robot", "content": ""}]}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<Chat>(json!({"messages": [{"role": "user", "text": ""}]}))
                .is_err()
        );
        let done = serde_json::to_value(Done::default()).unwrap();
        assert_eq!(done, json!({"usage": null}));
    }
}
