//! The task engine against a real kernel over a real WebSocket, with real WASI programs as
//! nodes: dependency order and parallelism, references between nodes, failures skipping their
//! dependents, node and run timeouts and cancel stopping running programs, history across a
//! restart, and every refusal of `task.define` / `task.run`.

#[path = "support/provider.rs"]
mod provider;
mod support;

use std::num::{NonZeroU32, NonZeroU64};

use aether_kernel::Config;
use aether_kernel::config::{Action, PermissionRule, TopicPrefix};
use aether_shared::Envelope;
use provider::FakeProvider;
use serde_json::{Value, json};
use support::{Client, base64, guest, payload, start};

fn program(name: &str) -> Value {
    json!({"module": {"base64": base64(&guest(name))}})
}

fn node(id: &str, topic: &str, body: Value, after: &[&str]) -> Value {
    json!({"id": id, "topic": topic, "payload": body, "after": after})
}

/// Defines a task and returns its id (panics on a refusal).
async fn define(client: &mut Client, nodes: Vec<Value>, timeout_ms: Option<u64>) -> String {
    let mut body = json!({"name": "test", "nodes": nodes});
    if let Some(ms) = timeout_ms {
        body["timeout_ms"] = json!(ms);
    }
    let id = client.request("task.define", body).await;
    let ack = client.recv().await;
    assert_eq!(ack.topic.as_str(), "task.define:ack", "{:?}", payload(&ack));
    assert_eq!(ack.request_id(), Some(id.as_str()));
    payload(&ack)["task_id"].as_str().unwrap().to_owned()
}

/// A refusal of `task.define`: its error payload.
async fn refused(client: &mut Client, nodes: Vec<Value>) -> Value {
    client
        .request("task.define", json!({"name": "bad", "nodes": nodes}))
        .await;
    let env = client.recv().await;
    assert_eq!(env.topic.as_str(), "task.error", "{:?}", payload(&env));
    payload(&env)
}

async fn run(client: &mut Client, task_id: &str) -> String {
    let request_id = client
        .request("task.run", json!({"task_id": task_id}))
        .await;
    let ack = client.recv().await;
    assert_eq!(ack.topic.as_str(), "task.run:ack", "{:?}", payload(&ack));
    let run_id = payload(&ack)["run_id"].as_str().unwrap().to_owned();
    RUN_REQUESTS.with(|ids| ids.borrow_mut().insert(run_id.clone(), request_id));
    run_id
}

thread_local! {
    /// The `task.run` request id of each run this test started.
    static RUN_REQUESTS: std::cell::RefCell<std::collections::HashMap<String, String>> =
        Default::default();
}

