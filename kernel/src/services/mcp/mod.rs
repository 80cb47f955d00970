//! The `mcp.*` service: grants that let an outside agent use the agent's tools over MCP, acting
//! for the tab that made the grant. This module answers `mcp.grant`, `mcp.grants` and
//! `mcp.revoke` and runs a granted call as the agent runs its own ([`McpService::call`]); the
//! HTTP transport is in [`http`], the grants themselves in [`grants`]. It never logs a token.

pub mod grants;
pub mod http;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aether_shared::agent::tools::{TOOLS, ToolCall};
use aether_shared::mcp::{
    Approval, GRANT, GRANTS, Grant, GrantList, Granted, Grants, REVOKE, Revoke, Revoked,
};
use aether_shared::{ErrorCode, ErrorPayload};
use serde_json::Value;

use self::grants::{GrantRecord, GrantTable, MAX_TTL};
use super::agent::caller::{Caller, Seat};
use super::agent::tools;
use super::request::{ServiceError, serve, unknown};
use crate::bus::ClientHandle;

/// Most live grants one client may hold (each is a token kept in memory).
const MAX_GRANTS_PER_CLIENT: usize = 16;

/// How long a call waits for a program it leaves running to be killed.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// A bad `mcp.*` request, or a grant that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("{0}")]
    BadRequest(String),
    #[error("There is no grant `{0}` of yours; list them with mcp.grants.")]
    NotFound(String),
    #[error("This tab already has {0} live grants; revoke one with mcp.revoke first.")]
    TooMany(usize),
}

impl ServiceError for McpError {
    fn code(&self) -> ErrorCode {
        match self {
            McpError::BadRequest(_) => ErrorCode::BadRequest,
            McpError::NotFound(_) => ErrorCode::NotFound,
            McpError::TooMany(_) => ErrorCode::ResourceExceeded,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            McpError::TooMany(n) => error
                .with_detail("limit", "max_grants_per_client")
                .with_detail("value", *n),
            _ => error,
        }
    }
}

/// The grants and what a granted call needs to act as its granting client.
pub struct McpService {
    seat: Seat,
    grants: GrantTable,
    /// The endpoint a grant's client connects to: set from the listener's own address when the
    /// kernel starts serving (the configured `listen` may name port 0).
    url: std::sync::OnceLock<String>,
    /// A granted call's program output is kept to this many characters (stdout and stderr each).
    kept_chars: usize,
    next_id: AtomicU64,
}

impl McpService {
    /// Says where `/mcp` is reachable, once the kernel's listener is bound.
    pub fn serving_at(&self, addr: std::net::SocketAddr) {
        let _ = self.url.set(format!("http://{addr}/mcp"));
    }

    pub fn new(seat: Seat, kept_chars: usize) -> McpService {
        McpService {
            seat,
            grants: GrantTable::default(),
            url: std::sync::OnceLock::new(),
            kept_chars,
            next_id: AtomicU64::new(0),
        }
    }

    /// Handles an `mcp.*` request from `client`.
    pub fn handle(&self, client: &Arc<ClientHandle>, env: aether_shared::Envelope) {
        let bus = &self.seat.bus;
        match env.topic.as_str() {
            GRANT => serve(bus, env, |req, _| self.grant(client, req)),
            GRANTS => serve(bus, env, |Grants {}, _| {
                Ok::<_, McpError>(GrantList {
                    grants: self.grants.of(client.id()),
                })
            }),
            REVOKE => serve(bus, env, |Revoke { grant_id }, _| {
                if self.grants.revoke(client.id(), &grant_id) {
                    tracing::info!(grant_id, client_id = client.id(), "mcp grant revoked");
                    Ok(Revoked { grant_id })
                } else {
                    Err(McpError::NotFound(grant_id))
                }
            }),
            _ => unknown(bus, &env),
        }
    }

    /// The granting client left: its grants can no longer act.
    pub fn client_gone(&self, client_id: &str) {
        self.grants.owner_gone(client_id);
    }

    /// The live grant a bearer token stands for.
    pub fn authenticate(&self, token: &str) -> Option<GrantRecord> {
        self.grants.find(token)
    }

