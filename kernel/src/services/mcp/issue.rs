//! `mcp.grant`: a request for a grant checked (at least one tool, every one of them the agent's,
//! a `ttl_ms` within [`MAX_TTL`], fewer than [`MAX_GRANTS_PER_CLIENT`] live grants) and the grant
//! issued to the requesting client, its token given once. Never logs the token.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aether_shared::agent::tools::TOOLS;
use aether_shared::mcp::{Grant, Granted};

use super::McpService;
use super::error::McpError;
use super::grants::{GrantRecord, MAX_TTL};
use crate::bus::ClientHandle;

/// Most live grants one client may hold (each is a token kept in memory); ended ones kept for
/// undo do not count.
pub const MAX_GRANTS_PER_CLIENT: usize = 16;

impl McpService {
    pub(super) fn issue(&self, client: &ClientHandle, req: Grant) -> Result<Granted, McpError> {
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
        if self.grants.live_count(client.id()) >= MAX_GRANTS_PER_CLIENT {
            return Err(McpError::TooMany(MAX_GRANTS_PER_CLIENT));
        }
        let grant_id = format!("grant-{}", self.next_call());
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
            allowed: BTreeSet::new(),
        });
        tracing::info!(grant_id, client_id = client.id(), approval = ?req.approval, "mcp grant made");
        Ok(Granted {
            grant_id,
            token,
            url: self.url.get().cloned().unwrap_or_else(|| "/mcp".to_owned()),
        })
    }
}
