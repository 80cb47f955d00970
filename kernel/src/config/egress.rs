//! `compute.v86.egress`: which outbound connections the guest network relay (`/wisp`, see
//! `crate::net`) may open for an x86 machine, and how much it may move. This module owns the
//! `host:port` pattern grammar and its matching; it never resolves a name or opens a socket
//! (the relay does, and applies these answers first).
//!
//! A pattern is `host:port`. The host is an IP literal (`127.0.0.1`, `[::1]`), a name
//! (`example.org`, matched without regard to case), or `*.` and a name (`*.example.org`: any name
//! *under* `example.org`, not `example.org` itself). The port is a number or `*`. A bare `*` host
//! is refused: every allowed host is named.

use std::fmt;
use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroU64};

use serde::{Deserialize, Serialize};

/// The guest network's rules. The default allows nothing: no pattern, no network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EgressRules {
    /// Destinations a machine may connect to, as `host:port` patterns; empty: none at all.
    pub allow: Vec<HostPort>,
    /// Bytes one machine (one `/wisp` connection) may move, both directions together; past it its
    /// streams are closed and new ones refused.
    pub quota_bytes: NonZeroU64,
    /// Streams one machine may have open at once.
    pub max_connections: NonZeroU32,
    /// Longest the relay waits for a name to resolve and a destination to accept, in milliseconds.
    pub connect_timeout_ms: NonZeroU64,
}

impl Default for EgressRules {
    fn default() -> Self {
        EgressRules {
            allow: Vec::new(),
            quota_bytes: NonZeroU64::new(256 * 1024 * 1024).expect("non-zero"),
            max_connections: NonZeroU32::new(16).expect("non-zero"),
            connect_timeout_ms: NonZeroU64::new(10_000).expect("non-zero"),
        }
    }
}

impl EgressRules {
    /// Whether some pattern allows `host` (an IP literal or a name) on `port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.allow.iter().any(|p| p.matches(host, port))
    }

    /// Whether some pattern names `host`, on any port (what a DNS answer needs).
    pub fn names(&self, host: &str) -> bool {
        self.allow.iter().any(|p| p.host.matches(host))
    }
}

/// One `host:port` pattern of `allow`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPort {
    host: HostPattern,
    /// `None` for `*`.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Ip(IpAddr),
    /// A lower-case name without a trailing dot.
    Name(String),
    /// `*.suffix`: the suffix, lower-case.
    Under(String),
}

impl HostPort {
    /// Parses `host:port`; the error says what is wrong with `text`.
    pub fn parse(text: &str) -> Result<HostPort, String> {
        let bad = |why: &str| format!("`{text}` is not a host:port pattern: {why}");
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| bad("no `:port` (write `*` for any port)"))?;
        let port = match port {
            "*" => None,
            p => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(bad("the port is not 1-65535 or `*`")),
                Ok(n) => Some(n),
            },
        };
        let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let host = if let Some(ip) = bracketed {
            HostPattern::Ip(
                ip.parse()
                    .map_err(|_| bad("the bracketed host is not an IPv6 address"))?,
            )
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            if ip.is_ipv6() {
                return Err(bad("write an IPv6 address in brackets: `[::1]:443`"));
            }
            HostPattern::Ip(ip)
        } else if host == "*" {
            return Err(bad(
                "`*` alone would allow every host; name them (`*.example.org`)",
            ));
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostPattern::Under(valid_name(suffix).ok_or_else(|| bad("not a host name after `*.`"))?)
        } else {
            HostPattern::Name(valid_name(host).ok_or_else(|| bad("not a host name or an IP"))?)
        };
        Ok(HostPort { host, port })
    }

    /// Whether this pattern allows `host` (an IP literal or a name) on `port`.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        self.port.is_none_or(|p| p == port) && self.host.matches(host)
    }
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let ip = bare.unwrap_or(host).parse::<IpAddr>().ok();
        match (self, ip) {
            (HostPattern::Ip(want), Some(ip)) => canonical(*want) == canonical(ip),
            (HostPattern::Ip(_), None) | (_, Some(_)) => false,
            (HostPattern::Name(want), None) => normalized(host) == *want,
            (HostPattern::Under(suffix), None) => normalized(host)
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it stands for.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn normalized(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// `name` lower-cased when it is a DNS host name (letters, digits, `-`, `_`, dot-separated labels).
fn valid_name(name: &str) -> Option<String> {
    let name = normalized(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (name.len() <= 253 && name.split('.').all(label_ok)).then_some(name)
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            HostPattern::Ip(ip) => write!(f, "{ip}")?,
            HostPattern::Name(name) => f.write_str(name)?,
            HostPattern::Under(suffix) => write!(f, "*.{suffix}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => f.write_str(":*"),
        }
    }
}

impl TryFrom<String> for HostPort {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        HostPort::parse(&text)
    }
}

impl From<HostPort> for String {
    fn from(pattern: HostPort) -> String {
        pattern.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(patterns: &[&str]) -> EgressRules {
        EgressRules {
            allow: patterns
                .iter()
                .map(|p| HostPort::parse(p).unwrap())
                .collect(),
            ..EgressRules::default()
        }
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let rules = EgressRules::default();
        assert!(!rules.allows("127.0.0.1", 80));
        assert!(!rules.allows("example.org", 443));
        assert!(!rules.names("example.org"));
    }

    #[test]
    fn an_ip_pattern_allows_that_address_and_port_only() {
        let rules = rules(&["127.0.0.1:8000", "[::1]:*"]);
        assert!(rules.allows("127.0.0.1", 8000));
        assert!(!rules.allows("127.0.0.1", 8001));
        assert!(!rules.allows("127.0.0.2", 8000));
        assert!(rules.allows("::ffff:127.0.0.1", 8000));
        assert!(rules.allows("::1", 1));
        assert!(rules.allows("[::1]", 65535));
        // A name is not an address, even one that resolves to it.
        assert!(!rules.allows("localhost", 8000));
    }

    #[test]
    fn a_wildcard_allows_names_under_it_but_not_the_name_itself() {
        let rules = rules(&["*.example.org:443"]);
        assert!(rules.allows("a.example.org", 443));
        assert!(rules.allows("A.B.Example.ORG.", 443));
        assert!(!rules.allows("example.org", 443));
        assert!(!rules.allows("badexample.org", 443));
        assert!(!rules.allows("a.example.org", 80));
        assert!(!rules.allows("a.example.org.evil.net", 443));
        assert!(rules.names("a.example.org"));
        assert!(!rules.names("example.org"));
    }

    #[test]
    fn a_name_pattern_matches_without_regard_to_case() {
        let rules = rules(&["Example.org:*"]);
        assert!(rules.allows("example.ORG", 22));
        assert!(!rules.allows("www.example.org", 22));
    }

    #[test]
    fn patterns_that_are_not_host_port_are_refused_naming_them() {
        for bad in [
            "example.org",
            "example.org:0",
            "example.org:70000",
            "example.org:http",
            "*:443",
            "::1:443",
            "[nope]:1",
            "exa mple.org:1",
            ":80",
            "*.:80",
        ] {
            let error = HostPort::parse(bad).expect_err(bad);
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn a_pattern_prints_as_it_parses() {
        for text in ["127.0.0.1:8000", "[::1]:*", "*.example.org:443", "a.b:1"] {
            assert_eq!(HostPort::parse(text).unwrap().to_string(), text);
        }
    }
}
