//! The guest network relay (`/wisp`, `/wisp/dns-query`) against a real kernel: a Wisp client
//! (`support/wisp.rs`) speaks to it over a real WebSocket, and loopback TCP servers started by each test
//! stand for the destinations. The rules under test are `compute.v86.egress`'s: the allowlist,
//! the quota, the stream cap, the kernel's own port, DNS for allowed names only, and the token
//! (who may use the relay, and as whom: `egress_auth.rs`).

mod support;
#[path = "support/wisp.rs"]
mod wisp;

use aether_kernel::Config;
use aether_kernel::config::egress::EgressRules;
use aether_kernel::net::wisp::{Packet, StreamKind};
use support::{Client, Dial};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::StatusCode;
use wisp::{
    BLOCKED, THROTTLED, VOLUNTARY, Wisp, allow, dial_wisp, dns_query, doh, echo_server,
    flood_server, kernel, refusals,
};

#[tokio::test]
async fn an_allowed_destination_moves_bytes_both_ways_and_closes_after_the_answer() {
    let echo = echo_server().await;
    let kernel = kernel(|_| allow(&[echo.to_string()])).await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", echo.port()).await;
    wisp.data(1, b"hello, ").await;
    wisp.data(1, b"guest").await;
    assert_eq!(wisp.read_exact(1, 12).await, b"hello, guest");
    // The guest shuts its side (v86 sends CLOSE): what it sent is delivered, the answer still
    // comes down, and the stream closes when the destination ends.
    wisp.data(1, b"!").await;
    wisp.send(Packet::Close {
        stream: 1,
        reason: VOLUNTARY,
    })
    .await;
    let (rest, reason) = wisp.read_to_close(1).await;
    assert_eq!((rest.as_slice(), reason), (&b"!"[..], VOLUNTARY));
    assert_eq!(refusals(kernel.addr, "egress_denied").await, 0);
}

#[tokio::test]
async fn a_guest_that_waits_for_continue_sends_past_its_first_budget() {
    let echo = echo_server().await;
    let kernel = kernel(|_| allow(&[echo.to_string()])).await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", echo.port()).await;
    let packets = 3 * wisp.budget as usize;
    let mut budget = wisp.budget;
    let mut echoed = 0;
    for n in 0..packets {
        while budget == 0 {
            match wisp.recv().await {
                Packet::Continue {
                    stream: 1,
                    remaining,
                } => budget = remaining,
                Packet::Data { stream: 1, payload } => echoed += payload.len(),
                other => panic!("unexpected packet {other:?}"),
            }
        }
        wisp.data(1, &[n as u8; 100]).await;
        budget -= 1;
    }
    let rest = wisp.read_exact(1, packets * 100 - echoed).await;
    assert_eq!(echoed + rest.len(), packets * 100);
}

#[tokio::test]
async fn a_destination_not_on_the_list_is_refused_as_blocked_and_counted() {
    let echo = echo_server().await;
    let kernel = kernel(|_| allow(&[echo.to_string()])).await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", echo.port() ^ 1).await;
    assert_eq!(wisp.closed(1).await, BLOCKED);
    wisp.open(2, "example.org", 443).await;
    assert_eq!(wisp.closed(2).await, BLOCKED);
    // The machine's network goes on: an allowed stream still opens.
    wisp.open(3, "127.0.0.1", echo.port()).await;
    wisp.data(3, b"ok").await;
    assert_eq!(wisp.read_exact(3, 2).await, b"ok");
    assert_eq!(refusals(kernel.addr, "egress_denied").await, 2);
}

#[tokio::test]
async fn with_the_default_rules_every_connect_is_refused() {
    let echo = echo_server().await;
    let kernel = support::start(Config::default()).await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", echo.port()).await;
    assert_eq!(wisp.closed(1).await, BLOCKED);
    assert_eq!(refusals(kernel.addr, "egress_denied").await, 1);
}

#[tokio::test]
async fn a_stream_is_closed_once_the_machines_quota_is_spent() {
    let flood = flood_server(5000).await;
    let kernel = kernel(|_| EgressRules {
        quota_bytes: std::num::NonZeroU64::new(1000).unwrap(),
        ..allow(&[flood.to_string()])
    })
    .await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", flood.port()).await;
    wisp.data(1, b"go").await;
    // Two bytes went up; 998 of the 5000 come down, then the stream closes.
    let (down, reason) = wisp.read_to_close(1).await;
    assert_eq!((down.len(), reason), (998, THROTTLED));
    assert!(down.iter().all(|b| *b == 7));
    // A spent machine opens nothing more.
    wisp.open(2, "127.0.0.1", flood.port()).await;
    assert_eq!(wisp.closed(2).await, THROTTLED);
    assert_eq!(refusals(kernel.addr, "egress_quota").await, 2);
}

#[tokio::test]
async fn streams_past_max_connections_are_refused() {
    let echo = echo_server().await;
    let kernel = kernel(|_| EgressRules {
        max_connections: std::num::NonZeroU32::new(2).unwrap(),
        ..allow(&[echo.to_string()])
    })
    .await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", echo.port()).await;
    wisp.open(2, "127.0.0.1", echo.port()).await;
    wisp.open(3, "127.0.0.1", echo.port()).await;
    assert_eq!(wisp.closed(3).await, THROTTLED);
    // The two open streams still work.
    wisp.data(2, b"two").await;
    assert_eq!(wisp.read_exact(2, 3).await, b"two");
    wisp.data(1, b"one").await;
    assert_eq!(wisp.read_exact(1, 3).await, b"one");
    assert_eq!(refusals(kernel.addr, "egress_connection_limit").await, 1);
}

