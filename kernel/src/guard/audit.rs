//! The audit trail of refusals: one structured `tracing` event per refusal (target
//! `aether::audit`, with client id, principal, topic and reason) and a counter per reason that
//! `kernel.stats` reports.
//!
//! Counters are exact; log lines are throttled per client (at most [`LINES_PER_WINDOW`] a
//! second), so a client spraying refused frames cannot fill the disk. What was left out is said
//! in one summary line: on the client's next logged refusal, or when it disconnects.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use aether_shared::ErrorCode;

use crate::bus::BusStats;

/// Audit lines one client may log per window.
pub const LINES_PER_WINDOW: u32 = 20;
/// The throttle's window.
const WINDOW: Duration = Duration::from_secs(1);

/// Why something was refused; the counter name in `kernel.stats` (a refusal with a wire code is
/// counted under that code's name, so an audited refusal and its answer share one counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Host,
    Origin,
    Unauthorized,
    ConnectionLimit,
    PermissionDenied,
    RateLimited,
    PayloadTooLarge,
    /// An answer to a kernel request from a client the request was not sent to.
    ForgedAnswer,
    /// A guest network destination (or DNS name) the egress allowlist does not name, or the
    /// kernel's own port.
    EgressDenied,
    /// A guest network stream past `compute.v86.egress.max_connections`.
    EgressConnectionLimit,
    /// A guest network stream past `compute.v86.egress.quota_bytes`.
    EgressQuota,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Host => "host_denied",
            Reason::Origin => "origin_denied",
            Reason::Unauthorized => ErrorCode::Unauthorized.as_str(),
            Reason::ConnectionLimit => "connection_limit",
            Reason::PermissionDenied => ErrorCode::PermissionDenied.as_str(),
            Reason::RateLimited => ErrorCode::RateLimited.as_str(),
            Reason::PayloadTooLarge => ErrorCode::PayloadTooLarge.as_str(),
            Reason::ForgedAnswer => "forged_answer",
            Reason::EgressDenied => "egress_denied",
            Reason::EgressConnectionLimit => "egress_connection_limit",
            Reason::EgressQuota => "egress_quota",
        }
    }
}

/// Records one refusal.
pub fn refused(
    stats: &BusStats,
    reason: Reason,
    client_id: Option<&str>,
    principal: &str,
    topic: Option<&str>,
    message: &str,
) {
    stats.count_refusal(reason.as_str());
    log(reason, client_id, principal, topic, message);
}

/// Records one refusal in the log only, for a caller whose error reply is counted on its way
/// out (`Bus::emit_error`).
pub fn log(
    reason: Reason,
    client_id: Option<&str>,
    principal: &str,
    topic: Option<&str>,
    message: &str,
) {
    // Refusals before a connection exists (Host, Origin, token, cap) share one key per claim.
    let key = match client_id {
        Some(id) => id.to_owned(),
        None => format!("connect:{principal}"),
    };
    let Some(dropped) = THROTTLE
        .lock()
        .expect("audit lock")
        .admit(&key, Instant::now())
    else {
        return;
    };
    if dropped > 0 {
        summarize(&key, dropped);
    }
    tracing::info!(
        target: "aether::audit",
        reason = reason.as_str(),
        client_id = client_id.unwrap_or("-"),
        principal,
        topic = topic.unwrap_or("-"),
        "refused: {message}"
    );
}

/// Forgets a client that left, logging how many of its refusals were left out, if any.
pub fn forget(client_id: &str) {
    let dropped = THROTTLE.lock().expect("audit lock").forget(client_id);
    if dropped > 0 {
        summarize(client_id, dropped);
    }
}

fn summarize(key: &str, dropped: u64) {
    tracing::info!(
        target: "aether::audit",
        client_id = key,
        dropped,
        "{dropped} more refusals of `{key}` were not logged (at most {LINES_PER_WINDOW} a second); kernel.stats counts them all"
    );
}

static THROTTLE: LazyLock<Mutex<Throttle>> = LazyLock::new(Mutex::default);

/// Log lines per key in the current window, and those left out.
#[derive(Default)]
struct Throttle {
    keys: HashMap<String, Tally>,
}

struct Tally {
    window_start: Instant,
    logged: u32,
    dropped: u64,
}

impl Throttle {
    /// `Some(left_out_before)` when a line for `key` may be logged now, `None` to leave it out.
    fn admit(&mut self, key: &str, now: Instant) -> Option<u64> {
        let tally = self.keys.entry(key.to_owned()).or_insert(Tally {
            window_start: now,
            logged: 0,
            dropped: 0,
        });
        if now.duration_since(tally.window_start) >= WINDOW {
            tally.window_start = now;
            tally.logged = 0;
        }
        if tally.logged >= LINES_PER_WINDOW {
            tally.dropped += 1;
            return None;
        }
        tally.logged += 1;
        Some(std::mem::take(&mut tally.dropped))
    }

    /// Removes `key`; returns the lines it had left out since its last summary.
    fn forget(&mut self, key: &str) -> u64 {
        self.keys.remove(key).map_or(0, |t| t.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_window_budget_are_counted_and_summarized_once() {
        let mut throttle = Throttle::default();
        let t0 = Instant::now();
        for _ in 0..LINES_PER_WINDOW {
            assert_eq!(throttle.admit("c-1", t0), Some(0));
        }
        for _ in 0..1000 {
            assert_eq!(throttle.admit("c-1", t0), None);
        }
        // Another client has its own budget.
        assert_eq!(throttle.admit("c-2", t0), Some(0));
        // The next window logs again, first saying what was left out.
        assert_eq!(throttle.admit("c-1", t0 + WINDOW), Some(1000));
        assert_eq!(throttle.admit("c-1", t0 + WINDOW), Some(0));
        assert_eq!(throttle.forget("c-1"), 0);
        assert_eq!(throttle.forget("c-1"), 0);
        assert!(throttle.keys.contains_key("c-2"));
    }
}
