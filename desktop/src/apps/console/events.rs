//! The edge between the bus and the Console: a `vm.*` envelope turned into a typed
//! [`VmEvent`] for the run whose spawn it answers.
//!
//! Everything the kernel sends about a spawn (the `:ack`, the output, the one `vm.exit` or
//! `vm.error`) carries that spawn's `_request_id` (SPEC §1, §5), so runs are found by request id,
//! never by pid: an error of a `vm.stdin` for the same pid has another request id and cannot end
//! the run by mistake. Envelopes that break the contract are dropped here.

use aether_shared::vm::{self, Exit, Output, Spawned};
use aether_shared::{Envelope, ErrorPayload};

use super::transcript::Stream;

/// Something that happened to a spawned program.
#[derive(Clone, Debug, PartialEq)]
pub enum VmEvent {
    /// The spawn was accepted under `pid`.
    Spawned(u64),
    /// A chunk of output.
    Output {
        seq: u64,
        stream: Stream,
        data: String,
    },
    /// The program ended by itself.
    Exited(Exit),
    /// The spawn was refused, or the program was stopped (killed, a limit, a bad module).
    Failed(ErrorPayload),
}

/// The request id an envelope answers and what it says, for the topics a spawn causes.
pub fn decode(envelope: &Envelope) -> Option<(String, VmEvent)> {
    let request_id = envelope.request_id()?.to_owned();
    let output = |stream| {
        envelope.decode::<Output>().ok().map(|out| VmEvent::Output {
            seq: out.seq,
            stream,
            data: out.data,
        })
    };
    let event = match envelope.topic.as_str() {
        "vm.spawn:ack" => envelope
            .decode::<Spawned>()
            .ok()
            .map(|s| VmEvent::Spawned(s.pid)),
        vm::STDOUT => output(Stream::Stdout),
        vm::STDERR => output(Stream::Stderr),
        vm::EXIT => envelope.decode::<Exit>().ok().map(VmEvent::Exited),
        "vm.error" => envelope.decode::<ErrorPayload>().ok().map(VmEvent::Failed),
        _ => None,
    }?;
    Some((request_id, event))
}

/// Which limit an error names (`details.limit`), if any.
pub fn limit_of(error: &ErrorPayload) -> Option<&str> {
    error.details.as_ref()?.get("limit")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::{ErrorCode, Topic};
    use serde_json::json;

    fn envelope(topic: &str, payload: serde_json::Value) -> Envelope {
        let mut env = Envelope::new(Topic::parse(topic).unwrap());
        env.payload = payload.as_object().cloned();
        env
    }

    #[test]
    fn each_topic_of_a_spawn_becomes_its_event() {
        let ack = envelope("vm.spawn:ack", json!({"_request_id": "c-1", "pid": 7}));
        assert_eq!(decode(&ack), Some(("c-1".into(), VmEvent::Spawned(7))));
        let err = envelope(
            "vm.stderr",
            json!({"_request_id": "c-1", "pid": 7, "seq": 3, "data": "x"}),
        );
        assert_eq!(
            decode(&err).unwrap().1,
            VmEvent::Output {
                seq: 3,
                stream: Stream::Stderr,
                data: "x".into()
            }
        );
        let exit = envelope(
            "vm.exit",
            json!({"_request_id": "c-1", "pid": 7, "code": 0, "duration_ms": 4,
                   "stats": {"fuel_used": 1, "peak_memory_bytes": 2, "output_bytes": 3}}),
        );
        assert!(matches!(
            decode(&exit).unwrap().1,
            VmEvent::Exited(Exit { code: 0, .. })
        ));
        let failed = envelope(
            "vm.error",
            json!({"_request_id": "c-1", "code": "timeout", "error": "Too slow.",
                   "details": {"pid": 7, "limit": "wall_timeout_ms", "value": 300}}),
        );
        let Some((_, VmEvent::Failed(error))) = decode(&failed) else {
            panic!("not a failure")
        };
        assert_eq!(error.code, ErrorCode::Timeout);
        assert_eq!(limit_of(&error), Some("wall_timeout_ms"));
    }

    #[test]
    fn uncorrelated_unrelated_or_malformed_envelopes_are_dropped() {
        assert_eq!(
            decode(&envelope(
                "vm.stdout",
                json!({"pid": 1, "seq": 0, "data": ""})
            )),
            None
        );
        assert_eq!(
            decode(&envelope(
                "vm.list:resp",
                json!({"_request_id": "c-1", "programs": []})
            )),
            None
        );
        assert_eq!(
            decode(&envelope(
                "vm.stdout",
                json!({"_request_id": "c-1", "seq": "zero"})
            )),
            None
        );
        let plain = ErrorPayload::new(ErrorCode::Cancelled, "Killed.");
        assert_eq!(limit_of(&plain), None);
    }
}
