//! A node's change of state, recorded and told: its result cut to the caps of
//! [`crate::services::task::fit`] (`task.max_result_bytes`, what is left of
//! `task.max_run_result_bytes`), written into the run's live record (what `task.status` reads),
//! and sent to the caller as one `task.event` that fits a frame. Results no later node quotes
//! are dropped here. Never decides a state: [`super::schedule`] and [`super::settle`] do.

use aether_shared::task::{self, Event, NodeState};
use aether_shared::{Correlated, Envelope, ErrorPayload, Payload, Topic};

use super::Runner;
use crate::services::task::fit;

impl Runner {
    /// Records node `i`'s new state (its result cut to the caps) and tells the caller.
    pub(super) fn set_state(
        &mut self,
        i: usize,
        state: NodeState,
        result: Option<Payload>,
        error: Option<ErrorPayload>,
    ) {
        let result = result.map(|r| self.keep(i, &r));
        if self.state[i] == NodeState::Pending {
            self.release_quotes(i);
        }
        self.state[i] = state;
        let duration_ms = state
            .is_settled()
            .then(|| self.started[i].map(|t| t.elapsed().as_millis() as u64))
            .flatten();
        {
            let mut record = self.ctx.live.record.lock().expect("run record lock");
            let node = &mut record.nodes[i];
            node.state = state;
            node.duration_ms = duration_ms;
            node.result.clone_from(&result);
            node.error.clone_from(&error);
        }
        let mut event = Event {
            run_id: self.ctx.run_id.clone(),
            node: self.node_id(i).to_owned(),
            state,
            duration_ms,
            result,
            error,
        };
        let request_id = self.ctx.request_id.clone();
        let room = fit::frame_room(self.ctx.max_frame_bytes, request_id.as_deref());
        fit::event(&mut event, room);
        let env = Envelope::new(Topic::from_static(task::EVENT))
            .with_payload(&Correlated {
                request_id,
                body: event,
            })
            .to(self.ctx.caller_id.as_str());
        // The caller may have left; the run goes on and its history keeps the outcome.
        let _ = self.ctx.bus.publish_from_kernel(env);
    }

    /// Node `i`'s result as kept: within `task.max_result_bytes` and what is left of
    /// `task.max_run_result_bytes`.
    fn keep(&mut self, i: usize, result: &Payload) -> Payload {
        let max = self.ctx.max_result_bytes.min(self.kept_left);
        let kept = fit::result(result, max);
        self.kept_left = self.kept_left.saturating_sub(fit::json_len(&kept));
        self.kept[i] = Some(kept.clone());
        kept
    }

    /// Node `i` has left `pending`: the results only it still needed are dropped.
    fn release_quotes(&mut self, i: usize) {
        for k in 0..self.quotes[i].len() {
            let j = self.quotes[i][k];
            self.quoted_by[j] -= 1;
            if self.quoted_by[j] == 0 {
                self.results[j] = None;
            }
        }
    }
}
