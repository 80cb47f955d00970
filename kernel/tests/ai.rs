//! The AI service against a real kernel over a real WebSocket, and a small OpenAI-compatible
//! server on loopback that streams real SSE frames (see `support/provider.rs`): chunks arrive in
//! order and end with usage, cancel and disconnect stop the upstream request, and every failure
//! (not configured, missing key, HTTP errors, mid-stream errors, garbage, dropped and stalled
//! streams, an unreachable provider) becomes the right `ai.error`.

#[path = "support/provider.rs"]
mod provider;
mod support;

use aether_kernel::Config;
use aether_kernel::config::{BaseUrl, EnvVarName, RateRule};
use aether_shared::Envelope;
use provider::FakeProvider;
use serde_json::{Value, json};
use std::num::{NonZeroU32, NonZeroU64};
use support::{Client, WAIT, payload, start};

fn config(provider: &FakeProvider, model: &str) -> Config {
    let mut config = Config::default();
    config.ai.provider.base_url = Some(BaseUrl::parse(&provider.base_url()).unwrap());
    config.ai.provider.model = Some(model.to_owned());
    config
}

fn chat(model: Option<&str>, text: &str) -> Value {
    let mut body = json!({"messages": [{"role": "user", "content": text}]});
    if let Some(model) = model {
        body["model"] = json!(model);
    }
    body
}

/// Everything one answer sent after its ack: the deltas in order and the final envelope.
struct Answer {
    text: String,
    chunks: u64,
    end: Envelope,
}

async fn answer(client: &mut Client, id: &str) -> Answer {
    let mut answer = Answer {
        text: String::new(),
        chunks: 0,
        end: client.hello.clone(),
    };
    loop {
        let env = client.recv().await;
        assert_eq!(env.request_id(), Some(id), "{env:?}");
        let body = payload(&env);
        match env.topic.as_str() {
            "ai.chunk" => {
                assert_eq!(body["seq"], answer.chunks, "chunks arrive in order");
                answer.chunks += 1;
                answer.text.push_str(body["delta"].as_str().unwrap());
            }
            "ai.done" | "ai.error" => {
                answer.end = env;
                return answer;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
}

async fn ask(client: &mut Client, body: Value) -> Answer {
    let id = client.request("ai.chat", body).await;
    let ack = client.recv().await;
    assert_eq!(ack.topic.as_str(), "ai.chat:ack", "{:?}", payload(&ack));
    assert_eq!(ack.request_id(), Some(id.as_str()));
    answer(client, &id).await
}

/// The error a request is refused with right away (no ack).
async fn refused(client: &mut Client, topic: &str, body: Value) -> Value {
    let id = client.request(topic, body).await;
    let env = client.recv().await;
    assert_eq!(env.topic.as_str(), "ai.error", "{:?}", payload(&env));
    assert_eq!(env.request_id(), Some(id.as_str()));
    payload(&env)
}

fn error_of(answer: &Answer) -> Value {
    assert_eq!(
        answer.end.topic.as_str(),
        "ai.error",
        "{:?}",
        payload(&answer.end)
    );
    payload(&answer.end)
}

#[tokio::test]
async fn chat_streams_chunks_in_order_then_done_with_usage_and_sends_the_key() {
    let provider = FakeProvider::start().await;
    // SAFETY: set once, before the kernel starts, by the only test that reads this variable;
    // nothing in this process reads the environment through C while it is set.
    unsafe { std::env::set_var("AETHER_TEST_AI_KEY", "sk-test-123") };
    let mut config = config(&provider, "stream");
    config.ai.provider.api_key_env = Some(EnvVarName::parse("AETHER_TEST_AI_KEY").unwrap());
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;

    let answer = ask(&mut client, chat(None, "hi")).await;
    assert_eq!(answer.text, "Hello, world");
    assert_eq!(answer.chunks, 4);
    assert_eq!(answer.end.topic.as_str(), "ai.done");
    let done = payload(&answer.end);
    assert_eq!(
        done["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11})
    );
    assert_eq!(done["finish_reason"], "stop");

    let seen = &provider.requests()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.authorization.as_deref(), Some("Bearer sk-test-123"));
    assert_eq!(seen.body["stream"], true);
    assert_eq!(seen.body["model"], "stream");
    assert_eq!(
        seen.body["messages"],
        json!([{"role": "user", "content": "hi"}])
    );

    // The request's model overrides the configured one.
    let echoed = ask(&mut client, chat(Some("echo"), "a longer question")).await;
    assert_eq!(echoed.text, "a longer question");
    assert!(echoed.chunks >= 4);
    assert_eq!(payload(&echoed.end)["usage"], Value::Null);
}

#[tokio::test]
async fn without_a_provider_every_request_is_not_configured_with_how_to_fix_it() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let err = refused(&mut client, "ai.chat", chat(None, "hi")).await;
    assert_eq!(err["code"], "not_configured");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("ai.provider.base_url"),
        "{err}"
    );
    let err = refused(
        &mut client,
        "ai.complete",
        json!({"path": "/a.rs", "language": "rust", "prefix": "fn", "suffix": ""}),
    )
    .await;
    assert_eq!(err["code"], "not_configured");
}

#[tokio::test]
async fn a_missing_key_variable_and_a_missing_model_are_not_configured() {
    let provider = FakeProvider::start().await;
    let mut config = config(&provider, "stream");
    config.ai.provider.api_key_env =
        Some(EnvVarName::parse("AETHER_TEST_AI_KEY_THAT_IS_NEVER_SET").unwrap());
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let err = error_of(&ask(&mut client, chat(None, "hi")).await);
    assert_eq!(err["code"], "not_configured");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("AETHER_TEST_AI_KEY_THAT_IS_NEVER_SET")
    );

    let mut config = config_without_model(&provider);
    config.ai.provider.model = None;
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let err = error_of(&ask(&mut client, chat(None, "hi")).await);
    assert_eq!(err["code"], "not_configured");
    assert!(err["error"].as_str().unwrap().contains("ai.provider.model"));
    assert!(
        provider.requests().is_empty(),
        "nothing reached the provider"
    );
}

