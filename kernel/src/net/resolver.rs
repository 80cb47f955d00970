//! Names for the guest: the relay resolves only names the allowlist names, with the kernel's own
//! resolver, and remembers which addresses it gave each principal for which name. v86's adapter
//! opens every stream to an *address* (the guest resolved the name first), so a CONNECT to an
//! address is allowed when a pattern names that address, or names a name this principal was given
//! that address for. Nothing here opens a stream; `stream` does, after `policy` agrees.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::dns::{self, Query, Rcode};
use super::policy::Refusal;
use crate::bus::BusStats;
use crate::config::egress::EgressRules;
use crate::guard::audit::{self, Reason};
use crate::guard::identity::Principal;

/// How long the relay remembers an address it answered with (longer than the answer's TTL, so a
/// guest that keeps an answer a little too long still connects).
const REMEMBER: Duration = Duration::from_secs(600);
/// Addresses remembered per principal; past it, expired ones go, then the oldest.
const MAX_REMEMBERED: usize = 4096;

/// The addresses given out per principal, each with the names it was given for.
#[derive(Default)]
pub struct Resolver {
    given: Mutex<HashMap<Principal, HashMap<IpAddr, Given>>>,
}

struct Given {
    names: Vec<String>,
    until: Instant,
}

impl Resolver {
    /// Answers one DNS query for `principal`: A records for a name the allowlist names (resolved
    /// within `timeout`), REFUSED (audited as `egress_denied`) for any other name, FORMERR for
    /// a message that is not a query. `None` for bytes without even a DNS header.
    pub async fn answer(
        &self,
        rules: &EgressRules,
        principal: Principal,
        timeout: Duration,
        stats: &BusStats,
        msg: &[u8],
    ) -> Option<Vec<u8>> {
        let query = match Query::parse(msg) {
            Ok(query) => query,
            Err(e) => {
                tracing::debug!("guest DNS query not answered: {e}");
                return dns::format_error(msg);
            }
        };
        if !rules.names(&query.name) {
            audit::refused(
                stats,
                Reason::EgressDenied,
                None,
                principal.as_str(),
                None,
                &format!(
                    "guest DNS: `{}` is not named in compute.v86.egress.allow; add a pattern for it if the guest should reach it",
                    query.name
                ),
            );
            return Some(query.answer(Rcode::Refused, &[]));
        }
        if query.qtype != dns::TYPE_A {
            return Some(query.answer(Rcode::NoError, &[]));
        }
        let addrs = match lookup(&query.name, 0, timeout).await {
            Ok(addrs) => addrs,
            Err(Refusal::Timeout { .. }) => return Some(query.answer(Rcode::ServFail, &[])),
            Err(_) => return Some(query.answer(Rcode::NxDomain, &[])),
        };
        let mut v4: Vec<Ipv4Addr> = addrs
            .iter()
            .filter_map(|a| match a.ip() {
                IpAddr::V4(ip) => Some(ip),
                IpAddr::V6(ip) => ip.to_ipv4_mapped(),
            })
            .collect();
        v4.dedup();
        if v4.is_empty() {
            return Some(query.answer(Rcode::NxDomain, &[]));
        }
        self.remember(principal, &query.name, &v4);
        Some(query.answer(Rcode::NoError, &v4))
    }

    /// The names `principal` was given `ip` for (not yet forgotten).
    pub fn names_of(&self, principal: Principal, ip: IpAddr) -> Vec<String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let given = self.given.lock().expect("resolver lock");
        given
            .get(&principal)
            .and_then(|table| table.get(&ip))
            .filter(|g| g.until > Instant::now())
            .map(|g| g.names.clone())
            .unwrap_or_default()
    }

    fn remember(&self, principal: Principal, name: &str, addrs: &[Ipv4Addr]) {
        let now = Instant::now();
        let mut given = self.given.lock().expect("resolver lock");
        let table = given.entry(principal).or_default();
        if table.len() + addrs.len() > MAX_REMEMBERED {
            table.retain(|_, g| g.until > now);
        }
        while table.len() + addrs.len() > MAX_REMEMBERED {
            let oldest = table
                .iter()
                .min_by_key(|(_, g)| g.until)
                .map(|(ip, _)| *ip)
                .expect("a full table has entries");
            table.remove(&oldest);
        }
        for addr in addrs {
            let entry = table.entry(IpAddr::V4(*addr)).or_insert(Given {
                names: Vec::new(),
                until: now,
            });
            entry.until = now + REMEMBER;
            if !entry.names.iter().any(|n| n == name) {
                entry.names.push(name.to_owned());
            }
        }
    }
}

/// Resolves `host` (a name or an address) with the system's resolver, within `timeout`.
pub async fn lookup(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, Refusal> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let unresolved = |why: String| Refusal::Unresolved {
        host: host.to_owned(),
        why,
    };
    match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await {
        Err(_) => Err(Refusal::Timeout {
            host: host.to_owned(),
            port,
            timeout_ms: timeout.as_millis() as u64,
        }),
        Ok(Err(e)) => Err(unresolved(e.to_string())),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(unresolved("no addresses".into()))
            } else {
                Ok(addrs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_remembered_for_its_principal_only() {
        let resolver = Resolver::default();
        let ip = Ipv4Addr::new(192, 0, 2, 7);
        resolver.remember(Principal::Local, "a.example.org", &[ip]);
        resolver.remember(Principal::Local, "b.example.org", &[ip]);
        assert_eq!(
            resolver.names_of(Principal::Local, IpAddr::V4(ip)),
            ["a.example.org", "b.example.org"]
        );
        assert!(
            resolver
                .names_of(Principal::TokenHolder, IpAddr::V4(ip))
                .is_empty()
        );
        let mapped = IpAddr::V6(ip.to_ipv6_mapped());
        assert_eq!(resolver.names_of(Principal::Local, mapped).len(), 2);
    }

    #[test]
    fn the_table_keeps_its_bound() {
        let resolver = Resolver::default();
        for n in 0..(MAX_REMEMBERED as u32 + 10) {
            resolver.remember(Principal::Local, "x.test", &[Ipv4Addr::from(n)]);
        }
        let given = resolver.given.lock().unwrap();
        assert_eq!(given[&Principal::Local].len(), MAX_REMEMBERED);
    }
}
