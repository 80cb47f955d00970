//! The agent (`ai.agent.*`) against a real kernel over real WebSockets: a scripted
//! OpenAI-compatible provider on loopback streams tool calls (`support/provider.rs`), and a fake
//! tab, a real client of the kernel, serves the files the agent reads and writes
//! (`support/tab.rs`). Every tool call is a request of the caller: programs run on wasmtime, the
//! permission rules and rate limits are the caller's, and the files are the caller's own tab's.

#[path = "support/provider.rs"]
mod provider;
mod support;
#[path = "support/tab.rs"]
mod tab;

use std::num::{NonZeroU32, NonZeroU64};

use aether_kernel::Config;
use aether_kernel::config::{
    Action, BaseUrl, PermissionRule, RateRule, ToolAction, ToolPattern, ToolRule, TopicPrefix,
};
use aether_shared::Envelope;
use provider::{FakeProvider, Turn};
use serde_json::{Value, json};
use support::{Dial, payload, start};
use tab::Tab;

/// A WAT program that does not compile (a missing parenthesis).
const BROKEN: &str = "(module (func (export \"_start\")";

/// The fixed program: prints `hello` and exits 0.
const FIXED: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))"#;

/// A program that never ends on its own.
const SPIN: &str = r#"(module (func (export "_start") (loop (br 0))))"#;

/// A kernel whose provider is the scripted model, with the default policy.
fn config(provider: &FakeProvider) -> Config {
    let mut config = Config::default();
    config.ai.provider.base_url = Some(BaseUrl::parse(&provider.base_url()).unwrap());
    config.ai.provider.model = Some("scripted".into());
    config
}

/// The same, with a policy that allows every tool.
fn trusting(provider: &FakeProvider) -> Config {
    let mut config = config(provider);
    config.ai.agent.policy = vec![ToolRule {
        tool: ToolPattern::parse("*").unwrap(),
        action: ToolAction::Allow,
    }];
    config
}

fn rule(prefix: &str, action: Action) -> PermissionRule {
    PermissionRule {
        topic_prefix: TopicPrefix::parse(prefix).unwrap(),
        action,
    }
}

/// Starts a run; returns the start's request id and the run id.
async fn begin(tab: &mut Tab, body: Value) -> (String, String) {
    let id = tab.request("ai.agent.start", body).await;
    let ack = tab.reply_to(&id).await;
    assert_eq!(
        ack.topic.as_str(),
        "ai.agent.start:ack",
        "{:?}",
        payload(&ack)
    );
    let run_id = payload(&ack)["run_id"].as_str().unwrap().to_owned();
    (id, run_id)
}

/// What a run sent after its ack.
struct Outcome {
    events: Vec<Value>,
    end: Envelope,
}

impl Outcome {
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["kind"] == kind).collect()
    }

    fn end(&self) -> Value {
        payload(&self.end)
    }
}

/// Follows run `id` to its end; every call that waits for approval gets `decide(call)`'s
/// decision (`None`: left unanswered).
async fn follow(
    tab: &mut Tab,
    id: &str,
    mut decide: impl FnMut(&Value) -> Option<&'static str>,
) -> Outcome {
    let mut events = Vec::new();
    loop {
        let env = tab.recv().await;
        if env.request_id() != Some(id) {
            continue;
        }
        let body = payload(&env);
        match env.topic.as_str() {
            "ai.agent.event" => {
                assert_eq!(body["seq"], events.len() as u64, "events come in order");
                if body["kind"] == "tool_call"
                    && body["needs_approval"] == true
                    && let Some(decision) = decide(&body)
                {
                    let approve = json!({"run_id": body["run_id"], "call_id": body["call_id"],
                                         "decision": decision});
                    tab.request("ai.agent.approve", approve).await;
                }
                events.push(body);
            }
            "ai.agent.done" | "ai.error" => return Outcome { events, end: env },
            other => panic!("unexpected {other}: {body}"),
        }
    }
}

/// A run of `goal` to its end with every approval answered `decision`.
async fn run(tab: &mut Tab, goal: Value, decision: Option<&'static str>) -> Outcome {
    let (id, _) = begin(tab, goal).await;
    follow(tab, &id, |_| decision).await
}

