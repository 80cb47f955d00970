//! Binary frames (SPEC §1, extension; `aether_shared::frame`) against a real kernel over real
//! WebSockets: negotiated per connection with the `aether.binary` subprotocol, bytes relayed raw
//! between binary clients and converted to base64/utf8 text for every receiver that speaks only
//! text (other connections, the kernel's own services), held to `limits.max_frame_bytes`, and
//! malformed or unnegotiated frames refused with `bad_request` while the connection stays usable.

mod support;

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use aether_kernel::Config;
use aether_shared::frame::{self, Binary, SUBPROTOCOL};
use aether_shared::vfs::chunk::binary_chunk_len;
use aether_shared::vfs::{FileBytes, WriteBytes};
use aether_shared::{Correlated, Envelope};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Client, Socket, WAIT, payload, refusals, start};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A client that asked for binary frames and reads both kinds.
struct BinaryClient {
    ws: Socket,
    id: String,
    hello: Envelope,
    next: u64,
}

impl BinaryClient {
    async fn connect(addr: SocketAddr) -> BinaryClient {
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("origin", format!("http://{addr}").parse().unwrap());
        headers.insert("sec-websocket-protocol", SUBPROTOCOL.parse().unwrap());
        let (ws, response) = connect_async(request).await.expect("the upgrade");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            SUBPROTOCOL,
            "the kernel selects the subprotocol it was asked for"
        );
        let mut client = BinaryClient {
            ws,
            id: String::new(),
            hello: Envelope::from_json(r#"{"topic":"kernel.hello"}"#).unwrap(),
            next: 0,
        };
        let hello = client.recv().await;
        assert_eq!(hello.topic.as_str(), "kernel.hello");
        client.id = payload(&hello)["client_id"].as_str().unwrap().to_owned();
        client.hello = hello;
        client
    }