/// Every `task.event` of a run up to its `task.done` / `task.error`, which is returned last.
/// Each carries the `_request_id` of the `task.run` that started the run: a run is one stream.
async fn watch(client: &mut Client, run_id: &str) -> (Vec<(String, String)>, Envelope) {
    let request_id = RUN_REQUESTS.with(|ids| ids.borrow().get(run_id).cloned());
    let mut events = Vec::new();
    loop {
        let env = client.recv().await;
        let body = payload(&env);
        if matches!(
            env.topic.as_str(),
            "task.event" | "task.done" | "task.error"
        ) {
            assert_eq!(env.request_id(), request_id.as_deref(), "{body}");
        }
        match env.topic.as_str() {
            "task.event" => {
                assert_eq!(body["run_id"], run_id);
                events.push((
                    body["node"].as_str().unwrap().to_owned(),
                    body["state"].as_str().unwrap().to_owned(),
                ));
            }
            "task.done" | "task.error" => return (events, env),
            "task.cancel:ack" => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
}

/// Reads until a node of the run is running.
async fn wait_until_running(client: &mut Client) {
    while payload(&client.recv().await)["state"] != "running" {}
}

fn position(events: &[(String, String)], node: &str, state: &str) -> usize {
    events
        .iter()
        .position(|(n, s)| n == node && s == state)
        .unwrap_or_else(|| panic!("no {node}={state} in {events:?}"))
}

#[tokio::test]
async fn a_diamond_runs_in_dependency_order_with_its_middle_in_parallel() {
    // The guests first: building them can take a while, and a connection that reads nothing
    // for `limits.idle_timeout_ms` is closed.
    let mut echo = program("echo");
    echo["stdin"] = json!("got: ${top.stdout}");
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let task = define(
        &mut client,
        vec![
            node("top", "vm.spawn", program("hello"), &[]),
            node("left", "vm.spawn", program("slow"), &["top"]),
            node("right", "vm.spawn", program("slow"), &["top"]),
            node("bottom", "vm.spawn", echo, &["left", "right"]),
        ],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    let (events, end) = watch(&mut client, &run_id).await;
    assert_eq!(end.topic.as_str(), "task.done", "{:?}", payload(&end));

    let top_done = position(&events, "top", "succeeded");
    for side in ["left", "right"] {
        assert!(top_done < position(&events, side, "running"), "{events:?}");
        assert!(position(&events, side, "succeeded") < position(&events, "bottom", "running"));
    }
    // The middle ran side by side: both started before either ended.
    let first_end =
        position(&events, "left", "succeeded").min(position(&events, "right", "succeeded"));
    assert!(
        position(&events, "left", "running") < first_end,
        "{events:?}"
    );
    assert!(
        position(&events, "right", "running") < first_end,
        "{events:?}"
    );

    let results = &payload(&end)["results"];
    let hello = results["top"]["stdout"].as_str().unwrap();
    assert!(!hello.is_empty());
    assert_eq!(results["bottom"]["stdout"], format!("got: {hello}"));
    assert_eq!(results["left"]["code"], 0);

    client
        .request("task.status", json!({"run_id": run_id}))
        .await;
    let status = payload(&client.recv().await);
    assert_eq!(status["state"], "succeeded", "{status}");
    assert_eq!(status["nodes"][3]["state"], "succeeded");
    client.request("task.list", json!({})).await;
    let list = payload(&client.recv().await);
    assert_eq!(list["tasks"][0]["task_id"], task.as_str());
    assert_eq!(list["runs"][0]["run_id"], run_id.as_str());
}

#[tokio::test]
async fn a_failed_node_skips_its_dependents_while_others_go_on() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let mut fails = program("args");
    fails["args"] = json!(["one"]); // exits with code 1
    let task = define(
        &mut client,
        vec![
            node("build", "vm.spawn", fails, &[]),
            node("test", "kernel.ping", json!({}), &["build"]),
            node("deploy", "kernel.ping", json!({}), &["test"]),
            node("lint", "kernel.ping", json!({}), &[]),
        ],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    let (events, end) = watch(&mut client, &run_id).await;
    assert_eq!(end.topic.as_str(), "task.error");
    let error = payload(&end);
    assert_eq!(error["details"]["node"], "build", "{error}");
    assert_eq!(error["details"]["run_id"], run_id.as_str());
    position(&events, "build", "failed");
    position(&events, "test", "skipped");
    position(&events, "deploy", "skipped");
    position(&events, "lint", "succeeded");
    assert!(!events.iter().any(|(n, s)| n == "test" && s == "running"));
}

#[tokio::test]
async fn bad_definitions_are_refused_naming_the_problem() {
    let config = Config {
        task: aether_kernel::config::TaskLimits {
            max_nodes: NonZeroU32::new(3).unwrap(),
            ..Default::default()
        },
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let ping = |id: &str, after: &[&str]| node(id, "kernel.ping", json!({}), after);

    let cycle = refused(
        &mut client,
        vec![ping("a", &["c"]), ping("b", &["a"]), ping("c", &["b"])],
    )
    .await;
    assert_eq!(cycle["code"], "bad_request");
    let text = cycle["error"].as_str().unwrap();
    assert!(text.contains("cycle"), "{text}");
    let path: Vec<&str> = text
        .split_once("the nodes ")
        .and_then(|(_, rest)| rest.split_once(" depend"))
        .map(|(names, _)| names.split(" → ").collect())
        .unwrap_or_else(|| panic!("no node path in {text}"));
    assert_eq!(path.len(), 4, "{text}");
    assert_eq!(path.first(), path.last(), "the path closes: {text}");
    let mut on_it = path[..3].to_vec();
    on_it.sort_unstable();
    assert_eq!(on_it, ["a", "b", "c"], "{text}");

    let unknown = refused(&mut client, vec![ping("a", &["ghost"])]).await;
    assert!(
        unknown["error"].as_str().unwrap().contains("ghost"),
        "{unknown}"
    );
    let dup = refused(&mut client, vec![ping("a", &[]), ping("a", &[])]).await;
    assert!(dup["error"].as_str().unwrap().contains("twice"), "{dup}");
    let empty = refused(&mut client, vec![]).await;
    assert!(
        empty["error"].as_str().unwrap().contains("no nodes"),
        "{empty}"
    );
    let reference = refused(
        &mut client,
        vec![
            ping("a", &[]),
            node("b", "kernel.ping", json!({"x": "${a.pong}"}), &[]),
        ],
    )
    .await;
    assert!(
        reference["error"].as_str().unwrap().contains("after"),
        "{reference}"
    );
    let nested = refused(
        &mut client,
        vec![node("a", "task.run", json!({"task_id": "x"}), &[])],
    )
    .await;
    assert!(
        nested["error"]
            .as_str()
            .unwrap()
            .contains("cannot be a node"),
        "{nested}"
    );

    let big = refused(
        &mut client,
        (0..4).map(|i| ping(&format!("n{i}"), &[])).collect(),
    )
    .await;
    assert_eq!(big["code"], "resource_exceeded");
    assert_eq!(big["details"]["limit"], "max_nodes");

    // Text as users write it is read by `task.parse`, and bad text is explained with its line.
    client
        .request(
            "task.parse",
            json!({"text": aether_shared::task::SAMPLE_YAML}),
        )
        .await;
    let parsed = payload(&client.recv().await);
    assert_eq!(parsed["nodes"][2]["id"], "echo", "{parsed}");
    client
        .request("task.parse", json!({"text": "name: x\nnodes: [oops"}))
        .await;
    let env = client.recv().await;
    assert_eq!(env.topic.as_str(), "task.error");
    let text = payload(&env)["error"].as_str().unwrap().to_owned();
    assert!(text.contains("YAML") && text.contains("line"), "{text}");
}

#[tokio::test]
async fn permissions_apply_to_every_node_as_if_the_caller_sent_it() {
    let rule = |prefix: &str, action| PermissionRule {
        topic_prefix: TopicPrefix::parse(prefix).unwrap(),
        action,
    };
    let config = Config {
        permissions: vec![
            rule("task.", Action::Allow),
            rule("kernel.ping", Action::Allow),
            rule("vm.", Action::Deny),
        ],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let error = refused(
        &mut client,
        vec![
            node("ok", "kernel.ping", json!({}), &[]),
            node("sneaky", "vm.spawn", program("hello"), &["ok"]),
        ],
    )
    .await;
    assert_eq!(error["code"], "permission_denied", "{error}");
    assert_eq!(error["details"]["node"], "sneaky");
    // Allowed nodes still run.
    let task = define(
        &mut client,
        vec![node("ok", "kernel.ping", json!({}), &[])],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    let (_, end) = watch(&mut client, &run_id).await;
    assert_eq!(end.topic.as_str(), "task.done");
}

/// A kernel that runs one program at a time: a program left running blocks the next spawn.
fn one_program_at_a_time() -> Config {
    let mut config = Config::default();
    config.compute.max_concurrent_total = NonZeroU32::new(1).unwrap();
    config
}

/// Fails unless no program is left running (the kernel runs one at a time).
async fn assert_no_program_left(client: &mut Client) {
    client.request("vm.spawn", program("hello")).await;
    let ack = client.recv().await;
    assert_eq!(
        ack.topic.as_str(),
        "vm.spawn:ack",
        "a stopped node's program is still running: {:?}",
        payload(&ack)
    );
    while client.recv().await.topic.as_str() != "vm.exit" {}
}

/// Runs `task` and checks it ends with `task.error` `timeout` naming node `spin`; returns its events.
async fn run_to_timeout_of_spin(client: &mut Client, task: &str) -> Vec<(String, String)> {
    let run_id = run(client, task).await;
    let (events, end) = watch(client, &run_id).await;
    assert_eq!(end.topic.as_str(), "task.error");
    let error = payload(&end);
    assert_eq!(error["code"], "timeout", "{error}");
    assert_eq!(error["details"]["node"], "spin");
    events
}

#[tokio::test]
async fn a_node_timeout_stops_its_program_and_ends_the_run() {
    let kernel = start(one_program_at_a_time()).await;
    let mut client = Client::connect(kernel.addr).await;
    let mut spin = node("spin", "vm.spawn", program("spin"), &[]);
    spin["timeout_ms"] = json!(300);
    let task = define(
        &mut client,
        vec![spin, node("after", "kernel.ping", json!({}), &["spin"])],
        None,
    )
    .await;
    let events = run_to_timeout_of_spin(&mut client, &task).await;
    position(&events, "spin", "timed_out");
    position(&events, "after", "cancelled");
    assert_no_program_left(&mut client).await;
}

#[tokio::test]
async fn the_run_timeout_stops_running_programs() {
    let kernel = start(one_program_at_a_time()).await;
    let mut client = Client::connect(kernel.addr).await;
    let task = define(
        &mut client,
        vec![node("spin", "vm.spawn", program("spin"), &[])],
        Some(300),
    )
    .await;
    let events = run_to_timeout_of_spin(&mut client, &task).await;
    position(&events, "spin", "cancelled");
    assert_no_program_left(&mut client).await;
}

#[tokio::test]
async fn cancel_stops_a_run_midway() {
    let kernel = start(one_program_at_a_time()).await;
    let mut client = Client::connect(kernel.addr).await;
    let task = define(
        &mut client,
        vec![
            node("spin", "vm.spawn", program("spin"), &[]),
            node("never", "kernel.ping", json!({}), &["spin"]),
        ],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    wait_until_running(&mut client).await;
    client
        .request("task.cancel", json!({"run_id": run_id}))
        .await;
    let (events, end) = watch(&mut client, &run_id).await;
    assert_eq!(end.topic.as_str(), "task.error", "{:?}", payload(&end));
    assert_eq!(payload(&end)["code"], "cancelled");
    position(&events, "never", "cancelled");
    assert_no_program_left(&mut client).await;

    client
        .request("task.status", json!({"run_id": run_id}))
        .await;
    let status = payload(&client.recv().await);
    assert_eq!(status["state"], "cancelled");
    client
        .request("task.cancel", json!({"run_id": run_id}))
        .await;
    assert_eq!(payload(&client.recv().await)["code"], "conflict");
}

#[tokio::test]
async fn a_run_in_flight_when_the_kernel_stops_is_reported_interrupted() {
    let dir = std::env::temp_dir().join(format!("aether-tasks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config {
        data_dir: Some(dir.clone()),
        ..Config::default()
    };
    let first = start(config.clone()).await;
    let mut client = Client::connect(first.addr).await;
    let task = define(
        &mut client,
        vec![node("spin", "vm.spawn", program("spin"), &[])],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    wait_until_running(&mut client).await;
    first.shutdown.cancel();
    first.task.await.unwrap().unwrap();
    drop(client);

    let second = start(config).await;
    let mut client = Client::connect(second.addr).await;
    client
        .request("task.status", json!({"run_id": run_id}))
        .await;
    let status = client.recv().await;
    assert_eq!(
        status.topic.as_str(),
        "task.status:resp",
        "{:?}",
        payload(&status)
    );
    let status = payload(&status);
    assert_eq!(status["state"], "interrupted", "{status}");
    assert_eq!(status["nodes"][0]["state"], "interrupted");
    // The definition survived too: it runs again.
    client.request("task.list", json!({})).await;
    let list = payload(&client.recv().await);
    assert_eq!(list["tasks"][0]["task_id"], task.as_str());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn runs_beyond_the_cap_are_refused_and_unknown_ids_are_not_found() {
    let mut config = Config::default();
    config.task.max_runs = NonZeroU32::new(1).unwrap();
    config.task.run_timeout_ms = NonZeroU64::new(60_000).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let task = define(
        &mut client,
        vec![node("spin", "vm.spawn", program("spin"), &[])],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    client.request("task.run", json!({"task_id": task})).await;
    let refusal = loop {
        let env = client.recv().await;
        if env.topic.as_str() == "task.error" {
            break payload(&env);
        }
    };
    assert_eq!(refusal["code"], "resource_exceeded", "{refusal}");
    assert_eq!(refusal["details"]["limit"], "max_runs");

    client
        .request("task.cancel", json!({"run_id": run_id}))
        .await;
    client
        .request("task.run", json!({"task_id": "t-nope"}))
        .await;
    client
        .request("task.status", json!({"run_id": "r-nope"}))
        .await;
    let mut not_found = 0;
    while not_found < 2 {
        let env = client.recv().await;
        let body = payload(&env);
        if env.topic.as_str() == "task.error" && body["code"] == "not_found" {
            not_found += 1;
        }
    }
}

#[tokio::test]
async fn a_program_node_reads_its_module_from_the_callers_own_session() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    tab.request("vfs:register", json!({"sessionId": "s-tasks"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 8) "from the vfs\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 8))
        (i32.store (i32.const 4) (i32.const 13))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))"#;
    let task = define(
        &mut tab,
        vec![node(
            "read",
            "vm.spawn",
            json!({"module": {"path": "/hello.wat"}}),
            &[],
        )],
        None,
    )
    .await;
    let run_id = run(&mut tab, &task).await;
    // The tab serves the relayed read the run's program node causes, then watches the run.
    let mut events = Vec::new();
    let end = loop {
        let env = tab.recv().await;
        match env.topic.as_str() {
            "vfs:read" => {
                assert_eq!(payload(&env)["path"], "/hello.wat");
                let reply = env.reply(
                    env.topic.resp(),
                    &json!({"content": wat, "encoding": "utf8", "size": wat.len(), "mtime": 1}),
                );
                tab.send(serde_json::to_value(reply.to(env.from.clone().unwrap())).unwrap())
                    .await;
            }
            "task.event" => events.push(payload(&env)),
            "task.done" | "task.error" => break env,
            other => panic!("unexpected {other}"),
        }
    };
    assert_eq!(
        end.topic.as_str(),
        "task.done",
        "{:?} {events:?}",
        payload(&end)
    );
    assert_eq!(payload(&end)["run_id"], run_id.as_str());
    assert_eq!(payload(&end)["results"]["read"]["stdout"], "from the vfs\n");
}

#[tokio::test]
async fn an_ai_chat_node_streams_its_answer_into_the_next_node() {
    let provider = FakeProvider::start().await;
    let mut config = Config::default();
    config.ai.provider.base_url =
        Some(aether_kernel::config::BaseUrl::parse(&provider.base_url()).unwrap());
    config.ai.provider.model = Some("echo".into());
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let ask = json!({"messages": [{"role": "user", "content": "print me"}]});
    let mut echo = program("echo");
    echo["stdin"] = json!("${ask.text}");
    let task = define(
        &mut client,
        vec![
            node("ask", "ai.chat", ask, &[]),
            node("show", "vm.spawn", echo, &["ask"]),
        ],
        None,
    )
    .await;
    let run_id = run(&mut client, &task).await;
    let (_, end) = watch(&mut client, &run_id).await;
    assert_eq!(end.topic.as_str(), "task.done", "{:?}", payload(&end));
    let results = &payload(&end)["results"];
    assert_eq!(results["ask"]["text"], "print me");
    assert_eq!(results["show"]["stdout"], "print me\n");
}
