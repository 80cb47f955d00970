//! The WASM runner and the x86 bridge against hostile guests and clients (issue #13): a guest
//! blocked in a host call is still stopped by every stop (wall and idle timeouts, `vm.kill`, its
//! requester leaving) and its slot is freed; pending stdin is bounded per program; a task run's
//! programs count against its caller's caps.
//!
//! Waits are generous (the support's 10 s) and nothing here asserts on time: a test fails only
//! when a stop does not happen at all within the wait.

mod support;

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use aether_kernel::Config;
use aether_shared::Envelope;
use serde_json::{Value, json};
use support::{Client, WAIT, payload, spawn, start};

/// A WASI command that sleeps 60 s in one `poll_oneoff` (a monotonic clock subscription) and
/// then exits 0; it never reads stdin and never writes.
const SLEEPER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; subscription at 0: userdata 0, tag 0 (clock), clock id 1 (monotonic), timeout 60 s
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 60000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;

fn sleeper(limits: Value) -> Value {
    json!({"module": {"wat": SLEEPER}, "limits": limits})
}

fn hello() -> Value {
    let wat = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;
    json!({"module": {"wat": wat}})
}

/// A kernel that runs one program at a time: a program left running blocks every next spawn.
fn one_slot() -> Config {
    let mut config = Config::default();
    config.compute.max_concurrent_total = NonZeroU32::new(1).unwrap();
    config
}

/// The `vm.exit` or `vm.error` of `pid` (other envelopes are skipped).
async fn end_of(client: &mut Client, pid: u64) -> Envelope {
    loop {
        let env = client.recv().await;
        let body = payload(&env);
        let about =
            body["pid"].as_u64() == Some(pid) || body["details"]["pid"].as_u64() == Some(pid);
        if about && matches!(env.topic.as_str(), "vm.exit" | "vm.error") {
            return env;
        }
    }
}

fn assert_error(end: &Envelope, code: &str, limit: Option<&str>) {
    let body = payload(end);
    assert_eq!(end.topic.as_str(), "vm.error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    if let Some(limit) = limit {
        assert_eq!(body["details"]["limit"], limit, "{body}");
    }
}

/// Proves the only slot is free: a next program is accepted and runs to its exit.
async fn assert_slot_free(client: &mut Client) {
    // `spawn` fails the test unless the spawn is acknowledged: the stopped program's slot is free.
    let pid = spawn(client, hello()).await;
    assert_eq!(end_of(client, pid).await.topic.as_str(), "vm.exit");
}

#[tokio::test]
async fn a_guest_sleeping_in_poll_oneoff_is_ended_by_its_wall_timeout_and_frees_its_slot() {
    let kernel = start(one_slot()).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, sleeper(json!({"wall_timeout_ms": 200}))).await;
    assert_error(
        &end_of(&mut client, pid).await,
        "timeout",
        Some("wall_timeout_ms"),
    );
    assert_slot_free(&mut client).await;
}

#[tokio::test]
async fn a_guest_sleeping_in_poll_oneoff_is_ended_by_its_idle_timeout_and_frees_its_slot() {
    let kernel = start(one_slot()).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, sleeper(json!({"idle_timeout_ms": 200}))).await;
    assert_error(
        &end_of(&mut client, pid).await,
        "timeout",
        Some("idle_timeout_ms"),
    );
    assert_slot_free(&mut client).await;
}

#[tokio::test]
async fn a_guest_sleeping_in_poll_oneoff_is_ended_by_vm_kill_and_frees_its_slot() {
    let kernel = start(one_slot()).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, sleeper(json!({}))).await;
    // Let it reach its sleep.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kill = client.request("vm.kill", json!({"pid": pid})).await;
    let end = loop {
        let env = client.recv().await;
        if env.request_id() == Some(kill.as_str()) {
            assert_eq!(env.topic.as_str(), "vm.kill:ack", "{:?}", payload(&env));
        } else if matches!(env.topic.as_str(), "vm.exit" | "vm.error") {
            break env;
        }
    };
    assert_error(&end, "cancelled", None);
    assert_eq!(payload(&end)["details"]["pid"], pid);
    assert_slot_free(&mut client).await;
}

