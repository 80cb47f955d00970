//! The small requests about runs: `ai.agent.approve` and `ai.agent.cancel` (a run of the same
//! client, going now), `ai.agent.list` and `ai.agent.status` (the caller's principal's runs, live
//! or from the history; admin sees all). Another principal's run is answered exactly like one
//! that does not exist (`not_found`). A transcript that would not fit in one frame is sent with
//! its tool results and write previews left out (marked), then without its oldest events.

use aether_shared::agent::{
    Approve, Approved, Cancel, Cancelling, EventKind, RunList, RunRecord, Status,
};
use serde_json::Value;

use super::error::AgentError;
use super::{AgentService, may_see};
use crate::bus::ClientHandle;

impl AgentService {
    /// `ai.agent.approve`: the decision goes to the call the run waits on.
    pub(super) fn approve(
        &self,
        client: &ClientHandle,
        req: Approve,
    ) -> Result<Approved, AgentError> {
        let run = self.inner.live.of_client(&req.run_id, client.id())?;
        if !run.decide(&req.call_id, req.decision) {
            return Err(AgentError::NotWaiting {
                run_id: req.run_id,
                call_id: req.call_id,
            });
        }
        tracing::info!(run_id = %req.run_id, call_id = %req.call_id, decision = ?req.decision, "agent call decided");
        Ok(Approved {})
    }

    /// `ai.agent.cancel`: the run stops and ends with `ai.error {code: cancelled}`.
    pub(super) fn cancel(
        &self,
        client: &ClientHandle,
        req: Cancel,
    ) -> Result<Cancelling, AgentError> {
        let run = self.inner.live.of_client(&req.run_id, client.id())?;
        run.stop(AgentError::Cancelled);
        Ok(Cancelling {})
    }

    /// `ai.agent.list`: the caller's runs, newest first, live ones as they stand now.
    pub(super) async fn list(&self, client: &ClientHandle) -> Result<RunList, AgentError> {
        let principal = client.principal();
        let owner = (!principal.is_admin()).then(|| principal.as_str().to_owned());
        let mut runs = self
            .with_store(move |store| store.list(owner.as_deref()))
            .await?;
        for live in self.inner.live.snapshots() {
            if !may_see(principal, &live.owner) {
                continue;
            }
            match runs.iter_mut().find(|r| r.run_id == live.summary.run_id) {
                Some(kept) => *kept = live.summary,
                None => runs.insert(0, live.summary),
            }
        }
        Ok(RunList { runs })
    }

    /// `ai.agent.status`: one run with its transcript.
    pub(super) async fn status(
        &self,
        client: &ClientHandle,
        req: Status,
    ) -> Result<RunRecord, AgentError> {
        let principal = client.principal();
        let room = self.inner.max_frame_bytes.saturating_sub(FRAME_MARGIN);
        if let Some(live) = self.inner.live.get(&req.run_id) {
            let run = live.snapshot();
            if may_see(principal, &run.owner) {
                return Ok(fit(run.record(), room));
            }
        }
        let id = req.run_id.clone();
        self.with_store(move |store| store.get(&id))
            .await?
            .filter(|run| may_see(principal, &run.owner))
            .map(|run| fit(run.record(), room))
            .ok_or(AgentError::NoSuchRun(req.run_id))
    }
}

/// Bytes of a frame kept for the envelope around a status reply.
const FRAME_MARGIN: usize = 4 * 1024;

/// The record within `room` bytes of JSON: tool results and write previews left out (marked),
/// then the oldest events dropped.
fn fit(mut record: RunRecord, room: usize) -> RunRecord {
    let size = |r: &RunRecord| serde_json::to_vec(r).map_or(usize::MAX, |v| v.len());
    if size(&record) <= room {
        return record;
    }
    for event in &mut record.transcript {
        match &mut event.kind {
            EventKind::ToolResult {
                result: Some(result),
                ..
            } => *result = Value::String("[left out of the status: too large]".into()),
            EventKind::ToolCall { write, .. } => *write = None,
            _ => {}
        }
    }
    while size(&record) > room && !record.transcript.is_empty() {
        record.transcript.remove(0);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::agent::{Event, RunState};
    use serde_json::json;

    use crate::services::agent::store::tests::run_record;

    #[test]
    fn a_transcript_too_large_for_a_frame_loses_its_bulk_first() {
        let mut record = run_record("a-1", "local", RunState::Done).record();
        let result = |seq| Event {
            run_id: "a-1".into(),
            seq,
            kind: EventKind::ToolResult {
                call_id: format!("c{seq}"),
                ok: true,
                result: Some(json!({"content": "x".repeat(10_000)})),
                error: None,
            },
        };
        record.transcript.extend([result(1), result(2)]);
        let small = fit(record.clone(), 5_000);
        assert_eq!(
            small.transcript.len(),
            3,
            "results are cut before events go"
        );
        assert!(serde_json::to_vec(&small).unwrap().len() <= 5_000);
        let tiny = fit(record.clone(), 300);
        assert!(tiny.transcript.len() < 3);
        assert_eq!(fit(record.clone(), 1_000_000), record);
    }
}