/// The messages the provider was sent in its `n`-th request.
fn sent(provider: &FakeProvider, n: usize) -> Vec<Value> {
    provider.requests()[n].body["messages"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_agent_reads_writes_and_runs_a_program_in_the_callers_tab() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-agent").await;
    tab.put("/hello.wat", BROKEN);
    provider.script([
        Turn::call("read_file", json!({"path": "/hello.wat"})),
        Turn::call(
            "write_file",
            json!({"path": "/hello.wat", "content": FIXED}),
        ),
        Turn::call("run_program", json!({"path": "/hello.wat"})),
        Turn::say("Fixed: /hello.wat prints hello."),
    ]);
    let out = run(
        &mut tab,
        json!({"goal": "fix /hello.wat", "context": {"paths": ["/hello.wat"]}}),
        Some("allow"),
    )
    .await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let done = out.end();
    assert_eq!(done["summary"], "Fixed: /hello.wat prints hello.");
    assert_eq!(
        (done["turns"].as_u64(), done["tool_calls"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(done["usage"]["total_tokens"], 60);

    let calls = out.of_kind("tool_call");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["tool"], "read_file");
    assert_eq!(calls[0]["needs_approval"], false, "reads are allowed");
    assert_eq!(calls[1]["needs_approval"], true, "writes ask");
    assert_eq!(
        calls[1]["arguments"]["content"], FIXED,
        "the full arguments"
    );
    assert_eq!(calls[1]["write"]["before"], BROKEN);
    assert_eq!(calls[1]["write"]["after"], FIXED);
    assert_eq!(out.of_kind("checkpoint")[0]["paths"], json!(["/hello.wat"]));
    let results = out.of_kind("tool_result");
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
    assert_eq!(results[0]["result"]["content"], BROKEN);
    assert_eq!(results[2]["result"]["code"], 0);
    assert_eq!(results[2]["result"]["stdout"], "hello\n", "ran on wasmtime");
    assert_eq!(out.of_kind("usage").last().unwrap()["total"], 60);
    assert!(
        out.of_kind("message")
            .iter()
            .any(|m| m["delta"] == "Fixed: /"),
        "the answer streams"
    );
    assert_eq!(tab.get("/hello.wat").unwrap(), FIXED.as_bytes());

    // The model was offered the contract's tools and read each result by its call id.
    let first = &provider.requests()[0].body;
    assert_eq!(first["tools"].as_array().unwrap().len(), 7);
    assert_eq!(first["tools"][0]["function"]["name"], "list_files");
    let last = sent(&provider, 3);
    let read = last
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "call_0_read_file")
        .unwrap();
    assert!(
        read["content"].as_str().unwrap().contains("(module"),
        "{read}"
    );
    let assistant = last.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "read_file");
    let ran = last.last().unwrap();
    assert!(
        ran["content"].as_str().unwrap().contains("hello\\n"),
        "{ran}"
    );

    // The run is in the history with its transcript.
    let id = tab
        .request("ai.agent.status", json!({"run_id": done["run_id"]}))
        .await;
    let status = payload(&tab.reply_to(&id).await);
    assert_eq!(status["state"], "done");
    assert_eq!(status["changed"], json!(["/hello.wat"]));
    assert!(
        status["transcript"].as_array().unwrap().len() >= 9,
        "{status}"
    );
}

#[tokio::test]
async fn a_run_that_asks_before_reads_waits_for_each_read_and_a_denied_one_is_not_read() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-ask-reads").await;
    tab.put("/secret.txt", "mine");
    provider.script([
        Turn::call("read_file", json!({"path": "/secret.txt"})),
        Turn::call("list_files", json!({"path": "/"})),
        Turn::say("I was not let read it."),
    ]);
    let (id, _) = begin(
        &mut tab,
        json!({"goal": "read /secret.txt", "ask_before_reads": true}),
    )
    .await;
    // The first read is denied, the second allowed.
    let mut asked = 0;
    let out = follow(&mut tab, &id, |_| {
        asked += 1;
        Some(if asked == 1 { "deny" } else { "allow" })
    })
    .await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let calls = out.of_kind("tool_call");
    assert_eq!(calls.len(), 2);
    assert!(
        calls.iter().all(|c| c["needs_approval"] == true),
        "reads the policy allows wait when the request asks so: {calls:?}"
    );
    let results = out.of_kind("tool_result");
    assert_eq!(results[0]["ok"], false);
    assert_eq!(results[0]["error"]["code"], "permission_denied");
    assert!(
        !Value::Array(sent(&provider, 1))
            .to_string()
            .contains("mine"),
        "the denied read never reached the model"
    );
    assert_eq!(results[1]["ok"], true, "{:?}", results[1]);
}

