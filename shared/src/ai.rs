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

/// Topic of a streamed piece of an answer ([`Chunk`]).
pub const CHUNK: &str = "ai.chunk";
/// Topic of the end of an answer ([`Done`]).
pub const DONE: &str = "ai.done";

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

crate::bus_request!(Chat => "ai.chat", Ack, ChatStarted);

/// `ai.complete {path, language, prefix, suffix}` → `ai.complete:resp` ([`Completion`]): the
/// text to insert between `prefix` and `suffix` of the file at `path`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complete {
    pub path: String,
    /// A Monaco language id (`rust`, `wat`, `python`, …) or `plaintext`.
    pub language: String,
    pub prefix: String,
    pub suffix: String,
}

/// The answer to [`Complete`] (may be empty: nothing worth inserting).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
}

crate::bus_request!(Complete => "ai.complete", Resp, Completion);

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

crate::bus_request!(Cancel => "ai.cancel", Ack, CancelAccepted);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BusRequest;
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
