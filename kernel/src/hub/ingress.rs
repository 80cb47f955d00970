//! Ingress: one frame from a client, parsed and handed to the bus's door.
//!
//! Order of checks: for a binary frame, that the connection negotiated binary frames; then frame
//! size (a binary frame's header and bytes together); then for a binary frame its layout
//! (`[length][header][bytes]`, see `aether_shared::frame`); then envelope syntax and topic grammar
//! (the edge: here a frame becomes an [`Envelope`]); then for a binary frame that its header says
//! where the bytes go (a refusal answered on the topic's own error topic, correlated); then
//! [`Bus::submit`](crate::bus::Bus::submit) — the door every sender goes through — stamps identity
//! (`from` overwritten, `time` re-stamped), admits the envelope
//! ([`Guards::admit`](crate::guard::Guards::admit): catalog, permissions, rate limits; admin
//! bypasses the last two) and routes it under the access rules of `bus::route`, bytes and all.
//! What comes back as an un-addressed request goes to its namespace's service, in its text form.
//! Every refusal is answered on an error topic and the connection stays open.

use aether_shared::{Envelope, ErrorCode, ErrorPayload, KERNEL_ADDRESS, Namespace, frame};
use bytes::Bytes;

use super::Peer;
use crate::app::Kernel;
use crate::bus::{Refused, Routed, stamp};
use crate::guard::audit::{self, Reason};

/// Why a frame was refused before it became an envelope; answered on `kernel.error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "The message is {bytes} bytes; the kernel accepts at most {max}. Send smaller messages."
    )]
    TooLarge { bytes: usize, max: usize },
    /// Not an envelope of the contract (the parser's sentence).
    #[error("{0}")]
    NotAnEnvelope(String),
    #[error(
        "Binary frames need the `aether.binary` WebSocket subprotocol, which this connection did not ask for; reconnect asking for it, or send envelopes as JSON text (base64 for bytes)."
    )]
    BinaryNotNegotiated,
    /// A binary frame that is not `[length][header][bytes]` (the codec's sentence).
    #[error("{0}")]
    BadBinary(frame::FrameError),
}

impl FrameError {
    /// The SPEC §4 code.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            FrameError::NotAnEnvelope(_)
            | FrameError::BinaryNotNegotiated
            | FrameError::BadBinary(_) => ErrorCode::BadRequest,
        }
    }

    /// The wire error; a cap names itself in `limit` and `value`.
    pub fn to_payload(&self) -> ErrorPayload {
        let error = ErrorPayload::new(self.code(), self.to_string());
        match self {
            FrameError::TooLarge { max, .. } => error
                .with_detail("limit", "max_frame_bytes")
                .with_detail("value", *max as u64),
            _ => error,
        }
    }
}

/// Handles one text frame from `peer`: the edge of the kernel.
pub fn handle_text(kernel: &Kernel, peer: &mut Peer, text: &str) {
    kernel.bus.stats().count_in();
    if let Err(error) = fits(kernel, peer, text.len()) {
        refuse(kernel, peer, &error, request_id_hint(text));
        return;
    }
    let env = match Envelope::from_json(text) {
        Ok(env) => env,
        Err(e) => {
            let error = FrameError::NotAnEnvelope(e.to_string());
            kernel.bus.stats().count_refusal(error.code().as_str());
            refuse(kernel, peer, &error, request_id_hint(text));
            return;
        }
    };
    submit(kernel, peer, env);
}

