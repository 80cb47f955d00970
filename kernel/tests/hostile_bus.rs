//! Hostile clients against the hub and the bus (issue #13): forged answers to the kernel's own
//! requests, addresses of another principal, aliases that dodge rules, reconnecting to refill
//! rate buckets, clients that never read, idle sockets, unbounded sessions and buckets.
//! Each test failed before its fix.

mod support;

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::{Duration, Instant};

use aether_kernel::Config;
use aether_kernel::config::{Action, PermissionRule, RateRule, TopicPrefix};
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Client, Dial, base64, finish, guest, payload, refusals, start, stats};

const ADMIN_TOKEN: &str = "admin-token-0123456789";

fn rate(topic: &str, limit: u32) -> RateRule {
    RateRule {
        topic: topic.parse().unwrap(),
        limit: NonZeroU32::new(limit).unwrap(),
        burst: NonZeroU32::new(limit).unwrap(),
        window_ms: NonZeroU64::new(60_000).unwrap(),
    }
}

#[tokio::test]
async fn a_forged_answer_to_a_kernel_request_is_refused_and_audited() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    tab.request("vfs:register", json!({"sessionId": "s-victim"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    tab.request("vm.spawn", json!({"module": {"path": "/bin/hello.wasm"}}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vm.spawn:ack");
    let read = tab.recv().await;
    assert_eq!(read.topic.as_str(), "vfs:read");
    let kernel_id = read.request_id().unwrap().to_owned();
    // Unguessable: `k-` and 128 random bits.
    assert_eq!(kernel_id.len(), 34, "{kernel_id}");
    assert!(kernel_id.starts_with("k-"));
    assert!(kernel_id[2..].bytes().all(|b| b.is_ascii_hexdigit()));

    // Another client (even of the same principal) answers first with its own bytes.
    let mut attacker = Client::connect(kernel.addr).await;
    let evil = b"\0asm-not-the-victims-module";
    attacker
        .send(
            json!({"topic": "vfs:read:resp", "to": "kernel", "payload": {
            "_request_id": kernel_id, "content": base64(evil), "encoding": "base64",
            "size": evil.len(), "mtime": 0}}),
        )
        .await;
    assert_eq!(refusals(&mut attacker, "forged_answer").await, 1);

    // The real answer still settles the request, and the victim's own module runs.
    let hello = guest("hello");
    let reply = read.reply(
        read.topic.resp(),
        &json!({"content": base64(&hello), "encoding": "base64", "size": hello.len(), "mtime": 0}),
    );
    tab.send(serde_json::to_value(reply.to("kernel")).unwrap())
        .await;
    let (stdout, end) = finish(&mut tab).await;
    assert_eq!(end.topic.as_str(), "vm.exit", "{end:?}");
    assert_eq!(stdout, "Hello from WebAssembly!\n");
}

#[tokio::test]
async fn client_ids_are_unguessable() {
    let kernel = start(Config::default()).await;
    let a = Client::connect(kernel.addr).await;
    let b = Client::connect(kernel.addr).await;
    for id in [&a.id, &b.id] {
        assert_eq!(id.len(), 18, "{id}: `c-` and 64 random bits");
        assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert_ne!(a.id, b.id);
}

#[tokio::test]
async fn events_addressed_to_another_principals_client_are_dropped() {
    let config = Config {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    let admin = Dial {
        bearer: Some(ADMIN_TOKEN.into()),
        ..Dial::default()
    };
    let mut root = Client::connect_as(kernel.addr, &admin).await;
    let mut local = Client::connect(kernel.addr).await;
    local
        .send(json!({"topic": "vm.stdout", "to": root.id, "payload": {"pid": 1, "data": "forged", "seq": 0}}))
        .await;
    local
        .send(json!({"topic": "vm.spawn:ack", "to": root.id, "payload": {"_request_id": "r-1", "pid": 1}}))
        .await;
    // Nothing of it reaches the admin client: the next thing it reads is its own answer.
    let id = root.request("kernel.ping", json!({})).await;
    let next = root.recv().await;
    assert_eq!(next.request_id(), Some(id.as_str()), "{next:?}");
    // A request to the admin client answers exactly as an absent address does.
    local
        .send(json!({"topic": "vm.list", "to": root.id, "payload": {"_request_id": "r-2"}}))
        .await;
    let err = local.recv().await;
    assert_eq!(payload(&err)["code"], "session_not_found");
    // Admin may address anyone.
    root.send(json!({"topic": "vm.stdout", "to": local.id, "payload": {"pid": 1, "data": "hi", "seq": 0}}))
        .await;
    assert_eq!(local.recv().await.topic.as_str(), "vm.stdout");
}

#[tokio::test]
async fn wasm_run_obeys_the_rules_written_for_vm_spawn() {
    let config = Config {
        permissions: vec![
            PermissionRule {
                topic_prefix: TopicPrefix::parse("vm.spawn").unwrap(),
                action: Action::Deny,
            },
            PermissionRule {
                topic_prefix: TopicPrefix::parse("").unwrap(),
                action: Action::Allow,
            },
        ],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let hello = guest("hello");
    client
        .request("wasm.run", json!({"module": {"base64": base64(&hello)}}))
        .await;
    let err = client.recv().await;
    assert_eq!(payload(&err)["code"], "permission_denied", "{err:?}");

    // Rate limits for `vm.spawn` count `wasm.run` too.
    let config = Config {
        rate_limits: vec![rate("vm.spawn", 1)],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    client
        .request("vm.spawn", json!({"module": {"base64": base64(&hello)}}))
        .await;
    assert_eq!(client.recv().await.topic.as_str(), "vm.spawn:ack");
    let _ = finish(&mut client).await;
    client
        .request("wasm.run", json!({"module": {"base64": base64(&hello)}}))
        .await;
    let err = client.recv().await;
    assert_eq!(payload(&err)["code"], "rate_limited", "{err:?}");
}

#[tokio::test]
async fn reconnecting_does_not_refill_a_rate_limit() {
    let config = Config {
        rate_limits: vec![rate("kernel.ping", 2)],
        ..Config::default()
    };
    let kernel = start(config).await;
    for _ in 0..2 {
        let mut client = Client::connect(kernel.addr).await;
        client.request("kernel.ping", json!({})).await;
        assert_eq!(client.recv().await.topic.as_str(), "kernel.ping:resp");
    }
    let mut fresh = Client::connect(kernel.addr).await;
    fresh.request("kernel.ping", json!({})).await;
    let err = fresh.recv().await;
    assert_eq!(payload(&err)["code"], "rate_limited", "{err:?}");
}

#[tokio::test]
async fn unknown_topics_make_no_rate_buckets() {
    let config = Config {
        rate_limits: vec![rate("vm.*", 1000)],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    for i in 0..50 {
        client
            .request(&format!("vm.frobnicate-{i}"), json!({}))
            .await;
        assert_eq!(payload(&client.recv().await)["code"], "unknown_topic");
    }
    assert_eq!(stats(&mut client).await["rate_buckets"], 0);
}

#[tokio::test]
async fn sessions_per_client_are_capped() {
    let kernel = start(Config::default()).await;
    let max = Config::default().limits.max_sessions_per_client.get();
    let mut tab = Client::connect(kernel.addr).await;
    for i in 0..max {
        tab.request("vfs:register", json!({"sessionId": format!("s-{i}")}))
            .await;
        assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    }
    tab.request("vfs:register", json!({"sessionId": "s-one-too-many"}))
        .await;
    let err = tab.recv().await;
    assert_eq!(payload(&err)["code"], "resource_exceeded", "{err:?}");
    assert_eq!(payload(&err)["details"]["limit"], "max_sessions_per_client");
    // Registering one it already serves is still fine.
    tab.request("vfs:register", json!({"sessionId": "s-0"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
}

/// Floods `victim` (which never reads) with addressed 64 KiB events from `sender` until the
/// kernel reports it disconnected a slow client; returns the stats then.
async fn flood_until_cut_off(sender: &mut Client, victim: &str) -> Value {
    let chunk = "x".repeat(64 * 1024);
    let started = Instant::now();
    loop {
        for _ in 0..16 {
            sender
                .send(json!({"topic": "vm.stdout", "to": victim, "payload": {"pid": 1, "data": chunk, "seq": 0}}))
                .await;
        }
        let now = stats(sender).await;
        if now["slow_clients_disconnected"].as_u64() >= Some(1) {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the victim was never cut off: {now}"
        );
    }
}

/// A client that never reads, flooded on a kernel with `config`: cut off, its queue freed, its
/// connection ended.
async fn cut_off_and_freed(config: Config) {
    let kernel = start(config).await;
    let mut victim = Client::connect(kernel.addr).await;
    let mut sender = Client::connect(kernel.addr).await;
    let victim_id = victim.id.clone();
    flood_until_cut_off(&mut sender, &victim_id).await;
    queues_drain(&mut sender).await;
    // The kernel ended the connection (its close frame may not fit in a full socket).
    let close = victim.read_until_closed().await;
    assert!(matches!(close, Some(1008) | None), "{close:?}");
}

/// Waits until the kernel holds no queued bytes for anyone.
async fn queues_drain(client: &mut Client) {
    let started = Instant::now();
    loop {
        let now = stats(client).await;
        if now["queued_bytes"] == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "queued bytes were never released: {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_at_its_byte_bound_and_its_queue_freed() {
    let mut config = Config::default();
    config.limits.max_queue_bytes = NonZeroUsize::new(512 * 1024).unwrap();
    // A frame bound the flood never reaches: only the byte bound can stop it.
    config.limits.outbound_queue_len = NonZeroUsize::new(1 << 20).unwrap();
    cut_off_and_freed(config).await;
}

#[tokio::test]
async fn a_write_that_does_not_finish_in_time_cuts_the_client_off() {
    let mut config = Config::default();
    // A queue bound the flood never reaches: only the write timeout can stop it.
    config.limits.max_queue_bytes = NonZeroUsize::new(1 << 30).unwrap();
    config.limits.outbound_queue_len = NonZeroUsize::new(1 << 20).unwrap();
    config.limits.write_timeout_ms = NonZeroU64::new(300).unwrap();
    cut_off_and_freed(config).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_and_a_live_one_kept() {
    let mut config = Config::default();
    config.limits.ping_interval_ms = NonZeroU64::new(100).unwrap();
    config.limits.idle_timeout_ms = NonZeroU64::new(400).unwrap();
    let kernel = start(config).await;
    // This one never reads, so it never answers the kernel's pings.
    let mut silent = Client::connect(kernel.addr).await;
    // This one reads (and so answers pings, as browsers do).
    let mut live = Client::connect(kernel.addr).await;
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let _ = tokio::time::timeout(Duration::from_millis(50), live.ws.next()).await;
    }
    live.request("kernel.ping", json!({})).await;
    assert_eq!(live.recv().await.topic.as_str(), "kernel.ping:resp");
    // The kernel ended the silent one (`read_until_closed` fails the test if it is still open;
    // the close frame itself may be lost to the reset that the client's late pong draws).
    let close = silent.read_until_closed().await;
    assert!(matches!(close, Some(1008) | None), "{close:?}");
}

#[tokio::test]
async fn idle_sockets_at_the_cap_do_not_lock_a_new_tab_out() {
    let mut config = Config::default();
    config.limits.max_connections_per_principal = NonZeroUsize::new(3).unwrap();
    config.limits.evict_idle_after_ms = NonZeroU64::new(200).unwrap();
    let kernel = start(config).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(Client::connect(kernel.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    // At the cap, with every slot quiet: the newcomer is let in, the idlest socket is closed.
    let mut tab = Client::connect(kernel.addr).await;
    tab.request("kernel.ping", json!({})).await;
    assert_eq!(tab.recv().await.topic.as_str(), "kernel.ping:resp");
    let mut first = idle.remove(0);
    assert_eq!(first.read_until_closed().await, Some(1008));
    // Active slots are not taken: right away, with every slot just used, a newcomer is refused.
    for client in idle.iter_mut() {
        client.request("kernel.ping", json!({})).await;
        assert_eq!(client.recv().await.topic.as_str(), "kernel.ping:resp");
    }
    let refused = support::dial(kernel.addr, &Dial::default()).await;
    assert_eq!(refused.err().map(|s| s.as_u16()), Some(429));
}
