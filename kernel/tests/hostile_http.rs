//! The HTTP server against hostile peers (issue #13, finding 9): sockets that never finish their
//! request must not be held, and the kernel must keep answering everyone else meanwhile.

mod support;

use std::net::SocketAddr;
use std::num::NonZeroU64;

use aether_kernel::Config;
use support::{WAIT, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A one-shot HTTP/1.1 GET over a fresh socket; returns the whole response as text.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut response))
        .await
        .expect("no response within the wait")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// Reads until the kernel closes `tcp`; `false` when it is still open after [`WAIT`].
async fn closed_by_the_kernel(tcp: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    // A reset counts as closed just as an orderly end does.
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut sink))
        .await
        .is_ok()
}

fn with_header_read_timeout(ms: u64) -> Config {
    let mut config = Config::default();
    config.limits.header_read_timeout_ms = NonZeroU64::new(ms).unwrap();
    config
}

#[tokio::test]
async fn a_half_sent_request_is_dropped_after_the_header_read_timeout_while_healthz_answers() {
    let kernel = start(with_header_read_timeout(300)).await;
    let mut slow = TcpStream::connect(kernel.addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();

    let healthz = http_get(kernel.addr, "/healthz").await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    assert!(healthz.ends_with("ok"), "{healthz}");

    assert!(
        closed_by_the_kernel(&mut slow).await,
        "the kernel held a half-sent request open"
    );
}

#[tokio::test]
async fn a_socket_that_sends_nothing_is_dropped_after_the_header_read_timeout() {
    let kernel = start(with_header_read_timeout(300)).await;
    let mut silent = TcpStream::connect(kernel.addr).await.unwrap();
    assert!(
        closed_by_the_kernel(&mut silent).await,
        "the kernel held a silent socket open"
    );
}

#[tokio::test]
async fn many_half_sent_requests_do_not_lock_out_healthz() {
    let kernel = start(with_header_read_timeout(300)).await;
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(kernel.addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(tcp);
    }
    let healthz = http_get(kernel.addr, "/healthz").await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    for tcp in &mut held {
        assert!(closed_by_the_kernel(tcp).await);
    }
}

#[tokio::test]
async fn every_http_response_carries_the_security_headers() {
    let kernel = start(Config::default()).await;
    for path in ["/", "/healthz", "/no-such-file.js"] {
        let response = http_get(kernel.addr, path).await;
        let head = response
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            head.contains("content-security-policy: ") && head.contains("frame-ancestors 'self'"),
            "{path}: {head}"
        );
        assert!(
            head.contains("x-content-type-options: nosniff"),
            "{path}: {head}"
        );
        assert!(
            head.contains("referrer-policy: no-referrer"),
            "{path}: {head}"
        );
    }
}
