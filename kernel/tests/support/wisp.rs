//! The egress tests' Wisp side: a Wisp client of `/wisp` (as v86's adapter is one), the ways a
//! test opens `/wisp` and `/wisp/dns-query` (token in the query or a bearer header, the kernel's
//! own origin or another), a kernel with egress rules, and the loopback destinations the tests
//! reach (an echo, a flood). Shared by `egress.rs` and `egress_auth.rs`.

#![allow(dead_code)]

use std::net::SocketAddr;

use aether_kernel::Config;
use aether_kernel::config::egress::{EgressRules, HostPort};
use aether_kernel::net::wisp::{Packet, StreamKind};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::support::{self, Client, Dial, Socket, TestKernel, WAIT};

pub const BLOCKED: u8 = 0x48;
pub const THROTTLED: u8 = 0x49;
pub const VOLUNTARY: u8 = 0x02;

/// A Wisp client, as v86's adapter is one: packets in binary messages, the server's budget first.
pub struct Wisp {
    pub ws: Socket,
    /// The DATA packets a new stream may send before its first CONTINUE.
    pub budget: u32,
}

impl Wisp {
    /// Opens `/wisp` (with `token` in the query, if any) and reads the server's first CONTINUE.
    pub async fn connect(addr: SocketAddr, token: Option<&str>) -> Wisp {
        Wisp::connect_as(addr, &by_query(token)).await
    }

    /// Opens `/wisp` as `how` says (see [`dial_wisp_as`]) and reads the server's first CONTINUE.
    pub async fn connect_as(addr: SocketAddr, how: &Dial) -> Wisp {
        let ws = dial_wisp_as(addr, how)
            .await
            .expect("the upgrade was refused");
        let mut wisp = Wisp { ws, budget: 0 };
        match wisp.recv().await {
            Packet::Continue {
                stream: 0,
                remaining,
            } => wisp.budget = remaining,
            other => panic!("expected the initial CONTINUE, got {other:?}"),
        }
        assert!(wisp.budget > 0);
        wisp
    }

    pub async fn send(&mut self, packet: Packet) {
        self.ws
            .send(Message::binary(packet.encode().to_vec()))
            .await
            .unwrap();
    }

    pub async fn open(&mut self, stream: u32, host: &str, port: u16) {
        self.send(Packet::Connect {
            stream,
            kind: StreamKind::Tcp,
            port,
            host: host.into(),
        })
        .await;
    }

    pub async fn data(&mut self, stream: u32, bytes: &[u8]) {
        let payload = Bytes::copy_from_slice(bytes);
        self.send(Packet::Data { stream, payload }).await;
    }

    /// The next packet other than a CONTINUE (the server's grants are not what tests look at).
    pub async fn recv(&mut self) -> Packet {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no Wisp packet in time")
                .expect("the relay closed the socket")
                .unwrap();
            if let Message::Binary(bytes) = message {
                return Packet::decode(bytes).unwrap();
            }
        }
    }

    pub async fn recv_past_grants(&mut self) -> Packet {
        loop {
            match self.recv().await {
                Packet::Continue { .. } => continue,
                other => return other,
            }
        }
    }

    /// Reads `stream`'s DATA until its CLOSE; returns the bytes and the close reason.
    pub async fn read_to_close(&mut self, stream: u32) -> (Vec<u8>, u8) {
        let mut bytes = Vec::new();
        loop {
            match self.recv_past_grants().await {
                Packet::Data { stream: s, payload } if s == stream => {
                    bytes.extend_from_slice(&payload)
                }
                Packet::Close { stream: s, reason } if s == stream => return (bytes, reason),
                other => panic!("unexpected packet {other:?}"),
            }
        }
    }

    /// Reads `stream`'s DATA until `n` bytes came.
    pub async fn read_exact(&mut self, stream: u32, n: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        while bytes.len() < n {
            match self.recv_past_grants().await {
                Packet::Data { stream: s, payload } if s == stream => {
                    bytes.extend_from_slice(&payload)
                }
                other => panic!("unexpected packet {other:?}"),
            }
        }
        bytes
    }

    /// The reason of `stream`'s CLOSE, the next packet expected.
    pub async fn closed(&mut self, stream: u32) -> u8 {
        match self.recv_past_grants().await {
            Packet::Close { stream: s, reason } if s == stream => reason,
            other => panic!("expected stream {stream} to close, got {other:?}"),
        }
    }
}

