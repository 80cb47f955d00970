//! The audit trail of refusals: one structured `tracing` event per refusal (target
//! `aether::audit`, with client id, principal, topic and reason) and a counter per reason that
//! `kernel.stats` reports.

use crate::bus::BusStats;

/// Why something was refused; the counter name in `kernel.stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Host,
    Origin,
    Unauthorized,
    ConnectionLimit,
    PermissionDenied,
    RateLimited,
    PayloadTooLarge,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Host => "host_denied",
            Reason::Origin => "origin_denied",
            Reason::Unauthorized => "unauthorized",
            Reason::ConnectionLimit => "connection_limit",
            Reason::PermissionDenied => "permission_denied",
            Reason::RateLimited => "rate_limited",
            Reason::PayloadTooLarge => "payload_too_large",
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
    tracing::info!(
        target: "aether::audit",
        reason = reason.as_str(),
        client_id = client_id.unwrap_or("-"),
        principal,
        topic = topic.unwrap_or("-"),
        "refused: {message}"
    );
}