fn config_without_model(provider: &FakeProvider) -> Config {
    let mut config = config(provider, "unused");
    config.ai.provider.model = None;
    config
}

#[tokio::test]
async fn http_errors_become_ai_errors_with_the_providers_message() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, "stream")).await;
    let mut client = Client::connect(kernel.addr).await;

    let err = error_of(&ask(&mut client, chat(Some("error-500"), "hi")).await);
    assert_eq!(err["code"], "backend_unavailable");
    assert!(
        err["error"].as_str().unwrap().contains("the model crashed"),
        "{err}"
    );
    assert_eq!(err["details"]["status"], 500);
    assert_eq!(err["details"]["provider_message"], "the model crashed");

    let err = error_of(&ask(&mut client, chat(Some("error-429"), "hi")).await);
    assert_eq!(err["code"], "rate_limited");
    assert_eq!(err["details"]["retry_after_ms"], 2000);
    assert!(err["error"].as_str().unwrap().contains("quota exceeded"));

    let err = error_of(&ask(&mut client, chat(Some("error-404"), "hi")).await);
    assert_eq!(err["code"], "not_found");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("model `error-404` not found")
    );
}

#[tokio::test]
async fn broken_streams_become_ai_errors_after_what_did_arrive() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, "stream")).await;
    let mut client = Client::connect(kernel.addr).await;

    let garbage = ask(&mut client, chat(Some("garbage"), "hi")).await;
    assert_eq!(garbage.text, "ok");
    let err = error_of(&garbage);
    assert_eq!(err["code"], "backend_unavailable");
    assert!(
        err["error"].as_str().unwrap().contains("this is not json"),
        "{err}"
    );

    let midstream = ask(&mut client, chat(Some("midstream"), "hi")).await;
    assert_eq!(midstream.text, "partial");
    let err = error_of(&midstream);
    assert_eq!(err["code"], "backend_unavailable");
    assert_eq!(
        err["details"]["provider_message"],
        "the server is overloaded"
    );

    let dropped = ask(&mut client, chat(Some("drop"), "hi")).await;
    let err = error_of(&dropped);
    assert_eq!(err["code"], "backend_unavailable");
    assert!(err["error"].as_str().unwrap().contains("[DONE]"), "{err}");
}

