//! The catalog of SPEC §5: which topics exist and what each one is.
//!
//! The kernel uses it to tell an unknown topic (`unknown_topic`) from a known request, reply,
//! stream or error; the desktop uses it to pick error topics for toasts. Typed payloads live in
//! the namespace modules; this table only names topics.

use std::borrow::Cow;

use crate::request::ReplyKind;
use crate::topic::{Namespace, Topic};

/// What a known topic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicKind {
    /// A request, answered on `:ack` or `:resp`.
    Request(ReplyKind),
    /// An answer to a request (`…:ack`, `…:resp`).
    Reply,
    /// A stream message or event (`vm.stdout`, `task.event`, `kernel.hello`, …).
    Event,
    /// A namespace's error topic.
    Error,
}

use ReplyKind::{Ack, Resp};

/// Every request topic of SPEC §5 and its reply kind.
pub const REQUESTS: &[(&str, ReplyKind)] = &[
    ("kernel.ping", Resp),
    ("kernel.stats", Resp),
    ("bus.subscribe", Ack),
    ("bus.unsubscribe", Ack),
    ("vfs:register", Ack),
    ("vfs:write", Ack),
    ("vfs:read", Resp),
    ("vfs:list", Resp),
    ("vfs:delete", Ack),
    ("vfs:rename", Ack),
    ("vfs:stat", Resp),
    ("vfs:mkdir", Ack),
    ("compute:register", Ack),
    ("compute:spawn", Ack),
    ("compute:stdin", Ack),
    ("compute:kill", Ack),
    ("compute:output", Ack),
    ("compute:exit", Ack),
    ("vm.spawn", Ack),
    ("vm.stdin", Ack),
    ("vm.kill", Ack),
    ("vm.list", Resp),
    ("wasm.run", Ack),
    ("task.define", Ack),
    ("task.parse", Resp),
    ("task.run", Ack),
    ("task.cancel", Ack),
    ("task.status", Resp),
    ("task.list", Resp),
    ("ai.chat", Ack),
    ("ai.cancel", Ack),
    ("ai.complete", Resp),
];

/// Every stream and event topic of SPEC §5.
pub const EVENTS: &[&str] = &[
    "kernel.hello",
    "vm.stdout",
    "vm.stderr",
    "vm.exit",
    "task.event",
    "task.done",
    "ai.chunk",
    "ai.done",
];

/// Request aliases and the topic each stands for. A guardrail judges an alias as that topic:
/// a rule written for `vm.spawn` (permission or rate limit) applies to `wasm.run` too.
pub const ALIASES: &[(&str, &str)] = &[("wasm.run", "vm.spawn")];

/// The topic `topic` stands for: itself (borrowed, the common case), or the request an alias
/// names.
pub fn canonical(topic: &Topic) -> Cow<'_, Topic> {
    let raw = topic.as_str();
    match ALIASES.iter().find(|(alias, _)| *alias == raw) {
        Some((_, of)) => Cow::Owned(Topic::parse(of).expect("catalog aliases are valid topics")),
        None => Cow::Borrowed(topic),
    }
}

/// Classifies a topic, or `None` when SPEC §5 does not know it.
pub fn classify(topic: &Topic) -> Option<TopicKind> {
    if topic.is_error() {
        return Some(TopicKind::Error);
    }
    if let Some(request) = topic.request_of_reply() {
        return match classify(&request) {
            Some(TopicKind::Request(_)) => Some(TopicKind::Reply),
            _ => None,
        };
    }
    let raw = topic.as_str();
    if let Some((_, kind)) = REQUESTS.iter().find(|(t, _)| *t == raw) {
        return Some(TopicKind::Request(*kind));
    }
    EVENTS.contains(&raw).then_some(TopicKind::Event)
}

/// The error topics a user should hear about (the desktop shows each as a toast).
pub fn error_topics() -> Vec<Topic> {
    [
        Namespace::Kernel,
        Namespace::Vm,
        Namespace::Vfs,
        Namespace::Ai,
        Namespace::Task,
    ]
    .into_iter()
    .map(Namespace::error_topic)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_topic_is_valid() {
        for (raw, _) in REQUESTS {
            Topic::parse(raw).unwrap();
        }
        for raw in EVENTS {
            Topic::parse(raw).unwrap();
        }
    }

    #[test]
    fn topics_are_classified_as_the_spec_says() {
        let kind = |s: &str| classify(&Topic::parse(s).unwrap());
        assert_eq!(kind("vm.spawn"), Some(TopicKind::Request(Ack)));
        assert_eq!(kind("vfs:read"), Some(TopicKind::Request(Resp)));
        assert_eq!(kind("vm.spawn:ack"), Some(TopicKind::Reply));
        assert_eq!(kind("vm.stdout"), Some(TopicKind::Event));
        assert_eq!(kind("vfs:error"), Some(TopicKind::Error));
        assert_eq!(kind("vm.frobnicate"), None);
        assert_eq!(kind("vm.stdout:ack"), None);
    }

    #[test]
    fn an_alias_stands_for_a_known_request() {
        let t = |s: &str| Topic::parse(s).unwrap();
        assert_eq!(*canonical(&t("wasm.run")), t("vm.spawn"));
        assert_eq!(*canonical(&t("vm.kill")), t("vm.kill"));
        for (alias, of) in ALIASES {
            assert!(matches!(classify(&t(alias)), Some(TopicKind::Request(_))));
            assert!(matches!(classify(&t(of)), Some(TopicKind::Request(_))));
        }
    }
}
