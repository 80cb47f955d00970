//! The `ai.*` service: chat and inline completion through an OpenAI-compatible provider.
//!
//! `ai.chat` is checked (payload, configuration, the client's concurrency cap), acknowledged,
//! and then answered by a task that streams the provider's deltas to the requester as
//! `ai.chunk`s and ends with one `ai.done` or one `ai.error`. `ai.complete` runs the same way but
//! answers once, on `ai.complete:resp`. `ai.cancel` (or the client leaving) cancels the task,
//! which drops the upstream request. Nothing here blocks the runtime; the provider client lives
//! in [`provider`], the error sentences in [`error`]. The agent (`ai.agent.*`, its own service)
//! shares the provider and asks it for turns with tools ([`conversation`], [`tool_calls`]).

mod active;
pub(crate) mod conversation;
pub(crate) mod error;
mod prompt;
pub(crate) mod provider;
pub(crate) mod tool_calls;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aether_shared::ai::{
    self, Cancel, CancelAccepted, Chat, ChatStarted, Chunk, Complete, Completion,
};
use aether_shared::{Envelope, ErrorCode, Topic};
use tracing::Instrument as _;

use self::active::{Active, Admitted};
use self::error::AiError;
use self::provider::{Ask, Provider};
use super::request::{Answer, ServiceError as _, refuse, serve, unknown};
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
        let bus = &self.bus;
        match env.topic.as_str() {
            ai::CHAT => serve(bus, env, |chat, env| self.chat(client, chat, env)),
            ai::COMPLETE => serve(bus, env, |req, env| self.complete(client, req, env)),
            ai::CANCEL => serve(bus, env, |req: Cancel, _| {
                if self.active.cancel(client.id(), &req.request_id) {
                    Ok(CancelAccepted {})
                } else {
                    Err(AiError::NoSuchRequest(req.request_id))
                }
            }),
            _ => unknown(bus, &env),
        }
    }

    /// The provider client, shared with the agent (`ai.agent.*`).
    pub(crate) fn provider(&self) -> Arc<Provider> {
        Arc::clone(&self.provider)
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

    /// `ai.chat`: acknowledged, then the answer streams as `ai.chunk`s and ends with one
    /// `ai.done` or `ai.error`.
    fn chat(
        &self,
        client: &Arc<ClientHandle>,
        chat: Chat,
        env: &Envelope,
    ) -> Result<Answer<ChatStarted>, AiError> {
        if chat.messages.is_empty() {
            return Err(AiError::BadRequest(
                "`messages` is empty; send at least one {role, content} message.".into(),
            ));
        }
        let admitted = self.admit(client, env)?;
        let ask = Ask {
            model: chat.model,
            messages: chat.messages.into_iter().map(Into::into).collect(),
            tools: Vec::new(),
            max_tokens: None,
            temperature: None,
        };
        let (bus, provider) = (self.bus.clone(), Arc::clone(&self.provider));
        let span = tracing::debug_span!(
            ai::CHAT,
            client_id = client.id(),
            request_id = env.request_id()
        );
        let stream = async move |env: Envelope| {
            let mut seq = 0;
            let streamed = provider.stream(ask, |delta| {
                let chunk = Chunk {
                    seq,
                    delta: delta.to_owned(),
                };
                seq += 1;
                let _ = bus.publish_from_kernel(env.reply(Topic::from_static(ai::CHUNK), &chunk));
            });
            let outcome = admitted.until_cancelled(streamed).await;
            match outcome {
                Ok(done) => {
                    let _ = bus.publish_from_kernel(env.reply(Topic::from_static(ai::DONE), &done));
                }
                Err(e) => answer_error(&bus, &env, &e),
            }
        };
        Ok(Answer::ReplyThen(
            ChatStarted {},
            Box::new(move |env| {
                tokio::spawn(stream(env).instrument(span));
            }),
        ))
    }

    /// `ai.complete`: answered once, on `ai.complete:resp`, when the provider is done.
    fn complete(
        &self,
        client: &Arc<ClientHandle>,
        req: Complete,
        env: &Envelope,
    ) -> Result<Answer<Completion>, AiError> {
        let admitted = self.admit(client, env)?;
        let ask = Ask {
            model: req.model.clone(),
            messages: prompt::completion(&req)
                .into_iter()
                .map(Into::into)
                .collect(),
            tools: Vec::new(),
            max_tokens: Some(self.complete_max_tokens),
            temperature: Some(0.2),
        };
        let (bus, provider) = (self.bus.clone(), Arc::clone(&self.provider));
        let span = tracing::debug_span!(
            ai::COMPLETE,
            client_id = client.id(),
            request_id = env.request_id()
        );
        let answer = async move |env: Envelope| {
            let mut answer = String::new();
            let streamed = provider.stream(ask, |delta| answer.push_str(delta));
            let outcome = admitted.until_cancelled(streamed).await;
            match outcome {
                Ok(_) => {
                    let text = prompt::clean(&answer, &req);
                    bus.reply::<Complete>(&env, &Completion { text });
                }
                Err(e) => answer_error(&bus, &env, &e),
            }
        };
        Ok(Answer::Later(Box::new(move |env| {
            tokio::spawn(answer(env).instrument(span));
        })))
    }
}

/// Answers a request with its error (counted under its code in `kernel.stats`).
fn answer_error(bus: &Bus, env: &Envelope, error: &AiError) {
    if error.code() != ErrorCode::Cancelled {
        tracing::debug!(topic = %env.topic, "AI request failed: {error}");
    }
    refuse(bus, env, error);
}