    /// The live grant with this id (a call re-reads its grant, so revocation and expiry take
    /// effect on the next call).
    pub fn grant_by_id(&self, grant_id: &str) -> Option<GrantRecord> {
        self.grants.by_id(grant_id)
    }

    fn grant(&self, client: &ClientHandle, req: Grant) -> Result<Granted, McpError> {
        if req.approval == Approval::Ask {
            return Err(McpError::BadRequest(
                "`approval: ask` is not yet supported for MCP grants; grant with `approval: allow`."
                    .into(),
            ));
        }
        if req.tools.is_empty() {
            return Err(McpError::BadRequest(
                "A grant needs at least one tool; name some in `tools`.".into(),
            ));
        }
        let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        if let Some(bad) = req.tools.iter().find(|t| !names.contains(&t.as_str())) {
            return Err(McpError::BadRequest(format!(
                "There is no tool `{bad}`; the tools are {}.",
                names.join(", ")
            )));
        }
        let ttl = Duration::from_millis(req.ttl_ms);
        if ttl.is_zero() || ttl > MAX_TTL {
            return Err(McpError::BadRequest(format!(
                "`ttl_ms` must be between 1 and {}; ask for a shorter grant.",
                MAX_TTL.as_millis()
            )));
        }
        if self.grants.of(client.id()).len() >= MAX_GRANTS_PER_CLIENT {
            return Err(McpError::TooMany(MAX_GRANTS_PER_CLIENT));
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let grant_id = format!("grant-{n}");
        let mut tools = req.tools;
        tools.sort();
        tools.dedup();
        let token = self.grants.insert(GrantRecord {
            grant_id: grant_id.clone(),
            tools,
            approval: req.approval,
            owner: client.id().to_owned(),
            principal: client.principal(),
            expires: Instant::now() + ttl,
            owner_gone: false,
        });
        tracing::info!(grant_id, client_id = client.id(), "mcp grant made");
        Ok(Granted {
            grant_id,
            token,
            url: self.url.get().cloned().unwrap_or_else(|| "/mcp".to_owned()),
        })
    }

    /// Runs one tool call made with `grant_id` as the granting client, exactly as the agent
    /// runs its own (the same requests, through the same admission). The error is a sentence
    /// for the outside agent.
    pub async fn call(
        &self,
        grant_id: &str,
        tool: &str,
        arguments: &Value,
    ) -> Result<Value, ErrorPayload> {
        let grant = self.grants.by_id(grant_id).ok_or_else(|| {
            ErrorPayload::new(
                ErrorCode::PermissionDenied,
                "This grant was revoked or has expired; ask the user for a new one.",
            )
        })?;
        if grant.owner_gone {
            return Err(ErrorPayload::new(
                ErrorCode::SessionNotFound,
                "The Aether tab that made this grant was closed; ask the user to reopen it and make a new grant.",
            ));
        }
        if !grant.tools.iter().any(|t| t == tool) {
            return Err(ErrorPayload::new(
                ErrorCode::PermissionDenied,
                format!(
                    "This grant does not allow `{tool}`; it allows {}.",
                    grant.tools.join(", ")
                ),
            ));
        }
        let call = ToolCall::parse(tool, arguments)
            .map_err(|e| ErrorPayload::new(ErrorCode::BadRequest, e))?;
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut caller = Attached(Caller::attach(
            &self.seat,
            format!("mcp-{grant_id}-{n}"),
            grant.principal,
            &grant.owner,
        ));
        let mut program = None;
        let result = tools::execute(&mut caller.0, call, self.kept_chars, &mut program).await;
        // A program still running when the call ended is killed; the wait for its end is bounded.
        let _ =
            tokio::time::timeout(STOP_WAIT, tools::stop_program(&mut caller.0, &mut program)).await;
        let code = result.as_ref().err().map(|e| e.code);
        tracing::info!(
            grant_id,
            client_id = grant.owner,
            tool,
            ok = result.is_ok(),
            code = ?code,
            "mcp tool call"
        );
        result
    }
}

/// A call's client on the bus, released when the call ends, also when its HTTP request is
/// dropped mid-call (whatever it still runs is then stopped as for a client that left).
struct Attached(Caller);

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.release();
    }
}
