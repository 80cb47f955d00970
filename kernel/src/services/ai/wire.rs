//! The OpenAI chat-completions wire format, only the fields the kernel sends or reads: the
//! request body (messages and tools from [`super::conversation`]), one streamed chunk
//! (`chat.completion.chunk`, text and `tool_calls` fragments), a whole non-streamed answer, and
//! the error bodies of the common servers (`{"error": {"message"}}` from OpenAI, vLLM and
//! llama.cpp; `{"error": "…"}` from Ollama). This module never does I/O.

use aether_shared::ai::Usage;
use serde::{Deserialize, Serialize};

use super::conversation::{ChatMessage, ToolSpec};
use super::tool_calls::Fragment;

/// `POST {base_url}/chat/completions`.
#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    /// The function tools the model may call (none for `ai.chat` and `ai.complete`).
    #[serde(skip_serializing_if = "no_tools")]
    pub tools: &'a [ToolSpec],
    pub stream: bool,
    /// Asks for a last chunk with the token usage.
    pub stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

fn no_tools(tools: &&[ToolSpec]) -> bool {
    tools.is_empty()
}

#[derive(Debug, Serialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

/// One `data:` frame of the stream: a chunk, or an error some servers send mid-stream.
#[derive(Debug, Deserialize)]
pub struct StreamFrame {
    #[serde(default)]
    pub choices: Vec<StreamChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<ErrorField>,
}

#[derive(Debug, Deserialize)]
pub struct StreamChoice {
    #[serde(default)]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    /// Pieces of the tool calls being made.
    #[serde(default)]
    pub tool_calls: Option<Vec<Fragment>>,
}

/// A whole answer, for a server that ignores `stream: true` and answers JSON.
#[derive(Debug, Deserialize)]
pub struct WholeAnswer {
    pub choices: Vec<WholeChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
pub struct WholeChoice {
    pub message: WholeMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WholeMessage {
    #[serde(default)]
    pub content: Option<String>,
    /// Whole tool calls (their `index` is their position).
    #[serde(default)]
    pub tool_calls: Option<Vec<Fragment>>,
}

/// `error` of an error body: an object with a message, or a bare string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ErrorField {
    Object { message: String },
    Text(String),
}

impl ErrorField {
    pub fn message(self) -> String {
        match self {
            ErrorField::Object { message } | ErrorField::Text(message) => message,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorField,
}

/// The message of an error response body, or the body itself (trimmed, at most 500 bytes) when
/// it is not one of the known shapes.
pub fn error_message(body: &str) -> String {
    if let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) {
        return parsed.error.message();
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "(no message)".to_owned();
    }
    shorten(trimmed, 500)
}

/// At most `max` bytes of `text`, cut on a character boundary, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_the_common_servers_yield_their_message() {
        assert_eq!(
            error_message(r#"{"error":{"message":"model not found","type":"x"}}"#),
            "model not found"
        );
        assert_eq!(error_message(r#"{"error":"busy"}"#), "busy");
        assert_eq!(error_message("  Bad Gateway \n"), "Bad Gateway");
        assert_eq!(error_message(""), "(no message)");
        assert!(error_message(&"é".repeat(600)).ends_with('…'));
    }

    #[test]
    fn a_stream_frame_reads_delta_finish_and_usage() {
        let frame: StreamFrame = serde_json::from_str(
            r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#,
        )
        .unwrap();
        assert_eq!(frame.choices[0].delta.content.as_deref(), Some("Hi"));
        let last: StreamFrame = serde_json::from_str(
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        )
        .unwrap();
        assert_eq!(last.usage.unwrap().total_tokens, 5);
        let call: StreamFrame = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"read_file","arguments":"{}"}}]}}]}"#,
        )
        .unwrap();
        let fragments = call.choices[0].delta.tool_calls.clone().unwrap();
        assert_eq!(fragments[0].id.as_deref(), Some("c"));
        let null: StreamFrame =
            serde_json::from_str(r#"{"choices":[{"delta":{"content":"x","tool_calls":null}}]}"#)
                .unwrap();
        assert!(null.choices[0].delta.tool_calls.is_none());
    }
}
