//! The task engine against hostile callers (issue #13): a `${ref}` bomb, results too big for the
//! history or one frame, definitions piling up, runs left behind by a caller that left, forged
//! answers addressed to a run's agent, and nodes that must pass the caller's own guardrails.
//! Each test failed before its fix.

mod support;

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use aether_kernel::Config;
use aether_kernel::config::{Action, PermissionRule, RateRule, TopicPrefix};
use aether_shared::Envelope;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Client, WAIT, payload, refusals, start};
use tokio_tungstenite::tungstenite::Message;

/// A program that writes `chunks` × 64 KiB of `x` to stdout and exits 0.
fn big_output(chunks: u32) -> Value {
    let wat = format!(
        r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 2)
      (func (export "_start") (local $i i32)
        (memory.fill (i32.const 1024) (i32.const 120) (i32.const 65536))
        (block $done (loop $again
          (br_if $done (i32.ge_u (local.get $i) (i32.const {chunks})))
          (i32.store (i32.const 0) (i32.const 1024))
          (i32.store (i32.const 4) (i32.const 65536))
          (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $again)))))"#
    );
    json!({"module": {"wat": wat}})
}

/// A program that loops until it is stopped.
fn forever() -> Value {
    json!({"module": {"wat": r#"(module (func (export "_start") (loop $l (br $l))))"#}})
}

/// A program that exits 0 at once.
fn quick() -> Value {
    json!({"module": {"wat": r#"(module (memory (export "memory") 1) (func (export "_start")))"#}})
}

fn node(id: &str, topic: &str, body: Value, after: &[&str]) -> Value {
    json!({"id": id, "topic": topic, "payload": body, "after": after})
}

/// `task.define`'s answer: `Ok(task_id)` or the error payload.
async fn try_define(client: &mut Client, body: Value) -> Result<String, Value> {
    client.request("task.define", body).await;
    let env = client.recv().await;
    match env.topic.as_str() {
        "task.define:ack" => Ok(payload(&env)["task_id"].as_str().unwrap().to_owned()),
        _ => Err(payload(&env)),
    }
}

async fn define(client: &mut Client, nodes: Vec<Value>) -> String {
    try_define(client, json!({"name": "hostile", "nodes": nodes}))
        .await
        .unwrap_or_else(|e| panic!("refused: {e}"))
}

async fn run(client: &mut Client, task_id: &str) -> String {
    client
        .request("task.run", json!({"task_id": task_id}))
        .await;
    let ack = client.recv().await;
    assert_eq!(ack.topic.as_str(), "task.run:ack", "{:?}", payload(&ack));
    payload(&ack)["run_id"].as_str().unwrap().to_owned()
}

/// The next text frame, with its size in bytes.
async fn recv_sized(client: &mut Client) -> (usize, Envelope) {
    loop {
        let msg = tokio::time::timeout(WAIT, client.ws.next())
            .await
            .expect("no message within the wait")
            .expect("the connection ended")
            .expect("a read error");
        if let Message::Text(text) = msg {
            return (text.len(), Envelope::from_json(&text).unwrap());
        }
    }
}

/// Reads a run to its `task.done` / `task.error`, checking every frame fits `max_frame`; returns
/// the events' payloads and the ending.
async fn watch(client: &mut Client, max_frame: usize) -> (Vec<Value>, Envelope) {
    let mut events = Vec::new();
    loop {
        let (size, env) = recv_sized(client).await;
        assert!(
            size <= max_frame,
            "a {} frame of {size} bytes passes the {max_frame}-byte frame cap",
            env.topic
        );
        match env.topic.as_str() {
            "task.event" => events.push(payload(&env)),
            "task.done" | "task.error" => return (events, env),
            _ => {}
        }
    }
}

/// Reads until a node of the run reports `running`.
async fn wait_until_running(client: &mut Client) {
    while payload(&client.recv().await)["state"] != "running" {}
}

/// `task.status` of a run, polled until it has ended.
async fn ended_status(client: &mut Client, run_id: &str) -> Value {
    let give_up = tokio::time::Instant::now() + WAIT;
    loop {
        client
            .request("task.status", json!({"run_id": run_id}))
            .await;
        let env = loop {
            let env = client.recv().await;
            if env.topic.as_str() == "task.status:resp" || env.topic.as_str() == "task.error" {
                break env;
            }
        };
        let status = payload(&env);
        assert_eq!(env.topic.as_str(), "task.status:resp", "{status}");
        if status["state"] != "running" {
            return status;
        }
        assert!(tokio::time::Instant::now() < give_up, "the run never ended");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reference_bomb_is_refused_before_it_is_expanded() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    // 64 KiB quoted 100 times: 6.4 MB from a definition of a few KB (the frame cap is 1 MiB).
    let quotes: Vec<Value> = (0..100).map(|_| json!("${a.stdout}")).collect();
    let task = define(
        &mut client,
        vec![
            node("a", "vm.spawn", big_output(1), &[]),
            node("b", "kernel.ping", json!({"quotes": quotes}), &["a"]),
        ],
    )
    .await;
    run(&mut client, &task).await;
    let (events, end) = watch(&mut client, usize::MAX).await;
    let error = payload(&end);
    assert_eq!(
        end.topic.as_str(),
        "task.error",
        "{}",
        error["results"]["b"]
    );
    assert_eq!(error["code"], "resource_exceeded", "{error}");
    assert_eq!(error["details"]["limit"], "max_frame_bytes", "{error}");
    assert_eq!(error["details"]["node"], "b", "{error}");
    assert!(
        events
            .iter()
            .all(|e| !(e["node"] == "b" && e["state"] == "running")),
        "node b was sent: {events:?}"
    );
}

#[tokio::test]
async fn every_task_message_fits_the_frame_cap_and_big_results_are_marked_truncated() {
    let mut config = Config::default();
    // Only the frame cap stands between these results and the caller.
    config.task.max_result_bytes = NonZeroUsize::new(8 << 20).unwrap();
    config.task.max_run_result_bytes = NonZeroUsize::new(32 << 20).unwrap();
    let max_frame = config.limits.max_frame_bytes.get();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let nodes = (0..3)
        .map(|i| node(&format!("n{i}"), "vm.spawn", big_output(8), &[]))
        .collect();
    let task = define(&mut client, nodes).await;
    let run_id = run(&mut client, &task).await;
    let (_, end) = watch(&mut client, max_frame).await;
    assert_eq!(
        end.topic.as_str(),
        "task.done",
        "{}",
        payload(&end)["error"]
    );
    let results = &payload(&end)["results"];
    for i in 0..3 {
        let result = &results[format!("n{i}")];
        assert_eq!(result["truncated"], true, "{i}");
        assert!(result["original_bytes"].as_u64().unwrap() >= 512 * 1024);
    }

    client
        .request("task.status", json!({"run_id": run_id}))
        .await;
    let (size, status) = recv_sized(&mut client).await;
    assert_eq!(status.topic.as_str(), "task.status:resp");
    assert!(size <= max_frame, "task.status is {size} bytes");
    assert_eq!(payload(&status)["state"], "succeeded");
    client.request("task.list", json!({})).await;
    let (size, list) = recv_sized(&mut client).await;
    assert_eq!(list.topic.as_str(), "task.list:resp");
    assert!(size <= max_frame, "task.list is {size} bytes");
}

#[tokio::test]
async fn stored_results_are_capped_per_node_and_per_run() {
    let mut config = Config::default();
    config.task.max_result_bytes = NonZeroUsize::new(16 * 1024).unwrap();
    config.task.max_run_result_bytes = NonZeroUsize::new(40 * 1024).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let task = define(
        &mut client,
        vec![
            node("a", "vm.spawn", big_output(1), &[]),
            node("b", "vm.spawn", big_output(1), &["a"]),
            node("c", "vm.spawn", big_output(1), &["b"]),
            node("d", "vm.spawn", big_output(1), &["c"]),
            // A later node still quotes the whole output, not the stored cut.
            node(
                "size",
                "kernel.ping",
                json!({"echo": "${a.stdout}"}),
                &["d"],
            ),
        ],
    )
    .await;
    let run_id = run(&mut client, &task).await;
    let (_, end) = watch(&mut client, usize::MAX).await;
    assert_eq!(
        end.topic.as_str(),
        "task.done",
        "{}",
        payload(&end)["error"]
    );
    let status = ended_status(&mut client, &run_id).await;
    let mut total = 0;
    for node in status["nodes"].as_array().unwrap().iter().take(4) {
        let result = &node["result"];
        let size = result.to_string().len();
        assert!(size <= 16 * 1024, "{} keeps {size} bytes", node["id"]);
        assert_eq!(result["truncated"], true, "{}", node["id"]);
        assert!(result["original_bytes"].as_u64().unwrap() >= 64 * 1024);
        total += size;
    }
    // Past the run's cap a node keeps only the marker (a few dozen bytes).
    assert!(
        total <= 40 * 1024 + 64,
        "the run keeps {total} bytes of results"
    );
}

#[tokio::test]
async fn definitions_are_capped_in_size_and_the_oldest_beyond_the_count_are_dropped() {
    let mut config = Config::default();
    config.task.max_definitions = NonZeroU32::new(2).unwrap();
    config.task.max_definition_bytes = NonZeroUsize::new(4096).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let ping = || vec![node("p", "kernel.ping", json!({}), &[])];
    let first = define(&mut client, ping()).await;
    let second = define(&mut client, ping()).await;
    let third = define(&mut client, ping()).await;
    client.request("task.list", json!({})).await;
    let list = payload(&client.recv().await);
    let ids: Vec<&str> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [third.as_str(), second.as_str()], "{list}");
    client.request("task.run", json!({"task_id": first})).await;
    assert_eq!(payload(&client.recv().await)["code"], "not_found");

    let big = json!({"name": "big", "nodes": [node("p", "kernel.ping", json!({"pad": "x".repeat(5000)}), &[])]});
    let error = try_define(&mut client, big).await.unwrap_err();
    assert_eq!(error["code"], "resource_exceeded", "{error}");
    assert_eq!(error["details"]["limit"], "max_definition_bytes", "{error}");
}

/// A kernel that runs one program at a time.
fn one_program_at_a_time() -> Config {
    let mut config = Config::default();
    config.compute.max_concurrent_total = NonZeroU32::new(1).unwrap();
    config
}

/// Spawns a program that exits at once, retrying while the only slot is taken; fails the test
/// if the slot never frees.
async fn spawn_when_a_slot_frees(client: &mut Client) {
    let give_up = tokio::time::Instant::now() + WAIT;
    loop {
        client.request("vm.spawn", quick()).await;
        let env = client.recv().await;
        if env.topic.as_str() == "vm.spawn:ack" {
            while client.recv().await.topic.as_str() != "vm.exit" {}
            return;
        }
        assert_eq!(
            payload(&env)["code"],
            "resource_exceeded",
            "{:?}",
            payload(&env)
        );
        assert!(
            tokio::time::Instant::now() < give_up,
            "the program slot was never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_caller_leaving_cancels_its_runs_and_frees_their_program_slots() {
    let kernel = start(one_program_at_a_time()).await;
    let mut caller = Client::connect(kernel.addr).await;
    let task = define(&mut caller, vec![node("loop", "vm.spawn", forever(), &[])]).await;
    let run_id = run(&mut caller, &task).await;
    wait_until_running(&mut caller).await;
    drop(caller);

    let mut other = Client::connect(kernel.addr).await;
    spawn_when_a_slot_frees(&mut other).await;
    let status = ended_status(&mut other, &run_id).await;
    assert_eq!(status["state"], "cancelled", "{status}");
    assert_eq!(status["nodes"][0]["state"], "cancelled", "{status}");
}

#[tokio::test]
async fn a_run_whose_definition_says_keep_on_disconnect_outlives_its_caller() {
    let kernel = start(one_program_at_a_time()).await;
    let mut caller = Client::connect(kernel.addr).await;
    let mut looping = node("loop", "vm.spawn", forever(), &[]);
    looping["timeout_ms"] = json!(1500);
    let task = try_define(
        &mut caller,
        json!({"name": "kept", "nodes": [looping], "keep_on_disconnect": true}),
    )
    .await
    .unwrap();
    let run_id = run(&mut caller, &task).await;
    wait_until_running(&mut caller).await;
    drop(caller);

    let mut other = Client::connect(kernel.addr).await;
    // The run went on until its own node timeout, not cancelled when its caller left.
    let status = ended_status(&mut other, &run_id).await;
    assert_eq!(status["state"], "timed_out", "{status}");
}

#[tokio::test]
async fn forged_answers_addressed_to_a_run_agent_are_ignored() {
    let kernel = start(Config::default()).await;
    let mut caller = Client::connect(kernel.addr).await;
    let mut looping = node("loop", "vm.spawn", forever(), &[]);
    looping["timeout_ms"] = json!(3000);
    let task = define(&mut caller, vec![looping]).await;
    let run_id = run(&mut caller, &task).await;
    wait_until_running(&mut caller).await;

    // Another client that learned the run id answers for the node: a pid, then a clean exit.
    let mut forger = Client::connect(kernel.addr).await;
    let agent = format!("task-{run_id}");
    forger
        .send(json!({"topic": "vm.spawn:ack", "to": agent,
            "payload": {"_request_id": "node-0", "pid": 4242}}))
        .await;
    let stats = json!({"fuel_used": 0, "peak_memory_bytes": 0, "output_bytes": 0});
    forger
        .send(json!({"topic": "vm.exit", "to": agent,
            "payload": {"pid": 4242, "code": 0, "duration_ms": 1, "stats": stats}}))
        .await;
    forger
        .send(json!({"topic": "kernel.ping:resp", "to": agent,
            "payload": {"_request_id": "node-0"}}))
        .await;

    let (events, end) = watch(&mut caller, usize::MAX).await;
    assert_eq!(end.topic.as_str(), "task.error", "{:?}", payload(&end));
    assert_eq!(payload(&end)["code"], "timeout", "{:?}", payload(&end));
    assert!(
        events.iter().all(|e| e["state"] != "succeeded"),
        "{events:?}"
    );
    // Each forgery was dropped before it reached the agent, and counted.
    assert_eq!(refusals(&mut forger, "forged_answer").await, 3);
    // The agent's address is not guessable: run ids carry 128 random bits.
    let random = run_id.rsplit('-').next().unwrap();
    assert!(
        random.len() >= 32 && random.bytes().all(|b| b.is_ascii_hexdigit()),
        "{run_id}"
    );
}

#[tokio::test]
async fn a_nodes_alias_is_judged_as_its_topic_and_nodes_draw_from_the_callers_rate_limits() {
    let rule = |prefix: &str, action| PermissionRule {
        topic_prefix: TopicPrefix::parse(prefix).unwrap(),
        action,
    };
    let config = Config {
        permissions: vec![rule("vm.spawn", Action::Deny), rule("", Action::Allow)],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let error = try_define(
        &mut client,
        json!({"name": "alias", "nodes": [node("w", "wasm.run", quick(), &[])]}),
    )
    .await
    .unwrap_err();
    assert_eq!(error["code"], "permission_denied", "{error}");
    assert_eq!(error["details"]["node"], "w", "{error}");
    // Refused once, counted once (it was counted twice: when audited and when answered).
    assert_eq!(refusals(&mut client, "permission_denied").await, 1);

    let config = Config {
        rate_limits: vec![RateRule {
            topic: "kernel.ping".parse().unwrap(),
            limit: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(1).unwrap(),
            window_ms: NonZeroU64::new(600_000).unwrap(),
        }],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let task = define(
        &mut client,
        vec![
            node("one", "kernel.ping", json!({}), &[]),
            node("two", "kernel.ping", json!({}), &["one"]),
        ],
    )
    .await;
    run(&mut client, &task).await;
    let (_, end) = watch(&mut client, usize::MAX).await;
    let error = payload(&end);
    assert_eq!(error["code"], "rate_limited", "{error}");
    assert_eq!(error["details"]["node"], "two", "{error}");
}
