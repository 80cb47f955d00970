//! Topic grammar (SPEC §2): `<namespace><sep><name>`, and the topics derived from a topic.
//!
//! The namespace is one of [`Namespace`]; the separator is `.` for `kernel`, `bus`, `ai`, `vm`,
//! `task`, `wasm` and `mcp`, and `:` for `vfs` and `compute`. The name is one or more segments of
//! `[a-z0-9_-]` joined by `.` or `:`. A [`Topic`] can only be built by parsing, so every value of
//! the type is valid. This module never decides what a topic *means*: see [`crate::catalog`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ContractError;

/// Longest topic accepted, in bytes.
pub const MAX_TOPIC_BYTES: usize = 128;

/// A namespace of the bus. Each has one separator and one error topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    Kernel,
    Bus,
    Ai,
    Vm,
    Task,
    /// Legacy alias of `vm`: `wasm.run` is `vm.spawn {backend: wasm}` and replies on `vm.*`.
    Wasm,
    Vfs,
    Compute,
    /// Grants that let an outside agent use the agent's tools over MCP for a tab.
    Mcp,
}

impl Namespace {
    /// Every namespace, in SPEC order.
    pub const ALL: [Namespace; 9] = [
        Namespace::Kernel,
        Namespace::Bus,
        Namespace::Ai,
        Namespace::Vm,
        Namespace::Task,
        Namespace::Wasm,
        Namespace::Vfs,
        Namespace::Compute,
        Namespace::Mcp,
    ];

    /// The namespace as written in a topic.
    pub const fn as_str(self) -> &'static str {
        match self {
            Namespace::Kernel => "kernel",
            Namespace::Bus => "bus",
            Namespace::Ai => "ai",
            Namespace::Vm => "vm",
            Namespace::Task => "task",
            Namespace::Wasm => "wasm",
            Namespace::Vfs => "vfs",
            Namespace::Compute => "compute",
            Namespace::Mcp => "mcp",
        }
    }

    /// The separator between namespace and name.
    pub const fn separator(self) -> char {
        match self {
            Namespace::Vfs | Namespace::Compute => ':',
            _ => '.',
        }
    }

    /// The error topic of every request of this namespace (`vm.error`, `vfs:error`, …).
    ///
    /// The legacy `wasm` namespace replies on `vm.*`, so its errors go to `vm.error`.
    pub fn error_topic(self) -> Topic {
        let ns = match self {
            Namespace::Wasm => Namespace::Vm,
            other => other,
        };
        Topic {
            raw: format!("{}{}error", ns.as_str(), ns.separator()),
            namespace: ns,
        }
    }

    fn from_prefix(s: &str) -> Option<(Namespace, &str)> {
        Namespace::ALL.into_iter().find_map(|ns| {
            let rest = s.strip_prefix(ns.as_str())?;
            let rest = rest.strip_prefix(ns.separator())?;
            Some((ns, rest))
        })
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid topic. Build one with [`Topic::parse`] (or `str::parse`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Topic {
    raw: String,
    namespace: Namespace,
}

impl Topic {
    /// Parses and validates a topic against the grammar of SPEC §2.
    ///
    /// Errors with [`ContractError::InvalidTopic`] naming what is wrong.
    pub fn parse(s: &str) -> Result<Topic, ContractError> {
        let invalid = |why: &str| ContractError::InvalidTopic {
            topic: truncate_for_message(s),
            why: why.to_owned(),
        };
        if s.is_empty() {
            return Err(invalid("a topic cannot be empty"));
        }
        if s.len() > MAX_TOPIC_BYTES {
            return Err(invalid("a topic is at most 128 bytes"));
        }
        let (namespace, name) = Namespace::from_prefix(s).ok_or_else(|| {
            invalid(
                "a topic starts with a namespace and its separator: kernel. bus. ai. vm. task. wasm. vfs: compute: mcp.",
            )
        })?;
        validate_name(name).map_err(invalid)?;
        Ok(Topic {
            raw: s.to_owned(),
            namespace,
        })
    }

    /// A topic from a constant of the contract (`kernel::HELLO`, …).
    ///
    /// Panics on an invalid constant: a programming error that the contract tests catch.
    pub fn from_static(s: &'static str) -> Topic {
        Topic::parse(s).unwrap_or_else(|e| panic!("invalid topic constant: {e}"))
    }

    /// The topic as text.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The namespace the topic belongs to.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The part after the namespace's separator (`spawn:ack` for `vm.spawn:ack`).
    pub fn name(&self) -> &str {
        &self.raw[self.namespace.as_str().len() + 1..]
    }

    /// The reply topic of a command: `<topic>:ack`.
    pub fn ack(&self) -> Topic {
        self.with_suffix(":ack")
    }

    /// The reply topic of a query: `<topic>:resp`.
    pub fn resp(&self) -> Topic {
        self.with_suffix(":resp")
    }

    /// The error topic of this topic's namespace (SPEC §2). The one derivation both sides use.
    pub fn error_topic(&self) -> Topic {
        self.namespace.error_topic()
    }

    /// True for `…:ack` and `…:resp` topics.
    pub fn is_reply(&self) -> bool {
        self.raw.ends_with(":ack") || self.raw.ends_with(":resp")
    }

    /// True for a namespace's error topic.
    pub fn is_error(&self) -> bool {
        self.name() == "error"
    }

    /// For a reply topic, the request topic it answers (`vm.spawn` for `vm.spawn:ack`).
    pub fn request_of_reply(&self) -> Option<Topic> {
        let base = self
            .raw
            .strip_suffix(":ack")
            .or_else(|| self.raw.strip_suffix(":resp"))?;
        Topic::parse(base).ok()
    }

    fn with_suffix(&self, suffix: &str) -> Topic {
        Topic {
            raw: format!("{}{}", self.raw, suffix),
            namespace: self.namespace,
        }
    }
}

fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("a topic needs a name after the namespace");
    }
    for segment in name.split(['.', ':']) {
        if segment.is_empty() {
            return Err("a topic name has no empty segments (no `..`, `::` or trailing separator)");
        }
        if !segment.bytes().all(is_name_byte) {
            return Err("a topic name uses only a-z, 0-9, `_` and `-`, joined by `.` or `:`");
        }
    }
    Ok(())
}

