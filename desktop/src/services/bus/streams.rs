//! Streams in flight: requests answered by a stream of events (`vm.spawn`, `ai.chat`,
//! `task.run`; see [`BusStream`]), keyed by request id, and the typed reading of their envelopes.
//!
//! A stream is found by its request id only, never by pid or run id, and ends with its first
//! terminal message: one of `R::TERMINAL`, or an error with its id on any error topic (its
//! namespace's, or `kernel.error` for a request the hub refused before routing). An error that
//! cannot be read, and the connection dropping, still end it with a `Failed` event built by
//! [`failure`], so a reader always sees exactly one end.
//!
//! Pure bookkeeping and decoding, unit tested natively: this module never calls a route and never
//! talks to the kernel. The client stores its router in `F`.

use std::collections::HashMap;

use aether_shared::{BusStream, Envelope, ErrorCode, ErrorPayload};

use super::pending::error_payload;

/// One stream in flight.
#[derive(Debug)]
pub struct OpenStream<F> {
    /// Hands an envelope of the stream to its reader.
    pub route: F,
    /// The request topic, for messages.
    pub topic: &'static str,
    /// Whether an envelope's topic ends the stream (`R::ends_stream`).
    pub ends: fn(&Envelope) -> bool,
    /// Its errors are not shown as toasts.
    pub silent: bool,
}

/// The streams in flight, keyed by request id.
#[derive(Debug)]
pub struct OpenStreams<F> {
    entries: HashMap<String, OpenStream<F>>,
}

impl<F> Default for OpenStreams<F> {
    fn default() -> Self {
        OpenStreams {
            entries: HashMap::new(),
        }
    }
}

impl<F: Clone> OpenStreams<F> {
    /// Registers a stream (ids are unique by construction, see `request_id`).
    pub fn insert(&mut self, request_id: String, stream: OpenStream<F>) {
        self.entries.insert(request_id, stream);
    }

    /// Forgets a stream (its reader closed it), returning it.
    pub fn remove(&mut self, request_id: &str) -> Option<OpenStream<F>> {
        self.entries.remove(request_id)
    }

    /// True while stream `request_id` is open.
    pub fn contains(&self, request_id: &str) -> bool {
        self.entries.contains_key(request_id)
    }

    /// True when stream `request_id` is open and was sent with the `silent` option.
    pub fn is_silent(&self, request_id: &str) -> bool {
        self.entries.get(request_id).is_some_and(|s| s.silent)
    }

    /// The route of the stream `envelope` belongs to, if any; a terminal envelope removes the
    /// stream first, so its route runs for the last time.
    pub fn route(&mut self, envelope: &Envelope) -> Option<F> {
        let id = envelope.request_id()?;
        let stream = self.entries.get(id)?;
        let route = stream.route.clone();
        if envelope.topic.is_error() || (stream.ends)(envelope) {
            self.entries.remove(id);
        }
        Some(route)
    }

