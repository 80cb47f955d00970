//! The `ai.*` service: chat and inline completion through an OpenAI-compatible provider.
//!
//! `ai.chat` is checked (payload, configuration, the client's concurrency cap), acknowledged,
//! and then answered by a task that streams the provider's deltas to the requester as
//! `ai.chunk`s and ends with one `ai.done` or one `ai.error`. `ai.complete` runs the same way but
//! answers once, on `ai.complete:resp`. `ai.cancel` (or the client leaving) cancels the task,
//! which drops the upstream request. Nothing here blocks the runtime; the provider client lives
//! in [`provider`], the error sentences in [`error`].

mod active;
mod error;
mod prompt;
mod provider;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aether_shared::ai::{
    CHUNK, Cancel, CancelAccepted, Chat, ChatStarted, Chunk, Complete, Completion, DONE,
};
use aether_shared::{BusRequest as _, Envelope, ErrorCode, ErrorPayload, Topic};
use tracing::Instrument as _;

use self::active::{Active, Admitted};
use self::error::AiError;
use self::provider::{Ask, Provider};
use super::decode;
use crate::bus::{Bus, ClientHandle};
use crate::config::AiConfig;

/// The AI service.
pub struct AiService {
    bus: Bus,
    provider: Arc<Provider>,
    active: Arc<Active>,
    max_concurrent_per_client: u32,
    complete_max_tokens: u32,
    /// Names requests that came without a `_request_id` (they cannot be cancelled by id).
    anonymous: AtomicU64,
}

impl AiService {
    /// A service for the configured provider (it may be unconfigured: every request is then
    /// answered `not_configured`).
    pub fn new(bus: Bus, config: &AiConfig) -> AiService {
        AiService {
            bus,
            provider: Arc::new(Provider::new(config)),
            active: Arc::new(Active::default()),
            max_concurrent_per_client: config.max_concurrent_per_client.get(),
            complete_max_tokens: config.complete_max_tokens.get(),
            anonymous: AtomicU64::new(0),
        }
    }

    /// Handles an `ai.*` request from `client`.
    pub fn handle(&self, client: &Arc<ClientHandle>, env: Envelope) {
        match env.topic.as_str() {
            Chat::TOPIC => {
                if let Some(chat) = decode::<Chat>(&self.bus, &env) {
                    self.chat(client, env, chat);
                }
            }
            Complete::TOPIC => {
                if let Some(req) = decode::<Complete>(&self.bus, &env) {
                    self.complete(client, env, req);
                }
            }
            Cancel::TOPIC => {
                if let Some(req) = decode::<Cancel>(&self.bus, &env) {
                    if self.active.cancel(client.id(), &req.request_id) {
                        self.bus.reply::<Cancel>(&env, &CancelAccepted {});
                    } else {
                        self.bus.emit_error(
                            &env,
                            ErrorPayload::new(
                                ErrorCode::NotFound,
                                format!(
                                    "You have no running AI request `{}`; it may have finished already.",
                                    req.request_id
                                ),
                            ),
                        );
                    }
                }
            }
            _ => super::unknown(&self.bus, &env),
        }
    }

    /// Cancels the requests of a client that left.
    pub fn client_gone(&self, client_id: &str) {
        self.active.cancel_all(client_id);
    }

    fn admit(&self, client: &Arc<ClientHandle>, env: &Envelope) -> Result<Admitted, AiError> {
        if !self.provider.is_configured() {
            return Err(AiError::NotConfigured);
        }
        let request_id = match env.request_id() {
            Some(id) => id.to_owned(),
            None => format!(
                "anonymous-{}",
                self.anonymous.fetch_add(1, Ordering::Relaxed)
            ),
        };
        self.active.admit(
            client.id(),
            client.acting_for(),
            &request_id,
            self.max_concurrent_per_client,
        )
    }

    fn chat(&self, client: &Arc<ClientHandle>, env: Envelope, chat: Chat) {
        if chat.messages.is_empty() {
            return self.fail(
                &env,
                AiError::BadRequest(
                    "`messages` is empty; send at least one {role, content} message.".into(),
                ),
            );
        }
        let admitted = match self.admit(client, &env) {
            Ok(a) => a,
            Err(e) => return self.fail(&env, e),
        };
        self.bus.reply::<Chat>(&env, &ChatStarted {});
        let ask = Ask {
            model: chat.model,
            messages: chat.messages,
            max_tokens: None,
            temperature: None,
        };
        let (bus, provider) = (self.bus.clone(), Arc::clone(&self.provider));
        let span = tracing::debug_span!(
            "ai.chat",
            client_id = client.id(),
            request_id = env.request_id()
        );
        tokio::spawn(
            async move {
                let mut seq = 0;
                let streamed = provider.stream(ask, |delta| {
                    let chunk = Chunk {
                        seq,
                        delta: delta.to_owned(),
                    };
                    seq += 1;
                    let _ = bus.publish_from_kernel(env.reply(Topic::from_static(CHUNK), &chunk));
                });
                let outcome = tokio::select! {
                    outcome = streamed => outcome,
                    _ = admitted.cancel.cancelled() => Err(AiError::Cancelled),
                };
                drop(admitted);
                match outcome {
                    Ok(done) => {
                        let _ = bus.publish_from_kernel(env.reply(Topic::from_static(DONE), &done));
                    }
                    Err(e) => answer_error(&bus, &env, &e),
                }
            }
            .instrument(span),
        );
    }

    fn complete(&self, client: &Arc<ClientHandle>, env: Envelope, req: Complete) {
        let admitted = match self.admit(client, &env) {
            Ok(a) => a,
            Err(e) => return self.fail(&env, e),
        };
        let ask = Ask {
            model: None,
            messages: prompt::completion(&req),
            max_tokens: Some(self.complete_max_tokens),
            temperature: Some(0.2),
        };
        let (bus, provider) = (self.bus.clone(), Arc::clone(&self.provider));
        let span = tracing::debug_span!(
            "ai.complete",
            client_id = client.id(),
            request_id = env.request_id()
        );
        tokio::spawn(
            async move {
                let mut answer = String::new();
                let streamed = provider.stream(ask, |delta| answer.push_str(delta));
                let outcome = tokio::select! {
                    outcome = streamed => outcome,
                    _ = admitted.cancel.cancelled() => Err(AiError::Cancelled),
                };
                drop(admitted);
                match outcome {
                    Ok(_) => {
                        let text = prompt::clean(&answer, &req);
                        bus.reply::<Complete>(&env, &Completion { text });
                    }
                    Err(e) => answer_error(&bus, &env, &e),
                }
            }
            .instrument(span),
        );
    }

    fn fail(&self, env: &Envelope, error: AiError) {
        answer_error(&self.bus, env, &error);
    }
}

/// Answers a request with its error (counted under its code in `kernel.stats`).
fn answer_error(bus: &Bus, env: &Envelope, error: &AiError) {
    if error.code() != ErrorCode::Cancelled {
        tracing::debug!(topic = %env.topic, "AI request failed: {error}");
    }
    bus.emit_error(env, error.to_payload());
}