/// Handles one binary frame from `peer`: an envelope and the bytes it carries (SPEC §1, binary
/// frames), taken only from a connection that negotiated them.
pub fn handle_binary(kernel: &Kernel, peer: &mut Peer, frame: Bytes) {
    let stats = kernel.bus.stats();
    stats.count_in();
    if !peer.binary() {
        let error = FrameError::BinaryNotNegotiated;
        stats.count_refusal(error.code().as_str());
        refuse(kernel, peer, &error, None);
        return;
    }
    let header_hint = || {
        frame::split(&frame)
            .ok()
            .and_then(|(header, _)| request_id_hint(header))
    };
    if let Err(error) = fits(kernel, peer, frame.len()) {
        refuse(kernel, peer, &error, header_hint());
        return;
    }
    let (header, bytes) = match frame::split(&frame) {
        Ok(parts) => parts,
        Err(e) => {
            let error = FrameError::BadBinary(e);
            stats.count_refusal(error.code().as_str());
            refuse(kernel, peer, &error, None);
            return;
        }
    };
    let mut env = match Envelope::from_json(header) {
        Ok(env) => env,
        Err(e) => {
            let error = FrameError::BadBinary(frame::FrameError::BadHeader(e.to_string()));
            stats.count_refusal(error.code().as_str());
            refuse(kernel, peer, &error, request_id_hint(header));
            return;
        }
    };
    if let Err(e) = frame::check(&env) {
        // A readable envelope: refused on its own topic's error topic, to its sender.
        stamp(&mut env, peer.id());
        kernel
            .bus
            .emit_error(&env, ErrorPayload::new(e.code(), e.to_string()));
        return;
    }
    env.bytes = Some(bytes);
    submit(kernel, peer, env);
}

/// Checks a frame of `len` bytes against `limits.max_frame_bytes`, auditing a refusal.
fn fits(kernel: &Kernel, peer: &Peer, len: usize) -> Result<(), FrameError> {
    let max = kernel.config.limits.max_frame_bytes.get();
    if len <= max {
        return Ok(());
    }
    let error = FrameError::TooLarge { bytes: len, max };
    audit::refused(
        kernel.bus.stats(),
        Reason::PayloadTooLarge,
        Some(peer.id()),
        peer.principal.as_str(),
        None,
        &error.to_string(),
    );
    Err(error)
}

/// Hands a parsed envelope to the bus's door and acts on what it says.
fn submit(kernel: &Kernel, peer: &Peer, env: Envelope) {
    let bus = &kernel.bus;
    let client = &peer.handle;
    let _span = tracing::debug_span!("envelope", topic = %env.topic, request_id = env.request_id())
        .entered();
    match bus.submit(&kernel.guards, client, env) {
        // Services read the text form (an un-addressed carrier is refused by its service).
        Ok(Routed::Service(env)) => kernel.services.dispatch(client, frame::into_text(env)),
        Ok(Routed::Delivered(_) | Routed::Handled) => {}
        // Recorded by the door; answered here, to the client that sent it.
        Err(refused) => {
            let Refused { env, refusal } = *refused;
            bus.answer_error(&env, refusal.into());
        }
    }
}

/// Sends an error on `kernel.error` for a frame that is not (yet) an envelope, correlated with
/// the request id the frame seemed to carry.
fn refuse(kernel: &Kernel, peer: &Peer, error: &FrameError, request_id: Option<String>) {
    tracing::debug!(code = %error.code(), "refused a frame: {error}");
    let error = error.to_payload().with_request_id(request_id);
    let mut env = Envelope::new(Namespace::Kernel.error_topic())
        .with_payload(&error)
        .to(peer.id());
    stamp(&mut env, KERNEL_ADDRESS);
    kernel.bus.deliver(&peer.handle, &env);
}

/// Best effort: the `_request_id` of a frame that failed to parse as an envelope, so the
/// client's pending request can still be rejected early.
fn request_id_hint(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Loose {
        payload: Option<LoosePayload>,
    }
    #[derive(serde::Deserialize)]
    struct LoosePayload {
        #[serde(rename = "_request_id")]
        request_id: Option<String>,
    }
    let loose: Loose = serde_json::from_str(text).ok()?;
    loose.payload?.request_id
}

#[cfg(test)]
mod tests {
    use super::request_id_hint;

    #[test]
    fn the_request_id_of_a_bad_envelope_is_recovered_when_possible() {
        assert_eq!(
            request_id_hint(r#"{"topic":"nope","payload":{"_request_id":"r-1"}}"#).as_deref(),
            Some("r-1")
        );
        assert_eq!(request_id_hint("{not json"), None);
        assert_eq!(request_id_hint(r#"{"topic":"vm.x"}"#), None);
    }
}

#[cfg(test)]
mod fuzz;