pub(crate) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
}

/// Shortens untrusted text before it is echoed in an error message.
pub(crate) fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl FromStr for Topic {
    type Err = ContractError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::parse(s)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({})", self.raw)
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Topic::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_topics_parse_with_their_namespace() {
        for (raw, ns) in [
            ("vm.spawn", Namespace::Vm),
            ("vm.spawn:ack", Namespace::Vm),
            ("vfs:write", Namespace::Vfs),
            ("vfs:write:ack", Namespace::Vfs),
            ("compute:register", Namespace::Compute),
            ("kernel.hello", Namespace::Kernel),
            ("task.event", Namespace::Task),
            ("ai.chat", Namespace::Ai),
            ("wasm.run", Namespace::Wasm),
            ("bus.subscribe:ack", Namespace::Bus),
        ] {
            let topic = Topic::parse(raw).unwrap();
            assert_eq!(topic.namespace(), ns, "{raw}");
            assert_eq!(topic.as_str(), raw);
        }
    }

    #[test]
    fn wrong_separator_or_namespace_is_refused() {
        for raw in [
            "vm:spawn",
            "vfs.write",
            "kernel",
            "kernel.",
            "nope.x",
            "vm..x",
            "vm.x:",
            "VM.spawn",
            "vm.spa wn",
            "",
            "vm.*",
        ] {
            assert!(Topic::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn derived_topics_follow_the_spec() {
        let spawn = Topic::parse("vm.spawn").unwrap();
        assert_eq!(spawn.ack().as_str(), "vm.spawn:ack");
        assert_eq!(spawn.resp().as_str(), "vm.spawn:resp");
        assert_eq!(spawn.error_topic().as_str(), "vm.error");
        let write = Topic::parse("vfs:write").unwrap();
        assert_eq!(write.error_topic().as_str(), "vfs:error");
        assert_eq!(write.ack().request_of_reply(), Some(write));
        assert_eq!(
            Topic::parse("wasm.run").unwrap().error_topic().as_str(),
            "vm.error"
        );
        assert!(Topic::parse("task.error").unwrap().is_error());
        assert!(Topic::parse("kernel.ping:resp").unwrap().is_reply());
    }

    fn namespace() -> impl Strategy<Value = Namespace> {
        proptest::sample::select(Namespace::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn every_generated_valid_topic_parses_and_round_trips(
            ns in namespace(),
            segs in proptest::collection::vec("[a-z0-9_-]{1,8}", 1..5),
            seps in proptest::collection::vec(prop_oneof![Just('.'), Just(':')], 4),
        ) {
            let mut raw = format!("{}{}", ns.as_str(), ns.separator());
            for (i, seg) in segs.iter().enumerate() {
                if i > 0 { raw.push(seps[i - 1]); }
                raw.push_str(seg);
            }
            let topic = Topic::parse(&raw).unwrap();
            prop_assert_eq!(topic.namespace(), ns);
            let json = serde_json::to_string(&topic).unwrap();
            let back: Topic = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, topic);
        }

        #[test]
        fn arbitrary_text_never_panics_and_valid_results_are_canonical(s in "\\PC{0,40}") {
            if let Ok(topic) = Topic::parse(&s) {
                prop_assert_eq!(topic.as_str(), s.as_str());
                prop_assert!(topic.as_str().bytes().all(|b| is_name_byte(b) || b == b'.' || b == b':'));
            }
        }

        #[test]
        fn error_topic_is_always_in_the_same_or_vm_namespace(ns in namespace(), name in "[a-z]{1,10}") {
            let topic = Topic::parse(&format!("{}{}{}", ns.as_str(), ns.separator(), name)).unwrap();
            let err = topic.error_topic();
            prop_assert!(err.is_error());
            if ns != Namespace::Wasm { prop_assert_eq!(err.namespace(), ns); }
        }
    }
}
