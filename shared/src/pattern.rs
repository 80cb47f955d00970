//! Subscription patterns (SPEC §2): an exact topic, or a prefix ending in `*` (`vm.*`, `vfs:*`, `*`).
//!
//! Patterns are validated when parsed, so matching is a plain string comparison on the hot path
//! of fan-out. A `*` anywhere but at the end is refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ContractError;
use crate::topic::{MAX_TOPIC_BYTES, Topic, is_name_byte, truncate_for_message};

/// A subscription pattern.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Matches one topic.
    Exact(Topic),
    /// Matches every topic that starts with the prefix (the text before `*`).
    Prefix(String),
}

impl Pattern {
    /// Parses `vm.exit`, `vm.*`, `vfs:*` or `*`.
    pub fn parse(s: &str) -> Result<Pattern, ContractError> {
        let invalid = |why: &str| ContractError::InvalidPattern {
            pattern: truncate_for_message(s),
            why: why.to_owned(),
        };
        if s.len() > MAX_TOPIC_BYTES {
            return Err(invalid("a pattern is at most 128 bytes"));
        }
        match s.strip_suffix('*') {
            Some(prefix) => {
                if !prefix
                    .bytes()
                    .all(|b| is_name_byte(b) || b == b'.' || b == b':')
                {
                    return Err(invalid(
                        "a pattern is a topic, or a prefix of a-z 0-9 _ - . : followed by one `*` at the end",
                    ));
                }
                Ok(Pattern::Prefix(prefix.to_owned()))
            }
            None => Topic::parse(s)
                .map(Pattern::Exact)
                .map_err(|e| invalid(&e.to_string())),
        }
    }

    /// True when `topic` is delivered to a subscriber of this pattern.
    pub fn matches(&self, topic: &Topic) -> bool {
        match self {
            Pattern::Exact(t) => t == topic,
            Pattern::Prefix(p) => topic.as_str().starts_with(p.as_str()),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(t) => write!(f, "{t}"),
            Pattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({self})")
    }
}

impl std::str::FromStr for Pattern {
    type Err = ContractError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Pattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Topic {
        Topic::parse(s).unwrap()
    }

    #[test]
    fn spec_patterns_match_as_documented() {
        let vm = Pattern::parse("vm.*").unwrap();
        assert!(vm.matches(&t("vm.stdout")));
        assert!(vm.matches(&t("vm.spawn:ack")));
        assert!(!vm.matches(&t("vfs:write")));
        let vfs = Pattern::parse("vfs:*").unwrap();
        assert!(vfs.matches(&t("vfs:error")));
        let all = Pattern::parse("*").unwrap();
        assert!(all.matches(&t("compute:register")));
        let exact = Pattern::parse("vm.exit").unwrap();
        assert!(exact.matches(&t("vm.exit")));
        assert!(!exact.matches(&t("vm.exit2")));
    }

    #[test]
    fn star_in_the_middle_or_bad_topic_is_refused() {
        for raw in ["vm.*.x", "**", "vm", "vm.a b", "VM.*", "vm.?*"] {
            assert!(Pattern::parse(raw).is_err(), "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn a_prefix_pattern_matches_exactly_the_topics_that_start_with_it(
            prefix in "(vm\\.|vfs:|task\\.|kernel\\.)[a-z]{0,3}",
            topic in "(vm\\.|vfs:|task\\.|kernel\\.)[a-z]{1,6}",
        ) {
            let pattern = Pattern::parse(&format!("{prefix}*")).unwrap();
            let topic = Topic::parse(&topic).unwrap();
            prop_assert_eq!(pattern.matches(&topic), topic.as_str().starts_with(&prefix));
        }

        #[test]
        fn an_exact_pattern_matches_only_itself(a in "vm\\.[a-z]{1,6}", b in "vm\\.[a-z]{1,6}") {
            let pattern = Pattern::parse(&a).unwrap();
            prop_assert_eq!(pattern.matches(&Topic::parse(&b).unwrap()), a == b);
        }

        #[test]
        fn parse_display_round_trips(s in "\\PC{0,20}") {
            if let Ok(p) = Pattern::parse(&s) {
                prop_assert_eq!(p.to_string(), s);
            }
        }
    }
}
