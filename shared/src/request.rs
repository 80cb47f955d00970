//! Typed requests: [`BusRequest`] ties a request payload to its topic and its reply type.
//!
//! The kernel's handlers and the desktop's `send_request` are both generic over this trait, so a
//! change of a topic or a reply type that one side misses is a compile error, not a runtime drift.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::topic::Topic;

/// Whether a request is a command (answered on `:ack`) or a query (answered on `:resp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Ack,
    Resp,
}

/// A request payload with a fixed topic and a fixed reply type.
pub trait BusRequest: Serialize + DeserializeOwned {
    /// The request topic, e.g. `kernel.ping`.
    const TOPIC: &'static str;
    /// Command (`:ack`) or query (`:resp`).
    const REPLY: ReplyKind;
    /// The payload of the reply.
    type Reply: Serialize + DeserializeOwned;

    /// The request topic, parsed. `TOPIC` is checked by the contract tests, so this never fails.
    fn topic() -> Topic {
        Topic::parse(Self::TOPIC).expect("BusRequest::TOPIC is a valid topic")
    }

    /// The topic the reply arrives on.
    fn reply_topic() -> Topic {
        match Self::REPLY {
            ReplyKind::Ack => Self::topic().ack(),
            ReplyKind::Resp => Self::topic().resp(),
        }
    }
}

/// Implements [`BusRequest`]: `bus_request!(Ping => "kernel.ping", Resp, Pong);`.
#[macro_export]
macro_rules! bus_request {
    ($request:ty => $topic:literal, $kind:ident, $reply:ty) => {
        impl $crate::request::BusRequest for $request {
            const TOPIC: &'static str = $topic;
            const REPLY: $crate::request::ReplyKind = $crate::request::ReplyKind::$kind;
            type Reply = $reply;
        }
    };
}

/// A payload with its correlation id: `{"_request_id": "r-1", ...body}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlated<T> {
    #[serde(
        rename = "_request_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub body: T,
}
