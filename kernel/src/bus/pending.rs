//! Requests the kernel itself sent to a client or session, waiting for their answers.
//!
//! Each gets a fresh, unguessable `_request_id` (`k-` and 128 random bits, hex) and remembers the
//! client it was sent to: an envelope addressed to `kernel` with that id resolves it only when it
//! comes from that client (anyone else's is refused, so no client can answer for another). Entries
//! are removed on answer and on timeout, so nothing accumulates. An answer that carries bytes (a
//! binary frame) is handed over in its text form: the kernel's services read base64 or utf8.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aether_shared::{BusRequest, Correlated, Envelope, ErrorCode, ErrorPayload, Namespace, frame};
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

/// What became of an answer addressed to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// It settled the request waiting for it.
    Settled,
    /// No request of the kernel waits for that id (it ended, or never was).
    NoRequest,
    /// A request waits for that id, but it was sent to another client: refused, and the request
    /// keeps waiting for its real peer.
    WrongPeer,
}

/// One request of the kernel waiting for its answer.
struct Waiter {
    /// The address it was sent to (a client or a session id).
    to: String,
    /// The client serving that address when it was sent: the only one that may answer.
    peer: String,
    tx: oneshot::Sender<Envelope>,
}

#[derive(Default)]
pub(super) struct Pending {
    /// Request id → its waiter.
    waiting: Mutex<HashMap<String, Waiter>>,
}

/// A fresh kernel request id: `k-` and 128 random bits.
fn fresh_id() -> String {
    format!("k-{:032x}", rand::random::<u128>())
}

impl Pending {
    /// Registers a request to `to`, served by client `peer`.
    pub(super) fn register(&self, to: &str, peer: &str) -> (String, oneshot::Receiver<Envelope>) {
        let id = fresh_id();
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("pending lock").insert(
            id.clone(),
            Waiter {
                to: to.to_owned(),
                peer: peer.to_owned(),
                tx,
            },
        );
        (id, rx)
    }

    /// Ends every request addressed to one of `gone` with `session_not_found`.
    pub(super) fn fail_for(&self, gone: &[String]) {
        let mut waiting = self.waiting.lock().expect("pending lock");
        let ids: Vec<String> = waiting
            .iter()
            .filter(|(_, w)| gone.contains(&w.to) || gone.contains(&w.peer))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(Waiter { to, tx, .. }) = waiting.remove(&id) {
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

    /// Settles the request `env` answers, if `from` is the client it was sent to.
    pub(super) fn resolve(&self, env: Envelope, from: &str) -> Answered {
        let Some(id) = env.request_id() else {
            return Answered::NoRequest;
        };
        let mut waiting = self.waiting.lock().expect("pending lock");
        match waiting.get(id) {
            None => Answered::NoRequest,
            Some(w) if w.peer != from => Answered::WrongPeer,
            Some(_) => {
                let waiter = waiting.remove(id).expect("the waiter just seen");
                drop(waiting);
                if waiter.tx.send(frame::into_text(env)).is_ok() {
                    Answered::Settled
                } else {
                    Answered::NoRequest
                }
            }
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
