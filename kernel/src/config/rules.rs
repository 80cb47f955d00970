//! Value types of the configuration that validate themselves while being parsed, so a bad value
//! is reported by serde with its key and line: permission rules, rate rules, origins.

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use aether_shared::{Pattern, Topic};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a permission rule does to the topics it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Deny,
}

/// `{topic_prefix, action: allow|deny}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionRule {
    pub topic_prefix: TopicPrefix,
    pub action: Action,
}

/// The start of a topic (`vm.`, `vfs:`, `kernel.ping`); the empty prefix matches everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicPrefix(String);

impl TopicPrefix {
    /// Parses a prefix: only characters that can appear in a topic.
    pub fn parse(s: &str) -> Result<TopicPrefix, String> {
        let ok = s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b':')
        });
        if !ok || s.len() > 128 {
            return Err(format!(
                "topic_prefix `{s}` is not a topic prefix: use a-z 0-9 _ - . : only, like `vm.` or `vfs:`"
            ));
        }
        Ok(TopicPrefix(s.to_owned()))
    }

    /// True when `topic` starts with the prefix.
    pub fn matches(&self, topic: &Topic) -> bool {
        topic.as_str().starts_with(&self.0)
    }
}

impl Serialize for TopicPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TopicPrefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TopicPrefix::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// `{topic, limit, burst, window_ms}`: at most `limit` requests per `window_ms` per client and
/// topic on average, with up to `burst` at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    /// A topic, or a pattern ending in `*`; each matching topic has its own bucket.
    pub topic: Pattern,
    pub limit: NonZeroU32,
    pub burst: NonZeroU32,
    pub window_ms: NonZeroU64,
}

impl RateRule {
    /// Time to earn one request back: `window_ms / limit` (at least a nanosecond).
    pub fn replenish_interval(&self) -> Duration {
        let nanos = u128::from(self.window_ms.get()) * 1_000_000 / u128::from(self.limit.get());
        Duration::from_nanos(u64::try_from(nanos.max(1)).unwrap_or(u64::MAX))
    }
}

/// Requests per second per peer IP on the HTTP routes, with a burst.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpRateLimit {
    /// At most one per nanosecond (`1000000000`).
    #[serde(deserialize_with = "super::validate::requests_per_second")]
    pub requests_per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for HttpRateLimit {
    fn default() -> Self {
        HttpRateLimit {
            requests_per_second: NonZeroU32::new(200).expect("non-zero"),
            burst: NonZeroU32::new(1000).expect("non-zero"),
        }
    }
}

/// A web origin: `scheme://host[:port]`, lower-case, no path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Parses and normalizes an origin.
    pub fn parse(s: &str) -> Result<Origin, String> {
        let lower = s.trim_end_matches('/').to_ascii_lowercase();
        let rest = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("https://"))
            .ok_or_else(|| {
                format!("`{s}` is not an origin: write it like `http://127.0.0.1:8081`")
            })?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "`{s}` is not an origin: scheme, host and optional port only, like `https://example.com`"
            ));
        }
        Ok(Origin(lower))
    }

    /// The origin as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Origin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Origin::parse(s)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Origin::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