    /// The next envelope, from a text or a binary frame.
    async fn recv(&mut self) -> Envelope {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no message within the wait")
                .expect("the connection ended")
                .expect("a read error");
            match msg {
                Message::Text(text) => return Envelope::from_json(&text).unwrap(),
                Message::Binary(bytes) => return frame::decode(bytes).expect("a whole frame"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    async fn send(&mut self, env: Value) {
        self.ws.send(Message::text(env.to_string())).await.unwrap();
    }

    async fn send_raw(&mut self, frame: Vec<u8>) {
        self.ws.send(Message::binary(frame)).await.unwrap();
    }

    /// Sends `env` (carrying bytes) as a binary frame.
    async fn send_binary(&mut self, env: &Envelope) {
        self.send_raw(frame::encode(env)).await;
    }

    async fn request(&mut self, topic: &str, mut body: Value) -> String {
        self.next += 1;
        let id = format!("r-{}", self.next);
        body["_request_id"] = json!(id);
        self.send(json!({"topic": topic, "payload": body})).await;
        id
    }

    /// Registers `session` and waits for the ack.
    async fn register(&mut self, session: &str) {
        self.request("vfs:register", json!({"sessionId": session}))
            .await;
        assert_eq!(self.recv().await.topic.as_str(), "vfs:register:ack");
    }

    /// Pings and expects the pong next: the connection is alive and nothing else was queued.
    async fn still_usable(&mut self) {
        let id = self.request("kernel.ping", json!({})).await;
        let pong = self.recv().await;
        assert_eq!(pong.topic.as_str(), "kernel.ping:resp", "{pong:?}");
        assert_eq!(pong.request_id(), Some(id.as_str()));
    }
}

/// The binary answer to a relayed `vfs:read`: the whole of `bytes`.
fn binary_answer(request: &Envelope, bytes: Vec<u8>) -> Envelope {
    let header = FileBytes {
        encoding: Binary::Binary,
        size: bytes.len() as u64,
        mtime: 7,
        offset: 0,
        eof: true,
    };
    request
        .reply(request.topic.resp(), &header)
        .with_bytes(bytes)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[tokio::test]
async fn binary_frames_are_negotiated_per_connection_and_announced_in_the_hello() {
    let kernel = start(Config::default()).await;
    let binary = BinaryClient::connect(kernel.addr).await;
    assert_eq!(payload(&binary.hello)["binary"], true);
    let text = Client::connect(kernel.addr).await;
    assert_eq!(
        payload(&text.hello).get("binary"),
        None,
        "a text client's hello is unchanged"
    );
}

#[tokio::test]
async fn a_binary_client_reads_a_file_relayed_from_a_binary_tab_byte_for_byte() {
    let kernel = start(Config::default()).await;
    let mut tab = BinaryClient::connect(kernel.addr).await;
    tab.register("s-bin").await;
    let chunk = binary_chunk_len(1024 * 1024) as usize;
    for len in [0, 1, 255, chunk - 1, chunk] {
        let id = format!("r-read-{len}");
        tab.send(json!({"topic": "vfs:read", "to": "s-bin",
            "payload": {"_request_id": id, "path": "/f.bin", "encoding": "binary"}}))
            .await;
        let relayed = tab.recv().await;
        assert_eq!(relayed.topic.as_str(), "vfs:read");
        assert!(
            relayed.bytes.is_none(),
            "a request without bytes stays text"
        );
        assert_eq!(payload(&relayed)["encoding"], "binary");
        let bytes = pattern(len);
        tab.send_binary(&binary_answer(&relayed, bytes.clone()))
            .await;
        let got = tab.recv().await;
        assert_eq!(got.topic.as_str(), "vfs:read:resp");
        assert_eq!(got.request_id(), Some(id.as_str()));
        assert_eq!(
            got.from.as_deref(),
            Some(tab.id.as_str()),
            "stamped by the kernel"
        );
        assert_eq!(
            got.bytes.as_deref(),
            Some(&bytes[..]),
            "{len} bytes, byte for byte"
        );
        let header: Correlated<FileBytes> = got.decode().unwrap();
        assert_eq!(header.body.size, len as u64);
    }
    // A binary write relayed to a binary tab stays binary.
    let write = Envelope::request(
        &WriteBytes {
            path: "/w.bin".into(),
            ..WriteBytes::default()
        },
        "r-w",
    )
    .to("s-bin")
    .with_bytes(vec![0u8, 255, 0]);
    tab.send_binary(&write).await;
    let relayed = tab.recv().await;
    assert_eq!(relayed.topic.as_str(), "vfs:write");
    assert_eq!(relayed.bytes.as_deref(), Some(&[0u8, 255, 0][..]));
    tab.still_usable().await;
}

#[tokio::test]
async fn a_text_only_client_gets_what_a_binary_tab_sends_it_as_base64_or_utf8_text() {
    let kernel = start(Config::default()).await;
    let mut tab = BinaryClient::connect(kernel.addr).await;
    let mut reader = Client::connect(kernel.addr).await;
    for (bytes, encoding) in [
        (vec![0u8, 159, 146, 150, 255], "base64"),
        (b"plain text\n".to_vec(), "utf8"),
        (Vec::new(), "utf8"),
    ] {
        // As if answering the reader's read: addressed to it, in the binary form.
        let mut request = Envelope::new("vfs:read".parse().unwrap());
        request.from = Some(reader.id.clone());
        request.payload = Some(serde_json::from_value(json!({"_request_id": "r-1"})).unwrap());
        tab.send_binary(&binary_answer(&request, bytes.clone()))
            .await;
        // `Client::recv` fails on anything but a text frame.
        let got = reader.recv().await;
        assert_eq!(got.topic.as_str(), "vfs:read:resp");
        assert_eq!(got.request_id(), Some("r-1"));
        let body = payload(&got);
        assert_eq!(body["encoding"], encoding);
        let back = match encoding {
            "utf8" => body["content"].as_str().unwrap().as_bytes().to_vec(),
            _ => base64_decode(body["content"].as_str().unwrap()),
        };
        assert_eq!(back, bytes);
        assert_eq!(body["size"], bytes.len());
    }
    tab.still_usable().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// A module that writes `binary ok\n` to stdout, as wasm bytes (not UTF-8).
fn hello_wasm() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "binary ok\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 40)))))"#,
    )
    .unwrap()
}

#[tokio::test]
async fn the_kernels_module_reader_takes_a_binary_answer_as_base64() {
    let kernel = start(Config::default()).await;
    let mut tab = BinaryClient::connect(kernel.addr).await;
    tab.register("s-mod").await;
    tab.request("vm.spawn", json!({"module": {"path": "/bin/hello.wasm"}}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vm.spawn:ack");
    // The kernel asks in the text form (no `encoding`): a binary tab may still answer raw.
    let read = tab.recv().await;
    assert_eq!(read.topic.as_str(), "vfs:read");
    assert_eq!(read.from.as_deref(), Some("kernel"));
    let asked: Correlated<aether_shared::vfs::Read> = read.decode().unwrap();
    assert!(!asked.body.wants_bytes());
    assert_eq!(asked.body.offset.unwrap_or(0), 0);
    tab.send_binary(&binary_answer(&read, hello_wasm())).await;
    let mut stdout = String::new();
    loop {
        let env = tab.recv().await;
        match env.topic.as_str() {
            "vm.stdout" => stdout.push_str(payload(&env)["data"].as_str().unwrap()),
            "vm.exit" => break,
            "vm.error" => panic!("{:?}", payload(&env)),
            _ => {}
        }
    }
    assert_eq!(stdout, "binary ok\n");
}

/// A binary `vfs:write` of `len` bytes to `to`, correlated as `id`.
fn binary_write(to: &str, id: &str, len: usize) -> Envelope {
    let write = WriteBytes {
        path: "/big.bin".into(),
        ..WriteBytes::default()
    };
    Envelope::request(&write, id)
        .to(to)
        .with_bytes(pattern(len))
}

#[tokio::test]
async fn a_binary_frame_over_the_cap_is_refused_with_payload_too_large_and_one_at_the_cap_passes() {
    let max = 64 * 1024;
    let mut config = Config::default();
    config.limits.max_frame_bytes = NonZeroUsize::new(max).unwrap();
    let kernel = start(config).await;
    let mut tab = BinaryClient::connect(kernel.addr).await;
    tab.register("s-cap").await;
    let header = frame::encode(&binary_write("s-cap", "r-cap", 0)).len();
    // The cap counts the length, the header and the bytes together.
    let exactly = binary_write("s-cap", "r-cap", max - header);
    assert_eq!(frame::encode(&exactly).len(), max);
    tab.send_binary(&exactly).await;
    let relayed = tab.recv().await;
    assert_eq!(relayed.topic.as_str(), "vfs:write");
    assert_eq!(relayed.bytes.map(|b| b.len()), Some(max - header));

    let over = binary_write("s-cap", "r-over", max - header + 1);
    tab.send_binary(&over).await;
    let err = tab.recv().await;
    assert_eq!(err.topic.as_str(), "kernel.error");
    assert_eq!(
        err.request_id(),
        Some("r-over"),
        "correlated from the header"
    );
    let body = payload(&err);
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(body["details"]["limit"], "max_frame_bytes");
    assert_eq!(body["details"]["value"], max);
    // Nothing of it was delivered, and the connection goes on.
    tab.still_usable().await;
}

#[tokio::test]
async fn malformed_binary_frames_are_bad_requests_on_the_right_topic_and_the_connection_stays_usable()
 {
    let kernel = start(Config::default()).await;
    let mut tab = BinaryClient::connect(kernel.addr).await;
    tab.register("s-bad").await;
    let header = r#"{"topic":"vfs:write","to":"s-bad","payload":{"_request_id":"r-9","path":"/a","encoding":"binary"}}"#;
    let with_length = |length: u32, header: &str, bytes: &[u8]| {
        let mut frame = length.to_be_bytes().to_vec();
        frame.extend_from_slice(header.as_bytes());
        frame.extend_from_slice(bytes);
        frame
    };
    // Not [length][header][bytes]: refused on `kernel.error`.
    let unknown = r#"{"topic":"nope.x","payload":{"_request_id":"r-5"}}"#;
    let broken: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "4-byte"),
        (vec![0, 0, 1], "4-byte"),
        (with_length(header.len() as u32 + 1, header, b""), "only"),
        (with_length(u32::MAX, header, b"xyz"), "only"),
        (with_length(8, "not json", b"xyz"), "not an envelope"),
        (with_length(2, "", &[0xff, 0xfe]), "not UTF-8"),
        (
            with_length(unknown.len() as u32, unknown, b""),
            "not an envelope",
        ),
    ];
    for (frame, says) in broken {
        tab.send_raw(frame.clone()).await;
        let err = tab.recv().await;
        assert_eq!(err.topic.as_str(), "kernel.error", "{frame:?}");
        let body = payload(&err);
        assert_eq!(body["code"], "bad_request", "{frame:?}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{frame:?}: {body}"
        );
    }
    // A readable envelope that cannot carry bytes: refused on its own topic's error topic.
    let not_a_carrier = r#"{"topic":"vfs:list","to":"s-bad","payload":{"_request_id":"r-6","path":"/","encoding":"binary"}}"#;
    let unmarked = r#"{"topic":"vfs:write","to":"s-bad","payload":{"_request_id":"r-7","path":"/a","content":"x","encoding":"base64"}}"#;
    for (header, id, says) in [
        (not_a_carrier, "r-6", "carries no bytes"),
        (unmarked, "r-7", "\"encoding\": \"binary\""),
    ] {
        tab.send_raw(with_length(header.len() as u32, header, b"bytes"))
            .await;
        let err = tab.recv().await;
        assert_eq!(err.topic.as_str(), "vfs:error", "{header}");
        assert_eq!(err.request_id(), Some(id));
        let body = payload(&err);
        assert_eq!(body["code"], "bad_request");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    // None of them reached the session: the next thing the tab hears is its own pong.
    tab.still_usable().await;
    assert!(refusals_of(&mut tab).await >= 9);
}

/// The `bad_request` refusals counted in `kernel.stats`.
async fn refusals_of(client: &mut BinaryClient) -> u64 {
    let id = client.request("kernel.stats", json!({})).await;
    let stats = client.recv().await;
    assert_eq!(stats.request_id(), Some(id.as_str()));
    payload(&stats)["refusals"]["bad_request"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_binary_frame_from_a_client_that_did_not_negotiate_is_refused_and_never_delivered() {
    let kernel = start(Config::default()).await;
    let mut text = Client::connect(kernel.addr).await;
    text.request("vfs:register", json!({"sessionId": "s-text"}))
        .await;
    assert_eq!(text.recv().await.topic.as_str(), "vfs:register:ack");
    let before = refusals(&mut text, "bad_request").await;
    // Well formed, to its own session: still refused, the connection agreed to text only.
    let frame = frame::encode(&binary_write("s-text", "r-1", 3));
    text.send_binary(&frame).await;
    let err = text.recv().await;
    assert_eq!(err.topic.as_str(), "kernel.error");
    let body = payload(&err);
    assert_eq!(body["code"], "bad_request");
    assert!(
        body["error"].as_str().unwrap().contains("aether.binary"),
        "{body}"
    );
    assert_eq!(refusals(&mut text, "bad_request").await, before + 1);
    // Its base64 write to its own session is relayed as ever.
    text.send(json!({"topic": "vfs:write", "to": "s-text",
        "payload": {"_request_id": "r-2", "path": "/a", "content": "AAEC", "encoding": "base64"}}))
        .await;
    let relayed = text.recv().await;
    assert_eq!(relayed.topic.as_str(), "vfs:write");
    assert_eq!(relayed.request_id(), Some("r-2"));
    assert_eq!(payload(&relayed)["content"], "AAEC");
}
