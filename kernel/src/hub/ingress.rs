//! Ingress: one text frame from a client, parsed, stamped and routed.
//!
//! Order of checks: frame size, envelope syntax and topic grammar, then identity is stamped
//! (`from` overwritten, `time` re-stamped), then the topic must be in the contract's catalog,
//! then [`Guards::admit`](crate::guard::Guards::admit): permissions and rate limits (admin
//! bypasses both).
//! Addressed envelopes go to their addressee (answers to the kernel's own requests resolve them);
//! un-addressed requests go to their namespace's service, everything else fans out to subscribers.
//! Every refusal is answered on an error topic and the connection stays open.

use aether_shared::catalog::{TopicKind, classify};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, KERNEL_ADDRESS, Namespace};
use axum::extract::ws::Utf8Bytes;

use super::Peer;
use crate::app::Kernel;
use crate::bus::Answered;
use crate::clock::now_rfc3339;
use crate::guard::audit::{self, Reason};

/// Handles one text frame from `peer`: the edge of the kernel.
pub fn handle_text(kernel: &Kernel, peer: &mut Peer, text: &str) {
    let bus = &kernel.bus;
    let client = std::sync::Arc::clone(&peer.handle);
    bus.stats().count_in();
    let max = kernel.config.limits.max_frame_bytes.get();
    if text.len() > max {
        let error = ErrorPayload::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The message is {} bytes; the kernel accepts at most {max}. Send smaller messages.",
                text.len()
            ),
        )
        .with_request_id(request_id_hint(text))
        .with_detail("limit", "max_frame_bytes")
        .with_detail("value", max as u64);
        audit::refused(
            bus.stats(),
            Reason::PayloadTooLarge,
            Some(client.id()),
            peer.principal.as_str(),
            None,
            &error.error,
        );
        refuse(kernel, peer, error);
        return;
    }
    let mut env = match Envelope::from_json(text) {
        Ok(env) => env,
        Err(e) => {
            let error = ErrorPayload::new(ErrorCode::BadRequest, e.to_string())
                .with_request_id(request_id_hint(text));
            bus.stats().count_refusal(error.code.as_str());
            refuse(kernel, peer, error);
            return;
        }
    };
    env.from = Some(client.id().to_owned());
    env.time = now_rfc3339();
    let _span = tracing::debug_span!("envelope", topic = %env.topic, request_id = env.request_id())
        .entered();

    // The catalog first: an unknown topic is refused before it can make a rate bucket.
    let Some(kind) = classify(&env.topic) else {
        let error = ErrorPayload::new(
            ErrorCode::UnknownTopic,
            format!(
                "`{}` is not a topic of the Aether contract; see SPEC §5 for the topics of `{}`.",
                env.topic,
                env.topic.namespace()
            ),
        );
        bus.emit_error(&env, error);
        return;
    };

    if let Err(refusal) = kernel.guards.admit(peer.principal, &env.topic) {
        refuse_envelope(kernel, peer, &env, refusal.reason, refusal.error);
        return;
    }

    if let Some(to) = env.to.clone() {
        route_addressed(kernel, peer, &to, kind, env);
        return;
    }

    // Requests go to their service only: fanning them out would show one client's requests
    // (file contents, prompts) to every `*` subscriber. Replies, streams and errors fan out.
    match kind {
        TopicKind::Request(_) => kernel.services.dispatch(&client, env),
        TopicKind::Reply | TopicKind::Event | TopicKind::Error => {
            bus.fan_out(&env);
        }
    }
}

/// Delivers an envelope addressed to `to`.
///
/// An answer to the kernel settles the kernel's request only when it comes from the client that
/// request was sent to; anyone else's is dropped and audited. Any other address must belong to
/// the sender's principal (admin may address anyone): an address of another principal is
/// treated exactly like one that does not exist, so probing tells nothing.
fn route_addressed(kernel: &Kernel, peer: &Peer, to: &str, kind: TopicKind, env: Envelope) {
    let bus = &kernel.bus;
    let client = &peer.handle;
    if to == KERNEL_ADDRESS {
        let topic = env.topic.clone();
        match bus.resolve_pending(env, client.id()) {
            Answered::Settled => {}
            Answered::NoRequest => {
                tracing::debug!("an answer to the kernel arrived after its request ended");
            }
            Answered::WrongPeer => audit::refused(
                bus.stats(),
                Reason::ForgedAnswer,
                Some(client.id()),
                peer.principal.as_str(),
                Some(topic.as_str()),
                "an answer to a kernel request sent to another client; dropped",
            ),
        }
        return;
    }
    let is_request = matches!(kind, TopicKind::Request(_));
    let owner = bus.resolve(to).filter(|owner| {
        let mine = peer.principal.is_admin() || owner.principal() == peer.principal;
        if !mine {
            audit::log(
                Reason::PermissionDenied,
                Some(client.id()),
                peer.principal.as_str(),
                Some(env.topic.as_str()),
                &format!(
                    "addressed `{to}`, which belongs to another principal; answered as absent"
                ),
            );
        }
        mine
    });
    match owner {
        None if is_request => bus.emit_error(
            &env,
            ErrorPayload::new(
                ErrorCode::SessionNotFound,
                format!("No client or session `{to}` is connected; reopen the tab that owns it, or check the address."),
            ),
        ),
        None => tracing::debug!(to, "dropped an envelope for an absent address"),
        // A VFS session is private to the tab that registered it: relayed `vfs:*` requests
        // come only from that tab itself (kernel services relay in-process, not through
        // here). Stricter than, and so within, SPEC §3's same-principal rule.
        Some(owner)
            if is_request
                && env.topic.namespace() == Namespace::Vfs
                && owner.id() != client.id() =>
        {
            let error = ErrorPayload::new(
                ErrorCode::PermissionDenied,
                format!("`{to}` is another tab's file session; only that tab (and the kernel acting for it) may use it. Read your own tab's files, or have that tab share them."),
            );
            refuse_envelope(kernel, peer, &env, Reason::PermissionDenied, error);
        }
        Some(owner) => bus.send(&owner, Utf8Bytes::from(env.to_json())),
    }
}

/// Answers a refused envelope on its error topic and records the refusal in the audit trail.
fn refuse_envelope(
    kernel: &Kernel,
    peer: &Peer,
    env: &Envelope,
    reason: Reason,
    error: ErrorPayload,
) {
    audit::refused(
        kernel.bus.stats(),
        reason,
        Some(peer.id()),
        peer.principal.as_str(),
        Some(env.topic.as_str()),
        &error.error,
    );
    kernel.bus.answer_error(env, error);
}

/// Refuses a binary frame: the bus speaks JSON text.
pub(super) fn refuse_binary(kernel: &Kernel, peer: &Peer) {
    let error = ErrorPayload::new(
        ErrorCode::BadRequest,
        "Binary frames are not part of the protocol; send envelopes as JSON text (base64 for bytes).",
    );
    kernel.bus.stats().count_refusal(error.code.as_str());
    refuse(kernel, peer, error);
}

/// Sends an error on `kernel.error` for a frame that is not (yet) an envelope.
fn refuse(kernel: &Kernel, peer: &Peer, error: ErrorPayload) {
    tracing::debug!(code = %error.code, "refused a frame: {}", error.error);
    let client = &peer.handle;
    let env = Envelope::new(Namespace::Kernel.error_topic())
        .with_payload(&error)
        .to(client.id());
    let mut env = env;
    env.from = Some(KERNEL_ADDRESS.to_owned());
    env.time = now_rfc3339();
    kernel.bus.send(client, Utf8Bytes::from(env.to_json()));
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
