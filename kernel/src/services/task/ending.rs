//! How a run ended, told to its caller and recorded: one `task.done` with every node's kept
//! result (cut further to fit one frame), or one `task.error` carrying the failed node's own
//! details plus `node` and `run_id`. Never sends anything else.

use aether_shared::task::{self, Done, RunState};
use aether_shared::{Correlated, Envelope, ErrorPayload, Namespace, Payload, Topic};

use super::error::node_failed;
use super::fit;
use super::store::StoredTask;
use crate::bus::Bus;

/// How the run ended.
pub enum Ending {
    /// Every node settled; `failed` holds the first node that failed, if any.
    Settled {
        failed: Option<(String, ErrorPayload)>,
    },
    /// Stopped early: `cancelled`, `timeout` (node or run) or the kernel's shutdown.
    Stopped(RunState, ErrorPayload),
}

/// Where and how a run's end is told: to the caller, under the `task.run` request's id.
pub struct Announce<'a> {
    pub caller_id: &'a str,
    pub request_id: Option<&'a str>,
    pub run_id: &'a str,
    pub max_frame_bytes: usize,
}

impl Announce<'_> {
    /// Tells the caller how the run ended: `task.done` with every node's kept result (cut
    /// further if they do not fit one frame of `max_frame_bytes`), or `task.error`.
    pub fn send(&self, bus: &Bus, task: &StoredTask, ending: &Ending, kept: &[Option<Payload>]) {
        let run_id = self.run_id;
        let request_id = self.request_id.map(str::to_owned);
        let env = match ending {
            Ending::Settled { failed: None } => {
                let results = task
                    .nodes
                    .iter()
                    .zip(kept)
                    .map(|(n, r)| (n.id.clone(), r.clone().unwrap_or_default()))
                    .collect();
                let mut done = Done {
                    run_id: run_id.to_owned(),
                    results,
                };
                fit::done(
                    &mut done,
                    fit::frame_room(self.max_frame_bytes, self.request_id),
                );
                Envelope::new(Topic::from_static(task::DONE)).with_payload(&Correlated {
                    request_id,
                    body: done,
                })
            }
            Ending::Settled {
                failed: Some((node, error)),
            } => {
                // The node's own details (`limit`, `exit_code`, …) are kept.
                let failed = node_failed(node, error)
                    .with_detail("node", node.as_str())
                    .with_detail("run_id", run_id)
                    .with_request_id(request_id);
                Envelope::new(Namespace::Task.error_topic()).with_payload(&failed)
            }
            Ending::Stopped(_, error) => {
                let error = error
                    .clone()
                    .with_detail("run_id", run_id)
                    .with_request_id(request_id);
                Envelope::new(Namespace::Task.error_topic()).with_payload(&error)
            }
        };
        let _ = bus.publish_from_kernel(env.to(self.caller_id));
    }
}

/// The run's state from how it ended.
pub fn final_state(ending: &Ending) -> (RunState, Option<ErrorPayload>) {
    match ending {
        Ending::Settled { failed: None } => (RunState::Succeeded, None),
        Ending::Settled {
            failed: Some((node, error)),
        } => (
            RunState::Failed,
            Some(error.clone().with_detail("node", node.as_str())),
        ),
        Ending::Stopped(state, error) => (*state, Some(error.clone())),
    }
}
