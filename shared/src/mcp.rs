//! The `mcp.*` topics: grants that let an outside agent use the agent's tools over MCP, acting
//! for the granting tab.
//!
//! `mcp.grant` makes a grant for some of the agent's tools ([`crate::agent::tools::TOOLS`]) that
//! lives `ttl_ms`, and answers its id, its bearer token (shown once, never again) and the URL an
//! MCP client connects to. `mcp.grants` lists the caller's live grants, without tokens;
//! `mcp.revoke` ends one. A grant acts only for the client that made it and dies with it.

use serde::{Deserialize, Serialize};

crate::contract! {
    namespace: Mcp, error: ERROR = "mcp.error";
    requests {
        GRANT = "mcp.grant": Grant => Resp(Granted);
        GRANTS = "mcp.grants": Grants => Resp(GrantList);
        REVOKE = "mcp.revoke": Revoke => Ack(Revoked);
    }
    aliases {}
    events {}
}

/// When a call made with a grant runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Each call waits for Allow or Deny in the granting tab.
    Ask,
    /// Calls run at once (still through the guardrails).
    Allow,
}

/// `mcp.grant` → `mcp.grant:resp` ([`Granted`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Names of the agent's tools the grant allows (at least one).
    pub tools: Vec<String>,
    /// How long the grant lives, in milliseconds.
    pub ttl_ms: u64,
    pub approval: Approval,
}

/// The answer to [`Grant`]. The token is given once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Granted {
    pub grant_id: String,
    /// The bearer token (`Authorization: Bearer <token>`): 64 hex digits.
    pub token: String,
    /// The MCP endpoint (Streamable HTTP) on this kernel.
    pub url: String,
}

/// `mcp.grants` → `mcp.grants:resp` ([`GrantList`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {}

/// The caller's live grants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantList {
    pub grants: Vec<GrantInfo>,
}

/// One live grant, without its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    pub grant_id: String,
    pub tools: Vec<String>,
    pub approval: Approval,
    /// Milliseconds the grant still lives.
    pub expires_in_ms: u64,
}

/// `mcp.revoke` → `mcp.revoke:ack` ([`Revoked`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    pub grant_id: String,
}

/// The acknowledgement of [`Revoke`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub grant_id: String,
}
