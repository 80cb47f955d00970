//! A small OpenAI-compatible chat-completions server on loopback, for the AI service's tests:
//! the one outside service the kernel talks to that cannot run here. It speaks real HTTP/1.1 and
//! real Server-Sent Events; the request's `model` says how to behave:
//!
//! | model | behaviour |
//! |---|---|
//! | `stream` | `Hel`, `lo`, `, `, `world` as four chunks, a usage frame, `[DONE]` |
//! | `echo` | the last message's content in chunks of 4 bytes, then `[DONE]` |
//! | `fenced` | one chunk with a fenced code block, then `[DONE]` |
//! | `slow` | a chunk every 20 ms for a minute; notes when the client hangs up |
//! | `stall` | one chunk, then silence with the connection open |
//! | `garbage` | a `data:` frame that is not JSON |
//! | `drop` | one chunk, then closes without `[DONE]` |
//! | `midstream` | one chunk, then an error frame |
//! | `error-500`, `error-429`, `error-404` | that status with an OpenAI-style error body |
//! | `scripted` | the next [`Turn`] of [`FakeProvider::script`]: its text, then its tool calls as `delta.tool_calls` fragments (arguments split in two), its usage, `[DONE]`; `done.` when the script is used up |
//!
//! Frames are 2 ms apart unless [`FakeProvider::instant`] says none (the benchmarks). Every
//! request is recorded (its `Authorization` and JSON body).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One request the provider received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

/// One scripted answer of the `scripted` model.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    /// Assistant text, streamed in pieces of 8 bytes before the calls.
    pub text: String,
    /// Tool calls: the tool's name and its arguments.
    pub calls: Vec<(String, Value)>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Milliseconds to wait before answering (a slow model).
    pub delay_ms: u64,
}

impl Turn {
    /// A turn that only says `text`.
    pub fn say(text: &str) -> Turn {
        Turn {
            text: text.into(),
            prompt_tokens: 10,
            completion_tokens: 5,
            ..Turn::default()
        }
    }

    /// A turn that calls one tool.
    pub fn call(tool: &str, arguments: Value) -> Turn {
        Turn {
            calls: vec![(tool.into(), arguments)],
            prompt_tokens: 10,
            completion_tokens: 5,
            ..Turn::default()
        }
    }
}

/// The running fake provider.
#[derive(Clone)]
pub struct FakeProvider {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// What the `scripted` model answers, one turn per request.
    pub script: Arc<Mutex<VecDeque<Turn>>>,
    /// Notified when a `slow` stream's client hung up before the end.
    pub hung_up: Arc<Notify>,
    /// Notified when a `slow` stream ran to its end (it must not, when cancelled).
    pub ran_out: Arc<Notify>,
    /// No pause between frames.
    instant: Arc<AtomicBool>,
}

