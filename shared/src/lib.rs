//! The Aether contract, shared by the kernel and the desktop.
//!
//! Everything that crosses the message bus is defined here and nowhere else: the [`Envelope`],
//! the [`Topic`] grammar and its derived reply and error topics, subscription [`Pattern`]s, the
//! closed set of [`ErrorCode`]s, and one module per namespace with every request payload, its
//! reply type and its events. A request type implements [`BusRequest`], which ties it to its topic
//! and its reply type, so a kernel handler and a desktop caller that disagree do not compile.
//!
//! This crate must stay free of runtimes and platform APIs (no tokio, no web-sys, no clock): it
//! compiles for native targets and for `wasm32-unknown-unknown`.

pub mod agent;
pub mod ai;
pub mod bus;
pub mod catalog;
pub mod compute;
pub mod declare;
pub mod envelope;
pub mod error;
pub mod frame;
pub mod json_size;
pub mod kernel;
pub mod mcp;
pub mod pattern;
pub mod request;
pub mod stream;
pub mod task;
pub mod topic;
pub mod vfs;
pub mod vm;

pub use bytes::Bytes;
pub use catalog::TopicKind;
pub use envelope::{Envelope, Payload};
pub use error::{ContractError, ErrorCode, ErrorPayload};
pub use pattern::Pattern;
pub use request::{BusRequest, Correlated, ReplyKind};
pub use stream::BusStream;
pub use topic::{Namespace, Topic};

/// The address kernel services send from (`from` of every envelope the kernel originates).
pub const KERNEL_ADDRESS: &str = "kernel";

/// The protocol version the kernel announces in `kernel.hello`.
pub const PROTOCOL_VERSION: &str = "1";
