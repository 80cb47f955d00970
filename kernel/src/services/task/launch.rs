//! `task.run`: a stored definition started as a run of its caller, and the run's end recorded.
//! [`TaskService::launch`] checks the run may start (the task exists and is the caller's,
//! `task.max_runs`), records it as started, and returns what the [`super::engine`] needs;
//! [`TaskService::finish`] executes it and records and announces how it ended. Only the caller
//! is told anything, and only after its `task.run:ack`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_shared::task::Started;

use super::engine::{self, RunContext};
use super::error::TaskError;
use super::live::Live;
use super::store::{self, StoredRun};
use super::{TaskService, ending, fresh_id, may_see};
use crate::bus::ClientHandle;
use crate::clock::now_rfc3339;
use crate::services::request::refuse;

impl TaskService {
    /// Starts a run of `task_id` for `client`: its acknowledgement, and the run to execute.
    pub(super) async fn launch(
        &self,
        client: &ClientHandle,
        task_id: String,
    ) -> Result<(Started, RunContext), TaskError> {
        let inner = &self.inner;
        let wanted = task_id.clone();
        let task = self
            .with_store(move |store| store.task(&wanted))
            .await?
            .filter(|t| may_see(client.principal(), &t.owner))
            .ok_or(TaskError::NoSuchTask(task_id))?;
        let run_id = fresh_id(&inner.bus, "r");
        let live = {
            let mut live = inner.live.lock().expect("live runs lock");
            let max = inner.limits.max_runs.get() as usize;
            if live.len() >= max {
                return Err(TaskError::TooManyRuns(max));
            }
            let run = Arc::new(Live::new(
                client.principal(),
                client.id().to_owned(),
                task.keep_on_disconnect,
                store::fresh_record(&run_id, &task, now_rfc3339()),
            ));
            live.insert(run_id.clone(), Arc::clone(&run));
            run
        };
        // A caller that left while the task was looked up is gone for good.
        if !task.keep_on_disconnect && !inner.bus.is_connected(client.id()) {
            live.cancel_because(TaskError::CallerLeft);
        }
        let first = StoredRun {
            owner: task.owner.clone(),
            record: live.record.lock().expect("run record lock").clone(),
        };
        if let Err(e) = self.with_store(move |store| store.put_run(&first)).await {
            inner.live.lock().expect("live runs lock").remove(&run_id);
            return Err(e);
        }
        let limits = &inner.limits;
        let configured = limits.run_timeout_ms.get();
        let run_ms = task
            .timeout_ms
            .map_or(configured, |asked| asked.min(configured));
        let ctx = RunContext {
            bus: inner.bus.clone(),
            services: inner.services.clone(),
            run_id: run_id.clone(),
            task: Arc::new(task),
            caller_id: client.id().to_owned(),
            request_id: None,
            acting_for: client.acting_for().to_owned(),
            principal: client.principal(),
            node_timeout_cap: limits.node_timeout_ms.get(),
            run_timeout: Duration::from_millis(run_ms),
            max_parallel: limits.max_parallel.get() as usize,
            max_frame_bytes: inner.max_frame_bytes,
            max_result_bytes: limits.max_result_bytes.get(),
            max_run_result_bytes: limits.max_run_result_bytes.get(),
            live,
            shutdown: inner.shutdown.clone(),
        };
        Ok((Started { run_id }, ctx))
    }

    /// Executes a run, then records and announces how it ended. A history that cannot be
    /// written is said on the error topic of the `task.run` request `env`.
    pub(super) async fn finish(&self, mut ctx: RunContext, env: aether_shared::Envelope) {
        let started = Instant::now();
        ctx.request_id = env.request_id().map(str::to_owned);
        let (bus, caller, run_id, task, live) = (
            ctx.bus.clone(),
            ctx.caller_id.clone(),
            ctx.run_id.clone(),
            Arc::clone(&ctx.task),
            Arc::clone(&ctx.live),
        );
        let (ending, kept) = engine::execute(ctx).await;
        let (state, error) = ending::final_state(&ending);
        let record = {
            let mut record = live.record.lock().expect("run record lock");
            record.state = state;
            record.error = error.map(|e| e.with_detail("run_id", run_id.as_str()));
            record.ended = Some(now_rfc3339());
            record.duration_ms = Some(started.elapsed().as_millis() as u64);
            record.clone()
        };
        tracing::info!(state = ?state, duration_ms = record.duration_ms, "task run ended");
        let max_frame = self.inner.max_frame_bytes;
        let end = ending::Announce {
            caller_id: &caller,
            request_id: env.request_id(),
            run_id: &run_id,
            max_frame_bytes: max_frame,
        };
        end.send(&bus, &task, &ending, &kept);
        let stored = StoredRun {
            owner: task.owner.clone(),
            record,
        };
        if let Err(e) = self.with_store(move |store| store.put_run(&stored)).await {
            refuse(&bus, &env, &e);
        }
        self.inner
            .live
            .lock()
            .expect("live runs lock")
            .remove(&run_id);
    }
}
