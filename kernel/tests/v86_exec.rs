//! `vm.exec` against a real kernel over WebSockets: a shell command runs in an x86 machine of
//! the requester's own tab (the one its client spawned, else one the kernel starts there without
//! a window and keeps), as `compute:exec` to that tab, and comes back as `vm.exec:ack {status,
//! output, truncated}` or `vm.error {code: timeout}` naming the limit; nobody but the kernel
//! reaches a tab's machines this way, neither another principal nor another tab of the same one.
//! The client here speaks the tab's side of `compute:*`; the real tab (v86, the guest's third
//! serial port) is exercised by the Playwright spec `end2end/tests/agent-shell.spec.ts`.

mod support;

use aether_kernel::Config;
use aether_shared::Envelope;
use serde_json::{Value, json};
use support::{Client, Dial, payload, start};

/// Reads until an envelope with `topic` arrives (other envelopes are skipped).
async fn next_on(client: &mut Client, topic: &str) -> Envelope {
    loop {
        let env = client.recv().await;
        if env.topic.as_str() == topic {
            return env;
        }
    }
}

/// Answers a kernel request relayed to the tab with `reply` on its ack topic.
async fn answer(tab: &mut Client, request: &Envelope, reply: Value) {
    let reply = request.reply(request.topic.ack(), &reply);
    tab.send(serde_json::to_value(&reply).unwrap()).await;
}

async fn register_compute(tab: &mut Client, session: &str) {
    tab.request("compute:register", json!({"sessionId": session}))
        .await;
    next_on(tab, "compute:register:ack").await;
}

/// The next envelope `client` receives is the answer to a `kernel.ping` sent now: nothing else
/// was on its way to it.
async fn nothing_else_arrives(client: &mut Client) {
    let id = client.request("kernel.ping", json!({})).await;
    let env = client.recv().await;
    assert_eq!(env.topic.as_str(), "kernel.ping:resp", "{env:?}");
    assert_eq!(env.request_id(), Some(id.as_str()));
}

#[tokio::test]
async fn a_command_runs_in_the_tabs_own_machine_and_answers_with_its_status_and_output() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    register_compute(&mut tab, "s-exec-x86").await;

    // No machine yet: the kernel starts one in the tab, without a window, then runs the command.
    let first = tab
        .request(
            "vm.exec",
            json!({"command": "echo $((6*7)); uname -m", "timeout_ms": 5000}),
        )
        .await;
    let start_machine = next_on(&mut tab, "compute:spawn").await;
    assert_eq!(start_machine.to.as_deref(), Some("s-exec-x86"));
    let pid = payload(&start_machine)["pid"].as_u64().unwrap();
    // Its boot output goes nowhere: it has no requester's stream.
    tab.request(
        "compute:output",
        json!({"pid": pid, "data": "Linux version"}),
    )
    .await;
    next_on(&mut tab, "compute:output:ack").await;
    answer(&mut tab, &start_machine, json!({})).await;
    let run = next_on(&mut tab, "compute:exec").await;
    assert_eq!(run.to.as_deref(), Some("s-exec-x86"));
    assert_eq!(run.from.as_deref(), Some("kernel"));
    let order = payload(&run);
    assert_eq!(order["pid"], pid);
    assert_eq!(order["command"], "echo $((6*7)); uname -m");
    assert_eq!(order["timeout_ms"], 5000);
    assert_eq!(order["max_output_bytes"], 65536);
    answer(
        &mut tab,
        &run,
        json!({"status": 0, "output": "42\ni686\n", "truncated": false}),
    )
    .await;
    let done = next_on(&mut tab, "vm.exec:ack").await;
    assert_eq!(done.request_id(), Some(first.as_str()));
    let done = payload(&done);
    assert_eq!(
        (
            &done["pid"],
            &done["status"],
            &done["output"],
            &done["truncated"]
        ),
        (&json!(pid), &json!(0), &json!("42\ni686\n"), &json!(false))
    );
    assert_eq!(done["max_output_bytes"], 65536);
    assert!(done["duration_ms"].is_u64());
    nothing_else_arrives(&mut tab).await;

    // The machine stays for the next command, listed as the tab's; the limit is capped, and a
    // command the guest killed at it is a timeout naming the limit.
    tab.request("vm.list", json!({})).await;
    let listed = payload(&next_on(&mut tab, "vm.list:resp").await);
    assert_eq!(listed["programs"][0]["pid"], pid);
    assert_eq!(listed["programs"][0]["module"], "x86 (v86) for vm.exec");
    let second = tab
        .request(
            "vm.exec",
            json!({"command": "sleep 1000", "timeout_ms": 999_999_999}),
        )
        .await;
    let run = next_on(&mut tab, "compute:exec").await;
    assert_eq!(payload(&run)["pid"], pid, "no second machine");
    assert_eq!(payload(&run)["timeout_ms"], 300_000, "max_exec_timeout_ms");
    answer(
        &mut tab,
        &run,
        json!({"status": 137, "output": "", "truncated": false, "timed_out": true}),
    )
    .await;
    let late = next_on(&mut tab, "vm.error").await;
    assert_eq!(late.request_id(), Some(second.as_str()));
    let late = payload(&late);
    assert_eq!(late["code"], "timeout");
    assert_eq!(late["details"]["limit"], "timeout_ms");
    assert_eq!(late["details"]["value"], 300_000);
    assert!(
        late["error"].as_str().unwrap().contains("300000 ms"),
        "{late}"
    );

    // A machine the tab's client spawned itself (the Terminal's) is where commands run next;
    // a limit of 0 is refused.
    tab.request("vm.spawn", json!({"backend": "v86"})).await;
    let terminal = payload(&next_on(&mut tab, "vm.spawn:ack").await)["pid"]
        .as_u64()
        .unwrap();
    let start_terminal = next_on(&mut tab, "compute:spawn").await;
    tab.request("vm.exec", json!({"command": "true"})).await;
    answer(&mut tab, &start_terminal, json!({})).await;
    let run = next_on(&mut tab, "compute:exec").await;
    assert_eq!(payload(&run)["pid"], terminal);
    assert_eq!(payload(&run)["timeout_ms"], 30_000, "exec_timeout_ms");
    answer(
        &mut tab,
        &run,
        json!({"status": 1, "output": "x".repeat(10), "truncated": true}),
    )
    .await;
    let done = payload(&next_on(&mut tab, "vm.exec:ack").await);
    assert_eq!(
        (&done["status"], &done["truncated"]),
        (&json!(1), &json!(true))
    );
    tab.request("vm.exec", json!({"command": "true", "timeout_ms": 0}))
        .await;
    assert_eq!(
        payload(&next_on(&mut tab, "vm.error").await)["code"],
        "bad_request"
    );
}

