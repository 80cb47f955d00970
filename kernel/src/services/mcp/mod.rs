//! The `mcp.*` service: grants that let an outside agent use the agent's tools over MCP, acting
//! for the tab that made the grant. This module routes the tab's requests and holds the
//! service's state; each job is a file of its own: [`issue`] (`mcp.grant`), [`grants`] (the
//! grants and what their calls did), [`call`] (running a granted call), [`ask`] (calls waiting
//! for the tab's decision, `mcp.decide`, and listed as `mcp.grants`'s `pending`), [`undo`] (`mcp.undo`), [`events`] (what the tab is
//! told), [`http`] (the `/mcp` transport), [`error`]. It never logs a token.

pub mod ask;
pub mod call;
pub mod error;
pub mod events;
pub mod grants;
pub mod http;
pub mod issue;
pub mod undo;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aether_shared::mcp::{
    DECIDE, Decide, Decided, GRANT, GRANTS, GrantList, Grants, REVOKE, Revoke, Revoked, UNDO,
};

use self::ask::Asks;
pub use self::error::McpError;
use self::grants::{GrantRecord, GrantTable};
use super::agent::caller::Seat;
use super::request::{serve, serve_async, unknown};
use crate::bus::ClientHandle;
use crate::config::Config;

/// How long a call waits for a program it leaves running to be killed.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The grants and what a granted call needs to act as its granting client.
pub struct McpService {
    seat: Seat,
    grants: GrantTable,
    asks: Asks,
    /// The endpoint a grant's client connects to: set from the listener's own address when the
    /// kernel starts serving (the configured `listen` may name port 0).
    url: OnceLock<String>,
    /// A granted call's program output is kept to this many characters (stdout and stderr each):
    /// the agent's `max_result_chars`.
    kept_chars: usize,
    /// How long a call of an `ask` grant waits for the tab's decision: the agent's
    /// `approval_timeout_ms`.
    approval_timeout: Duration,
    /// `limits.max_frame_bytes`: `mcp.called` cuts arguments longer than half of it.
    max_frame_bytes: usize,
    next_id: AtomicU64,
}

impl McpService {
    pub fn new(seat: Seat, config: &Config) -> McpService {
        McpService {
            seat,
            grants: GrantTable::default(),
            asks: Asks::default(),
            url: OnceLock::new(),
            kept_chars: config.ai.agent.max_result_chars.get() as usize,
            approval_timeout: Duration::from_millis(config.ai.agent.approval_timeout_ms.get()),
            max_frame_bytes: config.limits.max_frame_bytes.get(),
            next_id: AtomicU64::new(0),
        }
    }

    /// Says where `/mcp` is reachable, once the kernel's listener is bound.
    pub fn serving_at(&self, addr: std::net::SocketAddr) {
        let _ = self.url.set(format!("http://{addr}/mcp"));
    }

    /// Handles an `mcp.*` request from `client`.
    pub fn handle(self: &Arc<Self>, client: &Arc<ClientHandle>, env: aether_shared::Envelope) {
        let bus = &self.seat.bus;
        match env.topic.as_str() {
            GRANT => serve(bus, env, |req, _| self.issue(client, req)),
            GRANTS => serve(bus, env, |Grants {}, _| {
                Ok::<_, McpError>(GrantList {
                    grants: self.grants.of(client.id()),
                    pending: self.asks.pending(client.id()),
                })
            }),
            REVOKE => serve(bus, env, |Revoke { grant_id }, _| {
                if !self.grants.revoke(client.id(), &grant_id) {
                    return Err(McpError::NotFound(grant_id));
                }
                self.asks.grant_ended(&grant_id);
                tracing::info!(grant_id, client_id = client.id(), "mcp grant revoked");
                Ok(Revoked { grant_id })
            }),
            DECIDE => serve(bus, env, |Decide { ask_id, decision }, _| {
                if self.asks.decide(client.id(), &ask_id, decision) {
                    Ok(Decided {})
                } else {
                    tracing::info!(ask_id, client_id = client.id(), "mcp decide refused");
                    Err(McpError::NoSuchAsk(ask_id))
                }
            }),
            UNDO => {
                let (me, client) = (Arc::clone(self), Arc::clone(client));
                serve_async(bus, env, move |req, _| async move {
                    me.undo(&client, req).await
                })
            }
            _ => unknown(bus, &env),
        }
    }

    /// A client left: its grants can no longer act, its waiting calls end, and its ended
    /// grants (kept for undo) are forgotten.
    pub fn client_gone(&self, client_id: &str) {
        self.grants.owner_gone(client_id);
        self.asks.owner_gone(client_id);
    }

    /// The live grant a bearer token stands for.
    pub fn authenticate(&self, token: &str) -> Option<GrantRecord> {
        self.grants.find(token)
    }

    /// The live grant with this id.
    pub fn grant_by_id(&self, grant_id: &str) -> Option<GrantRecord> {
        self.grants.by_id(grant_id)
    }

    /// A fresh number for a grant or a call's client id.
    fn next_call(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}
