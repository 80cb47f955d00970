//! How services refuse, against a real kernel over WebSockets: every refusal arrives on the
//! request's namespace error topic, to the requester only, with its `_request_id`, its code, a
//! sentence that says what to do, and the details its code promises (`pid`, `limit`).

mod support;

use aether_kernel::Config;
use aether_shared::Envelope;
use serde_json::{Value, json};
use support::{Client, base64, guest, payload, spawn, start};

/// Sends a request and reads its answer, checking it answers that request.
async fn ask(client: &mut Client, topic: &str, body: Value) -> Envelope {
    let id = client.request(topic, body).await;
    let answer = client.recv().await;
    assert_eq!(answer.request_id(), Some(id.as_str()), "{answer:?}");
    answer
}

/// Asserts `answer` is an error on `topic` with `code`, and returns its payload.
fn refused(answer: &Envelope, topic: &str, code: &str) -> Value {
    let body = payload(answer);
    assert_eq!(answer.topic.as_str(), topic, "{body}");
    assert_eq!(body["code"], code, "{body}");
    body
}

#[tokio::test]
async fn a_payload_that_breaks_the_contract_is_bad_request_saying_to_fix_it() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let answer = ask(&mut client, "vm.kill", json!({"pid": "seven"})).await;
    let body = refused(&answer, "vm.error", "bad_request");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .ends_with("; fix the payload and resend."),
        "{body}"
    );
}

#[tokio::test]
async fn programs_the_sender_does_not_have_are_not_found_with_their_pid() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    for (topic, body) in [
        ("vm.kill", json!({"pid": 999})),
        ("vm.stdin", json!({"pid": 999, "data": "x"})),
    ] {
        let answer = ask(&mut client, topic, body).await;
        let body = refused(&answer, "vm.error", "not_found");
        assert_eq!(body["details"]["pid"], 999);
        assert_eq!(
            body["error"],
            "You have no running program 999; see `vm.list`."
        );
    }
}

#[tokio::test]
async fn a_spawn_without_a_module_or_a_machine_host_says_what_to_send() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let answer = ask(&mut client, "vm.spawn", json!({})).await;
    let body = refused(&answer, "vm.error", "bad_request");
    assert_eq!(
        body["error"],
        "`module` is missing: give the program as {path}, {base64}, {wat} or {sha256}."
    );
    let answer = ask(&mut client, "wasm.run", json!({})).await;
    refused(&answer, "vm.error", "bad_request");
    let answer = ask(&mut client, "vm.spawn", json!({"backend": "v86"})).await;
    refused(&answer, "vm.error", "backend_unavailable");
}

#[tokio::test]
async fn stdin_after_its_end_is_conflict_with_the_pid() {
    // Built (or found) before connecting: a build blocks this test's runtime, the kernel's too.
    let module = json!({"base64": base64(&guest("spin"))});
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let pid = spawn(&mut client, json!({"module": module, "stdin": "all of it"})).await;
    let answer = ask(&mut client, "vm.stdin", json!({"pid": pid, "data": "more"})).await;
    let body = refused(&answer, "vm.error", "conflict");
    assert_eq!(body["details"]["pid"], pid);
    let answer = ask(&mut client, "vm.kill", json!({"pid": pid})).await;
    assert_eq!(answer.topic.as_str(), "vm.kill:ack");
    let end = client.recv().await;
    let body = refused(&end, "vm.error", "cancelled");
    assert_eq!(body["details"]["pid"], pid);
    assert_eq!(body["error"], format!("Program {pid} was killed."));
}

#[tokio::test]
async fn wasm_run_is_acknowledged_on_vm_spawn_ack() {
    let module = json!({"base64": base64(&guest("hello"))});
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let answer = ask(&mut client, "wasm.run", json!({"module": module})).await;
    assert_eq!(answer.topic.as_str(), "vm.spawn:ack", "{answer:?}");
    assert!(payload(&answer)["pid"].as_u64().is_some());
}

#[tokio::test]
async fn a_tab_reporting_on_a_machine_it_does_not_host_is_not_found_with_the_pid() {
    let kernel = start(Config::default()).await;
    let mut tab = Client::connect(kernel.addr).await;
    for (topic, body) in [
        ("compute:output", json!({"pid": 42, "data": "x"})),
        ("compute:exit", json!({"pid": 42, "code": 0})),
    ] {
        let answer = ask(&mut tab, topic, body).await;
        let body = refused(&answer, "compute:error", "not_found");
        assert_eq!(body["details"]["pid"], 42);
    }
}

#[tokio::test]
async fn a_tabs_request_sent_to_the_kernel_is_bad_request_saying_to_address_it() {
    let kernel = start(Config::default()).await;
    let mut client = Client::connect(kernel.addr).await;
    let answer = ask(&mut client, "vfs:stat", json!({"path": "/a"})).await;
    let body = refused(&answer, "vfs:error", "bad_request");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("`vfs:stat` is served by a browser tab, not the kernel"),
        "{body}"
    );
    let answer = ask(&mut client, "vfs:register", json!({"sessionId": "c-bad"})).await;
    refused(&answer, "vfs:error", "bad_request");
}
