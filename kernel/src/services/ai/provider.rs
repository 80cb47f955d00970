//! The client of an OpenAI-compatible chat-completions endpoint: one streamed answer per call.
//!
//! [`Provider::stream`] posts the conversation with `stream: true`, reads the Server-Sent Events
//! as they come, hands every content delta to its caller, and ends with the usage at `[DONE]`.
//! [`Provider::turn`] does the same for a conversation with tools and also returns the tool
//! calls the model made, put together from their streamed fragments.
//! Every way it can go wrong ends as an [`AiError`]: no connection, the provider silent for
//! `idle_timeout_ms`, the whole answer over `request_timeout_ms`, an HTTP error (with the
//! provider's own message), an error frame mid-stream, or bytes that are not a chat-completions
//! stream. Dropping the future drops the response, which closes the upstream connection: that is
//! how a cancel stops the provider. This module never touches the bus.

use std::time::Duration;

use aether_shared::ai::{Done, Usage};
use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
use reqwest::header::{self, HeaderValue};
use tokio::time::Instant;

use super::conversation::{ChatMessage, ToolSpec};
use super::error::AiError;
use super::tool_calls::{Assembler, Call};
use super::wire::{self, ChatRequest, StreamFrame, StreamOptions, WholeAnswer};
use crate::config::AiConfig;

/// Bytes of a malformed frame quoted in the error.
const QUOTE_BYTES: usize = 200;

/// What to ask the provider.
#[derive(Debug, Clone)]
pub struct Ask {
    /// Overrides the configured model.
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    /// Function tools the model may call; empty for a plain answer.
    pub tools: Vec<ToolSpec>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
}

/// One answer of a conversation with tools: how it ended and the calls the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub done: Done,
    /// Whole calls in the order the model made them; empty when it only answered.
    pub calls: Vec<Call>,
}

/// An OpenAI-compatible endpoint and the HTTP client that reaches it.
pub struct Provider {
    http: reqwest::Client,
    config: AiConfig,
}

