//! A run in flight as the rest of the service sees it: who owns it, who started it, its record
//! as it stands, and how to stop it (`task.cancel`, or its caller leaving). It never runs
//! anything itself: the [`super::engine`] watches its cancel token.

use std::sync::Mutex;

use aether_shared::ErrorPayload;
use aether_shared::task::RunRecord;
use tokio_util::sync::CancellationToken;

use super::error::TaskError;

use crate::guard::Principal;

/// A run in flight, as `task.status` and `task.cancel` see it.
pub struct Live {
    pub owner: Principal,
    /// The client that started the run (its events go there).
    pub caller_id: String,
    /// The definition's `keep_on_disconnect`: the run goes on when its caller leaves.
    pub keep_on_disconnect: bool,
    pub record: Mutex<RunRecord>,
    pub cancel: CancellationToken,
    /// Why the run was cancelled, when not by `task.cancel`.
    cancel_reason: Mutex<Option<TaskError>>,
}

impl Live {
    pub fn new(
        owner: Principal,
        caller_id: String,
        keep_on_disconnect: bool,
        record: RunRecord,
    ) -> Live {
        Live {
            owner,
            caller_id,
            keep_on_disconnect,
            record: Mutex::new(record),
            cancel: CancellationToken::new(),
            cancel_reason: Mutex::new(None),
        }
    }

    /// Cancels the run, ending it with `error` (instead of the plain `task.cancel` one).
    pub fn cancel_because(&self, error: TaskError) {
        *self.cancel_reason.lock().expect("cancel reason lock") = Some(error);
        self.cancel.cancel();
    }

    /// The error the run ends with once cancelled.
    pub fn cancel_error(&self) -> ErrorPayload {
        self.cancel_reason
            .lock()
            .expect("cancel reason lock")
            .clone()
            .unwrap_or(TaskError::Cancelled)
            .into()
    }
}
