//! Test support: a real kernel bound on `127.0.0.1:0` and a real WebSocket client.

#![allow(dead_code)]

pub mod nats;
pub mod runner;

use std::net::SocketAddr;
use std::time::Duration;

use aether_kernel::{Config, Kernel, serve};
use aether_shared::Envelope;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use tokio_util::sync::CancellationToken;

/// How long a test waits for a message before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A kernel running in this process on a free loopback port.
pub struct TestKernel {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Starts a kernel with `config` (its `listen` is ignored; its data goes to a fresh temporary
/// folder unless the test names one).
pub async fn start(mut config: Config) -> TestKernel {
    if config.data_dir.is_none() {
        let dir = std::env::temp_dir().join(format!("aether-test-{:016x}", rand_id()));
        config.data_dir = Some(dir);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let kernel = Kernel::with_assets(config, shutdown.clone(), &[]);
    let task = tokio::spawn(serve(listener, kernel));
    TestKernel {
        addr,
        shutdown,
        task,
    }
}

/// Starts a kernel with the config `make` builds from the address the kernel will listen on
/// (for a config that points at the kernel itself, e.g. its own `/mcp`).
pub async fn start_with(make: impl FnOnce(SocketAddr) -> Config) -> TestKernel {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = make(addr);
    config.listen = addr;
    if config.data_dir.is_none() {
        let dir = std::env::temp_dir().join(format!("aether-test-{:016x}", rand_id()));
        config.data_dir = Some(dir);
    }
    let shutdown = CancellationToken::new();
    let kernel = Kernel::with_assets(config, shutdown.clone(), &[]);
    let task = tokio::spawn(serve(listener, kernel));
    TestKernel {
        addr,
        shutdown,
        task,
    }
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connected client that has read its `kernel.hello`.
pub struct Client {
    pub ws: Socket,
    pub id: String,
    pub hello: Envelope,
    next_request: u64,
}

/// How a test connection presents itself.
#[derive(Clone, Default)]
pub struct Dial {
    /// `Origin` header; `None` sends the kernel's own origin, `Some("")` sends none.
    pub origin: Option<String>,
    /// `Authorization: Bearer` token.
    pub bearer: Option<String>,
    /// `?token=` query.
    pub query_token: Option<String>,
    /// `Host` header override.
    pub host: Option<String>,
}

/// Opens `/ws` as `dial` says; `Err` carries the HTTP status of a refused upgrade.
pub async fn dial(addr: SocketAddr, dial: &Dial) -> Result<Socket, StatusCode> {
    let url = match &dial.query_token {
        Some(t) => format!("ws://{addr}/ws?token={t}"),
        None => format!("ws://{addr}/ws"),
    };
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    match dial.origin.as_deref() {
        None => {
            headers.insert("origin", format!("http://{addr}").parse().unwrap());
        }
        Some("") => {}
        Some(origin) => {
            headers.insert("origin", origin.parse().unwrap());
        }
    }
    if let Some(token) = &dial.bearer {
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(host) = &dial.host {
        headers.insert("host", host.parse().unwrap());
    }
    match connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status()),
        Err(e) => panic!("connect failed: {e}"),
    }
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::connect_as(addr, &Dial::default()).await
    }

    /// Connects as `how` says and reads the hello; panics when refused.
    pub async fn connect_as(addr: SocketAddr, how: &Dial) -> Client {
        let ws = dial(addr, how).await.expect("the upgrade was refused");
        let mut client = Client {
            ws,
            id: String::new(),
            hello: Envelope::from_json(r#"{"topic":"kernel.hello"}"#).unwrap(),
            next_request: 0,
        };
        let hello = client.recv().await;
        assert_eq!(hello.topic.as_str(), "kernel.hello");
        client.id = hello.payload.as_ref().unwrap()["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        client.hello = hello;
        client
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws.send(Message::binary(bytes.to_vec())).await.unwrap();
    }

    pub async fn send(&mut self, envelope: Value) {
        self.send_text(envelope.to_string()).await;
    }

    /// Sends a request with a fresh `_request_id` and returns that id.
    pub async fn request(&mut self, topic: &str, mut payload: Value) -> String {
        self.next_request += 1;
        let id = format!("r-{}", self.next_request);
        payload["_request_id"] = json!(id);
        self.send(json!({"topic": topic, "payload": payload})).await;
        id
    }

    /// Subscribes and waits for the ack.
    pub async fn subscribe(&mut self, patterns: &[&str]) {
        let id = self
            .request("bus.subscribe", json!({"patterns": patterns}))
            .await;
        let ack = self.recv().await;
        assert_eq!(ack.topic.as_str(), "bus.subscribe:ack", "{ack:?}");
        assert_eq!(ack.request_id(), Some(id.as_str()));
    }

    /// The next envelope (fails the test after [`WAIT`]).
    pub async fn recv(&mut self) -> Envelope {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no message within the wait")
                .expect("the connection ended")
                .expect("a read error");
            match msg {
                Message::Text(text) => return Envelope::from_json(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Reads until the connection ends; returns the close code if a close frame came.
    pub async fn read_until_closed(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the connection did not end within the wait");
            match msg {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Sends `vm.spawn` with `body` and reads its ack (the next envelope); returns the pid.
pub async fn spawn(client: &mut Client, body: Value) -> u64 {
    let id = client.request("vm.spawn", body).await;
    let ack = client.recv().await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack", "{:?}", payload(&ack));
    assert_eq!(ack.request_id(), Some(id.as_str()));
    payload(&ack)["pid"].as_u64().unwrap()
}

/// Reads `client`'s envelopes to its program's end: the stdout it printed, and its `vm.exit` or
/// `vm.error`.
pub async fn finish(client: &mut Client) -> (String, Envelope) {
    let mut stdout = String::new();
    loop {
        let env = client.recv().await;
        match env.topic.as_str() {
            "vm.stdout" => stdout.push_str(payload(&env)["data"].as_str().unwrap_or("")),
            "vm.exit" | "vm.error" => return (stdout, env),
            _ => {}
        }
    }
}

/// The payload of an envelope, as JSON.
pub fn payload(env: &Envelope) -> Value {
    Value::Object(env.payload.clone().unwrap_or_default())
}

/// The bytes of a sample guest from `guests/` (built once for wasm32-wasip1 by this call,
/// unless `AETHER_TEST_GUESTS_BUILT` says `cargo xtask test` has built them: then no test waits
/// on cargo's build lock with a connection open).
pub fn guest(name: &str) -> Vec<u8> {
    static BUILT: std::sync::OnceLock<Result<std::path::PathBuf, String>> =
        std::sync::OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let built = std::env::var_os("AETHER_TEST_GUESTS_BUILT").is_some();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = match built {
            true => None,
            false => Some(std::process::Command::new(cargo)
            .args(["build", "--quiet", "--release", "--target", "wasm32-wasip1", "-p", "aether-guests"])
            .status()
            .map_err(|e| e.to_string())?),
        };
        if status.is_some_and(|s| !s.success()) {
            return Err("building the guests failed; `rustup target add wasm32-wasip1` (cargo xtask test does it)".into());
        }
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        Ok(target.join("wasm32-wasip1/release"))
    });
    let dir = dir.as_ref().unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(dir.join(format!("{name}.wasm"))).unwrap_or_else(|e| panic!("guest {name}: {e}"))
}

/// Base64 of bytes, for `module: {base64}`.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The kernel's counters (`kernel.stats`), asked by `client` (which reads, and drops,
/// everything queued to it before the answer).
pub async fn stats(client: &mut Client) -> Value {
    let id = client.request("kernel.stats", json!({})).await;
    loop {
        let env = client.recv().await;
        if env.request_id() == Some(id.as_str()) && env.topic.as_str() == "kernel.stats:resp" {
            return payload(&env);
        }
    }
}

/// The refusal counter of `reason` in `kernel.stats` (see [`stats`]).
pub async fn refusals(client: &mut Client, reason: &str) -> u64 {
    stats(client).await["refusals"][reason]
        .as_u64()
        .unwrap_or(0)
}
