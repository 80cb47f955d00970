//! The session relay (SPEC §3) against a real kernel: a tab registers a session and serves the
//! requests addressed to it; ids are exclusive, released on disconnect, and a VFS session is
//! private to its tab (only the tab itself and the kernel acting for it may use it).

mod support;

use aether_kernel::Config;
use serde_json::json;
use support::{Client, Dial, payload, refusals, start};

async fn register(client: &mut Client, topic: &str, session: &str) -> aether_shared::Envelope {
    let id = client.request(topic, json!({"sessionId": session})).await;
    let answer = client.recv().await;
    assert_eq!(answer.request_id(), Some(id.as_str()));
    answer
}

#[tokio::test]
async fn a_request_addressed_to_a_session_reaches_its_tab_and_the_reply_comes_back() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    let ack = register(&mut tab, "vfs:register", "s-tab1").await;
    assert_eq!(ack.topic.as_str(), "vfs:register:ack");
    assert_eq!(payload(&ack)["sessionId"], "s-tab1");

    // The tab itself addresses its session through the relay.
    tab.send(json!({"topic": "vfs:read", "to": "s-tab1", "payload": {"_request_id": "r-7", "path": "/a.txt"}}))
        .await;
    let relayed = tab.recv().await;
    assert_eq!(relayed.topic.as_str(), "vfs:read");
    assert_eq!(relayed.to.as_deref(), Some("s-tab1"));
    assert_eq!(relayed.from.as_deref(), Some(tab.id.as_str()));
    // The tab answers its requester (here: itself).
    let reply = relayed.reply(
        relayed.topic.resp(),
        &json!({"content": "hi", "encoding": "utf8", "size": 2, "mtime": 1}),
    );
    tab.send(serde_json::to_value(&reply).unwrap()).await;
    let got = tab.recv().await;
    assert_eq!(got.topic.as_str(), "vfs:read:resp");
    assert_eq!(got.request_id(), Some("r-7"));
    assert_eq!(payload(&got)["content"], "hi");
}

/// Sends `vfs:read` from `other` to `session` and checks it is refused, audited, and that the
/// owning `tab` never sees it.
async fn refused_relay(tab: &mut Client, other: &mut Client, session: &str) {
    let before = refusals(other, "permission_denied").await;
    other
        .send(json!({"topic": "vfs:read", "to": session, "payload": {"_request_id": "r-x", "path": "/secret"}}))
        .await;
    let err = other.recv().await;
    assert_eq!(err.topic.as_str(), "vfs:error");
    assert_eq!(err.request_id(), Some("r-x"));
    assert_eq!(payload(&err)["code"], "permission_denied");
    assert!(
        payload(&err)["error"]
            .as_str()
            .unwrap()
            .contains("another tab")
    );
    assert_eq!(refusals(other, "permission_denied").await, before + 1);
    // The tab's next message is the answer to its own ping: the read never reached it.
    let ping = tab.request("kernel.ping", json!({})).await;
    let next = tab.recv().await;
    assert_eq!(next.topic.as_str(), "kernel.ping:resp");
    assert_eq!(next.request_id(), Some(ping.as_str()));
}

