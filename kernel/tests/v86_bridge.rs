//! The VM bridge against a real kernel over WebSockets: `vm.spawn {backend: v86}` is routed to
//! the compute session of the requesting client itself, the kernel allots the pid, numbers the
//! tab's output as `vm.stdout`, relays keys and power-off to the tab, and ends with one `vm.exit`.
//! The client here speaks the tab's side of `compute:*`; the real tab (v86 in a Web Worker) is
//! exercised by the Playwright spec `end2end/tests/v86.spec.ts`.

mod support;

use aether_kernel::Config;
use aether_shared::Envelope;
use serde_json::{Value, json};
use support::{Client, payload, start};

/// Reads until an envelope with `topic` arrives (other envelopes are skipped).
async fn next_on(client: &mut Client, topic: &str) -> Envelope {
    loop {
        let env = client.recv().await;
        if env.topic.as_str() == topic {
            return env;
        }
    }
}

/// Answers a kernel request relayed to the tab with an empty ack.
async fn ack(tab: &mut Client, request: &Envelope) {
    let reply = request.reply(request.topic.ack(), &json!({}));
    tab.send(serde_json::to_value(&reply).unwrap()).await;
}

async fn register_compute(tab: &mut Client, session: &str) {
    tab.request("compute:register", json!({"sessionId": session}))
        .await;
    assert_eq!(
        next_on(tab, "compute:register:ack").await.topic.as_str(),
        "compute:register:ack"
    );
}

#[tokio::test]
async fn a_v86_spawn_runs_in_the_requesters_own_tab_with_the_runners_contract() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    register_compute(&mut tab, "s-tab-x86").await;

    let spawn_id = tab
        .request(
            "vm.spawn",
            json!({"backend": "v86", "limits": {"boot_timeout_ms": 5000}}),
        )
        .await;
    let spawned = next_on(&mut tab, "vm.spawn:ack").await;
    assert_eq!(spawned.request_id(), Some(spawn_id.as_str()));
    let pid = payload(&spawned)["pid"].as_u64().unwrap();

    let start_machine = next_on(&mut tab, "compute:spawn").await;
    assert_eq!(start_machine.to.as_deref(), Some("s-tab-x86"));
    assert_eq!(start_machine.from.as_deref(), Some("kernel"));
    let order = payload(&start_machine);
    assert_eq!(order["pid"], pid);
    assert_eq!(order["memory_bytes"], 128 * 1024 * 1024);
    assert_eq!(order["boot_timeout_ms"], 5000);
    assert!(order.get("snapshot").is_none());
    ack(&mut tab, &start_machine).await;

    // Serial output comes back numbered, answering the spawn.
    for data in ["Linux version", "root@aether:/root# "] {
        tab.request("compute:output", json!({"pid": pid, "data": data}))
            .await;
    }
    for (seq, data) in [(0, "Linux version"), (1, "root@aether:/root# ")] {
        let out = next_on(&mut tab, "vm.stdout").await;
        assert_eq!(out.request_id(), Some(spawn_id.as_str()));
        assert_eq!(
            payload(&out),
            json!({"pid": pid, "seq": seq, "data": data, "_request_id": spawn_id})
        );
    }

    // Keys go to the tab's serial port; the ack comes after the tab took them.
    let keys_id = tab
        .request("vm.stdin", json!({"pid": pid, "data": "uname\n"}))
        .await;
    let keys = next_on(&mut tab, "compute:stdin").await;
    assert_eq!(payload(&keys)["data"], "uname\n");
    ack(&mut tab, &keys).await;
    assert_eq!(
        next_on(&mut tab, "vm.stdin:ack").await.request_id(),
        Some(keys_id.as_str())
    );

    // Keys typed fast arrive at the tab in order, each acknowledged after the tab took it.
    for key in ["e", "c", "h", "o"] {
        tab.request("vm.stdin", json!({"pid": pid, "data": key}))
            .await;
    }
    let mut typed = String::new();
    for _ in 0..4 {
        let keys = next_on(&mut tab, "compute:stdin").await;
        typed.push_str(payload(&keys)["data"].as_str().unwrap());
        ack(&mut tab, &keys).await;
    }
    assert_eq!(typed, "echo");

    let list_id = tab.request("vm.list", json!({})).await;
    let list = next_on(&mut tab, "vm.list:resp").await;
    assert_eq!(list.request_id(), Some(list_id.as_str()));
    assert_eq!(payload(&list)["programs"][0]["pid"], pid);

    // Another client can neither see nor kill it.
    let mut other = Client::connect(kernel.addr).await;
    other.request("vm.kill", json!({"pid": pid})).await;
    let refused = next_on(&mut other, "vm.error").await;
    assert_eq!(payload(&refused)["code"], "not_found");

    // Power off: the tab is told, reports the exit, the requester gets one vm.exit.
    tab.request("vm.kill", json!({"pid": pid})).await;
    let off = next_on(&mut tab, "compute:kill").await;
    assert_eq!(payload(&off)["pid"], pid);
    ack(&mut tab, &off).await;
    next_on(&mut tab, "vm.kill:ack").await;
    tab.request("compute:exit", json!({"pid": pid, "code": 137}))
        .await;
    let exit = next_on(&mut tab, "vm.exit").await;
    assert_eq!(exit.request_id(), Some(spawn_id.as_str()));
    assert_eq!(payload(&exit)["code"], 137);
    assert_eq!(
        payload(&exit)["stats"]["output_bytes"],
        ("Linux version".len() + "root@aether:/root# ".len()) as u64
    );

    // A second exit for the same pid is refused, not turned into a second vm.exit.
    tab.request("compute:exit", json!({"pid": pid, "code": 0}))
        .await;
    assert_eq!(
        payload(&next_on(&mut tab, "compute:error").await)["code"],
        "not_found"
    );

    // The WASM runner's pids come from the same counter.
    tab.request(
        "vm.spawn",
        json!({"module": {"wat": "(module (func (export \"_start\")))"}}),
    )
    .await;
    let wasm = next_on(&mut tab, "vm.spawn:ack").await;
    assert!(payload(&wasm)["pid"].as_u64().unwrap() > pid);
}