    /// Empties the table (the connection dropped): `(request id, topic, route)` of every stream.
    pub fn drain(&mut self) -> Vec<(String, &'static str, F)> {
        self.entries
            .drain()
            .map(|(id, s)| (id, s.topic, s.route))
            .collect()
    }

    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The event of stream `R` that `envelope` (already matched by request id) carries. An error on
/// any error topic becomes `R`'s failure, an unreadable one an `internal` failure that says so.
pub fn event_of<R: BusStream>(envelope: &Envelope) -> Option<R::Event> {
    if envelope.topic.is_error() {
        return failure::<R>(error_payload(envelope));
    }
    R::decode(envelope)
}

/// `R`'s failure event for `error`, made by `R`'s own decoder from an envelope on its error topic.
pub fn failure<R: BusStream>(error: ErrorPayload) -> Option<R::Event> {
    R::decode(&Envelope::new(R::error_topic()).with_payload(&error))
}

/// Why a stream ended when the connection dropped under it.
pub fn cut_off(topic: &str, request_id: &str) -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::BackendUnavailable,
        format!(
            "The connection to the kernel dropped before `{topic}` finished, which stopped it (the kernel ends what a client that leaves was running); run it again once connected."
        ),
    )
    .with_request_id(Some(request_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::Topic;
    use aether_shared::ai::{Chat, ChatEvent};
    use aether_shared::vm::{Spawn, SpawnEvent, Spawned};
    use serde_json::json;

    fn envelope(topic: &str, payload: serde_json::Value) -> Envelope {
        Envelope::new(Topic::parse(topic).unwrap()).with_payload(&payload)
    }

    fn table() -> OpenStreams<&'static str> {
        let mut table = OpenStreams::default();
        table.insert(
            "r-1-a".into(),
            OpenStream {
                route: "spawn",
                topic: "vm.spawn",
                ends: <Spawn as BusStream>::ends_stream,
                silent: false,
            },
        );
        table.insert(
            "r-2-b".into(),
            OpenStream {
                route: "chat",
                topic: "ai.chat",
                ends: <Chat as BusStream>::ends_stream,
                silent: true,
            },
        );
        table
    }

    #[test]
    fn a_stream_hears_its_own_id_until_its_terminal_message() {
        let mut streams = table();
        let out = envelope("vm.stdout", json!({"_request_id": "r-1-a"}));
        assert_eq!(streams.route(&out), Some("spawn"));
        assert_eq!(
            streams.route(&envelope("vm.stdout", json!({"_request_id": "r-9-z"}))),
            None
        );
        assert_eq!(streams.route(&envelope("vm.stdout", json!({}))), None);
        let exit = envelope("vm.exit", json!({"_request_id": "r-1-a"}));
        assert_eq!(streams.route(&exit), Some("spawn"), "the end is delivered");
        assert_eq!(streams.route(&out), None, "and nothing after it");
        assert!(!streams.contains("r-1-a") && streams.contains("r-2-b"));
    }

    #[test]
    fn an_error_on_any_error_topic_ends_the_stream_of_its_id() {
        let mut streams = table();
        let refused = envelope(
            "kernel.error",
            json!({"_request_id": "r-2-b", "code": "rate_limited", "error": "Slow down."}),
        );
        assert_eq!(streams.route(&refused), Some("chat"));
        assert_eq!(streams.len(), 1);
        let ChatEvent::Failed(error) = event_of::<Chat>(&refused).unwrap() else {
            panic!("a refusal is the chat's failure")
        };
        assert_eq!(error.code, ErrorCode::RateLimited);
    }

    #[test]
    fn silence_is_remembered_per_stream_and_draining_returns_every_one() {
        let mut streams = table();
        assert!(streams.is_silent("r-2-b") && !streams.is_silent("r-1-a"));
        assert!(!streams.is_silent("r-9-z"));
        let mut drained: Vec<_> = streams
            .drain()
            .into_iter()
            .map(|(_, t, r)| (t, r))
            .collect();
        drained.sort();
        assert_eq!(drained, [("ai.chat", "chat"), ("vm.spawn", "spawn")]);
        assert_eq!(streams.len(), 0);
    }

    #[test]
    fn envelopes_become_typed_events_and_unreadable_errors_still_fail() {
        let ack = envelope("vm.spawn:ack", json!({"_request_id": "r-1-a", "pid": 7}));
        assert_eq!(
            event_of::<Spawn>(&ack),
            Some(SpawnEvent::Spawned(Spawned { pid: 7 }))
        );
        let garbled = envelope("vm.error", json!({"_request_id": "r-1-a", "code": 7}));
        let Some(SpawnEvent::Failed(error)) = event_of::<Spawn>(&garbled) else {
            panic!("an unreadable error still ends the stream")
        };
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(
            event_of::<Spawn>(&envelope("vm.list:resp", json!({"programs": []}))),
            None
        );
    }

    #[test]
    fn a_cut_off_stream_fails_with_backend_unavailable_in_its_own_type() {
        let Some(ChatEvent::Failed(error)) = failure::<Chat>(cut_off("ai.chat", "r-2-b")) else {
            panic!("a failure event")
        };
        assert_eq!(error.code, ErrorCode::BackendUnavailable);
        assert_eq!(error.request_id.as_deref(), Some("r-2-b"));
        assert!(error.error.contains("`ai.chat`") && error.error.contains("once connected"));
    }
}
