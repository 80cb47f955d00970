//! The AI requests running now, per client: admission under `max_concurrent_per_client`, and
//! the cancellation token of each, found by the client's `_request_id` (for `ai.cancel`) or by
//! the client (when it leaves). An entry is removed by its [`Admitted`] guard when the request
//! ends, however it ends.
//!
//! The cap counts requests by the client they are made for (`ClientHandle::acting_for`): a task
//! run's agent sends its `ai.*` nodes on its caller's behalf, so they share the caller's cap
//! rather than bringing a fresh one per run. Cancelling stays with the client that sent them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::error::AiError;

type Key = (String, String);

/// The running requests of every client.
#[derive(Default)]
pub struct Active {
    running: Mutex<HashMap<Key, Running>>,
}

/// One running request: the client it counts against, and its cancellation.
struct Running {
    counted_as: String,
    cancel: CancellationToken,
}

/// A running request's place in [`Active`]; dropping it frees the place.
pub struct Admitted {
    active: Arc<Active>,
    key: Key,
    /// Cancelled by `ai.cancel` or when the client leaves.
    pub cancel: CancellationToken,
}

impl Admitted {
    /// Runs `work` until it ends or the request is cancelled (`AiError::Cancelled`, dropping
    /// `work` and with it the upstream request); the request's place is freed on return.
    pub async fn until_cancelled<T>(
        self,
        work: impl Future<Output = Result<T, AiError>>,
    ) -> Result<T, AiError> {
        tokio::select! {
            outcome = work => outcome,
            _ = self.cancel.cancelled() => Err(AiError::Cancelled),
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.active
            .running
            .lock()
            .expect("ai registry lock")
            .remove(&self.key);
    }
}

impl Active {
    /// Admits `client_id`'s request `request_id`, made for `counted_as` (the client itself, or
    /// the caller of a task run), unless `counted_as` is at `max` or `client_id` already runs a
    /// request with that id.
    pub fn admit(
        self: &Arc<Active>,
        client_id: &str,
        counted_as: &str,
        request_id: &str,
        max: u32,
    ) -> Result<Admitted, AiError> {
        let mut running = self.running.lock().expect("ai registry lock");
        let key = (client_id.to_owned(), request_id.to_owned());
        if running.contains_key(&key) {
            return Err(AiError::Duplicate(request_id.to_owned()));
        }
        let mine = running
            .values()
            .filter(|r| r.counted_as == counted_as)
            .count();
        if mine >= max as usize {
            return Err(AiError::TooMany(max));
        }
        let cancel = CancellationToken::new();
        running.insert(
            key.clone(),
            Running {
                counted_as: counted_as.to_owned(),
                cancel: cancel.clone(),
            },
        );
        Ok(Admitted {
            active: Arc::clone(self),
            key,
            cancel,
        })
    }

    /// Cancels `client_id`'s request `request_id`; `false` when it is not running.
    pub fn cancel(&self, client_id: &str, request_id: &str) -> bool {
        let running = self.running.lock().expect("ai registry lock");
        match running.get(&(client_id.to_owned(), request_id.to_owned())) {
            Some(request) => {
                request.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every request of a client that left.
    pub fn cancel_all(&self, client_id: &str) {
        let running = self.running.lock().expect("ai registry lock");
        for ((client, _), request) in running.iter() {
            if client == client_id {
                request.cancel.cancel();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_is_capped_per_client_and_freed_on_drop() {
        let active = Arc::new(Active::default());
        let a = active.admit("c1", "c1", "r1", 2).unwrap();
        let _b = active.admit("c1", "c1", "r2", 2).unwrap();
        assert_eq!(
            active.admit("c1", "c1", "r3", 2).err(),
            Some(AiError::TooMany(2))
        );
        assert!(
            active.admit("c2", "c2", "r1", 2).is_ok(),
            "other clients have their own cap"
        );
        assert_eq!(
            active.admit("c1", "c1", "r2", 3).err(),
            Some(AiError::Duplicate("r2".into()))
        );
        assert!(active.cancel("c1", "r1"));
        assert!(a.cancel.is_cancelled());
        assert!(
            !active.cancel("c2", "r2"),
            "a client cancels its own requests only"
        );
        drop(a);
        assert!(!active.cancel("c1", "r1"));
        assert!(active.admit("c1", "c1", "r3", 2).is_ok());
    }

    #[test]
    fn requests_made_for_a_caller_count_against_the_callers_cap() {
        let active = Arc::new(Active::default());
        let _own = active.admit("caller", "caller", "r1", 2).unwrap();
        let _run = active.admit("task-1", "caller", "node-0", 2).unwrap();
        assert_eq!(
            active.admit("task-2", "caller", "node-0", 2).err(),
            Some(AiError::TooMany(2)),
            "a second run does not bring a fresh cap"
        );
        assert!(
            !active.cancel("caller", "node-0"),
            "the agent's request stays the agent's"
        );
        assert!(active.cancel("task-1", "node-0"));
    }

    #[tokio::test]
    async fn cancelling_ends_the_work_and_frees_its_place() {
        let active = Arc::new(Active::default());
        let admitted = active.admit("c1", "c1", "r1", 1).unwrap();
        assert!(active.cancel("c1", "r1"));
        let outcome = admitted
            .until_cancelled(std::future::pending::<Result<(), AiError>>())
            .await;
        assert_eq!(outcome, Err(AiError::Cancelled));
        assert!(
            active.admit("c1", "c1", "r2", 1).is_ok(),
            "the place is free"
        );
    }
}
