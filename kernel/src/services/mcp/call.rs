//! One tool call made with a grant, in order: the grant re-read (so revocation, expiry and the
//! tab's leaving take effect on the next call); the tool checked against the grant; the
//! arguments read; for `write_file` the file's current bytes read as the granting tab (for the
//! preview and for undo); the tab's decision awaited when the grant asks (unless the user let
//! this tool run for the grant); the grant re-read again; the before-state kept for undo; the
//! call executed as the granting tab, exactly as the agent runs its own (the same requests,
//! through the same admission, drawing on the same rate limits). Every call, whatever its end,
//! is counted on the grant and told to the tab (`mcp.called`).
//!
//! When the outside agent hangs up, the call is dropped where it is: a wait ends `abandoned`,
//! and whatever it still runs is stopped as for a client that left.

use aether_shared::agent::tools::ToolCall;
use aether_shared::mcp::{Approval, GrantState};
use aether_shared::{ErrorCode, ErrorPayload};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::error::CallRefusal;
use super::events;
use super::grants::GrantRecord;
use super::{McpService, STOP_WAIT};
use crate::services::agent::caller::Caller;
use crate::services::agent::tools;

impl McpService {
    /// Runs one tool call made with `grant_id` as the granting client; `hangup` is cancelled
    /// when the outside agent's request is gone. The error is a sentence for the outside agent.
    pub async fn call(
        &self,
        grant_id: &str,
        tool: &str,
        arguments: &Value,
        hangup: &CancellationToken,
    ) -> Result<Value, ErrorPayload> {
        let Some((grant, state)) = self.grants.lookup(grant_id) else {
            return Err(CallRefusal::GrantEnded.into());
        };
        let outcome = tokio::select! {
            outcome = self.run(&grant, state, tool, arguments) => outcome,
            () = hangup.cancelled() => Err(CallRefusal::HungUp.into()),
        };
        self.grants.count_call(grant_id);
        if !grant.owner_gone {
            events::called(
                &self.seat.bus,
                &grant.owner,
                grant_id,
                tool,
                arguments,
                &outcome,
                self.max_frame_bytes,
            );
        }
        tracing::info!(
            grant_id,
            client_id = grant.owner,
            tool,
            ok = outcome.is_ok(),
            code = ?outcome.as_ref().err().map(|e| e.code),
            "mcp tool call"
        );
        outcome
    }

    async fn run(
        &self,
        grant: &GrantRecord,
        state: GrantState,
        tool: &str,
        arguments: &Value,
    ) -> Result<Value, ErrorPayload> {
        usable(grant, state)?;
        if !grant.tools.iter().any(|t| t == tool) {
            return Err(CallRefusal::NotGranted {
                tool: tool.to_owned(),
                allowed: grant.tools.join(", "),
            }
            .into());
        }
        let call = ToolCall::parse(tool, arguments)
            .map_err(|e| ErrorPayload::new(ErrorCode::BadRequest, e))?;
        let n = self.next_call();
        let mut caller = Attached(Caller::attach(
            &self.seat,
            format!("mcp-{}-{n}", grant.grant_id),
            grant.principal,
            &grant.owner,
        ));
        let write = match &call {
            ToolCall::WriteFile(w) => Some(tools::prepare_write(&caller.0, w).await?),
            _ => None,
        };
        if grant.approval == Approval::Ask && !grant.allowed.contains(tool) {
            let preview = write.as_ref().map(|w| w.preview.clone());
            self.ask_user(grant, tool, arguments, preview).await?;
            let (now, state) = self
                .grants
                .lookup(&grant.grant_id)
                .ok_or(CallRefusal::GrantEnded)?;
            usable(&now, state)?;
        }
        if let Some(tools::PreparedWrite { path, before, .. }) = write {
            self.grants
                .keep_before(&grant.grant_id, &path, before)
                .map_err(CallRefusal::UndoFull)?;
        }
        let mut program = None;
        let result = tools::execute(&mut caller.0, call, self.kept_chars, &mut program).await;
        // A program still running when the call ended is killed; the wait for its end is bounded.
        let _ =
            tokio::time::timeout(STOP_WAIT, tools::stop_program(&mut caller.0, &mut program)).await;
        result
    }
}

/// Whether a grant as it stands may make a call.
pub(super) fn usable(grant: &GrantRecord, state: GrantState) -> Result<(), CallRefusal> {
    if grant.owner_gone {
        return Err(CallRefusal::TabClosed);
    }
    if state != GrantState::Live {
        return Err(CallRefusal::GrantEnded);
    }
    Ok(())
}

/// A call's client on the bus, released when the call ends, also when it is dropped mid-call
/// (the outside agent hung up): whatever it still runs is then stopped as for a client that left.
struct Attached(Caller);

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.release();
    }
}
