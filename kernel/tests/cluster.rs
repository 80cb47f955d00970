//! Kernels as a cluster on a real `nats-server` (started by the tests): events cross kernels
//! exactly once; an address on another kernel is reached through the cluster's address book
//! under the same access rules; and a kernel serves its own clients while NATS is away and
//! rejoins when it returns.

mod support;

use std::time::{Duration, Instant};

use aether_kernel::Config;
use aether_kernel::config::ClusterConfig;
use aether_kernel::config::cluster::Role;
use aether_shared::Envelope;
use serde_json::{Value, json};
use support::nats::NatsServer;
use support::{Client, TestKernel, payload, start, stats};

fn clustered(url: &str, kernel_id: &str) -> Config {
    Config {
        cluster: Some(ClusterConfig {
            nats_url: url.to_owned(),
            kernel_id: Some(kernel_id.to_owned()),
            credentials: None,
            roles: Role::all(),
        }),
        ..Config::default()
    }
}

/// Asks `client`'s kernel for its cluster report until `connected` is as wanted.
async fn wait_connected(client: &mut Client, wanted: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let report = stats(client).await["cluster"].clone();
        if report["connected"] == wanted {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "cluster link never {wanted}: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_kernels(nats: &NatsServer) -> (TestKernel, TestKernel) {
    let a = start(clustered(&nats.url(), "gw-a")).await;
    let b = start(clustered(&nats.url(), "gw-b")).await;
    (a, b)
}

#[tokio::test]
async fn an_event_reaches_the_subscribers_of_every_kernel_exactly_once() {
    let nats = NatsServer::start();
    let (a, b) = two_kernels(&nats).await;
    let mut on_a = Client::connect(a.addr).await;
    let mut on_b = Client::connect(b.addr).await;
    let mut publisher = Client::connect(b.addr).await;
    assert_eq!(wait_connected(&mut on_a, true).await["kernel_id"], "gw-a");
    wait_connected(&mut on_b, true).await;
    on_a.subscribe(&["task.*"]).await;
    on_b.subscribe(&["task.*"]).await;
    // A subscription made on A is known to A alone; give NATS's own subscription a moment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    publisher
        .send(json!({"topic": "task.event", "payload": {"n": 1}}))
        .await;
    // Addressed envelopes stay on their kernel.
    publisher
        .send(json!({"topic": "task.event", "to": on_b.id, "payload": {"n": "private"}}))
        .await;
    publisher
        .send(json!({"topic": "task.done", "payload": {"n": "marker"}}))
        .await;
    for (who, client) in [("on A", &mut on_a), ("on B", &mut on_b)] {
        let first = client.recv().await;
        assert_eq!(first.topic.as_str(), "task.event", "{who}");
        assert_eq!(payload(&first)["n"], 1, "{who}");
        assert_eq!(first.from.as_deref(), Some(publisher.id.as_str()), "{who}");
        let mut next = payload(&client.recv().await)["n"].clone();
        if who == "on B" {
            assert_eq!(next, "private", "the addressee gets its envelope");
            next = payload(&client.recv().await)["n"].clone();
        }
        assert_eq!(
            next, "marker",
            "{who}: nothing twice, nothing addressed to another"
        );
    }
    let report_b = stats(&mut on_b).await["cluster"].clone();
    assert!(report_b["events_sent"].as_u64().unwrap() >= 2, "{report_b}");
    let report_a = stats(&mut on_a).await["cluster"].clone();
    assert!(
        report_a["events_received"].as_u64().unwrap() >= 2,
        "{report_a}"
    );
}

#[tokio::test]
async fn a_kernel_serves_its_own_clients_while_nats_is_away_and_rejoins_when_it_returns() {
    let mut nats = NatsServer::start();
    let (a, b) = two_kernels(&nats).await;
    let mut on_a = Client::connect(a.addr).await;
    let mut on_b = Client::connect(b.addr).await;
    let mut local = Client::connect(a.addr).await;
    wait_connected(&mut on_a, true).await;
    wait_connected(&mut on_b, true).await;
    nats.stop();
    wait_connected(&mut on_a, false).await;
    // Local delivery goes on as on a lone kernel.
    on_a.subscribe(&["task.*"]).await;
    local
        .send(json!({"topic": "task.event", "payload": {"n": "alone"}}))
        .await;
    assert_eq!(payload(&on_a.recv().await)["n"], "alone");
    nats.restart();
    wait_connected(&mut on_a, true).await;
    wait_connected(&mut on_b, true).await;
    // Both resubscribed by themselves: an event from B reaches A again (sent until one
    // arrives, since a kernel may report the link up a moment before its subscription is back).
    let mut publisher = Client::connect(b.addr).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    'arrived: loop {
        publisher
            .send(json!({"topic": "task.event", "payload": {"n": "back"}}))
            .await;
        let wait = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                env = on_a.recv() => if payload(&env)["n"] == "back" { break 'arrived },
                _ = &mut wait => break,
            }
        }
        assert!(
            Instant::now() < deadline,
            "no event crossed after NATS returned"
        );
    }
    // The address book is made again and refilled (it lives in NATS's memory): an envelope
    // addressed to a client on A crosses again.
    let deadline = Instant::now() + Duration::from_secs(20);
    'addressed: loop {
        publisher
            .send(json!({"topic": "task.event", "to": on_a.id, "payload": {"n": "to A"}}))
            .await;
        let wait = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                env = on_a.recv() => if payload(&env)["n"] == "to A" { break 'addressed },
                _ = &mut wait => break,
            }
        }
        assert!(
            Instant::now() < deadline,
            "no addressed envelope crossed after NATS returned"
        );
    }
}

