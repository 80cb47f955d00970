//! The hub against a real kernel on loopback, spoken to over real WebSockets: identity, routing,
//! fan-out, refusals, back-pressure and shutdown.

mod support;

use std::num::NonZeroUsize;

use aether_kernel::Config;
use serde_json::json;
use support::{Client, payload, start};

#[tokio::test]
async fn hello_announces_the_client_id_version_and_limits() {
    let kernel = start(Config::default()).await;
    let client = Client::connect(kernel.addr).await;
    let hello = payload(&client.hello);
    assert!(client.id.starts_with("c-"));
    assert_eq!(hello["version"], aether_kernel::VERSION);
    assert_eq!(hello["limits"]["max_frame_bytes"], 1024 * 1024);
    assert_eq!(client.hello.to.as_deref(), Some(client.id.as_str()));
    assert_eq!(client.hello.from.as_deref(), Some("kernel"));
}

#[tokio::test]
async fn ping_is_answered_on_its_resp_topic_with_the_same_request_id() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client.request("kernel.ping", json!({})).await;
    let pong = client.recv().await;
    assert_eq!(pong.topic.as_str(), "kernel.ping:resp");
    assert_eq!(pong.request_id(), Some(id.as_str()));
    assert_eq!(pong.to.as_deref(), Some(client.id.as_str()));
    assert!(payload(&pong)["uptime_ms"].is_u64());
}

#[tokio::test]
async fn from_cannot_be_spoofed_and_time_is_restamped() {
    let kernel = start(Config::default()).await;
    let mut watcher = Client::connect(kernel.addr).await;
    watcher.subscribe(&["task.event"]).await;
    let mut liar = Client::connect(kernel.addr).await;
    liar.send(
        json!({"topic": "task.event", "from": "kernel", "time": "1999-01-01T00:00:00.000Z",
        "payload": {"run_id": "x"}}),
    )
    .await;
    let got = watcher.recv().await;
    assert_eq!(got.from.as_deref(), Some(liar.id.as_str()));
    assert!(!got.time.starts_with("1999"), "{}", got.time);
}

#[tokio::test]
async fn an_addressed_envelope_reaches_its_addressee_and_nobody_else() {
    let kernel = start(Config::default()).await;
    let mut a = Client::connect(kernel.addr).await;
    let mut b = Client::connect(kernel.addr).await;
    let mut c = Client::connect(kernel.addr).await;
    b.subscribe(&["*"]).await;
    c.subscribe(&["*"]).await;
    a.send(json!({"topic": "task.event", "to": b.id, "payload": {"n": "secret"}}))
        .await;
    // A fan-out marker sent afterwards: c's next message must be the marker, never the secret.
    a.send(json!({"topic": "task.done", "payload": {"n": "marker"}}))
        .await;
    let first = b.recv().await;
    assert_eq!(payload(&first)["n"], "secret");
    assert_eq!(payload(&b.recv().await)["n"], "marker");
    assert_eq!(payload(&c.recv().await)["n"], "marker");
}

#[tokio::test]
async fn wildcard_fan_out_reaches_matching_patterns_only() {
    let kernel = start(Config::default()).await;
    let mut vm = Client::connect(kernel.addr).await;
    let mut vfs = Client::connect(kernel.addr).await;
    let mut publisher = Client::connect(kernel.addr).await;
    vm.subscribe(&["vm.*"]).await;
    vfs.subscribe(&["vfs:*", "task.done"]).await;
    publisher
        .send(json!({"topic": "vm.stdout", "payload": {"pid": 1, "seq": 0, "data": "hi"}}))
        .await;
    publisher
        .send(json!({"topic": "task.done", "payload": {"run_id": "marker"}}))
        .await;
    assert_eq!(vm.recv().await.topic.as_str(), "vm.stdout");
    assert_eq!(vfs.recv().await.topic.as_str(), "task.done");
}

#[tokio::test]
async fn malformed_input_is_refused_and_the_connection_stays_open() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    for bad in [
        "{not json".to_string(),
        json!({"topic": "nope.x", "payload": {"_request_id": "r-bad"}}).to_string(),
        json!({"topic": "kernel.ping", "payload": [1, 2]}).to_string(),
    ] {
        client.send_text(bad).await;
        let err = client.recv().await;
        assert_eq!(err.topic.as_str(), "kernel.error");
        assert_eq!(payload(&err)["code"], "bad_request");
    }
    client.send_binary(b"\x00\x01").await;
    assert_eq!(payload(&client.recv().await)["code"], "bad_request");
    // Still alive.
    let id = client.request("kernel.ping", json!({})).await;
    assert_eq!(client.recv().await.request_id(), Some(id.as_str()));
}

#[tokio::test]
async fn a_bad_request_id_is_kept_on_the_refusal() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    client
        .send(json!({"topic": "nope.x", "payload": {"_request_id": "r-bad"}}))
        .await;
    let err = client.recv().await;
    assert_eq!(err.request_id(), Some("r-bad"));
}