impl Provider {
    /// A provider for `config` (not configured when `config.provider.base_url` is unset).
    pub fn new(config: &AiConfig) -> Provider {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms.get()))
            .user_agent(concat!("aether-kernel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with rustls builds");
        Provider {
            http,
            config: config.clone(),
        }
    }

    /// True when a base URL is configured.
    pub fn is_configured(&self) -> bool {
        self.config.provider.base_url.is_some()
    }

    /// True when a default model is configured (a request may still name its own).
    pub fn has_model(&self) -> bool {
        self.config.provider.model.is_some()
    }

    /// Streams one answer, calling `on_delta` with every piece of content in order.
    pub async fn stream(&self, ask: Ask, on_delta: impl FnMut(&str)) -> Result<Done, AiError> {
        let mut ignored = Assembler::default();
        self.answer(ask, on_delta, &mut ignored).await
    }

    /// Streams one answer of a conversation with tools: content deltas to `on_delta` as they
    /// come, and the tool calls, whole, at the end.
    pub async fn turn(&self, ask: Ask, on_delta: impl FnMut(&str)) -> Result<Turn, AiError> {
        let mut calls = Assembler::default();
        let done = self.answer(ask, on_delta, &mut calls).await?;
        Ok(Turn {
            done,
            calls: calls.finish(),
        })
    }

    async fn answer(
        &self,
        ask: Ask,
        mut on_delta: impl FnMut(&str),
        calls: &mut Assembler,
    ) -> Result<Done, AiError> {
        let provider = &self.config.provider;
        let base = provider.base_url.as_ref().ok_or(AiError::NotConfigured)?;
        let model = ask
            .model
            .as_deref()
            .or(provider.model.as_deref())
            .ok_or(AiError::NoModel)?;
        let key = match &provider.api_key_env {
            Some(var) => Some(
                std::env::var(var.as_str())
                    .map_err(|_| AiError::MissingKey(var.as_str().to_owned()))?,
            ),
            None => None,
        };
        let body = ChatRequest {
            model,
            messages: &ask.messages,
            tools: &ask.tools,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            max_tokens: ask.max_tokens,
            temperature: ask.temperature,
        };
        let mut request = self
            .http
            .post(base.join("/chat/completions"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "text/event-stream")
            .body(serde_json::to_vec(&body).expect("a chat request serializes"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }

        let clock = Clock::new(&self.config);
        let response = clock
            .within(request.send(), "did not answer")
            .await?
            .map_err(|e| AiError::Unreachable(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after_ms = retry_after_ms(response.headers().get(header::RETRY_AFTER));
            let text = clock
                .within(response.text(), "did not finish its error answer")
                .await?
                .unwrap_or_default();
            return Err(AiError::Http {
                status: status.as_u16(),
                message: wire::error_message(&text),
                retry_after_ms,
            });
        }
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let text = clock
                .within(response.text(), "did not finish its answer")
                .await?
                .map_err(|e| AiError::Malformed(describe(&e)))?;
            return whole_answer(&text, on_delta, calls);
        }

        let mut events = response.bytes_stream().eventsource();
        let mut finish_reason = None;
        let mut usage: Option<Usage> = None;
        loop {
            let Some(event) = clock.within(events.next(), "went silent").await? else {
                // A stream that ends without `[DONE]` is complete only if it said why it stopped.
                return match finish_reason {
                    Some(_) => Ok(Done {
                        usage,
                        finish_reason,
                    }),
                    None => Err(AiError::Malformed(
                        "the connection closed before `data: [DONE]`".into(),
                    )),
                };
            };
            let event = event.map_err(|e| AiError::Malformed(e.to_string()))?;
            let data = event.data.trim();
            if data == "[DONE]" {
                return Ok(Done {
                    usage,
                    finish_reason,
                });
            }
            if data.is_empty() {
                continue;
            }
            let frame: StreamFrame = serde_json::from_str(data).map_err(|e| {
                AiError::Malformed(format!(
                    "`{}` is not a chat-completion chunk: {e}",
                    wire::shorten(data, QUOTE_BYTES)
                ))
            })?;
            if let Some(error) = frame.error {
                return Err(AiError::Provider(error.message()));
            }
            usage = frame.usage.or(usage);
            for choice in frame.choices {
                if let Some(content) = choice.delta.content.as_deref()
                    && !content.is_empty()
                {
                    on_delta(content);
                }
                for fragment in choice.delta.tool_calls.into_iter().flatten() {
                    calls.push(fragment);
                }
                finish_reason = choice.finish_reason.or(finish_reason);
            }
        }
    }
}

/// The deadline of one answer: each wait ends at the idle limit or the request limit,
/// whichever comes first, and says which one it was.
struct Clock {
    deadline: Instant,
    idle: Duration,
    idle_ms: u64,
    request_ms: u64,
}

impl Clock {
    fn new(config: &AiConfig) -> Clock {
        Clock {
            deadline: Instant::now() + Duration::from_millis(config.request_timeout_ms.get()),
            idle: Duration::from_millis(config.idle_timeout_ms.get()),
            idle_ms: config.idle_timeout_ms.get(),
            request_ms: config.request_timeout_ms.get(),
        }
    }

    async fn within<F: Future>(&self, work: F, what: &'static str) -> Result<F::Output, AiError> {
        let idle_end = Instant::now() + self.idle;
        let (end, limit, ms) = if idle_end < self.deadline {
            (idle_end, "idle_timeout_ms", self.idle_ms)
        } else {
            (self.deadline, "request_timeout_ms", self.request_ms)
        };
        tokio::time::timeout_at(end, work)
            .await
            .map_err(|_| AiError::Timeout {
                what: if limit == "request_timeout_ms" {
                    "did not finish its answer"
                } else {
                    what
                },
                limit,
                ms,
            })
    }
}

/// An answer that came as one JSON document instead of a stream.
fn whole_answer(
    text: &str,
    mut on_delta: impl FnMut(&str),
    calls: &mut Assembler,
) -> Result<Done, AiError> {
    let answer: WholeAnswer = serde_json::from_str(text).map_err(|e| {
        AiError::Malformed(format!(
            "`{}` is not a chat completion: {e}",
            wire::shorten(text, QUOTE_BYTES)
        ))
    })?;
    let mut finish_reason = None;
    for choice in answer.choices.into_iter().take(1) {
        if let Some(content) = choice.message.content.as_deref()
            && !content.is_empty()
        {
            on_delta(content);
        }
        for (index, mut call) in choice.message.tool_calls.into_iter().flatten().enumerate() {
            call.index = index as u32;
            calls.push(call);
        }
        finish_reason = choice.finish_reason;
    }
    Ok(Done {
        usage: answer.usage,
        finish_reason,
    })
}

/// A transport error in one line, with its cause (reqwest's Display hides it).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After` in seconds, as milliseconds.
fn retry_after_ms(value: Option<&HeaderValue>) -> Option<u64> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(secs.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_become_milliseconds() {
        assert_eq!(
            retry_after_ms(Some(&HeaderValue::from_static("3"))),
            Some(3000)
        );
        assert_eq!(
            retry_after_ms(Some(&HeaderValue::from_static("soon"))),
            None
        );
        assert_eq!(retry_after_ms(None), None);
    }

    #[test]
    fn a_whole_json_answer_is_one_delta() {
        let mut got = String::new();
        let mut calls = Assembler::default();
        let done = whole_answer(
            r#"{"choices":[{"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
            |d| got.push_str(d),
            &mut calls,
        )
        .unwrap();
        assert_eq!(got, "hello");
        assert_eq!(done.finish_reason.as_deref(), Some("stop"));
        assert!(calls.finish().is_empty());
        assert!(matches!(
            whole_answer("{}", |_| {}, &mut Assembler::default()),
            Err(AiError::Malformed(_))
        ));
    }

    #[test]
    fn a_whole_answer_keeps_each_of_its_tool_calls_apart() {
        let mut calls = Assembler::default();
        whole_answer(
            r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[
                {"id":"a","type":"function","function":{"name":"read_file","arguments":"{}"}},
                {"id":"b","type":"function","function":{"name":"list_files","arguments":"{}"}}]},
                "finish_reason":"tool_calls"}]}"#,
            |_| {},
            &mut calls,
        )
        .unwrap();
        let calls = calls.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].id.as_str(), calls[1].id.as_str()), ("a", "b"));
    }
}
