//! Binary frames (SPEC §1, extension): bulk bytes beside an envelope, never as base64 text.
//!
//! **Layout.** A binary WebSocket frame is one envelope whose bytes travel raw:
//!
//! ```text
//! [ header length: u32, big-endian ][ header: the envelope as JSON, UTF-8 ][ bytes ]
//!   4 bytes                            `header length` bytes                 the rest, maybe none
//! ```
//!
//! The header is a §1 envelope like any other (`topic`, `from`, `to`, `payload`, `time`; the
//! kernel overwrites `from` and re-stamps `time` on ingress). Its payload says where the bytes go:
//! `encoding` is `"binary"` ([`Binary`]), and the field that holds them in the text form is left
//! out of the header. Only the topics of [`CARRIERS`] carry bytes:
//!
//! | topic | the bytes are its | header payload |
//! |---|---|---|
//! | `vfs:write` | `content` | `{path, encoding: "binary", upload?, offset?, last?}` ([`WriteBytes`]) |
//! | `vfs:read:resp` | `content` | `{encoding: "binary", size, mtime, offset, eof}` ([`FileBytes`]) |
//!
//! In memory an envelope carries its bytes beside the payload ([`Envelope::bytes`], never part of
//! its JSON), so the kernel admits and routes it like any other envelope.
//!
//! **Negotiation, per connection.** A client that wants binary frames asks for the WebSocket
//! subprotocol [`SUBPROTOCOL`] (`aether.binary`) in its upgrade (`new WebSocket(url,
//! "aether.binary")`); the kernel selects it in its answer and says `binary: true` in
//! `kernel.hello`. Only then does the kernel send binary frames to it or take them from it. A
//! subprotocol, rather than a request after the hello, because it is settled before the first
//! frame in either direction (no frame is ever in flight in a form the peer did not agree to), it
//! needs no new topic, and browsers expose the outcome in `WebSocket.protocol`. A client that does
//! not ask is exactly the text-only client of SPEC §1: it never receives a binary frame, and a
//! binary frame it sends is refused (`bad_request` on `kernel.error`, naming the subprotocol)
//! rather than guessed at, so every connection speaks one agreed protocol.
//!
//! **Asking for bytes.** A reader asks the serving tab for raw bytes with `vfs:read {path,
//! offset?, length?, encoding: "binary"}`; a tab whose own connection negotiated binary frames
//! answers with a binary `vfs:read:resp`, any other answers the text form. Without `encoding` the
//! answer is the text form as before (`utf8` or `base64`, whole-file reads refused with
//! `payload_too_large` past one text frame), so text clients and kernel services see no change. A
//! writer on a binary connection may send any `vfs:write` (whole, or a chunk of an upload) as a
//! binary frame. Readers and servers accept both forms, always.
//!
//! **Conversion.** A text-only receiver never gets a binary frame: when the kernel delivers a
//! binary envelope to a connection that did not negotiate binary frames, or hands it to a kernel
//! service (the agent's and MCP's file tools, task nodes, the module reader), it converts it to
//! the text form ([`into_text`]): bytes that are UTF-8 text without NUL become `encoding: "utf8"`
//! and the text, any others `encoding: "base64"`, in the carrier's field. Text envelopes go to
//! every receiver as text frames, unchanged. The kernel never converts text to binary.
//!
//! **Limits.** `limits.max_frame_bytes` caps a binary frame whole (length, header and bytes): a
//! larger one is refused with `payload_too_large` (`details.limit: "max_frame_bytes"`) on
//! `kernel.error` and the connection stays up; past twice the cap the connection is closed, as for
//! text. A client's outbound queue bounds (`outbound_queue_len`, `max_queue_bytes`) count each
//! binary frame's whole length, and a converted frame's text length. Bytes are not expanded, so a
//! binary chunk holds up to [`binary_chunk_len`] bytes (the frame cap less
//! [`FRAME_OVERHEAD_BYTES`]) where a base64 chunk holds 3/4 of that. A converted answer is up to
//! 4/3 of its binary frame: the cap governs what the kernel accepts, not what it delivers; a reader
//! that needs each answer to fit one text frame asks without `encoding`.
//!
//! **Refusals.** A frame shorter than its 4-byte length, a header length past the end of the
//! frame, or a header that is not an envelope: `bad_request` on `kernel.error` (with the header's
//! `_request_id` when one can be read). A well-formed header on a topic that carries no bytes, or
//! whose payload does not say `encoding: "binary"` or also holds the bytes' field: `bad_request`
//! on that topic's error topic, correlated like any refusal. Nothing of a refused frame is
//! delivered, and the connection stays usable.
//!
//! **Later: program output.** `vm.stdout`/`vm.stderr` (and `vm.stdin`) carry `data` as UTF-8
//! today. To send it raw, give `vm::Output` (and `vm::Stdin`) an `encoding`, add rows
//! `("vm.stdout", "data")`, … to [`CARRIERS`], and the layout, negotiation, conversion and limits
//! above apply unchanged.
//!
//! This module is the codec only: it never reads a socket and never decides who may send what.
//!
//! [`WriteBytes`]: crate::vfs::WriteBytes
//! [`FileBytes`]: crate::vfs::FileBytes
//! [`binary_chunk_len`]: crate::vfs::chunk::binary_chunk_len
//! [`FRAME_OVERHEAD_BYTES`]: crate::vfs::chunk::FRAME_OVERHEAD_BYTES

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::envelope::Envelope;
use crate::error::ErrorCode;
use crate::request::BusRequest;
use crate::topic::Topic;
use crate::vfs::{self, Encoding};

