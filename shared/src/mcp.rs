//! The `mcp.*` topics: grants that let an outside agent use the agent's tools over MCP, acting
//! for the granting tab.
//!
//! `mcp.grant` makes a grant for some of the agent's tools ([`crate::agent::tools::TOOLS`]) that
//! lives `ttl_ms`, and answers its id, its bearer token (shown once, never again) and the URL an
//! MCP client connects to. `mcp.grants` lists the caller's grants, without tokens: live ones,
//! and ended ones (revoked or expired, the newest 32) kept so their writes can be undone; and the
//! calls that wait for the caller's decision (`pending`). `mcp.revoke` ends one. A grant acts
//! only for the client that made it and dies with it.
//!
//! Every call made with a grant is told to the granting tab (`mcp.called`), so the person sees
//! what the outside agent did. A call of an `ask` grant first waits for the tab's decision: the
//! tab gets `mcp.ask` with the call's full arguments (and, for a write, the file's text before
//! and after) and answers `mcp.decide`; `mcp.settled` tells it the wait ended (decided, timed
//! out, or the outside agent hung up), so its card goes away; a view opened while a call waits
//! finds it in `mcp.grants`'s `pending`. `mcp.undo` puts back every file the grant's calls
//! wrote, as `ai.agent.undo` does for a run.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorPayload;
use crate::agent::WritePreview;

crate::contract! {
    namespace: Mcp, error: ERROR = "mcp.error";
    requests {
        GRANT = "mcp.grant": Grant => Resp(Granted);
        GRANTS = "mcp.grants": Grants => Resp(GrantList);
        REVOKE = "mcp.revoke": Revoke => Ack(Revoked);
        DECIDE = "mcp.decide": Decide => Ack(Decided);
        UNDO = "mcp.undo": UndoGrant => Ack(Restored);
    }
    aliases {}
    events {
        /// A call of an `ask` grant waits for the granting tab's decision ([`Ask`]).
        ASK = "mcp.ask";
        /// A call that asked no longer waits ([`Settled`]).
        SETTLED = "mcp.settled";
        /// A call made with a grant ended ([`Called`]), sent to the granting tab.
        CALLED = "mcp.called";
    }
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

/// The caller's grants, live and ended, in the order they were made, and the calls of its grants
/// that wait for its decision.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GrantList {
    pub grants: Vec<GrantInfo>,
    /// The calls of the caller's grants waiting for its [`Decide`], oldest first, each as its
    /// [`Ask`] said it (full arguments, a write's preview) but with `timeout_ms` the time left:
    /// so a window opened while a call waits shows it too. Only the granting client is told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Ask>,
}

/// How a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Its token works.
    Live,
    /// Ended by `mcp.revoke`; still listed so its writes can be undone.
    Revoked,
    /// Its `ttl_ms` passed; still listed so its writes can be undone.
    Expired,
}

/// One grant of the caller, without its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    pub grant_id: String,
    pub tools: Vec<String>,
    pub approval: Approval,
    pub state: GrantState,
    /// Milliseconds the grant still lives (0 once it has ended).
    pub expires_in_ms: u64,
    /// Calls made with it so far, refused ones included (each one told by `mcp.called`).
    pub calls: u64,
    /// Files its calls wrote (what `mcp.undo` would put back), in path order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<String>,
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

/// What the granting tab decided about a call that asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Run this call.
    Allow,
    /// Do not run it; the outside agent hears that the user declined.
    Deny,
    /// Run this call and every later call of the same tool with this grant without asking.
    AllowToolForGrant,
}

/// `mcp.ask` (event, kernel → granting tab): a call waits for [`Decide`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ask {
    pub ask_id: String,
    pub grant_id: String,
    pub tool: String,
    /// The call's arguments, in full, as the outside agent sent them.
    pub arguments: Value,
    /// For `write_file`: the file's text now and the text the call would write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WritePreview>,
    /// How long the call waits for a decision before it is refused (in `mcp.grants`'s
    /// `pending`: how long it still waits).
    pub timeout_ms: u64,
}

/// `mcp.decide {ask_id, decision}` → `mcp.decide:ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decide {
    pub ask_id: String,
    pub decision: Decision,
}

/// The acknowledgement of [`Decide`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {}

/// How a wait for a decision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskOutcome {
    Allowed,
    Denied,
    /// Nobody decided within the ask's `timeout_ms`.
    TimedOut,
    /// The outside agent hung up, or the grant ended, before a decision.
    Abandoned,
}

/// `mcp.settled` (event, kernel → granting tab): the call no longer waits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    pub ask_id: String,
    pub grant_id: String,
    pub outcome: AskOutcome,
}

/// `mcp.called` (event, kernel → granting tab): one call made with a grant, and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Called {
    pub grant_id: String,
    pub tool: String,
    /// The call's arguments; a string cut short when they would take more than half a frame.
    pub arguments: Value,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorPayload>,
}

/// `mcp.undo {grant_id}` → `mcp.undo:ack` ([`Restored`]): every file the grant's calls wrote is
/// put back as it was before the grant's first write to it; files they created are deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoGrant {
    pub grant_id: String,
}

/// The answer to [`UndoGrant`]: the paths put back or deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub restored: Vec<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_grant_list_without_pending_asks_reads_and_writes_as_before() {
        let old = json!({"grants": []});
        let list: GrantList = serde_json::from_value(old.clone()).unwrap();
        assert!(list.pending.is_empty());
        assert_eq!(serde_json::to_value(&list).unwrap(), old);

        let ask = Ask {
            ask_id: "ask-1".into(),
            grant_id: "grant-1".into(),
            tool: "read_file".into(),
            arguments: json!({"path": "/a.txt"}),
            write: None,
            timeout_ms: 1_000,
        };
        let list = GrantList {
            grants: Vec::new(),
            pending: vec![ask],
        };
        let wire = serde_json::to_value(&list).unwrap();
        assert_eq!(wire["pending"][0]["ask_id"], "ask-1");
        assert_eq!(serde_json::from_value::<GrantList>(wire).unwrap(), list);
    }
}