#[tokio::test]
async fn a_stalled_stream_times_out_and_an_unreachable_provider_is_unavailable() {
    let provider = FakeProvider::start().await;
    let mut config = config(&provider, "stall");
    config.ai.idle_timeout_ms = NonZeroU64::new(300).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let stalled = ask(&mut client, chat(None, "hi")).await;
    assert_eq!(stalled.text, "wait");
    let err = error_of(&stalled);
    assert_eq!(err["code"], "timeout");
    assert_eq!(err["details"]["limit"], "idle_timeout_ms");

    // A port nobody listens on: bind one, note it, close it.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut config = Config::default();
    config.ai.provider.base_url = Some(BaseUrl::parse(&format!("http://{addr}/v1")).unwrap());
    config.ai.provider.model = Some("m".into());
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let err = error_of(&ask(&mut client, chat(None, "hi")).await);
    assert_eq!(err["code"], "backend_unavailable");
    assert!(
        err["error"].as_str().unwrap().contains("cannot be reached"),
        "{err}"
    );
}

#[tokio::test]
async fn cancel_stops_the_upstream_request() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, "slow")).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client.request("ai.chat", chat(None, "count")).await;
    assert_eq!(client.recv().await.topic.as_str(), "ai.chat:ack");
    let first = client.recv().await;
    assert_eq!(first.topic.as_str(), "ai.chunk");

    let hung_up = provider.hung_up.notified();
    let cancel = client.request("ai.cancel", json!({"request_id": id})).await;
    let mut acked = false;
    let mut ended = false;
    while !(acked && ended) {
        let env = client.recv().await;
        match env.topic.as_str() {
            "ai.cancel:ack" => {
                assert_eq!(env.request_id(), Some(cancel.as_str()));
                acked = true;
            }
            "ai.error" => {
                assert_eq!(env.request_id(), Some(id.as_str()));
                assert_eq!(payload(&env)["code"], "cancelled");
                ended = true;
            }
            "ai.chunk" => assert!(!ended, "no chunk after the end"),
            other => panic!("unexpected {other}"),
        }
    }
    tokio::time::timeout(WAIT, hung_up)
        .await
        .expect("the provider saw the kernel hang up");

    // The request is gone: cancelling it again is not_found.
    let err = refused(&mut client, "ai.cancel", json!({"request_id": id})).await;
    assert_eq!(err["code"], "not_found");
}

#[tokio::test]
async fn a_client_that_leaves_stops_its_upstream_requests() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, "slow")).await;
    let mut client = Client::connect(kernel.addr).await;
    client.request("ai.chat", chat(None, "count")).await;
    assert_eq!(client.recv().await.topic.as_str(), "ai.chat:ack");
    assert_eq!(client.recv().await.topic.as_str(), "ai.chunk");
    let hung_up = provider.hung_up.notified();
    drop(client);
    tokio::time::timeout(WAIT, hung_up)
        .await
        .expect("the provider saw the kernel hang up");
}

#[tokio::test]
async fn a_cancelled_completion_stops_upstream_and_ends_cancelled() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, "slow")).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client
        .request(
            "ai.complete",
            json!({"path": "/a.rs", "language": "rust", "prefix": "fn", "suffix": ""}),
        )
        .await;
    // Wait until the provider has the request, then cancel as a user typing on would.
    while provider.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let hung_up = provider.hung_up.notified();
    client.request("ai.cancel", json!({"request_id": id})).await;
    let mut ended = false;
    while !ended {
        let env = client.recv().await;
        if env.request_id() == Some(id.as_str()) {
            assert_eq!(env.topic.as_str(), "ai.error", "{:?}", payload(&env));
            assert_eq!(payload(&env)["code"], "cancelled");
            ended = true;
        }
    }
    tokio::time::timeout(WAIT, hung_up)
        .await
        .expect("the provider saw the kernel hang up");
}

