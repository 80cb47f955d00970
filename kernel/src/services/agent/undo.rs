//! `ai.agent.undo`: every file a finished run wrote is put back as it was before the run, byte
//! for byte (written back as base64), and every file it created is deleted, as the client asking
//! for the undo, in that client's own tab, through the same admission as its own requests.
//!
//! A run still going is refused (`bad_request`: cancel it, then undo). A run undone already, or
//! one that wrote nothing, restores nothing (`restored: []`). A path that cannot be put back
//! stops the undo with that path and the tab's error; the run is then not marked undone, and a
//! retry writes everything again (writing back a before-state twice changes nothing).

use aether_shared::agent::{Undo, Undone};

use super::caller::Caller;
use super::error::AgentError;
use super::tools;
use super::{AgentService, may_see};
use crate::bus::ClientHandle;

impl AgentService {
    pub(super) async fn undo(
        &self,
        client: &ClientHandle,
        req: Undo,
    ) -> Result<Undone, AgentError> {
        let principal = client.principal();
        if let Some(live) = self.inner.live.get(&req.run_id) {
            return Err(if may_see(principal, &live.snapshot().owner) {
                AgentError::StillRunning(req.run_id)
            } else {
                AgentError::NoSuchRun(req.run_id)
            });
        }
        let id = req.run_id.clone();
        let mut run = self
            .with_store(move |store| store.get(&id))
            .await?
            .filter(|run| may_see(principal, &run.owner))
            .ok_or_else(|| AgentError::NoSuchRun(req.run_id.clone()))?;
        if run.summary.undone || run.checkpoints.is_empty() {
            return Ok(Undone::default());
        }
        let caller = Caller::files_only(
            &self.inner.seat,
            format!("undo-{}", req.run_id),
            principal,
            client.acting_for(),
        );
        caller.session().map_err(|_| AgentError::NoTab)?;
        let restored = tools::restore_all(&caller, &run.checkpoints)
            .await
            .map_err(|(path, cause)| AgentError::UndoFailed { path, cause })?;
        tracing::info!(run_id = %req.run_id, restored = restored.len(), "agent run undone");
        run.summary.undone = true;
        self.with_store(move |store| store.put(&run)).await?;
        Ok(Undone { restored })
    }
}