#[tokio::test]
async fn the_kernels_own_port_is_refused_even_when_the_list_allows_it() {
    let kernel = kernel(|_| allow(&["127.0.0.1:*".into(), "localhost:*".into()])).await;
    let port = kernel.addr.port();
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.open(1, "127.0.0.1", port).await;
    assert_eq!(wisp.closed(1).await, BLOCKED);
    wisp.open(2, "localhost", port).await;
    assert_eq!(wisp.closed(2).await, BLOCKED);
    assert_eq!(refusals(kernel.addr, "egress_denied").await, 2);
}

#[tokio::test]
async fn dns_resolves_allowed_names_whose_addresses_may_then_be_reached() {
    let echo = echo_server().await;
    let kernel = kernel(|_| allow(&[format!("localhost:{}", echo.port())])).await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    // v86 connects by address; before the guest resolved the name, the address is not named.
    wisp.open(1, "127.0.0.1", echo.port()).await;
    assert_eq!(wisp.closed(1).await, BLOCKED);

    let (status, answer) = doh(kernel.addr, None, dns_query("localhost")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&answer[..2], &[0x12, 0x34]);
    assert_eq!(answer[3] & 0x0f, 0, "NOERROR");
    assert!(
        u16::from_be_bytes([answer[6], answer[7]]) >= 1,
        "an A record"
    );
    assert_eq!(&answer[answer.len() - 4..], &[127, 0, 0, 1]);

    wisp.open(2, "127.0.0.1", echo.port()).await;
    wisp.data(2, b"named").await;
    assert_eq!(wisp.read_exact(2, 5).await, b"named");
    // Another port of that address is still not named.
    wisp.open(3, "127.0.0.1", echo.port() ^ 1).await;
    assert_eq!(wisp.closed(3).await, BLOCKED);
}

#[tokio::test]
async fn dns_refuses_a_name_the_list_does_not_name() {
    let kernel = kernel(|_| allow(&["*.example.org:443".into()])).await;
    let (status, answer) = doh(kernel.addr, None, dns_query("example.net")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer[3] & 0x0f, 5, "REFUSED");
    assert_eq!(&answer[6..8], &[0, 0], "no answers");
    assert_eq!(refusals(kernel.addr, "egress_denied").await, 1);
    let (status, _) = doh(kernel.addr, None, vec![1, 2, 3]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dns_over_a_wisp_udp_stream_is_answered_by_the_relay_from_the_list() {
    let echo = echo_server().await;
    let kernel = kernel(|_| allow(&[format!("localhost:{}", echo.port())])).await;
    let mut wisp = Wisp::connect(kernel.addr, None).await;
    wisp.send(Packet::Connect {
        stream: 1,
        kind: StreamKind::Udp,
        port: 53,
        host: "192.168.86.1".into(),
    })
    .await;
    wisp.data(1, &dns_query("localhost")).await;
    let Packet::Data { stream: 1, payload } = wisp.recv_past_grants().await else {
        panic!("expected the answer on stream 1");
    };
    assert_eq!(payload[3] & 0x0f, 0, "NOERROR");
    assert_eq!(&payload[payload.len() - 4..], &[127, 0, 0, 1]);
    wisp.data(1, &dns_query("elsewhere.test")).await;
    let Packet::Data { stream: 1, payload } = wisp.recv_past_grants().await else {
        panic!("expected the answer on stream 1");
    };
    assert_eq!(payload[3] & 0x0f, 5, "REFUSED");
    // The address it was given may now be reached; other UDP is not relayed.
    wisp.open(2, "127.0.0.1", echo.port()).await;
    wisp.data(2, b"udp-named").await;
    assert_eq!(wisp.read_exact(2, 9).await, b"udp-named");
    wisp.send(Packet::Connect {
        stream: 3,
        kind: StreamKind::Udp,
        port: 123,
        host: "192.168.86.1".into(),
    })
    .await;
    assert_eq!(wisp.closed(3).await, 0x41);
    assert_eq!(refusals(kernel.addr, "egress_denied").await, 1);
}

#[tokio::test]
async fn without_the_token_the_relay_and_its_dns_answer_401() {
    let config = Config {
        client_token: Some("s3cret".into()),
        ..Config::default()
    };
    let kernel = support::start(config).await;
    assert_eq!(
        dial_wisp(kernel.addr, None).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        dial_wisp(kernel.addr, Some("wrong")).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let (status, _) = doh(kernel.addr, None, dns_query("example.org")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // With the token the relay answers (and, with no rules, refuses every stream).
    let mut wisp = Wisp::connect(kernel.addr, Some("s3cret")).await;
    wisp.open(1, "127.0.0.1", 9).await;
    assert_eq!(wisp.closed(1).await, BLOCKED);
    let how = Dial {
        query_token: Some("s3cret".into()),
        ..Dial::default()
    };
    let mut client = Client::connect_as(kernel.addr, &how).await;
    assert_eq!(support::refusals(&mut client, "unauthorized").await, 3);
}

#[tokio::test]
async fn a_page_from_another_origin_is_refused_403() {
    let kernel = support::start(Config::default()).await;
    let mut request = format!("ws://{}/wisp", kernel.addr)
        .into_client_request()
        .unwrap();
    let evil = "http://evil.example".parse().unwrap();
    request.headers_mut().insert("origin", evil);
    match connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}
