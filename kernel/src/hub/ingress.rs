//! Ingress: one text frame from a client, parsed, stamped and routed.
//!
//! Order of checks: frame size, envelope syntax and topic grammar, then identity is stamped
//! (`from` overwritten, `time` re-stamped), then the topic must be in the contract's catalog.
//! Addressed envelopes go to their addressee (answers to the kernel's own requests resolve them);
//! un-addressed requests go to their namespace's service, everything else fans out to subscribers.
//! Every refusal is answered on an error topic and the connection stays open.

use std::sync::Arc;

use aether_shared::catalog::{TopicKind, classify};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, KERNEL_ADDRESS, Namespace};
use axum::extract::ws::Utf8Bytes;

use crate::app::Kernel;
use crate::bus::ClientHandle;
use crate::clock::now_rfc3339;

/// Handles one text frame.
pub(super) fn handle_text(kernel: &Kernel, client: &Arc<ClientHandle>, text: &str) {
    let bus = &kernel.bus;
    bus.stats().count_in();
    let max = kernel.config.limits.max_frame_bytes;
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
        refuse(kernel, client, error);
        return;
    }
    let mut env = match Envelope::from_json(text) {
        Ok(env) => env,
        Err(e) => {
            let error = ErrorPayload::new(ErrorCode::BadRequest, e.to_string())
                .with_request_id(request_id_hint(text));
            refuse(kernel, client, error);
            return;
        }
    };
    env.from = Some(client.id().to_owned());
    env.time = now_rfc3339();
    let _span = tracing::debug_span!("envelope", topic = %env.topic, request_id = env.request_id())
        .entered();

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

    if let Some(to) = env.to.as_deref() {
        if to == KERNEL_ADDRESS {
            if !bus.resolve_pending(env) {
                tracing::debug!("an answer to the kernel arrived after its request ended");
            }
            return;
        }
        if let Err(e) = bus.deliver_to(to, &env)
            && matches!(kind, TopicKind::Request(_))
        {
            bus.emit_error(
                &env,
                ErrorPayload::new(ErrorCode::SessionNotFound, e.to_string()),
            );
        }
        return;
    }

    // Requests go to their service only: fanning them out would show one client's requests
    // (file contents, prompts) to every `*` subscriber. Replies, streams and errors fan out.
    match kind {
        TopicKind::Request(_) => kernel.services.dispatch(client, env),
        TopicKind::Reply | TopicKind::Event | TopicKind::Error => {
            bus.fan_out(&env);
        }
    }
}

/// Refuses a binary frame: the bus speaks JSON text.
pub(super) fn refuse_binary(kernel: &Kernel, client: &Arc<ClientHandle>) {
    let error = ErrorPayload::new(
        ErrorCode::BadRequest,
        "Binary frames are not part of the protocol; send envelopes as JSON text (base64 for bytes).",
    );
    refuse(kernel, client, error);
}

/// Sends an error on `kernel.error` for a frame that is not (yet) an envelope.
fn refuse(kernel: &Kernel, client: &Arc<ClientHandle>, error: ErrorPayload) {
    tracing::debug!(code = %error.code, "refused a frame: {}", error.error);
    kernel.bus.stats().count_refusal(error.code);
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