#[tokio::test]
async fn complete_answers_the_cleaned_text_to_insert() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, "fenced")).await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client
        .request(
            "ai.complete",
            json!({"path": "/src/main.rs", "language": "rust", "prefix": "fn main() {\n    let x = ", "suffix": "\n}\n"}),
        )
        .await;
    let resp = client.recv().await;
    assert_eq!(
        resp.topic.as_str(),
        "ai.complete:resp",
        "{:?}",
        payload(&resp)
    );
    assert_eq!(resp.request_id(), Some(id.as_str()));
    assert_eq!(payload(&resp)["text"], "42;");
    let seen = &provider.requests()[0];
    assert_eq!(seen.body["max_tokens"], 128);
    let prompt = seen.body["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("let x = <CURSOR>\n}"), "{prompt}");
}

#[tokio::test]
async fn complete_asks_the_model_the_request_names_over_the_configured_one() {
    let provider = FakeProvider::start().await;
    // The configured model fails; the request's own answers.
    let kernel = start(config(&provider, "error-404")).await;
    let mut client = Client::connect(kernel.addr).await;
    client
        .request(
            "ai.complete",
            json!({"path": "/a.rs", "language": "rust", "prefix": "let x = ", "suffix": "",
                   "model": "fenced"}),
        )
        .await;
    let resp = client.recv().await;
    assert_eq!(
        resp.topic.as_str(),
        "ai.complete:resp",
        "{:?}",
        payload(&resp)
    );
    assert_eq!(payload(&resp)["text"], "42;");
    assert_eq!(provider.requests()[0].body["model"], "fenced");
}

#[tokio::test]
async fn requests_are_checked_capped_and_rate_limited() {
    let provider = FakeProvider::start().await;
    let mut config = config(&provider, "slow");
    config.ai.max_concurrent_per_client = NonZeroU32::new(1).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;

    let err = refused(&mut client, "ai.chat", json!({"messages": []})).await;
    assert_eq!(err["code"], "bad_request");
    let err = refused(&mut client, "ai.chat", json!({"messages": "hi"})).await;
    assert_eq!(err["code"], "bad_request");

    let first = client.request("ai.chat", chat(None, "one")).await;
    assert_eq!(client.recv().await.topic.as_str(), "ai.chat:ack");
    let second = client.request("ai.chat", chat(None, "two")).await;
    let err = loop {
        let env = client.recv().await;
        if env.request_id() == Some(second.as_str()) {
            assert_eq!(env.topic.as_str(), "ai.error");
            break payload(&env);
        }
    };
    assert_eq!(err["code"], "resource_exceeded");
    assert_eq!(err["details"]["limit"], "max_concurrent_per_client");
    client
        .request("ai.cancel", json!({"request_id": first}))
        .await;

    // The hub's rate limit applies to ai.* like to any topic.
    let mut config = self::config(&provider, "stream");
    config.rate_limits = vec![RateRule {
        topic: "ai.*".parse().unwrap(),
        limit: NonZeroU32::new(1).unwrap(),
        burst: NonZeroU32::new(1).unwrap(),
        window_ms: NonZeroU64::new(60_000).unwrap(),
    }];
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    assert_eq!(
        ask(&mut client, chat(None, "hi")).await.end.topic.as_str(),
        "ai.done"
    );
    let err = refused(&mut client, "ai.chat", chat(None, "again")).await;
    assert_eq!(err["code"], "rate_limited");
    assert!(err["details"]["retry_after_ms"].as_u64().unwrap() > 0);
}
