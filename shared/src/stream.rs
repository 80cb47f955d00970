//! [`BusStream`]: a request answered by a stream of events after its reply.
//!
//! `vm.spawn`, `ai.chat` and `task.run` are acknowledged at once and then send more: output,
//! chunks, node events, ending with exactly one terminal message (`vm.exit`, `ai.done`,
//! `task.done`) or one error. Every one of them carries the request's `_request_id` and is
//! addressed to the requester (SPEC §1, §5), so a reader finds its stream by request id, never by
//! pid or run id. Each streaming request names its event type here, and [`BusStream::decode`] is
//! the one place an envelope of that stream becomes a typed event: the desktop's bus client and
//! the kernel's task engine both read streams through it.

use crate::envelope::Envelope;
use crate::error::ErrorPayload;
use crate::request::BusRequest;

/// A request whose reply opens a stream of events.
pub trait BusStream: BusRequest {
    /// What the stream carries: the reply, the events in between, the end.
    type Event: Clone + std::fmt::Debug;

    /// Topics whose message ends the stream, besides the request's error topic.
    const TERMINAL: &'static [&'static str];

    /// The event an envelope of this stream carries; `None` for a topic that is not part of the
    /// stream or a payload that breaks the contract. The caller has matched the request id.
    fn decode(envelope: &Envelope) -> Option<Self::Event>;

    /// Whether `event` is the last of its stream.
    fn is_terminal(event: &Self::Event) -> bool;

    /// Whether an envelope's topic ends this stream (the error topic or a [`Self::TERMINAL`]).
    fn ends_stream(envelope: &Envelope) -> bool {
        let topic = envelope.topic.as_str();
        topic == Self::error_topic().as_str() || Self::TERMINAL.contains(&topic)
    }
}

/// Decodes an error envelope of a stream.
pub(crate) fn failure(envelope: &Envelope) -> Option<ErrorPayload> {
    envelope
        .topic
        .is_error()
        .then(|| envelope.decode::<ErrorPayload>().ok())
        .flatten()
}