#[tokio::test]
async fn a_guest_sleeping_in_poll_oneoff_is_ended_when_its_requester_leaves() {
    let kernel = start(one_slot()).await;
    let mut leaver = Client::connect(kernel.addr).await;
    spawn(&mut leaver, sleeper(json!({}))).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(leaver);

    // Another client gets the only slot once the sleeper is gone (well before its 60 s).
    let mut next = Client::connect(kernel.addr).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let id = next.request("vm.spawn", hello()).await;
        let answer = next.recv().await;
        assert_eq!(answer.request_id(), Some(id.as_str()));
        if answer.topic.as_str() == "vm.spawn:ack" {
            let pid = payload(&answer)["pid"].as_u64().unwrap();
            assert_eq!(end_of(&mut next, pid).await.topic.as_str(), "vm.exit");
            break;
        }
        assert_eq!(payload(&answer)["details"]["limit"], "max_concurrent_total");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sleeper of a client that left still holds the only slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn stdin_past_the_pending_bound_is_refused_and_the_kernel_still_answers() {
    let mut config = Config::default();
    config.compute.max_pending_stdin_bytes = NonZeroU64::new(64 * 1024).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, sleeper(json!({}))).await;
    let chunk = "x".repeat(16 * 1024);
    let mut refused = None;
    // The bound, plus what the guest's WASI stream reads ahead (two reads of at most 64 KiB).
    for _ in 0..32 {
        let id = client
            .request("vm.stdin", json!({"pid": pid, "data": chunk}))
            .await;
        let answer = client.recv().await;
        assert_eq!(
            answer.request_id(),
            Some(id.as_str()),
            "{:?}",
            payload(&answer)
        );
        if answer.topic.as_str() == "vm.error" {
            refused = Some(answer);
            break;
        }
        assert_eq!(answer.topic.as_str(), "vm.stdin:ack");
    }
    let refused = refused.expect("512 KiB of stdin nobody reads was all accepted");
    assert_error(
        &refused,
        "resource_exceeded",
        Some("max_pending_stdin_bytes"),
    );

    client.request("kernel.ping", json!({})).await;
    assert_eq!(client.recv().await.topic.as_str(), "kernel.ping:resp");
    client.request("vm.kill", json!({"pid": pid})).await;
    assert_error(&end_of(&mut client, pid).await, "cancelled", None);

    // A stdin given with the spawn is bounded the same way.
    let mut body = sleeper(json!({}));
    body["stdin"] = json!("x".repeat(65 * 1024));
    let id = client.request("vm.spawn", body).await;
    let refused = client.recv().await;
    assert_eq!(refused.request_id(), Some(id.as_str()));
    assert_error(
        &refused,
        "resource_exceeded",
        Some("max_pending_stdin_bytes"),
    );
}

#[tokio::test]
async fn a_task_runs_programs_against_its_callers_per_client_cap() {
    let mut config = Config::default();
    config.compute.max_concurrent_per_client = NonZeroU32::new(1).unwrap();
    let kernel = start(config).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, sleeper(json!({}))).await;

    let define = client
        .request(
            "task.define",
            json!({"name": "second program", "nodes": [
                {"id": "b", "topic": "vm.spawn", "payload": hello(), "after": []}
            ]}),
        )
        .await;
    let defined = client.recv().await;
    assert_eq!(defined.request_id(), Some(define.as_str()));
    let task_id = payload(&defined)["task_id"].as_str().unwrap().to_owned();
    client
        .request("task.run", json!({"task_id": task_id}))
        .await;
    let end = loop {
        let env = client.recv().await;
        if matches!(env.topic.as_str(), "task.done" | "task.error") {
            break env;
        }
    };
    let body = payload(&end);
    assert_eq!(end.topic.as_str(), "task.error", "{body}");
    assert_eq!(body["code"], "resource_exceeded", "{body}");
    assert_eq!(body["details"]["node"], "b", "{body}");

    client.request("vm.kill", json!({"pid": pid})).await;
    assert_error(&end_of(&mut client, pid).await, "cancelled", None);
}

/// Reads until an envelope with `topic` arrives (other envelopes are skipped).
async fn next_on(client: &mut Client, topic: &str) -> Envelope {
    loop {
        let env = client.recv().await;
        if env.topic.as_str() == topic {
            return env;
        }
    }
}

#[tokio::test]
async fn keys_for_an_x86_machine_past_the_pending_bound_are_refused() {
    let mut config = Config::default();
    config.compute.max_pending_stdin_bytes = NonZeroU64::new(64 * 1024).unwrap();
    let kernel = start(config).await;
    // This client plays the tab (it hosts the machine) and never takes the keys.
    let mut tab = Client::connect(kernel.addr).await;
    tab.request("compute:register", json!({"sessionId": "s-hostile"}))
        .await;
    next_on(&mut tab, "compute:register:ack").await;
    tab.request("vm.spawn", json!({"backend": "v86"})).await;
    let pid = payload(&next_on(&mut tab, "vm.spawn:ack").await)["pid"]
        .as_u64()
        .unwrap();
    let start_machine = next_on(&mut tab, "compute:spawn").await;
    let started = start_machine.reply(start_machine.topic.ack(), &json!({}));
    tab.send(serde_json::to_value(&started).unwrap()).await;

    let keys = "k".repeat(16 * 1024);
    for _ in 0..8 {
        tab.request("vm.stdin", json!({"pid": pid, "data": keys}))
            .await;
    }
    let refused = next_on(&mut tab, "vm.error").await;
    assert_error(
        &refused,
        "resource_exceeded",
        Some("max_pending_stdin_bytes"),
    );
    assert_eq!(payload(&refused)["details"]["pid"], pid);

    tab.request("kernel.ping", json!({})).await;
    next_on(&mut tab, "kernel.ping:resp").await;
}