#[tokio::test]
async fn a_kernel_whose_nats_is_unreachable_starts_and_serves_alone() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kernel = start(clustered(&format!("nats://127.0.0.1:{port}"), "gw-alone")).await;
    let mut client = Client::connect(kernel.addr).await;
    let mut other = Client::connect(kernel.addr).await;
    other.subscribe(&["task.*"]).await;
    client
        .send(json!({"topic": "task.event", "payload": {"n": 1}}))
        .await;
    assert_eq!(payload(&other.recv().await)["n"], 1);
    let report = stats(&mut client).await["cluster"].clone();
    assert_eq!(report["connected"], false, "{report}");
    assert_eq!(report["kernel_id"], "gw-alone");
}

/// Asks `client`'s kernel until it knows at least `n` addresses on other kernels.
async fn wait_addresses(client: &mut Client, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let report = stats(client).await["cluster"].clone();
        if report["remote_addresses"].as_u64().unwrap_or(0) >= n {
            return;
        }
        assert!(Instant::now() < deadline, "addresses never known: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_address_on_another_kernel_is_reached_under_the_same_rules() {
    let nats = NatsServer::start();
    let admin_token = "admin-token-for-the-cluster-test";
    let with_admin = |id: &str| Config {
        admin_token: Some(admin_token.into()),
        ..clustered(&nats.url(), id)
    };
    let a = start(with_admin("gw-a")).await;
    let b = start(with_admin("gw-b")).await;
    let mut tab = Client::connect(a.addr).await;
    let admin = support::Dial {
        bearer: Some(admin_token.into()),
        ..support::Dial::default()
    };
    let mut root = Client::connect_as(a.addr, &admin).await;
    tab.request("vfs:register", json!({"sessionId": "s-files-a"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    let mut peer = Client::connect(b.addr).await;
    // A's tab, its session and the admin's client.
    wait_addresses(&mut peer, 3).await;

    // Same principal: an addressed event crosses, once, stamped with its sender.
    peer.send(json!({"topic": "task.event", "to": tab.id, "payload": {"n": "to you"}}))
        .await;
    let got = tab.recv().await;
    assert_eq!(payload(&got)["n"], "to you");
    assert_eq!(got.from.as_deref(), Some(peer.id.as_str()));

    // A tab's file session is that tab's alone, across kernels too.
    peer.send(json!({"topic": "vfs:read", "to": "s-files-a",
        "payload": {"_request_id": "r-cross", "path": "/secret"}}))
        .await;
    let refused = peer.recv().await;
    assert_eq!(refused.topic.as_str(), "vfs:error", "{refused:?}");
    assert_eq!(
        payload(&refused)["code"],
        "permission_denied",
        "{refused:?}"
    );

    // Another principal's client answers as absent, and nothing reaches it.
    peer.send(json!({"topic": "task.event", "to": root.id, "payload": {"n": "probe"}}))
        .await;
    peer.send(json!({"topic": "vfs:read", "to": root.id,
        "payload": {"_request_id": "r-probe", "path": "/x"}}))
        .await;
    let absent = peer.recv().await;
    assert_eq!(payload(&absent)["code"], "session_not_found", "{absent:?}");
    root.request("kernel.ping", json!({})).await;
    assert_eq!(
        root.recv().await.topic.as_str(),
        "kernel.ping:resp",
        "the admin's client got nothing"
    );
    // An admin reaches anyone, across kernels too.
    let mut root_b = Client::connect_as(b.addr, &admin).await;
    root_b
        .send(json!({"topic": "task.event", "to": tab.id, "payload": {"n": "from admin"}}))
        .await;
    assert_eq!(payload(&tab.recv().await)["n"], "from admin");
    // The tab's kernel never asked it anything else.
    tab.request("kernel.ping", json!({})).await;
    assert_eq!(tab.recv().await.topic.as_str(), "kernel.ping:resp");
}

/// Reads `client`'s envelopes until one on `topic`.
async fn until(client: &mut Client, topic: &str) -> Envelope {
    loop {
        let env = client.recv().await;
        if env.topic.as_str() == topic || env.topic.is_error() {
            return env;
        }
    }
}

#[tokio::test]
async fn a_task_kept_by_one_kernel_runs_and_reports_for_a_tab_on_another() {
    let nats = NatsServer::start();
    let (a, b) = two_kernels(&nats).await;
    let mut on_a = Client::connect(a.addr).await;
    let mut on_b = Client::connect(b.addr).await;
    wait_connected(&mut on_a, true).await;
    wait_connected(&mut on_b, true).await;
    let ping = json!({"id": "ping", "topic": "kernel.ping", "payload": {}, "after": []});
    on_a.request("task.define", json!({"name": "cross", "nodes": [ping]}))
        .await;
    let defined = until(&mut on_a, "task.define:ack").await;
    let task_id = payload(&defined)["task_id"].as_str().unwrap().to_owned();
    assert!(
        task_id.ends_with("@gw-a"),
        "ids name their kernel: {task_id}"
    );

    // The tab moved to kernel B: its task still runs (on A, which keeps it), and the run's
    // stream comes to the tab on B.
    on_b.request("task.run", json!({"task_id": task_id})).await;
    let started = until(&mut on_b, "task.run:ack").await;
    assert_eq!(started.topic.as_str(), "task.run:ack", "{started:?}");
    let run_id = payload(&started)["run_id"].as_str().unwrap().to_owned();
    assert!(run_id.ends_with("@gw-a"), "{run_id}");
    let done = until(&mut on_b, "task.done").await;
    assert_eq!(done.topic.as_str(), "task.done", "{done:?}");
    assert_eq!(payload(&done)["run_id"], run_id.as_str());
    on_b.request("task.status", json!({"run_id": run_id})).await;
    let status = until(&mut on_b, "task.status:resp").await;
    assert_eq!(payload(&status)["state"], "succeeded", "{status:?}");

    // A run id naming a kernel that is not up is `backend_unavailable` at once.
    on_b.request("task.status", json!({"run_id": "r-0-0@gw-gone"}))
        .await;
    let refused = until(&mut on_b, "task.status:resp").await;
    assert_eq!(refused.topic.as_str(), "task.error");
    assert_eq!(payload(&refused)["code"], "backend_unavailable");
}

#[tokio::test]
async fn the_connection_cap_of_a_principal_holds_across_the_cluster() {
    let nats = NatsServer::start();
    let capped = |id: &str| {
        let mut config = clustered(&nats.url(), id);
        config.limits.max_connections_per_principal = std::num::NonZeroUsize::new(2).unwrap();
        // Nobody is idle long enough to be evicted in this test.
        config.limits.evict_idle_after_ms = std::num::NonZeroU64::new(600_000).unwrap();
        config
    };
    let a = start(capped("gw-a")).await;
    let b = start(capped("gw-b")).await;
    let mut on_a = Client::connect(a.addr).await;
    let mut on_b = Client::connect(b.addr).await;
    wait_addresses(&mut on_a, 1).await;
    wait_addresses(&mut on_b, 1).await;
    // One on A, one on B: the principal's two. A third, on either kernel, is refused.
    for kernel in [&a, &b] {
        let third = support::dial(kernel.addr, &support::Dial::default()).await;
        assert_eq!(
            third.err(),
            Some(tokio_tungstenite::tungstenite::http::StatusCode::TOO_MANY_REQUESTS)
        );
    }
}

#[tokio::test]
async fn letters_from_nats_reach_only_whom_the_rules_let_them() {
    let nats = NatsServer::start();
    let a = start(clustered(&nats.url(), "gw-a")).await;
    let mut tab = Client::connect(a.addr).await;
    wait_connected(&mut tab, true).await;
    let before = support::refusals(&mut tab, "permission_denied").await;
    let raw = async_nats::connect(nats.url()).await.unwrap();
    let letter = |from: &str, kernel: &str, client: &str, principal: &str, n: &str| {
        json!({"from": from, "relay": {"kind": "deliver",
            "party": {"kernel": kernel, "client": client, "principal": principal,
                      "acting_for": client},
            "env": {"topic": "task.event", "to": tab.id, "from": "kernel",
                    "payload": {"n": n}, "time": ""}}})
    };
    for forged in [
        // A client of another kernel, of another principal: answered as absent.
        letter(
            "gw-evil",
            "gw-evil",
            "c-evil",
            "token_holder",
            "other principal",
        ),
        // A kernel claiming a program of one of A's clients, for another client than the tab.
        letter(
            "runner-x",
            "gw-a",
            "c-someone-else",
            "local",
            "not its client",
        ),
        // What a runner running the tab's own program sends: delivered.
        letter("runner-x", "gw-a", &tab.id, "local", "its own"),
    ] {
        let bytes = serde_json::to_vec(&forged).unwrap();
        raw.publish("aether.k.gw-a", bytes.into()).await.unwrap();
    }
    raw.flush().await.unwrap();
    let got = tab.recv().await;
    assert_eq!(payload(&got)["n"], "its own", "{got:?}");
    assert_eq!(
        support::refusals(&mut tab, "permission_denied").await,
        before + 2,
        "both refusals audited"
    );
}
