//! Typed requests: [`BusRequest`] ties a request payload to its topic and its reply type.
//!
//! The kernel's handlers and the desktop's `send_request` are both generic over this trait, so a
//! change of a topic or a reply type that one side misses is a compile error, not a runtime drift.
//! Implementations come from each namespace's one [`contract!`](crate::contract) declaration.

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
    /// The topic the reply arrives on, e.g. `kernel.ping:resp` (an alias answers on the reply
    /// topic of the request it stands for).
    const REPLY_TOPIC: &'static str;
    /// The payload of the reply.
    type Reply: Serialize + DeserializeOwned;

    /// The request topic, parsed. `TOPIC` is checked by the contract tests, so this never fails.
    fn topic() -> Topic {
        Topic::parse(Self::TOPIC).expect("BusRequest::TOPIC is a valid topic")
    }

    /// The topic the reply arrives on, parsed.
    fn reply_topic() -> Topic {
        Topic::parse(Self::REPLY_TOPIC).expect("BusRequest::REPLY_TOPIC is a valid topic")
    }

    /// The topic errors of this request arrive on (`vm.error` for `vm.spawn` and `wasm.run`).
    fn error_topic() -> Topic {
        Self::reply_topic().error_topic()
    }
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
