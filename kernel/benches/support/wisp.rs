//! The relay benchmark's two ends: a Wisp client that speaks to the kernel's `/wisp` as v86's
//! adapter does (one binary message per packet, Nagle off, DATA up only within the budget the
//! server granted with CONTINUE), and loopback TCP servers for it to reach (a download of a fixed
//! size behind an HTTP/1.0 request, and a greeter that writes one line as soon as it accepts).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use aether_kernel::net::wisp::{Packet, StreamKind};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::connect_async_with_config;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::Socket;

/// What the greeter writes on every connection it accepts.
pub const GREETING: &[u8] = b"hello\n";

/// A Wisp client on one `/wisp` connection.
pub struct WispClient {
    ws: Socket,
    /// The budget a new stream starts with (the server's first CONTINUE, stream 0).
    initial: u32,
    /// DATA packets each open stream may still send.
    budget: HashMap<u32, u32>,
    /// Packets read while waiting for a CONTINUE, handed out by [`WispClient::recv`] first.
    pending: VecDeque<Packet>,
}

impl WispClient {
    /// Opens `/wisp` from the kernel's own origin (with `?token=` if given) and reads the
    /// server's first CONTINUE.
    pub async fn connect(addr: SocketAddr, token: Option<&str>) -> WispClient {
        let url = match token {
            Some(t) => format!("ws://{addr}/wisp?token={t}"),
            None => format!("ws://{addr}/wisp"),
        };
        let mut request = url.into_client_request().unwrap();
        let origin = format!("http://{addr}").parse().unwrap();
        request.headers_mut().insert("origin", origin);
        let (ws, _) = connect_async_with_config(request, None, true)
            .await
            .expect("the kernel refused /wisp");
        let mut client = WispClient {
            ws,
            initial: 0,
            budget: HashMap::new(),
            pending: VecDeque::new(),
        };
        match client.read().await {
            Packet::Continue {
                stream: 0,
                remaining,
            } => client.initial = remaining,
            other => panic!("expected the initial CONTINUE, got {other:?}"),
        }
        client
    }

    /// Sends CONNECT for a TCP stream `stream` to `host:port`; the stream starts with the
    /// initial budget.
    pub async fn open(&mut self, stream: u32, host: &str, port: u16) {
        self.budget.insert(stream, self.initial);
        self.send(Packet::Connect {
            stream,
            kind: StreamKind::Tcp,
            port,
            host: host.into(),
        })
        .await;
    }

    /// Sends `bytes` on `stream` as one DATA packet, first waiting for a CONTINUE if the stream
    /// has no budget left.
    pub async fn data(&mut self, stream: u32, bytes: &[u8]) {
        while self.budget.get(&stream).copied().unwrap_or(0) == 0 {
            let packet = self.read().await;
            if !self.granted(&packet) {
                self.pending.push_back(packet);
            }
        }
        *self.budget.get_mut(&stream).unwrap() -= 1;
        let payload = Bytes::copy_from_slice(bytes);
        self.send(Packet::Data { stream, payload }).await;
    }

    /// The next DATA or CLOSE (CONTINUEs update the budgets and are not returned).
    pub async fn recv(&mut self) -> Packet {
        if let Some(packet) = self.pending.pop_front() {
            return packet;
        }
        loop {
            let packet = self.read().await;
            if !self.granted(&packet) {
                if let Packet::Close { stream, .. } = &packet {
                    self.budget.remove(stream);
                }
                return packet;
            }
        }
    }

    /// Applies a CONTINUE; whether `packet` was one.
    fn granted(&mut self, packet: &Packet) -> bool {
        match packet {
            Packet::Continue { stream, remaining } => {
                if let Some(budget) = self.budget.get_mut(stream) {
                    *budget = *remaining;
                }
                true
            }
            _ => false,
        }
    }

    async fn send(&mut self, packet: Packet) {
        self.ws
            .send(Message::binary(packet.encode()))
            .await
            .expect("the relay closed the socket");
    }

    async fn read(&mut self) -> Packet {
        loop {
            let message = self
                .ws
                .next()
                .await
                .expect("the relay closed the socket")
                .expect("the relay's socket failed");
            if let Message::Binary(bytes) = message {
                return Packet::decode(bytes).expect("a Wisp packet");
            }
        }
    }
}

/// A loopback server that answers each HTTP/1.0 request (anything up to its blank line) with
/// `body_bytes` bytes and closes the connection.
pub async fn download_server(body_bytes: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut response =
        format!("HTTP/1.0 200 OK\r\nContent-Length: {body_bytes}\r\n\r\n").into_bytes();
    response.resize(response.len() + body_bytes, b'x');
    let response = Bytes::from(response);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tcp.write_all(&response).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    addr
}

/// A loopback server that writes [`GREETING`] on each connection as soon as it accepts it, then
/// closes it.
pub async fn greeting_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = tcp.write_all(GREETING).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    addr
}

/// The request line the download client sends.
pub fn http_get(addr: SocketAddr) -> Vec<u8> {
    format!("GET /download HTTP/1.0\r\nHost: {addr}\r\n\r\n").into_bytes()
}
