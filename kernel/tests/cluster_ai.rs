//! Prompts across a cluster on a real `nats-server`: a kernel with no AI provider sends its
//! tabs' `ai.chat` to a kernel that has one (a small OpenAI-compatible server on loopback, see
//! `support/provider.rs`), the answer streams back in order, `ai.cancel` follows it there and
//! stops the upstream request, and with no such kernel up a prompt is `backend_unavailable` at
//! once.

#[path = "support/provider.rs"]
mod provider;
mod support;

use std::time::{Duration, Instant};

use aether_kernel::Config;
use aether_kernel::config::cluster::Role;
use aether_kernel::config::{BaseUrl, ClusterConfig};
use provider::FakeProvider;
use serde_json::json;
use support::nats::NatsServer;
use support::{Client, WAIT, payload, start, stats};

fn kernel(url: &str, kernel_id: &str, provider: Option<&FakeProvider>) -> Config {
    let mut config = Config {
        cluster: Some(ClusterConfig {
            nats_url: url.to_owned(),
            kernel_id: Some(kernel_id.to_owned()),
            credentials: None,
            roles: Role::all(),
        }),
        ..Config::default()
    };
    if let Some(provider) = provider {
        config.ai.provider.base_url = Some(BaseUrl::parse(&provider.base_url()).unwrap());
    }
    config
}

async fn wait_peer(client: &mut Client, peer: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = stats(client).await["cluster"].clone();
        if report["peers"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == peer))
        {
            return;
        }
        assert!(Instant::now() < deadline, "{peer} never heard: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn chat(model: &str, text: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn a_prompt_on_a_kernel_without_a_provider_is_answered_by_one_with_it() {
    let provider = FakeProvider::start().await;
    let nats = NatsServer::start();
    let plain = start(kernel(&nats.url(), "gw-plain", None)).await;
    let with_ai = start(kernel(&nats.url(), "gw-ai", Some(&provider))).await;
    let mut tab = Client::connect(plain.addr).await;
    wait_peer(&mut tab, "gw-ai").await;

    let id = tab.request("ai.chat", chat("stream", "hello")).await;
    let ack = tab.recv().await;
    assert_eq!(ack.topic.as_str(), "ai.chat:ack", "{ack:?}");
    assert_eq!(ack.request_id(), Some(id.as_str()));
    let mut seq = 0;
    let mut text = String::new();
    let end = loop {
        let env = tab.recv().await;
        assert_eq!(env.request_id(), Some(id.as_str()), "{env:?}");
        match env.topic.as_str() {
            "ai.chunk" => {
                assert_eq!(payload(&env)["seq"], seq, "in order");
                seq += 1;
                text.push_str(payload(&env)["delta"].as_str().unwrap());
            }
            _ => break env,
        }
    };
    assert_eq!(end.topic.as_str(), "ai.done", "{end:?}");
    assert!(seq > 1 && !text.is_empty(), "{seq} chunks: {text}");
    assert_eq!(provider.requests().len(), 1, "the provider was asked once");

    // A slow answer, cancelled from the tab: the cancel follows it and the provider is hung up on.
    let id = tab.request("ai.chat", chat("slow", "count")).await;
    assert_eq!(tab.recv().await.topic.as_str(), "ai.chat:ack");
    assert_eq!(tab.recv().await.topic.as_str(), "ai.chunk");
    let hung_up = provider.hung_up.notified();
    let cancel = tab.request("ai.cancel", json!({"request_id": id})).await;
    let (mut acked, mut ended) = (false, false);
    while !(acked && ended) {
        let env = tab.recv().await;
        match env.topic.as_str() {
            "ai.cancel:ack" => {
                assert_eq!(env.request_id(), Some(cancel.as_str()));
                acked = true;
            }
            "ai.error" => {
                assert_eq!(payload(&env)["code"], "cancelled", "{env:?}");
                ended = true;
            }
            "ai.chunk" => assert!(!ended),
            other => panic!("unexpected {other}"),
        }
    }
    tokio::time::timeout(WAIT, hung_up)
        .await
        .expect("the provider saw its kernel hang up");

    // The kernel with the provider goes: a prompt is refused at once, not left waiting.
    with_ai.shutdown.cancel();
    let _ = with_ai.task.await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tab.request("ai.chat", chat("stream", "anyone?")).await;
        let env = tab.recv().await;
        if env.topic.as_str() == "ai.error" {
            assert_eq!(payload(&env)["code"], "backend_unavailable", "{env:?}");
            break;
        }
        // Taken before its kernel left: read it to its end.
        while !matches!(tab.recv().await.topic.as_str(), "ai.done" | "ai.error") {}
        assert!(Instant::now() < deadline, "prompts never refused");
    }
}
