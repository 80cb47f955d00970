//! The session relay (SPEC §3) against a real kernel: a tab registers a session and serves the
//! requests addressed to it; ids are exclusive, released on disconnect, and guarded by principal.

mod support;

use aether_kernel::Config;
use serde_json::json;
use support::{Client, Dial, payload, start};

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

    let mut reader = Client::connect(kernel.addr).await;
    reader
        .send(json!({"topic": "vfs:read", "to": "s-tab1", "payload": {"_request_id": "r-7", "path": "/a.txt"}}))
        .await;
    let relayed = tab.recv().await;
    assert_eq!(relayed.topic.as_str(), "vfs:read");
    assert_eq!(relayed.from.as_deref(), Some(reader.id.as_str()));
    // The tab answers its requester; the reply reaches the reader only.
    let reply = relayed.reply(
        relayed.topic.resp(),
        &json!({"content": "hi", "encoding": "utf8", "size": 2, "mtime": 1}),
    );
    tab.send(serde_json::to_value(&reply).unwrap()).await;
    let got = reader.recv().await;
    assert_eq!(got.topic.as_str(), "vfs:read:resp");
    assert_eq!(got.request_id(), Some("r-7"));
    assert_eq!(payload(&got)["content"], "hi");
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

#[tokio::test]
async fn another_principal_cannot_address_a_session() {
    let config = Config {
        admin_token: Some("root".into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    let admin = Dial {
        bearer: Some("root".into()),
        ..Dial::default()
    };
    let mut owner = Client::connect_as(kernel.addr, &admin).await;
    register(&mut owner, "compute:register", "s-admin-tab").await;
    let mut local = Client::connect(kernel.addr).await;
    local
        .send(json!({"topic": "vfs:read", "to": "s-admin-tab", "payload": {"_request_id": "r-2", "path": "/secret"}}))
        .await;
    let err = local.recv().await;
    assert_eq!(payload(&err)["code"], "permission_denied");
    assert_eq!(err.request_id(), Some("r-2"));
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