#[tokio::test]
async fn a_task_the_agent_runs_reads_programs_from_the_callers_tab() {
    let provider = FakeProvider::start().await;
    let kernel = start(trusting(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-agent-task").await;
    tab.put("/hello.wat", FIXED);
    let definition = "name: greet\nnodes:\n  - id: hi\n    topic: vm.spawn\n    payload: {module: {path: /hello.wat}}\n";
    provider.script([
        Turn::call("run_task", json!({"definition": definition})),
        Turn::say("The task ran."),
    ]);
    let out = run(&mut tab, json!({"goal": "run the greeting task"}), None).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let result = out.of_kind("tool_result")[0];
    assert_eq!(result["ok"], true, "{result}");
    assert!(
        result["result"].to_string().contains("hello"),
        "the node's program was read from the caller's tab: {result}"
    );
}

#[tokio::test]
async fn a_denied_call_goes_back_to_the_model_and_the_run_goes_on() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-deny").await;
    tab.put("/a.txt", "keep me");
    provider.script([
        Turn::call("write_file", json!({"path": "/a.txt", "content": "gone"})),
        Turn::say("Understood, I left it."),
    ]);
    let out = run(&mut tab, json!({"goal": "rewrite /a.txt"}), Some("deny")).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let result = out.of_kind("tool_result")[0];
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["code"], "permission_denied");
    assert!(
        result["error"]["error"]
            .as_str()
            .unwrap()
            .contains("declined")
    );
    assert_eq!(tab.get("/a.txt").unwrap(), b"keep me");
    let told = sent(&provider, 1);
    assert!(
        told.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("declined")
    );
}

#[tokio::test]
async fn a_tool_the_permission_rules_forbid_returns_to_the_model() {
    let provider = FakeProvider::start().await;
    let mut config = trusting(&provider);
    config.permissions = vec![rule("vm.", Action::Deny), rule("", Action::Allow)];
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-perm").await;
    provider.script([
        Turn::call("run_program", json!({"wat": FIXED})),
        Turn::say("I may not run programs here."),
    ]);
    let out = run(&mut tab, json!({"goal": "run it"}), None).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let result = out.of_kind("tool_result")[0];
    assert_eq!(result["error"]["code"], "permission_denied", "{result}");
    let told = sent(&provider, 1);
    assert!(
        told.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("permission_denied")
    );
}

#[tokio::test]
async fn a_file_request_the_permission_rules_forbid_returns_to_the_model() {
    let provider = FakeProvider::start().await;
    let mut config = trusting(&provider);
    config.permissions = vec![rule("vfs:write", Action::Deny), rule("", Action::Allow)];
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-perm-vfs").await;
    tab.put("/a.txt", "kept");
    provider.script([
        Turn::call(
            "write_file",
            json!({"path": "/a.txt", "content": "changed"}),
        ),
        Turn::say("I may not write files here."),
    ]);
    let out = run(&mut tab, json!({"goal": "write it"}), None).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let result = out.of_kind("tool_result")[0];
    assert_eq!(result["error"]["code"], "permission_denied", "{result}");
    assert_eq!(
        tab.get("/a.txt").unwrap(),
        b"kept",
        "the tab never saw the write"
    );
}