/// A [`Dial`] presenting `token` (if any) as `?token=`, from the kernel's own origin.
pub fn by_query(token: Option<&str>) -> Dial {
    Dial {
        query_token: token.map(str::to_owned),
        ..Dial::default()
    }
}

/// Opens `/wisp` from the kernel's own origin; `Err` is the status of a refused upgrade.
pub async fn dial_wisp(addr: SocketAddr, token: Option<&str>) -> Result<Socket, StatusCode> {
    dial_wisp_as(addr, &by_query(token)).await
}

/// Opens `/wisp` presenting what `how` says, exactly as [`support::dial`] opens `/ws` (so a test
/// can hold the two to the same answer); `Err` is the status of a refused upgrade.
pub async fn dial_wisp_as(addr: SocketAddr, how: &Dial) -> Result<Socket, StatusCode> {
    let url = match &how.query_token {
        Some(t) => format!("ws://{addr}/wisp?token={t}"),
        None => format!("ws://{addr}/wisp"),
    };
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    match how.origin.as_deref() {
        None => {
            headers.insert("origin", format!("http://{addr}").parse().unwrap());
        }
        Some("") => {}
        Some(origin) => {
            headers.insert("origin", origin.parse().unwrap());
        }
    }
    if let Some(token) = &how.bearer {
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(host) = &how.host {
        headers.insert("host", host.parse().unwrap());
    }
    match connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status()),
        Err(e) => panic!("connect failed: {e}"),
    }
}

/// A kernel whose egress rules `rules` builds from the kernel's own address.
pub async fn kernel(rules: impl FnOnce(SocketAddr) -> EgressRules) -> TestKernel {
    support::start_with(|addr| {
        let mut config = Config::default();
        config.compute.v86.egress = rules(addr);
        config
    })
    .await
}

pub fn allow(patterns: &[String]) -> EgressRules {
    EgressRules {
        allow: patterns
            .iter()
            .map(|p| HostPort::parse(p).unwrap())
            .collect(),
        ..EgressRules::default()
    }
}

/// A loopback server that echoes every connection until its peer shuts its side.
pub async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// A loopback server that, once a connection sends two bytes, writes `n` bytes and stays open.
pub async fn flood_server(n: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut go = [0; 2];
                if tcp.read_exact(&mut go).await.is_ok() {
                    let _ = tcp.write_all(&vec![7; n]).await;
                }
                let mut rest = Vec::new();
                let _ = tcp.read_to_end(&mut rest).await;
            });
        }
    });
    addr
}

pub async fn refusals(addr: SocketAddr, reason: &str) -> u64 {
    let mut client = Client::connect(addr).await;
    support::refusals(&mut client, reason).await
}

/// A DNS query for `name`'s A records, as a stub resolver sends it.
pub fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// POSTs `body` to `/wisp/dns-query` as v86's DoH client does; the status and the body.
pub async fn doh(addr: SocketAddr, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    doh_as(addr, &by_query(token), body).await
}

/// POSTs `body` to `/wisp/dns-query` presenting what `how` says, as [`dial_wisp_as`] does.
pub async fn doh_as(addr: SocketAddr, how: &Dial, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let url = match &how.query_token {
        Some(t) => format!("http://{addr}/wisp/dns-query?token={t}"),
        None => format!("http://{addr}/wisp/dns-query"),
    };
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/dns-message")
        .body(body);
    match how.origin.as_deref() {
        None => request = request.header("origin", format!("http://{addr}")),
        Some("") => {}
        Some(origin) => request = request.header("origin", origin),
    }
    if let Some(token) = &how.bearer {
        request = request.bearer_auth(token);
    }
    if let Some(host) = &how.host {
        request = request.header("host", host);
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.bytes().await.unwrap().to_vec())
}
