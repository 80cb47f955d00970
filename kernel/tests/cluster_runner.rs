//! Remote runners on a real `nats-server`: two gateways that run no programs and one runner
//! kernel in its own process (`aether --role runner`). A gateway's spawns run on the runner,
//! from base64 or from the tab's own files (read back across kernels); kills, keys and
//! `vm.list` reach it; a dead runner ends its programs with `backend_unavailable` in bounded
//! time; no runner is `backend_unavailable` at once; another tab's session stays private.

mod support;

use std::time::{Duration, Instant};

use aether_kernel::Config;
use aether_kernel::config::ClusterConfig;
use aether_kernel::config::cluster::Role;
use serde_json::{Value, json};
use support::nats::NatsServer;
use support::runner::RunnerProcess;
use support::{Client, TestKernel, base64, finish, guest, payload, start, stats};

fn gateway(url: &str, kernel_id: &str) -> Config {
    Config {
        cluster: Some(ClusterConfig {
            nats_url: url.to_owned(),
            kernel_id: Some(kernel_id.to_owned()),
            credentials: None,
            roles: vec![Role::Gateway],
        }),
        ..Config::default()
    }
}

/// Waits until `client`'s kernel hears `peer` beat (or, with `up: false`, no longer does).
async fn wait_peer(client: &mut Client, peer: &str, up: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = stats(client).await["cluster"].clone();
        let heard = report["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().any(|p| p == peer));
        if heard == up {
            return;
        }
        assert!(Instant::now() < deadline, "{peer} never {up}: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answers the relayed `vfs:read` of `path` with `bytes`.
async fn serve_read(tab: &mut Client, path: &str, bytes: &[u8]) {
    let read = tab.recv().await;
    assert_eq!(read.topic.as_str(), "vfs:read", "{read:?}");
    assert_eq!(payload(&read)["path"], path);
    assert_eq!(read.from.as_deref(), Some("kernel"));
    let reply = read.reply(
        read.topic.resp(),
        &json!({"content": base64(bytes), "encoding": "base64", "size": bytes.len(), "mtime": 0}),
    );
    tab.send(serde_json::to_value(reply.to("kernel")).unwrap())
        .await;
}

struct Cluster {
    nats: NatsServer,
    a: TestKernel,
    b: TestKernel,
    runner: RunnerProcess,
}

async fn cluster() -> (Cluster, Client, Client) {
    let nats = NatsServer::start();
    let a = start(gateway(&nats.url(), "gw-a")).await;
    let b = start(gateway(&nats.url(), "gw-b")).await;
    let runner = RunnerProcess::start(&nats.url(), "runner-1");
    let mut on_a = Client::connect(a.addr).await;
    let mut on_b = Client::connect(b.addr).await;
    wait_peer(&mut on_a, "runner-1", true).await;
    wait_peer(&mut on_b, "runner-1", true).await;
    let cluster = Cluster { nats, a, b, runner };
    (cluster, on_a, on_b)
}

#[tokio::test]
async fn spawns_on_two_gateways_run_on_the_runner_and_answer_their_own_requester() {
    let (_cluster, mut on_a, mut on_b) = cluster().await;
    let hello = base64(&guest("hello"));
    on_a.request("vm.spawn", json!({"module": {"base64": hello}}))
        .await;
    on_b.request("vm.spawn", json!({"module": {"base64": hello}}))
        .await;
    for client in [&mut on_a, &mut on_b] {
        let ack = client.recv().await;
        assert_eq!(ack.topic.as_str(), "vm.spawn:ack", "{ack:?}");
        let pid = payload(&ack)["pid"].as_u64().unwrap();
        let (stdout, end) = finish(client).await;
        assert_eq!(end.topic.as_str(), "vm.exit", "{end:?}");
        assert_eq!(payload(&end)["pid"], pid);
        assert_eq!(payload(&end)["code"], 0);
        assert_eq!(stdout, "Hello from WebAssembly!\n");
    }
    let report = stats(&mut on_a).await["cluster"].clone();
    assert_eq!(report["roles"], json!(["gateway"]), "{report}");
    assert_eq!(report["remote_programs"], 0, "ended programs are forgotten");
}

#[tokio::test]
async fn a_module_from_the_tabs_own_files_is_read_back_across_kernels() {
    let (_cluster, mut tab, mut other) = cluster().await;
    tab.request("vfs:register", json!({"sessionId": "s-tab"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    tab.request("vm.spawn", json!({"module": {"path": "/bin/hello.wasm"}}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vm.spawn:ack");
    serve_read(&mut tab, "/bin/hello.wasm", &guest("hello")).await;
    let (stdout, end) = finish(&mut tab).await;
    assert_eq!(end.topic.as_str(), "vm.exit", "{end:?}");
    assert_eq!(stdout, "Hello from WebAssembly!\n");

    // A tab on the other gateway may not have the runner read this tab's session.
    other
        .request(
            "vm.spawn",
            json!({"module": {"path": "/bin/hello.wasm", "session": "s-tab"}}),
        )
        .await;
    let ack = other.recv().await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack");
    let (_, end) = finish(&mut other).await;
    assert_eq!(end.topic.as_str(), "vm.error", "{end:?}");
    assert_eq!(payload(&end)["code"], "permission_denied", "{end:?}");
    tab.request("kernel.ping", json!({})).await;
    assert_eq!(
        tab.recv().await.topic.as_str(),
        "kernel.ping:resp",
        "the tab was asked nothing"
    );
}

#[tokio::test]
async fn keys_kill_and_list_reach_the_program_on_the_runner() {
    let (_cluster, mut tab, _) = cluster().await;
    tab.request(
        "vm.spawn",
        json!({"module": {"base64": base64(&guest("echo"))}}),
    )
    .await;
    let ack = tab.recv().await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack", "{ack:?}");
    let pid = payload(&ack)["pid"].as_u64().unwrap();
    tab.request("vm.stdin", json!({"pid": pid, "data": "over there\n"}))
        .await;
    let mut heard = String::new();
    while !heard.contains("over there") {
        let env = tab.recv().await;
        if env.topic.as_str() == "vm.stdout" {
            heard.push_str(payload(&env)["data"].as_str().unwrap());
        }
    }
    tab.request("vm.list", json!({})).await;
    let list = loop {
        let env = tab.recv().await;
        if env.topic.as_str() == "vm.list:resp" {
            break payload(&env);
        }
    };
    assert_eq!(list["programs"][0]["pid"], pid, "{list}");
    assert_eq!(list["programs"][0]["module"], "<base64>", "{list}");
    tab.request("vm.kill", json!({"pid": pid})).await;
    let (_, end) = finish(&mut tab).await;
    let body = payload(&end);
    let ended = body.get("pid").unwrap_or(&body["details"]["pid"]);
    assert_eq!(ended, &json!(pid), "{end:?}");
    assert_ne!(body["code"], json!(0), "{end:?}");
}

#[tokio::test]
async fn a_runner_that_dies_mid_run_ends_its_program_with_backend_unavailable() {
    let (mut cluster, mut tab, _) = cluster().await;
    tab.request(
        "vm.spawn",
        json!({"module": {"base64": base64(&guest("echo"))}}),
    )
    .await;
    let ack = tab.recv().await;
    let pid = payload(&ack)["pid"].as_u64().unwrap();
    let killed = Instant::now();
    cluster.runner.kill();
    let (_, end) = finish(&mut tab).await;
    let took = killed.elapsed();
    assert_eq!(end.topic.as_str(), "vm.error", "{end:?}");
    let error = payload(&end);
    assert_eq!(error["code"], "backend_unavailable", "{error}");
    assert_eq!(error["details"]["pid"], pid, "{error}");
    println!("FIGURE runner death → vm.error: {} ms", took.as_millis());
    // No runner now: a spawn is refused at once, never left hanging.
    tab.request("vm.spawn", json!({"module": {"wat": "(module)"}}))
        .await;
    let refused = tab.recv().await;
    assert_eq!(refused.topic.as_str(), "vm.error", "{refused:?}");
    assert_eq!(payload(&refused)["code"], "backend_unavailable");
    assert!(
        payload(&refused)["error"]
            .as_str()
            .unwrap()
            .contains("No runner is up"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_cluster_runs_programs_again_after_nats_comes_back() {
    let (mut cluster, mut tab, _) = cluster().await;
    cluster.nats.stop();
    // While NATS is away the gateway's spawns are `backend_unavailable`, its own services go on.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tab.request("vm.spawn", json!({"module": {"wat": "(module)"}}))
            .await;
        let answer = tab.recv().await;
        if answer.topic.as_str() == "vm.error" {
            assert_eq!(payload(&answer)["code"], "backend_unavailable");
            break;
        }
        // Taken before the link saw NATS go: let it end, then try again.
        finish(&mut tab).await;
        assert!(Instant::now() < deadline, "spawns never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tab.request("kernel.ping", json!({})).await;
    assert_eq!(tab.recv().await.topic.as_str(), "kernel.ping:resp");
    cluster.nats.restart();
    wait_peer(&mut tab, "runner-1", true).await;
    let hello = base64(&guest("hello"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tab.request("vm.spawn", json!({"module": {"base64": hello}}))
            .await;
        let answer = tab.recv().await;
        if answer.topic.as_str() == "vm.spawn:ack" {
            let (stdout, end) = finish(&mut tab).await;
            assert_eq!(end.topic.as_str(), "vm.exit", "{end:?}");
            assert_eq!(stdout, "Hello from WebAssembly!\n");
            break;
        }
        let error: Value = payload(&answer);
        assert_eq!(error["code"], "backend_unavailable", "{error}");
        assert!(Instant::now() < deadline, "spawns never ran again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = &cluster.b;
    let _ = &cluster.a;
}

#[tokio::test]
async fn a_task_node_on_a_gateway_runs_its_program_on_the_runner_from_the_tabs_files() {
    let (_cluster, mut tab, _) = cluster().await;
    tab.request("vfs:register", json!({"sessionId": "s-task-tab"}))
        .await;
    assert_eq!(tab.recv().await.topic.as_str(), "vfs:register:ack");
    let node = json!({"id": "greet", "topic": "vm.spawn",
        "payload": {"module": {"path": "/bin/hello.wasm"}}, "after": []});
    tab.request("task.define", json!({"name": "remote", "nodes": [node]}))
        .await;
    let defined = tab.recv().await;
    let task_id = payload(&defined)["task_id"].as_str().unwrap().to_owned();
    tab.request("task.run", json!({"task_id": task_id})).await;
    // The run's agent spawns on the runner, which reads the module from this tab.
    let mut served = false;
    let end = loop {
        let env = tab.recv().await;
        match env.topic.as_str() {
            "vfs:read" => {
                let bytes = guest("hello");
                let reply = env.reply(
                    env.topic.resp(),
                    &json!({"content": base64(&bytes), "encoding": "base64",
                        "size": bytes.len(), "mtime": 0}),
                );
                tab.send(serde_json::to_value(reply.to("kernel")).unwrap())
                    .await;
                served = true;
            }
            "task.done" | "task.error" => break env,
            _ => {}
        }
    };
    assert!(served, "the runner read the module from the tab");
    assert_eq!(end.topic.as_str(), "task.done", "{end:?}");
    let result = &payload(&end)["results"]["greet"];
    assert_eq!(result["stdout"], "Hello from WebAssembly!\n", "{result}");
    assert_eq!(result["code"], 0);
}
