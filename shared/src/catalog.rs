//! The catalog of SPEC §5: which topics exist and what each one is.
//!
//! The kernel uses it to tell an unknown topic (`unknown_topic`) from a known request, reply,
//! stream or error; the desktop uses it to pick error topics for toasts. It is not kept by hand:
//! it joins what each namespace module's one [`contract!`](crate::contract) block declares.

use std::borrow::Cow;

use crate::declare::Declared;
use crate::request::ReplyKind;
use crate::topic::Topic;

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

/// Every namespace module's declaration, in SPEC order.
pub const MODULES: &[&Declared] = &[
    &crate::kernel::CATALOG,
    &crate::bus::CATALOG,
    &crate::ai::CATALOG,
    &crate::agent::CATALOG,
    &crate::vm::CATALOG,
    &crate::task::CATALOG,
    &crate::vfs::CATALOG,
    &crate::compute::CATALOG,
    &crate::mcp::CATALOG,
];

/// Every request topic and its reply kind (aliases included).
pub fn requests() -> impl Iterator<Item = (&'static str, ReplyKind)> {
    MODULES.iter().flat_map(|m| {
        m.requests
            .iter()
            .copied()
            .chain(m.aliases.iter().map(|(alias, of)| {
                let kind = m
                    .requests
                    .iter()
                    .find(|(topic, _)| topic == of)
                    .map_or(ReplyKind::Ack, |(_, kind)| *kind);
                (*alias, kind)
            }))
    })
}

/// Every stream and event topic.
pub fn events() -> impl Iterator<Item = &'static str> {
    MODULES.iter().flat_map(|m| m.events.iter().copied())
}

/// Request aliases and the topic each stands for. A guardrail judges an alias as that topic:
/// a rule written for `vm.spawn` (permission or rate limit) applies to `wasm.run` too.
pub fn aliases() -> impl Iterator<Item = (&'static str, &'static str)> {
    MODULES.iter().flat_map(|m| m.aliases.iter().copied())
}

/// The topic `topic` stands for: itself (borrowed, the common case), or the request an alias
/// names.
pub fn canonical(topic: &Topic) -> Cow<'_, Topic> {
    let raw = topic.as_str();
    match aliases().find(|(alias, _)| *alias == raw) {
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
    if let Some((_, kind)) = requests().find(|(t, _)| *t == raw) {
        return Some(TopicKind::Request(kind));
    }
    events().any(|e| e == raw).then_some(TopicKind::Event)
}

/// The error topics a user should hear about (the desktop shows each as a toast): every module's
/// but the bus's own and the tab-to-kernel `compute:` namespace's.
pub fn error_topics() -> Vec<Topic> {
    [
        &crate::kernel::CATALOG,
        &crate::vm::CATALOG,
        &crate::vfs::CATALOG,
        &crate::ai::CATALOG,
        &crate::task::CATALOG,
    ]
    .into_iter()
    .map(|m| Topic::parse(m.error).expect("declared error topics are valid"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReplyKind::{Ack, Resp};

    #[test]
    fn every_catalog_topic_is_valid() {
        for (raw, _) in requests() {
            Topic::parse(raw).unwrap();
        }
        for raw in events() {
            Topic::parse(raw).unwrap();
        }
    }

    #[test]
    fn the_catalog_holds_every_spec_topic() {
        assert_eq!(requests().count(), 46);
        assert_eq!(events().count(), 13);
    }

    #[test]
    fn topics_are_classified_as_the_spec_says() {
        let kind = |s: &str| classify(&Topic::parse(s).unwrap());
        assert_eq!(kind("vm.spawn"), Some(TopicKind::Request(Ack)));
        assert_eq!(kind("vfs:read"), Some(TopicKind::Request(Resp)));
        assert_eq!(kind("wasm.run"), Some(TopicKind::Request(Ack)));
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
        for (alias, of) in aliases() {
            assert!(matches!(classify(&t(alias)), Some(TopicKind::Request(_))));
            assert!(matches!(classify(&t(of)), Some(TopicKind::Request(_))));
        }
    }

    #[test]
    fn toasts_hear_the_five_user_facing_error_topics() {
        let topics: Vec<String> = error_topics().iter().map(|t| t.to_string()).collect();
        assert_eq!(
            topics,
            [
                "kernel.error",
                "vm.error",
                "vfs:error",
                "ai.error",
                "task.error"
            ]
        );
    }
}