#[tokio::test]
async fn a_vfs_session_is_private_to_its_tab_even_within_one_principal() {
    let config = Config {
        client_token: Some("shared-token-0123456789".into()),
        admin_token: Some("root-token-0123456789".into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    let user = Dial {
        bearer: Some("shared-token-0123456789".into()),
        ..Dial::default()
    };
    let mut tab = Client::connect_as(kernel.addr, &user).await;
    register(&mut tab, "vfs:register", "s-private").await;
    // A second tab with the same token, and an admin tool: both refused.
    let mut sibling = Client::connect_as(kernel.addr, &user).await;
    refused_relay(&mut tab, &mut sibling, "s-private").await;
    let admin = Dial {
        bearer: Some("root-token-0123456789".into()),
        ..Dial::default()
    };
    let mut root = Client::connect_as(kernel.addr, &admin).await;
    refused_relay(&mut tab, &mut root, "s-private").await;
    // Addressing the tab's client id instead of its session changes nothing.
    let tab_id = tab.id.clone();
    refused_relay(&mut tab, &mut sibling, &tab_id).await;
}

#[tokio::test]
async fn the_module_reader_reads_only_the_requesters_own_session() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    register(&mut tab, "vfs:register", "s-owner").await;
    let mut other = Client::connect(kernel.addr).await;
    let id = other
        .request(
            "vm.spawn",
            json!({"module": {"path": "/bin/hello.wasm", "session": "s-owner"}}),
        )
        .await;
    let ack = other.recv().await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack");
    let err = other.recv().await;
    assert_eq!(err.topic.as_str(), "vm.error");
    assert_eq!(err.request_id(), Some(id.as_str()));
    assert_eq!(payload(&err)["code"], "permission_denied");
    assert_eq!(refusals(&mut other, "permission_denied").await, 1);
    // The owner naming its own session is served: the kernel relays the read to it.
    tab.request(
        "vm.spawn",
        json!({"module": {"path": "/bin/hello.wasm", "session": "s-owner"}}),
    )
    .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vm.spawn:ack");
    let read = tab.recv().await;
    assert_eq!(read.topic.as_str(), "vfs:read");
    assert_eq!(read.from.as_deref(), Some("kernel"));
}

/// Spawns `/bin/hello.wasm` from `session` and returns the `vm.error` that ends it.
async fn spawn_error(client: &mut Client, session: &str) -> serde_json::Value {
    client
        .request(
            "vm.spawn",
            json!({"module": {"path": "/bin/hello.wasm", "session": session}}),
        )
        .await;
    assert_eq!(client.recv().await.topic.as_str(), "vm.spawn:ack");
    let err = client.recv().await;
    assert_eq!(err.topic.as_str(), "vm.error");
    payload(&err)
}

#[tokio::test]
async fn a_session_id_belongs_to_one_client_until_it_disconnects() {
    let kernel = start(Config::default()).await;
    let mut first = Client::connect(kernel.addr).await;
    assert_eq!(
        register(&mut first, "vfs:register", "s-x")
            .await
            .topic
            .as_str(),
        "vfs:register:ack"
    );
    // Registering again from the same client is fine.
    assert_eq!(
        register(&mut first, "vfs:register", "s-x")
            .await
            .topic
            .as_str(),
        "vfs:register:ack"
    );
    let mut second = Client::connect(kernel.addr).await;
    let refused = register(&mut second, "vfs:register", "s-x").await;
    assert_eq!(refused.topic.as_str(), "vfs:error");
    assert_eq!(payload(&refused)["code"], "conflict");

    drop(first);
    // Once the owner is gone its session is released: requests to it fail fast, and the id is free.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = register(&mut second, "vfs:register", "s-x").await;
        if answer.topic.as_str() == "vfs:register:ack" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session was not released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_request_to_a_gone_session_is_session_not_found() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    client
        .send(json!({"topic": "vfs:list", "to": "s-nobody", "payload": {"_request_id": "r-1", "path": "/"}}))
        .await;
    let err = client.recv().await;
    assert_eq!(err.topic.as_str(), "vfs:error");
    assert_eq!(payload(&err)["code"], "session_not_found");
}

/// Another principal's session answers exactly as an absent one does (`session_not_found`), so
/// addresses cannot be probed, whether a client addresses it or names it in a spawn for the
/// kernel to read (one router, one rule); the attempt is in the audit log.
#[tokio::test]
async fn another_principal_cannot_address_a_session() {
    let config = Config {
        admin_token: Some("root-token-0123456789".into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    let admin = Dial {
        bearer: Some("root-token-0123456789".into()),
        ..Dial::default()
    };
    let mut owner = Client::connect_as(kernel.addr, &admin).await;
    register(&mut owner, "compute:register", "s-admin-tab").await;
    let mut local = Client::connect(kernel.addr).await;
    local
        .send(json!({"topic": "vfs:read", "to": "s-admin-tab", "payload": {"_request_id": "r-2", "path": "/secret"}}))
        .await;
    let err = local.recv().await;
    assert_eq!(payload(&err)["code"], "session_not_found");
    assert_eq!(err.request_id(), Some("r-2"));
    local
        .send(json!({"topic": "vfs:read", "to": "s-nobody-at-all", "payload": {"_request_id": "r-3", "path": "/secret"}}))
        .await;
    let absent = local.recv().await;
    assert_eq!(payload(&absent)["code"], "session_not_found");
    assert_eq!(
        payload(&absent)["error"]
            .as_str()
            .unwrap()
            .replace("s-nobody-at-all", "X"),
        payload(&err)["error"]
            .as_str()
            .unwrap()
            .replace("s-admin-tab", "X"),
        "the two answers differ only by the address"
    );
    // Named in a spawn, for the module reader: the same answer.
    let theirs = spawn_error(&mut local, "s-admin-tab").await;
    let absent = spawn_error(&mut local, "s-nobody-at-all").await;
    assert_eq!(theirs["code"], "session_not_found", "{theirs}");
    assert_eq!(
        theirs["error"]
            .as_str()
            .unwrap()
            .replace("s-admin-tab", "X"),
        absent["error"]
            .as_str()
            .unwrap()
            .replace("s-nobody-at-all", "X"),
    );
}

#[tokio::test]
async fn bad_session_ids_and_unaddressed_file_requests_are_bad_requests() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    for bad in ["c-1234", "kernel", "", "a/b"] {
        let answer = register(&mut client, "vfs:register", bad).await;
        assert_eq!(payload(&answer)["code"], "bad_request", "{bad:?}");
    }
    client.request("vfs:read", json!({"path": "/a"})).await;
    let err = client.recv().await;
    assert_eq!(payload(&err)["code"], "bad_request");
    assert!(
        payload(&err)["error"]
            .as_str()
            .unwrap()
            .contains("session id")
    );
}