/// The WebSocket subprotocol a client asks for to send and receive binary frames.
pub const SUBPROTOCOL: &str = "aether.binary";

/// Bytes of the header length that starts every binary frame (a big-endian `u32`).
pub const LENGTH_BYTES: usize = 4;

/// The payload field that says how the bytes travel.
pub const ENCODING_FIELD: &str = "encoding";

/// The `encoding` of a payload whose bytes are the frame's: `"binary"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binary {
    #[default]
    Binary,
}

/// A topic that may travel as a binary frame, and the payload field its bytes stand for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carrier {
    pub topic: &'static str,
    pub field: &'static str,
}

/// Every topic that carries bytes (see the module docs for what to add for program output).
pub const CARRIERS: &[Carrier] = &[
    Carrier {
        topic: vfs::WRITE,
        field: "content",
    },
    Carrier {
        topic: <vfs::Read as BusRequest>::REPLY_TOPIC,
        field: "content",
    },
];

/// The payload field the bytes of `topic` stand for, when `topic` carries bytes.
pub fn bytes_field(topic: &Topic) -> Option<&'static str> {
    CARRIERS
        .iter()
        .find(|c| c.topic == topic.as_str())
        .map(|c| c.field)
}

/// Why a binary frame was refused. Every one is a `bad_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "A binary frame starts with the 4-byte big-endian length of its header; this one has only {len} bytes. Send [length][header JSON][bytes]."
    )]
    Truncated { len: usize },
    #[error(
        "The binary frame says its header is {header} bytes, but only {available} follow the length; send the header's exact length, then the bytes."
    )]
    HeaderPastEnd { header: u64, available: usize },
    /// The header is not UTF-8 or not an envelope (the parser's sentence).
    #[error("The binary frame's header is not an envelope: {0}")]
    BadHeader(String),
    #[error(
        "`{topic}` carries no bytes; send it as a text frame (binary frames carry `vfs:write` and `vfs:read:resp`)."
    )]
    NoBytes { topic: String },
    #[error(
        "A binary `{topic}` says `\"encoding\": \"binary\"` in its payload and leaves `{field}` out: the frame's bytes are its `{field}`."
    )]
    Unmarked { topic: String, field: &'static str },
}

