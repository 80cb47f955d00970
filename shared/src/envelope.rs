//! The [`Envelope`]: the one message shape on the bus (SPEC §1).
//!
//! An envelope is parsed once at the edge (the kernel's hub, the desktop's bus client) and then
//! handled as typed values: [`Envelope::request`] builds one from a typed request,
//! [`Envelope::decode`] reads a typed payload back, and [`Envelope::reply`] /
//! [`Envelope::error_reply`] build correlated answers addressed to the requester.
//!
//! An envelope may carry bytes beside its payload ([`Envelope::bytes`]): they travel in a binary
//! frame and are never part of its JSON (see [`crate::frame`]).

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ContractError, ErrorPayload};
use crate::request::{BusRequest, Correlated};
use crate::topic::Topic;

/// A payload is always a JSON object.
pub type Payload = Map<String, Value>;

/// The name of the correlation field inside a payload.
pub const REQUEST_ID_FIELD: &str = "_request_id";

/// One message on the bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub topic: Topic,
    /// The sender. Set by the kernel on ingress; whatever a client writes is overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A client id or a session id; absent for fan-out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    /// RFC 3339 UTC with milliseconds; re-stamped by the kernel on ingress.
    #[serde(default)]
    pub time: String,
    /// Bytes that travel beside the payload in a binary frame (the payload says
    /// `encoding: "binary"`, see [`crate::frame`]); never part of the JSON. `None` for a text
    /// envelope.
    #[serde(skip)]
    pub bytes: Option<Bytes>,
}

impl Envelope {
    /// An envelope with a topic and nothing else.
    pub fn new(topic: Topic) -> Self {
        Envelope {
            topic,
            from: None,
            to: None,
            payload: None,
            time: String::new(),
            bytes: None,
        }
    }

    /// Parses an envelope from JSON text, with a message that says what is wrong.
    pub fn from_json(text: &str) -> Result<Envelope, ContractError> {
        serde_json::from_str(text).map_err(|e| ContractError::InvalidEnvelope(e.to_string()))
    }

    /// Serializes the envelope to JSON text (without its bytes: see [`crate::frame::encode`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }

    /// Builds a request envelope for a typed request, correlated by `request_id`.
    pub fn request<R: BusRequest>(req: &R, request_id: &str) -> Envelope {
        let body = Correlated {
            request_id: Some(request_id.to_owned()),
            body: req,
        };
        Envelope::new(R::topic()).with_payload(&body)
    }

    /// Sets the payload from any serializable object. Panics only on a type that does not
    /// serialize to a JSON object, which is a programming error caught by the contract tests.
    pub fn with_payload<T: Serialize>(mut self, body: &T) -> Envelope {
        self.payload = Some(to_payload(body));
        self
    }

    /// Attaches the bytes the envelope carries (its payload must say where they go, see
    /// [`crate::frame`]).
    pub fn with_bytes(mut self, bytes: impl Into<Bytes>) -> Envelope {
        self.bytes = Some(bytes.into());
        self
    }

    /// Addresses the envelope to a client or session.
    pub fn to(mut self, address: impl Into<String>) -> Envelope {
        self.to = Some(address.into());
        self
    }

    /// The correlation id of the payload, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.payload
            .as_ref()?
            .get(REQUEST_ID_FIELD)
            .and_then(Value::as_str)
    }

    /// Decodes the payload as `T` (an absent payload decodes as `{}`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ContractError> {
        let value = Value::Object(self.payload.clone().unwrap_or_default());
        serde_json::from_value(value).map_err(|e| ContractError::InvalidPayload {
            topic: self.topic.to_string(),
            why: e.to_string(),
        })
    }

    /// A reply on `reply_topic` to this request: addressed to its sender, same `_request_id`.
    pub fn reply<T: Serialize>(&self, reply_topic: Topic, body: &T) -> Envelope {
        let body = Correlated {
            request_id: self.request_id().map(str::to_owned),
            body,
        };
        let mut env = Envelope::new(reply_topic).with_payload(&body);
        env.to = self.from.clone();
        env
    }

    /// The error answer to this request: on its namespace's error topic, addressed to its
    /// sender, with its `_request_id`.
    pub fn error_reply(&self, error: ErrorPayload) -> Envelope {
        let error = error.with_request_id(self.request_id().map(str::to_owned));
        let mut env = Envelope::new(self.topic.error_topic()).with_payload(&error);
        env.to = self.from.clone();
        env
    }
}

/// Serializes a value that must be a JSON object into a [`Payload`].
pub fn to_payload<T: Serialize>(body: &T) -> Payload {
    match serde_json::to_value(body) {
        Ok(Value::Object(map)) => map,
        Ok(other) => panic!("a payload must serialize to a JSON object, got {other}"),
        Err(e) => panic!("a payload failed to serialize: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::kernel::{Ping, Pong};
    use serde_json::json;

    #[test]
    fn envelope_json_is_exactly_the_spec_shape() {
        let text = r#"{"topic":"vm.spawn","from":"c-7f3a","to":"s-91bc","payload":{"_request_id":"r-12","backend":"wasm"},"time":"2026-11-24T10:00:00.123Z"}"#;
        let env = Envelope::from_json(text).unwrap();
        assert_eq!(env.topic.as_str(), "vm.spawn");
        assert_eq!(env.request_id(), Some("r-12"));
        assert_eq!(
            serde_json::to_value(&env).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn optional_fields_are_omitted_and_may_be_absent() {
        let env = Envelope::from_json(r#"{"topic":"kernel.ping"}"#).unwrap();
        assert_eq!(env.from, None);
        assert_eq!(
            serde_json::to_value(&env).unwrap(),
            json!({"topic": "kernel.ping", "time": ""})
        );
    }

    #[test]
    fn malformed_envelopes_are_refused_with_a_reason() {
        for bad in [
            "not json",
            r#"{"payload":{}}"#,
            r#"{"topic":"nope.x"}"#,
            r#"{"topic":"kernel.ping","payload":[1,2]}"#,
            r#"{"topic":"kernel.ping","payload":"x"}"#,
        ] {
            let err = Envelope::from_json(bad).unwrap_err();
            assert!(matches!(err, ContractError::InvalidEnvelope(_)), "{bad}");
        }
    }

    #[test]
    fn replies_and_errors_are_correlated_and_addressed_to_the_requester() {
        let mut req = Envelope::request(&Ping {}, "r-9");
        req.from = Some("c-1".into());
        let reply = req.reply(req.topic.resp(), &Pong { uptime_ms: 5 });
        assert_eq!(reply.topic.as_str(), "kernel.ping:resp");
        assert_eq!(reply.to.as_deref(), Some("c-1"));
        assert_eq!(reply.request_id(), Some("r-9"));
        let pong: Correlated<Pong> = reply.decode().unwrap();
        assert_eq!(pong.body.uptime_ms, 5);

        let err = req.error_reply(ErrorPayload::new(ErrorCode::Timeout, "Try again."));
        assert_eq!(err.topic.as_str(), "kernel.error");
        assert_eq!(err.to.as_deref(), Some("c-1"));
        let payload: ErrorPayload = err.decode().unwrap();
        assert_eq!(payload.request_id.as_deref(), Some("r-9"));
        assert_eq!(payload.code, ErrorCode::Timeout);
    }
}
