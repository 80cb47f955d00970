//! Who is asking, for every upgrade to a socket of the kernel (`/ws`, `/wisp`): the `Host`
//! header, then the `Origin`, then the token. A refusal is audited here and comes back as the
//! HTTP status and sentence to answer with.

use axum::http::{HeaderMap, StatusCode, header};

use crate::bus::BusStats;
use crate::config::Config;
use crate::guard::audit::{self, Reason};
use crate::guard::{Principal, identity, origin};

/// The principal behind a request's headers (and `?token=`, which browsers use for sockets),
/// or why it is refused (403 for the host or origin, 401 for the token), audited.
pub fn admit(
    config: &Config,
    stats: &BusStats,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Principal, (StatusCode, String)> {
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let token = identity::presented_token(headers, query_token);
    let claimed = if token.is_some() { "token" } else { "local" };
    let host = text(header::HOST);
    if let Err(e) = origin::check_host(config, host) {
        audit::refused(stats, Reason::Host, None, claimed, None, &e.to_string());
        return Err((StatusCode::FORBIDDEN, e.to_string()));
    }
    if let Err(e) = origin::check_origin(config, host.unwrap_or(""), text(header::ORIGIN)) {
        audit::refused(stats, Reason::Origin, None, claimed, None, &e.to_string());
        return Err((StatusCode::FORBIDDEN, e.to_string()));
    }
    identity::authenticate(config, token).map_err(|e| {
        let message = e.to_string();
        audit::refused(stats, Reason::Unauthorized, None, claimed, None, &message);
        (StatusCode::UNAUTHORIZED, message)
    })
}
