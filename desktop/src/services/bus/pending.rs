//! Requests waiting for their answer, and the rule that settles them.
//!
//! A pending request is settled by the first envelope that carries its `_request_id` and is
//! either its reply (the request topic + `:ack` or `:resp`, see [`Expectation`]) or an error
//! topic. The namespace error topic (`vm.error` for `vm.spawn`, SPEC §2) is the one the kernel
//! uses; any other error topic with the same id (`kernel.error` for a request the hub refused
//! before routing) settles it too, since ids are unique per page. Other envelopes with the id
//! (streams such as `vm.stdout`) leave it pending.
//!
//! This module is pure bookkeeping: it owns no timers and no channels. The client stores its
//! resolver in `T` and fires it with the [`Settled`] outcome.

use std::collections::HashMap;

use aether_shared::catalog::{TopicKind, classify};
use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload, ReplyKind, Topic};

/// Which reply topics answer a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    request: Topic,
    reply: Option<ReplyKind>,
}

impl Expectation {
    /// The reply of a typed request: exactly `R::reply_topic()`.
    pub fn typed<R: BusRequest>() -> Self {
        Expectation {
            request: R::topic(),
            reply: Some(R::REPLY),
        }
    }

    /// The reply of a request known only by its topic: the catalog's reply kind, or either
    /// `:ack` or `:resp` when the catalog does not list the topic as a request.
    pub fn for_topic(topic: &Topic) -> Self {
        let reply = match classify(topic) {
            Some(TopicKind::Request(kind)) => Some(kind),
            _ => None,
        };
        Expectation {
            request: topic.clone(),
            reply,
        }
    }

    /// True when `topic` is the reply this request waits for.
    pub fn is_reply(&self, topic: &Topic) -> bool {
        match self.reply {
            Some(ReplyKind::Ack) => *topic == self.request.ack(),
            Some(ReplyKind::Resp) => *topic == self.request.resp(),
            None => *topic == self.request.ack() || *topic == self.request.resp(),
        }
    }
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Settled {
    /// Its reply arrived; the whole envelope, for the caller to decode.
    Reply(Envelope),
    /// An error topic answered it.
    Failed(ErrorPayload),
}

/// The table of requests in flight, keyed by request id.
#[derive(Debug)]
pub struct Pending<T> {
    entries: HashMap<String, (Expectation, T)>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            entries: HashMap::new(),
        }
    }
}

impl<T> Pending<T> {
    /// Registers a request. An id already in the table is replaced (ids are unique by
    /// construction, see `request_id`).
    pub fn insert(&mut self, request_id: String, expectation: Expectation, value: T) {
        self.entries.insert(request_id, (expectation, value));
    }

    /// The request `request_id`, while it is in flight.
    pub fn get(&self, request_id: &str) -> Option<&T> {
        self.entries.get(request_id).map(|(_, value)| value)
    }

    /// Removes a request without settling it (its timeout fired, or its send failed).
    pub fn remove(&mut self, request_id: &str) -> Option<T> {
        self.entries.remove(request_id).map(|(_, value)| value)
    }

    /// Settles the request `envelope` answers, if any, and removes it from the table.
    pub fn settle(&mut self, envelope: &Envelope) -> Option<(T, Settled)> {
        let id = envelope.request_id()?;
        let (expectation, _) = self.entries.get(id)?;
        let outcome = if envelope.topic.is_error() {
            Settled::Failed(error_payload(envelope))
        } else if expectation.is_reply(&envelope.topic) {
            Settled::Reply(envelope.clone())
        } else {
            return None;
        };
        let (_, value) = self.entries.remove(id)?;
        Some((value, outcome))
    }

    /// Empties the table (the connection dropped): every request in flight, for rejection.
    pub fn drain(&mut self) -> Vec<T> {
        self.entries.drain().map(|(_, (_, value))| value).collect()
    }

