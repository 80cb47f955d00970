//! `mcp.undo {grant_id}`: every file the grant's calls wrote is put back as it was before the
//! grant's first write to it, byte for byte, and every file they created is deleted, as the
//! granting tab, in that tab, through the same admission as its own requests (as
//! `ai.agent.undo` does for a run). Only the tab that made the grant may undo it, live or ended.
//!
//! Undo takes what the grant kept: a second undo restores nothing (`restored: []`) unless the
//! grant's calls wrote again meanwhile. A path that cannot be put back stops the undo with that
//! path and the tab's error, and the grant keeps everything it had, so undoing again retries
//! (writing back a before-state twice changes nothing).

use aether_shared::mcp::{Restored, UndoGrant};

use super::McpService;
use super::error::McpError;
use crate::bus::ClientHandle;
use crate::services::agent::caller::Caller;
use crate::services::agent::tools;

impl McpService {
    pub(super) async fn undo(
        &self,
        client: &ClientHandle,
        UndoGrant { grant_id }: UndoGrant,
    ) -> Result<Restored, McpError> {
        let caller = Caller::files_only(
            &self.seat,
            format!("mcp-undo-{grant_id}"),
            client.principal(),
            client.acting_for(),
        );
        if self
            .grants
            .lookup(&grant_id)
            .is_none_or(|(g, _)| g.owner != client.id())
        {
            return Err(McpError::NotFound(grant_id));
        }
        caller.session().map_err(|_| McpError::NoTab)?;
        let taken = self
            .grants
            .take_undo(client.id(), &grant_id)
            .ok_or_else(|| McpError::NotFound(grant_id.clone()))?;
        let restored = match tools::restore_all(&caller, &taken).await {
            Ok(restored) => restored,
            Err((path, cause)) => {
                self.grants.give_back_undo(&grant_id, taken);
                return Err(McpError::UndoFailed { path, cause });
            }
        };
        tracing::info!(
            grant_id,
            client_id = client.id(),
            restored = restored.len(),
            "mcp grant undone"
        );
        Ok(Restored { restored })
    }
}