#[tokio::test]
async fn without_a_compute_session_of_its_own_a_v86_spawn_is_backend_unavailable() {
    let kernel = start(Config::default()).await;
    // Another client's tab offers v86; that does not make it this client's machine host.
    let mut tab = Client::connect(kernel.addr).await;
    register_compute(&mut tab, "s-someone-x86").await;
    let mut client = Client::connect(kernel.addr).await;
    let id = client.request("vm.spawn", json!({"backend": "v86"})).await;
    let error = next_on(&mut client, "vm.error").await;
    assert_eq!(error.request_id(), Some(id.as_str()));
    let error: Value = payload(&error);
    assert_eq!(error["code"], "backend_unavailable");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("open the Aether desktop")
    );
}

#[tokio::test]
async fn a_tab_that_refuses_or_times_out_ends_the_machine_with_one_error() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    register_compute(&mut tab, "s-tab2-x86").await;
    tab.request("vm.spawn", json!({"backend": "v86"})).await;
    let pid = payload(&next_on(&mut tab, "vm.spawn:ack").await)["pid"].clone();
    let order = next_on(&mut tab, "compute:spawn").await;
    // The tab's worker failed to start: its error reaches the requester with the pid.
    let refusal = order.error_reply(aether_shared::ErrorPayload::new(
        aether_shared::ErrorCode::Internal,
        "The worker did not start.",
    ));
    tab.send(serde_json::to_value(&refusal).unwrap()).await;
    let error = payload(&next_on(&mut tab, "vm.error").await);
    assert_eq!(error["code"], "internal");
    assert_eq!(error["details"]["pid"], pid);

    // Too little memory is refused before anything starts.
    tab.request(
        "vm.spawn",
        json!({"backend": "v86", "limits": {"max_memory_bytes": 1048576}}),
    )
    .await;
    let error = payload(&next_on(&mut tab, "vm.error").await);
    assert_eq!(error["code"], "bad_request");
}

#[tokio::test]
async fn a_client_runs_at_most_max_machines_per_client() {
    let mut config = Config::default();
    config.compute.v86.max_machines_per_client = std::num::NonZeroU32::new(1).unwrap();
    let kernel = start(config).await;
    let mut tab = Client::connect(kernel.addr).await;
    register_compute(&mut tab, "s-tab3-x86").await;
    tab.request("vm.spawn", json!({"backend": "v86"})).await;
    next_on(&mut tab, "vm.spawn:ack").await;
    tab.request("vm.spawn", json!({"backend": "v86"})).await;
    let error = payload(&next_on(&mut tab, "vm.error").await);
    assert_eq!(error["code"], "resource_exceeded");
    assert_eq!(error["details"]["limit"], "max_machines_per_client");
}

#[tokio::test]
async fn output_a_tab_delivered_to_its_own_window_counts_in_the_exit_and_the_rest_keeps_its_seq() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    register_compute(&mut tab, "s-direct-x86").await;
    let spawn_id = tab.request("vm.spawn", json!({"backend": "v86"})).await;
    let pid = payload(&next_on(&mut tab, "vm.spawn:ack").await)["pid"].clone();
    let order = next_on(&mut tab, "compute:spawn").await;
    ack(&mut tab, &order).await;

    // The tab's Terminal read most of the output straight from the machine (never on the bus);
    // what the tab still reports comes numbered from 0 as ever.
    tab.request("compute:output", json!({"pid": pid, "data": "late"}))
        .await;
    let out = next_on(&mut tab, "vm.stdout").await;
    assert_eq!(payload(&out)["seq"], 0);
    assert_eq!(payload(&out)["data"], "late");

    // The machine is still the kernel's: listed, and its exit counts both routes' bytes.
    tab.request("vm.list", json!({})).await;
    let list = next_on(&mut tab, "vm.list:resp").await;
    assert_eq!(payload(&list)["programs"][0]["pid"], pid);
    tab.request(
        "compute:exit",
        json!({"pid": pid, "code": 137, "direct_output_bytes": 5000}),
    )
    .await;
    let exit = next_on(&mut tab, "vm.exit").await;
    assert_eq!(exit.request_id(), Some(spawn_id.as_str()));
    assert_eq!(payload(&exit)["code"], 137);
    assert_eq!(payload(&exit)["stats"]["output_bytes"], 5000 + 4);
}
