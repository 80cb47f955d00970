//! Requests the kernel itself sent to a client or session, waiting for their answers.
//!
//! Each gets a fresh `_request_id` (`k-<n>`); an envelope addressed to `kernel` with that id
//! resolves it. Entries are removed on answer and on timeout, so nothing accumulates.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aether_shared::{BusRequest, Correlated, Envelope, ErrorCode, ErrorPayload, Namespace};
use tokio::sync::oneshot;

/// Why a kernel request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no answer within {0:?}; the peer may be busy or gone, try again")]
    Timeout(Duration),
    #[error("`{0}` is not connected; reconnect the tab that owns it")]
    Unreachable(String),
    #[error("the peer refused: {} ({})", .0.error, .0.code)]
    Remote(ErrorPayload),
    #[error("the peer's answer does not match the contract: {0}")]
    BadAnswer(String),
}

#[derive(Default)]
pub(super) struct Pending {
    next: AtomicU64,
    /// Request id → (addressee, waiter).
    waiting: Mutex<HashMap<String, (String, oneshot::Sender<Envelope>)>>,
}

impl Pending {
    pub(super) fn register(&self, to: &str) -> (String, oneshot::Receiver<Envelope>) {
        let id = format!("k-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .expect("pending lock")
            .insert(id.clone(), (to.to_owned(), tx));
        (id, rx)
    }

    /// Ends every request addressed to one of `gone` with `session_not_found`.
    pub(super) fn fail_for(&self, gone: &[String]) {
        let mut waiting = self.waiting.lock().expect("pending lock");
        let ids: Vec<String> = waiting
            .iter()
            .filter(|(_, (to, _))| gone.contains(to))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some((to, tx)) = waiting.remove(&id) {
                let error = ErrorPayload::new(
                    ErrorCode::SessionNotFound,
                    format!("`{to}` disconnected before answering; reopen its tab and retry"),
                )
                .with_request_id(Some(id));
                let env = Envelope::new(Namespace::Kernel.error_topic()).with_payload(&error);
                let _ = tx.send(env);
            }
        }
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.waiting.lock().expect("pending lock").is_empty()
    }

    pub(super) fn forget(&self, id: &str) {
        self.waiting.lock().expect("pending lock").remove(id);
    }

    pub(super) fn resolve(&self, env: Envelope) -> bool {
        let Some(id) = env.request_id() else {
            return false;
        };
        let waiter = self.waiting.lock().expect("pending lock").remove(id);
        match waiter {
            Some((_, tx)) => tx.send(env).is_ok(),
            None => false,
        }
    }
}

/// Reads a peer's answer: the typed reply, or the error it sent.
pub(super) fn decode_answer<R: BusRequest>(answer: &Envelope) -> Result<R::Reply, RequestError> {
    if answer.topic == R::reply_topic() {
        return answer
            .decode::<Correlated<R::Reply>>()
            .map(|c| c.body)
            .map_err(|e| RequestError::BadAnswer(e.to_string()));
    }
    if answer.topic.is_error() {
        return match answer.decode::<ErrorPayload>() {
            Ok(err) => Err(RequestError::Remote(err)),
            Err(e) => Err(RequestError::BadAnswer(e.to_string())),
        };
    }
    Err(RequestError::BadAnswer(format!(
        "expected `{}` or an error, got `{}`",
        R::reply_topic(),
        answer.topic
    )))
}
