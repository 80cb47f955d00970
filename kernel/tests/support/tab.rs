//! A fake desktop tab for the agent's tests: a real WebSocket client of a real kernel that
//! registers a VFS session and serves `vfs:read` (whole or in chunks), `vfs:write`, `vfs:list`,
//! `vfs:search`, `vfs:delete` and `vfs:stat` from an in-memory map of paths to bytes, the way the
//! desktop serves them from IndexedDB. Everything else it receives (the agent's events, replies,
//! errors) waits in its inbox for the test ([`Tab::recv`]).
//!
//! Each file request it served is noted (topic and path) in [`Tab::served`].

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aether_shared::Envelope;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, Dial, WAIT, payload};

/// The tab's files: absolute path → bytes.
pub type Files = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// A connected tab serving its files.
pub struct Tab {
    /// The tab's client id.
    pub id: String,
    pub session: String,
    pub files: Files,
    /// `(topic, path)` of every file request served, in order.
    pub served: Arc<Mutex<Vec<(String, String)>>>,
    out: mpsc::UnboundedSender<Message>,
    inbox: mpsc::UnboundedReceiver<Envelope>,
    next_request: u64,
}

impl Tab {
    /// Connects, registers `session` and starts serving it.
    pub async fn open(addr: SocketAddr, session: &str) -> Tab {
        Tab::open_as(addr, session, &Dial::default()).await
    }

    /// [`Tab::open`] presenting itself as `how` says (a token, say).
    pub async fn open_as(addr: SocketAddr, session: &str, how: &Dial) -> Tab {
        let mut client = Client::connect_as(addr, how).await;
        client
            .request("vfs:register", json!({"sessionId": session}))
            .await;
        let ack = client.recv().await;
        assert_eq!(ack.topic.as_str(), "vfs:register:ack", "{ack:?}");
        let id = client.id.clone();
        let (mut sink, mut stream) = client.ws.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(msg) = outgoing.recv().await {
                if sink.send(msg).await.is_err() {
                    return;
                }
            }
        });
        let files: Files = Arc::default();
        let served: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (to_test, inbox) = mpsc::unbounded_channel();
        let (server_files, server_served, server_out) =
            (Arc::clone(&files), Arc::clone(&served), out.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let env = Envelope::from_json(&text).unwrap();
                match serve(&server_files, &env) {
                    Some(reply) => {
                        let path = payload(&env)["path"].as_str().unwrap_or("").to_owned();
                        server_served
                            .lock()
                            .unwrap()
                            .push((env.topic.to_string(), path));
                        let _ = server_out.send(Message::text(reply.to_json()));
                    }
                    None => {
                        if to_test.send(env).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Tab {
            id,
            session: session.to_owned(),
            files,
            served,
            out,
            inbox,
            next_request: 0,
        }
    }

    /// Puts a file in the tab.
    pub fn put(&self, path: &str, bytes: impl Into<Vec<u8>>) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), bytes.into());
    }

    /// A file's bytes.
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.files.lock().unwrap().get(path).cloned()
    }

    /// Sends a request with a fresh `_request_id`; returns the id.
    pub async fn request(&mut self, topic: &str, mut body: Value) -> String {
        self.next_request += 1;
        let id = format!("t-{}", self.next_request);
        body["_request_id"] = json!(id);
        let env = json!({"topic": topic, "payload": body});
        self.out.send(Message::text(env.to_string())).unwrap();
        id
    }

    /// The next envelope that is not a file request (fails the test after [`WAIT`]).
    pub async fn recv(&mut self) -> Envelope {
        tokio::time::timeout(WAIT, self.inbox.recv())
            .await
            .expect("no message within the wait")
            .expect("the tab's connection ended")
    }

    /// The reply to `id` on any topic, skipping everything else.
    pub async fn reply_to(&mut self, id: &str) -> Envelope {
        loop {
            let env = self.recv().await;
            if env.request_id() == Some(id) {
                return env;
            }
        }
    }

    /// Closes the tab's connection.
    pub fn close(&self) {
        let _ = self.out.send(Message::Close(None));
    }
}

/// The answer to a file request, or `None` for anything else.
fn serve(files: &Files, env: &Envelope) -> Option<Envelope> {
    let body = payload(env);
    let path = body["path"].as_str().unwrap_or("").to_owned();
    let mut files = files.lock().unwrap();
    let not_found = || {
        env.error_reply(aether_shared::ErrorPayload::new(
            aether_shared::ErrorCode::NotFound,
            format!("no file `{path}`"),
        ))
    };
    let answer = match env.topic.as_str() {
        "vfs:read" => match files.get(&path) {
            None => not_found(),
            Some(bytes) => {
                let offset = body["offset"].as_u64().unwrap_or(0) as usize;
                let length = body["length"].as_u64().map_or(bytes.len(), |l| l as usize);
                let start = offset.min(bytes.len());
                let end = start.saturating_add(length).min(bytes.len());
                let slice = &bytes[start..end];
                let (content, encoding) = match std::str::from_utf8(slice) {
                    Ok(text) => (text.to_owned(), "utf8"),
                    Err(_) => (BASE64.encode(slice), "base64"),
                };
                env.reply(
                    env.topic.resp(),
                    &json!({"content": content, "encoding": encoding, "size": bytes.len(),
                            "mtime": 1, "offset": start, "eof": end == bytes.len()}),
                )
            }
        },
        "vfs:write" => {
            let content = body["content"].as_str().unwrap_or("");
            let bytes = if body["encoding"] == "base64" {
                BASE64.decode(content).unwrap()
            } else {
                content.as_bytes().to_vec()
            };
            let size = bytes.len();
            files.insert(path.clone(), bytes);
            env.reply(
                env.topic.ack(),
                &json!({"size": size, "mtime": 2, "committed": true}),
            )
        }
        "vfs:delete" => match files.remove(&path) {
            Some(_) => env.reply(env.topic.ack(), &json!({})),
            None => not_found(),
        },
        "vfs:stat" => match files.get(&path) {
            Some(bytes) => env.reply(env.topic.resp(), &entry(&path, bytes.len())),
            None => not_found(),
        },
        "vfs:list" => {
            let prefix = if path.ends_with('/') {
                path.clone()
            } else {
                format!("{path}/")
            };
            let entries: Vec<Value> = files
                .iter()
                .filter(|(p, _)| p.starts_with(&prefix))
                .map(|(p, bytes)| entry(p, bytes.len()))
                .collect();
            env.reply(env.topic.resp(), &json!({"entries": entries}))
        }
        "vfs:search" => {
            let query = body["query"].as_str().unwrap_or("");
            let mut matches = Vec::new();
            for (p, bytes) in files.iter() {
                let Ok(text) = std::str::from_utf8(bytes) else {
                    continue;
                };
                for (n, line) in text.lines().enumerate() {
                    if let Some(col) = line.find(query) {
                        matches.push(
                            json!({"path": p, "line": n + 1, "column": col + 1, "text": line}),
                        );
                    }
                }
            }
            env.reply(
                env.topic.resp(),
                &json!({"matches": matches, "truncated": false}),
            )
        }
        _ => return None,
    };
    Some(answer)
}

fn entry(path: &str, size: usize) -> Value {
    let name = path.rsplit('/').next().unwrap_or("");
    json!({"name": name, "path": path, "kind": "file", "size": size, "mtime": 1})
}