/// The `limit` of a run that ended with `ai.error`.
fn limit_of(out: &Outcome) -> (String, String) {
    assert_eq!(out.end.topic.as_str(), "ai.error", "{}", out.end());
    let end = out.end();
    assert!(end["details"]["run_id"].is_string(), "{end}");
    (
        end["code"].as_str().unwrap().to_owned(),
        end["details"]["limit"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn each_budget_ends_the_run_with_its_limit() {
    let provider = FakeProvider::start().await;
    let kernel = start(trusting(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-budget").await;
    let list = || Turn::call("list_files", json!({"path": "/"}));

    provider.script([list(), list()]);
    let out = run(
        &mut tab,
        json!({"goal": "g", "budget": {"max_turns": 2}}),
        None,
    )
    .await;
    assert_eq!(
        limit_of(&out),
        ("resource_exceeded".into(), "max_turns".into())
    );

    let mut two = list();
    two.calls.push(("list_files".into(), json!({"path": "/x"})));
    provider.script([two]);
    let out = run(
        &mut tab,
        json!({"goal": "g", "budget": {"max_tool_calls": 1}}),
        None,
    )
    .await;
    assert_eq!(
        limit_of(&out),
        ("resource_exceeded".into(), "max_tool_calls".into())
    );
    assert_eq!(
        out.of_kind("tool_call").len(),
        1,
        "the call over budget is not run"
    );

    provider.script([list(), list()]);
    let out = run(
        &mut tab,
        json!({"goal": "g", "budget": {"max_tokens": 20}}),
        None,
    )
    .await;
    assert_eq!(
        limit_of(&out),
        ("resource_exceeded".into(), "max_tokens".into())
    );
    assert_eq!(out.of_kind("usage").last().unwrap()["total"], 30);

    let slow = Turn {
        delay_ms: 3_000,
        ..Turn::say("too late")
    };
    provider.script([slow]);
    let out = run(
        &mut tab,
        json!({"goal": "g", "budget": {"wall_timeout_ms": 200}}),
        None,
    )
    .await;
    assert_eq!(limit_of(&out), ("timeout".into(), "wall_timeout_ms".into()));
}

#[tokio::test]
async fn the_same_failing_call_again_and_again_ends_the_run() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-loop").await;
    let missing = || Turn::call("read_file", json!({"path": "/missing.txt"}));
    provider.script([missing(), missing(), missing()]);
    let out = run(&mut tab, json!({"goal": "read it"}), None).await;
    assert_eq!(
        limit_of(&out),
        ("resource_exceeded".into(), "repeated_failure".into())
    );
    let results = out.of_kind("tool_result");
    assert_eq!(results.len(), 3);
    assert!(
        results.iter().all(|r| r["error"]["code"] == "not_found"),
        "{results:?}"
    );
}

#[tokio::test]
async fn cancel_kills_the_running_program_and_ends_the_run() {
    let provider = FakeProvider::start().await;
    let mut config = trusting(&provider);
    config.compute.max_concurrent_total = NonZeroU32::new(1).unwrap();
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-cancel").await;
    provider.script([Turn::call("run_program", json!({"wat": SPIN}))]);
    let (id, run_id) = begin(&mut tab, json!({"goal": "spin"})).await;
    loop {
        let env = tab.recv().await;
        if payload(&env)["kind"] == "tool_call" {
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tab.request("ai.agent.cancel", json!({"run_id": run_id}))
        .await;
    let out = follow(&mut tab, &id, |_| None).await;
    assert_eq!(out.end.topic.as_str(), "ai.error");
    assert_eq!(out.end()["code"], "cancelled");
    assert_eq!(out.end()["details"]["run_id"], run_id.as_str());
    // The kernel runs one program at a time: the spinning one is gone.
    let spawn = tab
        .request("vm.spawn", json!({"module": {"wat": FIXED}}))
        .await;
    let ack = tab.reply_to(&spawn).await;
    assert_eq!(ack.topic.as_str(), "vm.spawn:ack", "{:?}", payload(&ack));
    let id = tab
        .request("ai.agent.status", json!({"run_id": run_id}))
        .await;
    assert_eq!(payload(&tab.reply_to(&id).await)["state"], "cancelled");
}

#[tokio::test]
async fn undo_restores_every_byte_and_deletes_created_files() {
    let provider = FakeProvider::start().await;
    let kernel = start(trusting(&provider)).await;
    let mut tab = Tab::open(kernel.addr, "s-undo").await;
    let binary = vec![0u8, 159, 146, 150, 255, b'\n'];
    tab.put("/a.txt", "old");
    tab.put("/bin.dat", binary.clone());
    let write = |path: &str, content: &str| {
        Turn::call("write_file", json!({"path": path, "content": content}))
    };
    provider.script([
        write("/a.txt", "new 1"),
        write("/a.txt", "new 2"),
        write("/created.txt", "x"),
        write("/bin.dat", "text now"),
        Turn::say("done"),
    ]);
    let out = run(&mut tab, json!({"goal": "write"}), None).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let run_id = out.end()["run_id"].as_str().unwrap().to_owned();
    assert_eq!(tab.get("/a.txt").unwrap(), b"new 2");

    let id = tab
        .request("ai.agent.undo", json!({"run_id": run_id}))
        .await;
    let ack = tab.reply_to(&id).await;
    assert_eq!(
        ack.topic.as_str(),
        "ai.agent.undo:ack",
        "{:?}",
        payload(&ack)
    );
    assert_eq!(
        payload(&ack)["restored"],
        json!(["/a.txt", "/bin.dat", "/created.txt"])
    );
    assert_eq!(tab.get("/a.txt").unwrap(), b"old");
    assert_eq!(tab.get("/bin.dat").unwrap(), binary, "byte for byte");
    assert_eq!(tab.get("/created.txt"), None);

    let id = tab
        .request("ai.agent.undo", json!({"run_id": run_id}))
        .await;
    assert_eq!(payload(&tab.reply_to(&id).await)["restored"], json!([]));
    let id = tab
        .request("ai.agent.status", json!({"run_id": run_id}))
        .await;
    let status = payload(&tab.reply_to(&id).await);
    assert_eq!(status["undone"], true);
}

#[tokio::test]
async fn a_running_run_cannot_be_undone_and_an_unanswered_approval_times_out() {
    let provider = FakeProvider::start().await;
    let mut config = config(&provider);
    config.ai.agent.approval_timeout_ms = NonZeroU64::new(300).unwrap();
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-wait").await;
    provider.script([Turn::call(
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    )]);
    let (id, run_id) = begin(&mut tab, json!({"goal": "write"})).await;
    let undo = tab
        .request("ai.agent.undo", json!({"run_id": run_id}))
        .await;
    let refused = payload(&tab.reply_to(&undo).await);
    assert_eq!(refused["code"], "bad_request", "{refused}");
    let out = follow(&mut tab, &id, |_| None).await;
    assert_eq!(
        limit_of(&out),
        ("timeout".into(), "approval_timeout_ms".into())
    );
    assert_eq!(tab.get("/a.txt"), None, "nothing was written");
}

#[tokio::test]
async fn a_client_over_its_run_cap_is_refused_until_one_ends() {
    let provider = FakeProvider::start().await;
    let mut config = config(&provider);
    config.ai.agent.max_runs_per_client = NonZeroU32::new(1).unwrap();
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-cap").await;
    // The first run waits for the user's approval of its write: it stays going.
    provider.script([Turn::call(
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    )]);
    let (_, run_id) = begin(&mut tab, json!({"goal": "write"})).await;
    let second = tab
        .request("ai.agent.start", json!({"goal": "another"}))
        .await;
    let refused = tab.reply_to(&second).await;
    assert_eq!(refused.topic.as_str(), "ai.error");
    let body = payload(&refused);
    assert_eq!(body["code"], "resource_exceeded", "{body}");
    assert_eq!(body["details"]["limit"], "max_runs_per_client", "{body}");

    // Once the first run ends, a run may start again.
    let cancel = tab
        .request("ai.agent.cancel", json!({"run_id": run_id}))
        .await;
    tab.reply_to(&cancel).await;
    let mut again = String::new();
    for _ in 0..50 {
        let id = tab
            .request("ai.agent.start", json!({"goal": "again"}))
            .await;
        let reply = tab.reply_to(&id).await;
        again = reply.topic.as_str().to_owned();
        if again == "ai.agent.start:ack" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(again, "ai.agent.start:ack");
}

#[tokio::test]
async fn two_clients_never_see_each_others_runs() {
    let provider = FakeProvider::start().await;
    let mut config = config(&provider);
    config.ai.agent.approval_timeout_ms = NonZeroU64::new(2_000).unwrap();
    let kernel = start(config).await;
    let mut alice = Tab::open(kernel.addr, "s-alice").await;
    let mut bob = Tab::open(kernel.addr, "s-bob").await;
    bob.request("bus.subscribe", json!({"patterns": ["ai.agent.*"]}))
        .await;
    provider.script([Turn::call(
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    )]);
    let (id, run_id) = begin(&mut alice, json!({"goal": "write"})).await;
    // Bob cannot decide on, nor cancel, Alice's run.
    let approve = json!({"run_id": run_id, "call_id": "call_0_write_file", "decision": "allow"});
    let tried = bob.request("ai.agent.approve", approve).await;
    assert_eq!(payload(&bob.reply_to(&tried).await)["code"], "not_found");
    let tried = bob
        .request("ai.agent.cancel", json!({"run_id": run_id}))
        .await;
    assert_eq!(payload(&bob.reply_to(&tried).await)["code"], "not_found");
    let out = follow(&mut alice, &id, |_| Some("deny")).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    assert!(out.events.iter().all(|e| e["run_id"] == run_id.as_str()));
    // Everything Bob received was his own.
    let ping = bob.request("kernel.ping", json!({})).await;
    loop {
        let env = bob.recv().await;
        if env.request_id() == Some(ping.as_str()) {
            break;
        }
        assert!(
            !env.topic.as_str().starts_with("ai.agent.event")
                && !env.topic.as_str().starts_with("ai.agent.done"),
            "Bob saw {:?}",
            payload(&env)
        );
    }
    assert!(
        bob.served.lock().unwrap().is_empty(),
        "Alice's run read Alice's tab only"
    );
    assert!(!alice.served.lock().unwrap().is_empty());
}

#[tokio::test]
async fn tool_calls_draw_from_the_callers_rate_limits() {
    let provider = FakeProvider::start().await;
    let mut config = trusting(&provider);
    config.rate_limits = vec![RateRule {
        topic: "vm.spawn".parse().unwrap(),
        limit: NonZeroU32::new(1).unwrap(),
        burst: NonZeroU32::new(1).unwrap(),
        window_ms: NonZeroU64::new(60_000).unwrap(),
    }];
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-rate").await;
    // The caller spends its one spawn itself.
    let spawn = tab
        .request("vm.spawn", json!({"module": {"wat": FIXED}}))
        .await;
    assert_eq!(tab.reply_to(&spawn).await.topic.as_str(), "vm.spawn:ack");
    provider.script([
        Turn::call("run_program", json!({"wat": FIXED})),
        Turn::say("Rate limited; try later."),
    ]);
    let out = run(&mut tab, json!({"goal": "run"}), None).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let result = out.of_kind("tool_result")[0];
    assert_eq!(result["error"]["code"], "rate_limited", "{result}");
    assert!(
        result["error"]["details"]["retry_after_ms"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn another_principals_runs_are_not_found() {
    let provider = FakeProvider::start().await;
    let dir = std::env::temp_dir().join(format!("aether-agent-principals-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let token = Dial {
        bearer: Some("let-me-in-0123456789".into()),
        ..Dial::default()
    };
    // A token holder's run…
    let mut first = config(&provider);
    first.data_dir = Some(dir.clone());
    first.client_token = Some("let-me-in-0123456789".into());
    let kernel = start(first).await;
    let mut holder = Tab::open_as(kernel.addr, "s-holder", &token).await;
    provider.script([Turn::say("hi")]);
    let out = run(&mut holder, json!({"goal": "say hi"}), None).await;
    let run_id = out.end()["run_id"].as_str().unwrap().to_owned();
    kernel.shutdown.cancel();
    let _ = kernel.task.await;
    // …read by a local client of a kernel on the same data.
    let mut second = config(&provider);
    second.data_dir = Some(dir.clone());
    second.admin_token = Some("root-token-0123456789".into());
    let kernel = start(second).await;
    let mut local = Tab::open(kernel.addr, "s-local").await;
    for topic in ["ai.agent.status", "ai.agent.undo"] {
        let id = local.request(topic, json!({"run_id": run_id})).await;
        let refused = payload(&local.reply_to(&id).await);
        assert_eq!(refused["code"], "not_found", "{topic}: {refused}");
    }
    let id = local.request("ai.agent.list", json!({})).await;
    assert_eq!(payload(&local.reply_to(&id).await)["runs"], json!([]));
    let admin = Dial {
        bearer: Some("root-token-0123456789".into()),
        ..Dial::default()
    };
    let mut root = Tab::open_as(kernel.addr, "s-root", &admin).await;
    let id = root
        .request("ai.agent.status", json!({"run_id": run_id}))
        .await;
    assert_eq!(payload(&root.reply_to(&id).await)["state"], "done");
    let _ = std::fs::remove_dir_all(&dir);
}