impl FakeProvider {
    /// Starts the provider on `127.0.0.1:0`.
    pub async fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let provider = FakeProvider {
            addr: listener.local_addr().unwrap(),
            seen: Arc::default(),
            script: Arc::default(),
            hung_up: Arc::new(Notify::new()),
            ran_out: Arc::new(Notify::new()),
            instant: Arc::default(),
        };
        let server = provider.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(server.clone().serve(socket));
            }
        });
        provider
    }

    /// The base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Streams every frame without the usual 2 ms pause (an instant model, for benchmarks).
    pub fn instant(&self) {
        self.instant.store(true, Ordering::Relaxed);
    }

    /// Queues the `scripted` model's next answers.
    pub fn script(&self, turns: impl IntoIterator<Item = Turn>) {
        self.script.lock().unwrap().extend(turns);
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn serve(self, mut socket: TcpStream) {
        let Some(seen) = read_request(&mut socket).await else {
            return;
        };
        let model = seen.body["model"].as_str().unwrap_or_default().to_owned();
        let last = seen.body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        self.seen.lock().unwrap().push(seen);
        match model.as_str() {
            "error-500" => {
                error(
                    &mut socket,
                    "500 Internal Server Error",
                    "the model crashed",
                    "",
                )
                .await
            }
            "error-429" => {
                error(
                    &mut socket,
                    "429 Too Many Requests",
                    "quota exceeded",
                    "retry-after: 2\r\n",
                )
                .await
            }
            "error-404" => {
                error(
                    &mut socket,
                    "404 Not Found",
                    "model `error-404` not found",
                    "",
                )
                .await
            }
            _ => {
                if socket.write_all(SSE_HEAD.as_bytes()).await.is_err() {
                    return;
                }
                self.stream(&mut socket, &model, &last).await;
            }
        }
    }

    async fn stream(&self, socket: &mut TcpStream, model: &str, last: &str) {
        let done = || "data: [DONE]\n\n".to_owned();
        let frames: Vec<String> = match model {
            "stream" => {
                let mut f: Vec<String> = ["Hel", "lo", ", ", "world"]
                    .iter()
                    .map(|d| chunk(d))
                    .collect();
                f.push(frame(
                    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
                ));
                f.push(frame(json!({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}})));
                f.push(done());
                f
            }
            "echo" => {
                let mut f: Vec<String> = last
                    .as_bytes()
                    .chunks(4)
                    .map(|c| chunk(&String::from_utf8_lossy(c)))
                    .collect();
                f.push(done());
                f
            }
            "fenced" => vec![chunk("```rust\n42;\n```"), done()],
            "scripted" => {
                let turn = self.script.lock().unwrap().pop_front();
                let turn = turn.unwrap_or_else(|| Turn::say("done."));
                tokio::time::sleep(Duration::from_millis(turn.delay_ms)).await;
                let mut f = scripted_frames(&turn);
                f.push(done());
                f
            }
            "garbage" => vec![chunk("ok"), "data: this is not json\n\n".to_owned()],
            "midstream" => vec![
                chunk("partial"),
                frame(json!({"error": {"message": "the server is overloaded"}})),
            ],
            "drop" => vec![chunk("partial")],
            "stall" => {
                let _ = socket.write_all(chunk("wait").as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(120)).await;
                return;
            }
            "slow" => {
                for i in 0..3000 {
                    let written = socket.write_all(chunk(&format!("{i} ")).as_bytes()).await;
                    if written.is_err() {
                        self.hung_up.notify_one();
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                self.ran_out.notify_one();
                return;
            }
            other => vec![frame(
                json!({"error": {"message": format!("unknown test model `{other}`")}}),
            )],
        };
        let instant = self.instant.load(Ordering::Relaxed);
        if instant {
            let _ = socket.write_all(frames.concat().as_bytes()).await;
        }
        for f in frames.iter().filter(|_| !instant) {
            if socket.write_all(f.as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let _ = socket.shutdown().await;
    }
}

/// Response head of a stream: no length, the body ends when the connection closes.
const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";

fn frame(value: Value) -> String {
    format!("data: {value}\n\n")
}

/// A scripted turn as a chat-completions stream: text pieces, tool-call fragments (name first,
/// arguments in two halves), the finish reason, the usage.
fn scripted_frames(turn: &Turn) -> Vec<String> {
    let mut f: Vec<String> = turn
        .text
        .as_bytes()
        .chunks(8)
        .map(|c| chunk(&String::from_utf8_lossy(c)))
        .collect();
    for (index, (name, arguments)) in turn.calls.iter().enumerate() {
        let text = arguments.to_string();
        let (head, tail) = text.split_at(text.len() / 2);
        let fragment = |value: Value| {
            frame(
                json!({"choices": [{"index": 0, "delta": {"tool_calls": [value]}, "finish_reason": null}]}),
            )
        };
        f.push(fragment(
            json!({"index": index, "id": format!("call_{index}_{name}"), "type": "function",
                               "function": {"name": name, "arguments": head}}),
        ));
        f.push(fragment(
            json!({"index": index, "function": {"arguments": tail}}),
        ));
    }
    let reason = if turn.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    f.push(frame(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}),
    ));
    f.push(frame(json!({"choices": [], "usage": {
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens}})));
    f
}

fn chunk(delta: &str) -> String {
    frame(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": null}]
    }))
}

async fn error(socket: &mut TcpStream, status: &str, message: &str, extra: &str) {
    let body = json!({"error": {"message": message, "type": "test_error"}}).to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

async fn read_request(socket: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let mut length = 0;
    let mut authorization = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().ok()?,
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    while buf.len() < head_end + length {
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
    Some(Seen {
        path,
        authorization,
        body,
    })
}
