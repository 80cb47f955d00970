//! `ai.agent.start`: a run admitted, acknowledged, executed, and its end recorded and announced.
//! Nothing of the run reaches anyone but the client that started it, and nothing before its
//! `:ack`. The run's end is recorded before it is announced, so an `ai.agent.undo` or
//! `ai.agent.status` sent on `ai.agent.done` sees the finished run.

use std::sync::Arc;

use aether_shared::agent::{DONE, Done, RunState, RunSummary, Start, Started};
use aether_shared::{Envelope, ErrorPayload, Topic};
use tracing::Instrument as _;

use super::budget::Limits;
use super::error::AgentError;
use super::live::LiveRun;
use super::run::{self, Ending, RunContext};
use super::store::StoredRun;
use super::{AgentService, fresh_id};
use crate::bus::ClientHandle;
use crate::clock::now_rfc3339;
use crate::services::ai::error::AiError;
use crate::services::request::{Answer, ServiceError as _, refuse, serve};

impl AgentService {
    /// `ai.agent.start`: acknowledged with the run id, then the run goes on its own task.
    pub(super) fn start(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let this = self.clone();
        let client = Arc::clone(client);
        serve::<Start, Answer<Started>, AgentError>(&self.inner.seat.bus, env, move |req, _| {
            let live = this.admit(&client, &req)?;
            let started = Started {
                run_id: live.run_id.clone(),
            };
            let span = tracing::info_span!(
                "agent_run",
                run_id = %live.run_id,
                client_id = %client.id()
            );
            let acting_for = client.acting_for().to_owned();
            Ok(Answer::ReplyThen(
                started,
                Box::new(move |env| {
                    tokio::spawn(this.go(live, acting_for, req, env).instrument(span));
                }),
            ))
        });
    }

    /// The checks of a start: a goal, a provider and a model, the client's run cap.
    fn admit(&self, client: &ClientHandle, req: &Start) -> Result<Arc<LiveRun>, AgentError> {
        let inner = &self.inner;
        if req.goal.trim().is_empty() {
            return Err(AgentError::EmptyGoal);
        }
        if !inner.provider.is_configured() {
            return Err(AiError::NotConfigured.into());
        }
        if req.model.is_none() && !inner.provider.has_model() {
            return Err(AiError::NoModel.into());
        }
        let run_id = fresh_id();
        let record = StoredRun {
            owner: client.principal().as_str().to_owned(),
            summary: RunSummary {
                run_id,
                goal: req.goal.clone(),
                state: RunState::Running,
                started: now_rfc3339(),
                finished: None,
                usage: Default::default(),
                turns: 0,
                tool_calls: 0,
                changed: Vec::new(),
                undone: false,
            },
            transcript: Vec::new(),
            error: None,
            checkpoints: Default::default(),
        };
        let live = Arc::new(LiveRun::new(client.principal(), client.id(), record));
        inner
            .live
            .admit(Arc::clone(&live), inner.config.max_runs_per_client.get())?;
        Ok(live)
    }

    /// Executes an admitted run, then records and announces its end.
    async fn go(self, live: Arc<LiveRun>, acting_for: String, req: Start, env: Envelope) {
        let inner = &self.inner;
        // A client that left between the start and now is gone for good.
        if !inner.seat.bus.is_connected(&live.client_id) {
            live.stop(AgentError::CallerLeft);
        }
        let store = match self.store().await {
            Ok(store) => store,
            Err(e) => {
                inner.live.remove(&live.run_id);
                return refuse(&inner.seat.bus, &env, &e);
            }
        };
        let first = live.snapshot();
        if let Err(e) = self.with_store(move |store| store.put(&first)).await {
            tracing::error!("agent store: {e}");
        }
        let ctx = RunContext {
            seat: inner.seat.clone(),
            provider: Arc::clone(&inner.provider),
            config: Arc::clone(&inner.config),
            limits: Limits::of(&inner.config, req.budget.as_ref()),
            live: Arc::clone(&live),
            acting_for,
            start: env.clone(),
            request: req,
            store,
            max_frame_bytes: inner.max_frame_bytes,
            outside: Arc::clone(&inner.outside),
            shutdown: inner.shutdown.clone(),
        };
        let ending = run::execute(ctx).await;
        self.finish(&live, ending, &env).await;
    }

    /// Records how a run ended, forgets it as live, and tells the requester.
    async fn finish(&self, live: &LiveRun, ending: Ending, env: &Envelope) {
        let inner = &self.inner;
        let error: Option<ErrorPayload> = ending
            .as_ref()
            .err()
            .map(|e| e.to_payload().with_detail("run_id", live.run_id.as_str()));
        let state = match &ending {
            Ok(_) => RunState::Done,
            Err(AgentError::Shutdown) => RunState::Interrupted,
            Err(AgentError::Cancelled | AgentError::CallerLeft) => RunState::Cancelled,
            Err(_) => RunState::Failed,
        };
        let record = {
            let mut record = live.record.lock().expect("agent run lock");
            record.summary.state = state;
            record.summary.finished = Some(now_rfc3339());
            record.error = error.clone();
            record.clone()
        };
        tracing::info!(state = ?state, turns = record.summary.turns, tool_calls = record.summary.tool_calls, "agent run ended");
        if let Err(e) = self.with_store(move |store| store.put(&record)).await {
            tracing::error!("agent store: {e}");
        }
        inner.live.remove(&live.run_id);
        let bus = &inner.seat.bus;
        match (ending, error) {
            (Ok(summary), _) => {
                let totals = live.snapshot().summary;
                let done = Done {
                    run_id: live.run_id.clone(),
                    summary,
                    usage: totals.usage,
                    turns: totals.turns,
                    tool_calls: totals.tool_calls,
                };
                if let Err(e) = bus.publish_from_kernel(env.reply(Topic::from_static(DONE), &done))
                {
                    tracing::debug!("ai.agent.done was not delivered: {e}");
                }
            }
            (Err(_), Some(error)) => bus.emit_error(env, error),
            (Err(_), None) => {}
        }
    }
}