impl FrameError {
    /// The SPEC §4 code: a malformed frame is a bad request.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadRequest
    }
}

/// The binary frame of `env`: its header (the envelope as JSON, without the bytes) and its bytes
/// (none when it carries none).
pub fn encode(env: &Envelope) -> Vec<u8> {
    let header = env.to_json();
    let bytes = env.bytes.as_deref().unwrap_or_default();
    let length = u32::try_from(header.len()).expect("an envelope's JSON is under 4 GiB");
    let mut frame = Vec::with_capacity(LENGTH_BYTES + header.len() + bytes.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(header.as_bytes());
    frame.extend_from_slice(bytes);
    frame
}

/// Splits a binary frame into its header text and its bytes (a view of `frame`, not a copy).
pub fn split(frame: &Bytes) -> Result<(&str, Bytes), FrameError> {
    let Some((length, rest)) = frame.split_first_chunk::<LENGTH_BYTES>() else {
        return Err(FrameError::Truncated { len: frame.len() });
    };
    let header = u32::from_be_bytes(*length) as usize;
    if header > rest.len() {
        return Err(FrameError::HeaderPastEnd {
            header: header as u64,
            available: rest.len(),
        });
    }
    let text = std::str::from_utf8(&rest[..header])
        .map_err(|e| FrameError::BadHeader(format!("it is not UTF-8 ({e})")))?;
    Ok((text, frame.slice(LENGTH_BYTES + header..)))
}

/// Checks that a binary envelope's header says where its bytes go; returns the field they
/// stand for.
pub fn check(env: &Envelope) -> Result<&'static str, FrameError> {
    let topic = &env.topic;
    let Some(field) = bytes_field(topic) else {
        return Err(FrameError::NoBytes {
            topic: topic.to_string(),
        });
    };
    let payload = env.payload.as_ref();
    let marked = payload
        .and_then(|p| p.get(ENCODING_FIELD))
        .and_then(Value::as_str)
        == Some("binary");
    if !marked || payload.is_some_and(|p| p.contains_key(field)) {
        return Err(FrameError::Unmarked {
            topic: topic.to_string(),
            field,
        });
    }
    Ok(field)
}

/// Reads a binary frame into an envelope carrying its bytes: [`split`], parse, [`check`].
pub fn decode(frame: Bytes) -> Result<Envelope, FrameError> {
    let (header, bytes) = split(&frame)?;
    let mut env = Envelope::from_json(header).map_err(|e| FrameError::BadHeader(e.to_string()))?;
    check(&env)?;
    env.bytes = Some(bytes);
    Ok(env)
}

/// The envelope as a text-only receiver gets it: the bytes written into their field in the text
/// form ([`text_form`]) and `encoding` set to match. An envelope without bytes is unchanged.
pub fn into_text(mut env: Envelope) -> Envelope {
    let Some(bytes) = env.bytes.take() else {
        return env;
    };
    // Only a carrier can arrive with bytes (the edge checks); anything else made in-process
    // keeps them under `content`, not lost.
    let field = bytes_field(&env.topic).unwrap_or("content");
    let (content, encoding) = text_form(&bytes);
    let payload = env.payload.get_or_insert_with(Default::default);
    payload.insert(field.to_owned(), Value::String(content));
    payload.insert(
        ENCODING_FIELD.to_owned(),
        serde_json::to_value(encoding).expect("an encoding serializes"),
    );
    env
}

/// `bytes` in the text form: `utf8` when they are text ([`as_text`]), else `base64`.
pub fn text_form(bytes: &[u8]) -> (String, Encoding) {
    match as_text(bytes) {
        Some(text) => (text.to_owned(), Encoding::Utf8),
        None => (BASE64.encode(bytes), Encoding::Base64),
    }
}

/// `bytes` as text, when they are valid UTF-8 without NUL bytes.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests;