#[tokio::test]
async fn an_unknown_topic_gets_unknown_topic_on_its_namespace_error_topic() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client.request("vm.frobnicate", json!({})).await;
    let err = client.recv().await;
    assert_eq!(err.topic.as_str(), "vm.error");
    assert_eq!(err.request_id(), Some(id.as_str()));
    assert_eq!(payload(&err)["code"], "unknown_topic");
}

#[tokio::test]
async fn a_request_to_an_absent_address_gets_session_not_found() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    client
        .send(json!({"topic": "vfs:read", "to": "s-gone", "payload": {"_request_id": "r-1", "path": "/a"}}))
        .await;
    let err = client.recv().await;
    assert_eq!(err.topic.as_str(), "vfs:error");
    assert_eq!(payload(&err)["code"], "session_not_found");
    assert_eq!(err.request_id(), Some("r-1"));
}

#[tokio::test]
async fn an_oversize_frame_is_refused_and_the_connection_survives() {
    let mut config = Config::default();
    config.limits.max_frame_bytes = NonZeroUsize::new(1024).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let big = "x".repeat(1500);
    client
        .send(json!({"topic": "task.event", "payload": {"_request_id": "r-big", "data": big}}))
        .await;
    let err = client.recv().await;
    assert_eq!(payload(&err)["code"], "payload_too_large");
    assert_eq!(payload(&err)["details"]["limit"], "max_frame_bytes");
    assert_eq!(err.request_id(), Some("r-big"));
    let id = client.request("kernel.ping", json!({})).await;
    assert_eq!(client.recv().await.request_id(), Some(id.as_str()));
}

#[tokio::test]
async fn subscriptions_past_the_cap_are_refused() {
    let mut config = Config::default();
    config.limits.max_subscriptions = NonZeroUsize::new(2).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    client.subscribe(&["vm.*", "vfs:*"]).await;
    client
        .request("bus.subscribe", json!({"patterns": ["task.*"]}))
        .await;
    let err = client.recv().await;
    assert_eq!(err.topic.as_str(), "bus.error");
    assert_eq!(payload(&err)["code"], "resource_exceeded");
    // Unsubscribing frees room.
    client
        .request("bus.unsubscribe", json!({"patterns": ["vm.*"]}))
        .await;
    assert_eq!(payload(&client.recv().await)["patterns"], json!(["vfs:*"]));
    client.subscribe(&["task.*"]).await;
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_without_stalling_others() {
    // 4,000 × 8 KiB = 32 MiB: far more than the slow client's queue plus its socket buffers.
    const MESSAGES: usize = 4_000;
    // The publisher stays at most this many messages ahead of the fast reader, well inside its
    // queue, so only the client that stopped reading can overflow.
    const WINDOW: usize = 32;
    let mut config = Config::default();
    config.limits.outbound_queue_len = NonZeroUsize::new(256).unwrap();
    let kernel = start(config).await;
    let mut slow = Client::connect(kernel.addr).await;
    slow.subscribe(&["task.event"]).await;
    let mut fast = Client::connect(kernel.addr).await;
    fast.subscribe(&["task.event"]).await;
    let mut publisher = Client::connect(kernel.addr).await;

    // `slow` stops reading now; `fast` reads everything on its own task.
    let (progress_tx, mut progress) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        for i in 0..MESSAGES {
            let env = fast.recv().await;
            assert_eq!(
                payload(&env)["i"],
                i,
                "the fast client sees every message in order"
            );
            progress_tx.send_replace(i + 1);
        }
        fast
    });
    let chunk = "y".repeat(8 * 1024);
    for i in 0..MESSAGES {
        progress
            .wait_for(|read| i < read + WINDOW)
            .await
            .expect("the fast reader stopped");
        publisher
            .send(json!({"topic": "task.event", "payload": {"i": i, "data": chunk}}))
            .await;
    }
    let mut fast = reader.await.unwrap();
    // The slow client was cut off: with a 1008 close frame when its socket drained in time for
    // one, else by closing the socket. Either way its connection ends.
    let code = slow.read_until_closed().await;
    assert!(matches!(code, Some(1008) | None), "{code:?}");
    // The kernel is healthy and counted exactly that one client.
    let id = fast.request("kernel.stats", json!({})).await;
    let stats = fast.recv().await;
    assert_eq!(stats.request_id(), Some(id.as_str()));
    assert_eq!(payload(&stats)["slow_clients_disconnected"], 1);
}

#[tokio::test]
async fn shutdown_flushes_and_sends_going_away() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    client.request("kernel.ping", json!({})).await;
    // The reply is either already queued or written; both must arrive before the close.
    let pong = client.recv().await;
    assert_eq!(pong.topic.as_str(), "kernel.ping:resp");
    kernel.shutdown.cancel();
    assert_eq!(client.read_until_closed().await, Some(1001));
    kernel.task.await.unwrap().unwrap();
}
