//! Guardrails against a real kernel on loopback (SPEC §6): origin and host checks, tokens,
//! permissions, rate limits, caps, and the audit counters. Each guardrail is shown refusing.

mod support;

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::{Duration, Instant};

use aether_kernel::Config;
use aether_kernel::config::{Action, PermissionRule, RateRule, TopicPrefix};
use serde_json::{Value, json};
use support::{Client, Dial, dial, payload, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::http::StatusCode;

fn allow(prefix: &str) -> PermissionRule {
    PermissionRule {
        topic_prefix: TopicPrefix::parse(prefix).unwrap(),
        action: Action::Allow,
    }
}

fn deny(prefix: &str) -> PermissionRule {
    PermissionRule {
        topic_prefix: TopicPrefix::parse(prefix).unwrap(),
        action: Action::Deny,
    }
}

fn rate(topic: &str, limit: u32, burst: u32, window_ms: u64) -> RateRule {
    RateRule {
        topic: topic.parse().unwrap(),
        limit: NonZeroU32::new(limit).unwrap(),
        burst: NonZeroU32::new(burst).unwrap(),
        window_ms: NonZeroU64::new(window_ms).unwrap(),
    }
}

async fn stats(client: &mut Client) -> Value {
    let id = client.request("kernel.stats", json!({})).await;
    let reply = client.recv().await;
    assert_eq!(reply.request_id(), Some(id.as_str()), "{reply:?}");
    payload(&reply)
}

async fn ping(client: &mut Client) -> aether_shared::Envelope {
    let id = client.request("kernel.ping", json!({})).await;
    let reply = client.recv().await;
    assert_eq!(reply.request_id(), Some(id.as_str()));
    reply
}

#[tokio::test]
async fn a_foreign_or_missing_origin_or_a_foreign_host_is_refused() {
    let kernel = start(Config::default()).await;
    let foreign = Dial {
        origin: Some("http://evil.example".into()),
        ..Dial::default()
    };
    assert_eq!(
        dial(kernel.addr, &foreign).await.err(),
        Some(StatusCode::FORBIDDEN)
    );
    let missing = Dial {
        origin: Some(String::new()),
        ..Dial::default()
    };
    assert_eq!(
        dial(kernel.addr, &missing).await.err(),
        Some(StatusCode::FORBIDDEN)
    );
    let rebinding = Dial {
        host: Some("rebind.attacker.test:8080".into()),
        origin: Some("http://rebind.attacker.test:8080".into()),
        ..Dial::default()
    };
    assert_eq!(
        dial(kernel.addr, &rebinding).await.err(),
        Some(StatusCode::FORBIDDEN)
    );
    // The refusals are counted by reason.
    let mut watcher = Client::connect(kernel.addr).await;
    let refusals = &stats(&mut watcher).await["refusals"];
    assert_eq!(refusals["origin_denied"], 2);
    assert_eq!(refusals["host_denied"], 1);
}

#[tokio::test]
async fn an_allowed_origin_may_connect() {
    let config = Config {
        allowed_origins: vec!["http://127.0.0.1:8081".parse().unwrap()],
        ..Config::default()
    };
    let kernel = start(config).await;
    let dev = Dial {
        origin: Some("http://127.0.0.1:8081".into()),
        ..Dial::default()
    };
    Client::connect_as(kernel.addr, &dev).await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused_when_one_is_required() {
    let config = Config {
        client_token: Some("let-me-in-0123456789".into()),
        admin_token: Some("root-token-0123456789".into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    assert_eq!(
        dial(kernel.addr, &Dial::default()).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let wrong = Dial {
        bearer: Some("let-me-out".into()),
        ..Dial::default()
    };
    assert_eq!(
        dial(kernel.addr, &wrong).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let header = Dial {
        bearer: Some("let-me-in-0123456789".into()),
        ..Dial::default()
    };
    Client::connect_as(kernel.addr, &header).await;
    let query = Dial {
        query_token: Some("let-me-in-0123456789".into()),
        ..Dial::default()
    };
    Client::connect_as(kernel.addr, &query).await;
}

#[tokio::test]
async fn admin_bypasses_permissions_and_rate_limits() {
    let config = Config {
        admin_token: Some("root-token-0123456789".into()),
        permissions: vec![allow("kernel.ping")],
        rate_limits: vec![rate("kernel.ping", 1, 1, 60_000)],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut admin = Client::connect_as(
        kernel.addr,
        &Dial {
            bearer: Some("root-token-0123456789".into()),
            ..Dial::default()
        },
    )
    .await;
    for _ in 0..3 {
        assert_eq!(ping(&mut admin).await.topic.as_str(), "kernel.ping:resp");
    }
    assert_eq!(stats(&mut admin).await["version"], aether_kernel::VERSION);

    let mut user = Client::connect(kernel.addr).await;
    assert_eq!(ping(&mut user).await.topic.as_str(), "kernel.ping:resp");
    let second = ping(&mut user).await;
    assert_eq!(payload(&second)["code"], "rate_limited");
    user.request("kernel.stats", json!({})).await;
    assert_eq!(payload(&user.recv().await)["code"], "permission_denied");
}

#[tokio::test]
async fn the_first_matching_rule_wins() {
    let config = Config {
        permissions: vec![deny("kernel.stats"), allow("kernel."), allow("bus.")],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client.request("kernel.stats", json!({})).await;
    let refusal = client.recv().await;
    assert_eq!(refusal.topic.as_str(), "kernel.error");
    assert_eq!(refusal.request_id(), Some(id.as_str()));
    assert_eq!(payload(&refusal)["code"], "permission_denied");
    assert_eq!(ping(&mut client).await.topic.as_str(), "kernel.ping:resp");
}

#[tokio::test]
async fn with_any_rule_an_unlisted_topic_is_denied() {
    let config = Config {
        permissions: vec![allow("kernel.ping")],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client
        .request("bus.subscribe", json!({"patterns": ["vm.*"]}))
        .await;
    let refusal = client.recv().await;
    assert_eq!(refusal.topic.as_str(), "bus.error");
    assert_eq!(refusal.request_id(), Some(id.as_str()));
    assert_eq!(payload(&refusal)["code"], "permission_denied");
}

#[tokio::test]
async fn a_burst_past_the_bucket_is_rate_limited_and_recovers_after_the_window() {
    let config = Config {
        rate_limits: vec![rate("kernel.ping", 10, 2, 1_000)],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    assert_eq!(ping(&mut client).await.topic.as_str(), "kernel.ping:resp");
    assert_eq!(ping(&mut client).await.topic.as_str(), "kernel.ping:resp");
    let limited = ping(&mut client).await;
    assert_eq!(limited.topic.as_str(), "kernel.error");
    let err = payload(&limited);
    assert_eq!(err["code"], "rate_limited");
    // One token comes back every 1000 ms / 10 = 100 ms.
    let retry_after_ms = err["details"]["retry_after_ms"].as_u64().unwrap();
    assert!((1..=100).contains(&retry_after_ms), "{retry_after_ms}");
    // Buckets belong to the principal: another client of it finds the bucket as empty.
    let mut other = Client::connect(kernel.addr).await;
    assert_eq!(payload(&ping(&mut other).await)["code"], "rate_limited");
    tokio::time::sleep(Duration::from_millis(retry_after_ms + 20)).await;
    assert_eq!(ping(&mut client).await.topic.as_str(), "kernel.ping:resp");
}

#[tokio::test]
async fn ten_thousand_short_connections_leave_nothing_behind() {
    const CONNECTIONS: usize = 10_000;
    const AT_ONCE: usize = 50;
    let mut config = Config {
        rate_limits: vec![rate("kernel.ping", 100, 10, 1_000)],
        ..Config::default()
    };
    config.http_rate_limit.requests_per_second = NonZeroU32::new(1_000_000).unwrap();
    config.http_rate_limit.burst = NonZeroU32::new(1_000_000).unwrap();
    let kernel = start(config).await;
    let addr = kernel.addr;
    for _ in 0..CONNECTIONS / AT_ONCE {
        let batch = (0..AT_ONCE).map(|_| async move {
            let mut client = Client::connect(addr).await;
            ping(&mut client).await;
            client.ws.close(None).await.unwrap();
        });
        futures_util::future::join_all(batch).await;
    }
    let mut watcher = Client::connect(addr).await;
    // Disconnects are processed asynchronously: wait until the last ones are done. The one
    // principal keeps its one bucket, however many connections came and went.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = stats(&mut watcher).await;
        if stats["rate_buckets"] == 1 && stats["clients"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "buckets left behind: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn connections_past_the_per_principal_cap_are_refused() {
    let mut config = Config::default();
    config.limits.max_connections_per_principal = NonZeroUsize::new(2).unwrap();
    let kernel = start(config).await;
    let first = Client::connect(kernel.addr).await;
    let _second = Client::connect(kernel.addr).await;
    assert_eq!(
        dial(kernel.addr, &Dial::default()).await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    while dial(kernel.addr, &Dial::default()).await.is_err() {
        assert!(Instant::now() < deadline, "the slot was not given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn http_routes_are_rate_limited_per_peer() {
    let mut config = Config::default();
    config.http_rate_limit.requests_per_second = NonZeroU32::new(1).unwrap();
    config.http_rate_limit.burst = NonZeroU32::new(2).unwrap();
    let kernel = start(config).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(http_get_status(kernel.addr, "/healthz").await);
    }
    assert_eq!(statuses, [200, 200, 429]);
}

async fn http_get_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response[9..12].parse().unwrap()
}