#[tokio::test]
async fn another_principal_or_another_tab_cannot_reach_a_tabs_machine() {
    let token = |t: &str| Dial {
        bearer: Some(t.into()),
        ..Dial::default()
    };
    let config = Config {
        client_token: Some("let-me-in-0123456789".into()),
        admin_token: Some("root-token-0123456789".into()),
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut tab = Client::connect_as(kernel.addr, &token("let-me-in-0123456789")).await;
    register_compute(&mut tab, "s-victim-x86").await;
    tab.request("vm.spawn", json!({"backend": "v86"})).await;
    let pid = payload(&next_on(&mut tab, "vm.spawn:ack").await)["pid"]
        .as_u64()
        .unwrap();
    let start_machine = next_on(&mut tab, "compute:spawn").await;
    answer(&mut tab, &start_machine, json!({})).await;

    // Another tab of the same principal, and the admin: a `compute:exec` addressed to the tab's
    // machine host is refused, and the tab hears nothing of it.
    let mut sibling = Client::connect_as(kernel.addr, &token("let-me-in-0123456789")).await;
    let mut admin = Client::connect_as(kernel.addr, &token("root-token-0123456789")).await;
    for other in [&mut sibling, &mut admin] {
        other
            .send(
                json!({"topic": "compute:exec", "to": "s-victim-x86", "payload": {
                "_request_id": "r-x", "pid": pid, "command": "cat /etc/shadow",
                "timeout_ms": 1000, "max_output_bytes": 100}}),
            )
            .await;
        let refused = next_on(other, "compute:error").await;
        assert_eq!(payload(&refused)["code"], "permission_denied");
    }

    // Through the kernel, `vm.exec` reaches only the requester's own tab: without a machine host
    // of its own it is refused, with one it runs there, and the other tab's pid is not its own.
    sibling
        .request("vm.exec", json!({"command": "id", "pid": pid}))
        .await;
    assert_eq!(
        payload(&next_on(&mut sibling, "vm.error").await)["code"],
        "backend_unavailable"
    );
    register_compute(&mut sibling, "s-sibling-x86").await;
    sibling
        .request("vm.exec", json!({"command": "id", "pid": pid}))
        .await;
    let error = payload(&next_on(&mut sibling, "vm.error").await);
    assert_eq!(error["code"], "not_found");
    sibling.request("vm.exec", json!({"command": "id"})).await;
    let own = next_on(&mut sibling, "compute:spawn").await;
    assert_eq!(own.to.as_deref(), Some("s-sibling-x86"));
    assert_ne!(payload(&own)["pid"], pid);
    nothing_else_arrives(&mut tab).await;
}