    /// How many requests are in flight.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The error payload of an error envelope; a payload that breaks the contract becomes an
/// `internal` error that says so, rather than leaving the request hanging.
pub fn error_payload(envelope: &Envelope) -> ErrorPayload {
    envelope.decode::<ErrorPayload>().unwrap_or_else(|e| {
        ErrorPayload::new(
            ErrorCode::Internal,
            format!("The kernel sent an unreadable error ({e}); report this as a kernel bug."),
        )
        .with_request_id(envelope.request_id().map(str::to_owned))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::kernel::Ping;
    use serde_json::json;

    fn envelope(topic: &str, payload: serde_json::Value) -> Envelope {
        Envelope::new(Topic::parse(topic).unwrap()).with_payload(&payload)
    }

    fn table_with_ping(id: &str) -> Pending<&'static str> {
        let mut table = Pending::default();
        table.insert(id.to_owned(), Expectation::typed::<Ping>(), "ping");
        table
    }

    #[test]
    fn the_reply_with_the_same_id_settles_the_request() {
        let mut table = table_with_ping("r-1-a");
        let reply = envelope(
            "kernel.ping:resp",
            json!({"_request_id": "r-1-a", "uptime_ms": 3}),
        );
        let (value, outcome) = table.settle(&reply).unwrap();
        assert_eq!(value, "ping");
        assert_eq!(outcome, Settled::Reply(reply));
        assert!(table.len() == 0);
    }

    #[test]
    fn a_reply_for_another_id_or_topic_leaves_the_request_pending() {
        let mut table = table_with_ping("r-1-a");
        for other in [
            envelope("kernel.ping:resp", json!({"_request_id": "r-2-a"})),
            envelope("kernel.ping:resp", json!({})),
            envelope("kernel.ping:ack", json!({"_request_id": "r-1-a"})),
            envelope("kernel.stats:resp", json!({"_request_id": "r-1-a"})),
            envelope("kernel.hello", json!({"_request_id": "r-1-a"})),
        ] {
            assert!(table.settle(&other).is_none(), "{other:?}");
        }
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn the_namespace_error_topic_rejects_early_with_its_code() {
        let mut table = table_with_ping("r-1-a");
        let error = envelope(
            "kernel.error",
            json!({"_request_id": "r-1-a", "code": "rate_limited", "error": "Slow down.",
                   "details": {"retry_after_ms": 40}}),
        );
        let (_, outcome) = table.settle(&error).unwrap();
        let Settled::Failed(payload) = outcome else {
            panic!("expected a failure")
        };
        assert_eq!(payload.code, ErrorCode::RateLimited);
        assert_eq!(payload.error, "Slow down.");
        assert_eq!(payload.request_id.as_deref(), Some("r-1-a"));
    }

    #[test]
    fn an_unreadable_error_payload_still_rejects_the_request() {
        let mut table = table_with_ping("r-1-a");
        let error = envelope("kernel.error", json!({"_request_id": "r-1-a", "code": 7}));
        let (_, Settled::Failed(payload)) = table.settle(&error).unwrap() else {
            panic!("expected a failure")
        };
        assert_eq!(payload.code, ErrorCode::Internal);
    }

    #[test]
    fn untyped_requests_wait_for_the_catalog_reply_kind_or_either_when_unknown() {
        let t = |s: &str| Topic::parse(s).unwrap();
        let write = Expectation::for_topic(&t("vfs:write"));
        assert!(write.is_reply(&t("vfs:write:ack")));
        assert!(!write.is_reply(&t("vfs:write:resp")));
        let read = Expectation::for_topic(&t("vfs:read"));
        assert!(read.is_reply(&t("vfs:read:resp")));
        assert!(!read.is_reply(&t("vfs:read:ack")));
        let unknown = Expectation::for_topic(&t("vm.frobnicate"));
        assert!(unknown.is_reply(&t("vm.frobnicate:ack")));
        assert!(unknown.is_reply(&t("vm.frobnicate:resp")));
        assert!(!unknown.is_reply(&t("vm.frobnicate")));
    }

    #[test]
    fn draining_returns_every_request_in_flight() {
        let mut table = table_with_ping("r-1-a");
        table.insert(
            "r-2-b".into(),
            Expectation::for_topic(&Topic::parse("vm.spawn").unwrap()),
            "spawn",
        );
        let mut drained = table.drain();
        drained.sort();
        assert_eq!(drained, ["ping", "spawn"]);
        assert!(table.len() == 0);
        assert_eq!(table.remove("r-1-a"), None);
    }
}
