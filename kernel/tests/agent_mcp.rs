//! Outside MCP servers as tools of the agent (`ai.mcp_servers`), against a real kernel: real MCP
//! servers from npm started over stdio (`@modelcontextprotocol/server-everything`, and
//! `fixtures/mcp/misbehaving.mjs` built on `@modelcontextprotocol/sdk`, which exits, hangs or
//! fails on request), and the kernel's own `/mcp` as a real Streamable HTTP server. The model is
//! the scripted provider (`support/provider.rs`), the caller a fake tab (`support/tab.rs`).
//!
//! These tests need Node.js and the end2end npm packages (`cargo xtask test` installs them);
//! without them they fail and say so.

#[path = "support/provider.rs"]
mod provider;
mod support;
#[path = "support/tab.rs"]
mod tab;

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aether_kernel::Config;
use aether_kernel::config::mcp_servers::{HeaderFromEnv, McpServerConfig, Transport};
use aether_kernel::config::{BaseUrl, EnvVarName, ServerName, ToolAction, ToolPattern, ToolRule};
use aether_shared::Envelope;
use provider::{FakeProvider, Turn};
use serde_json::{Value, json};
use support::{payload, start, start_with};
use tab::Tab;

/// `end2end/node_modules`, with the packages these tests run; fails the test, saying how to
/// get them, when they or Node.js are missing.
fn node_modules() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/node_modules");
    for needed in [
        "@modelcontextprotocol/server-everything/dist/index.js",
        "@modelcontextprotocol/sdk/dist/esm/server/index.js",
    ] {
        assert!(
            dir.join(needed).is_file(),
            "{} is missing: run `cargo xtask test` (it installs the end2end npm packages)",
            dir.join(needed).display()
        );
    }
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "`node` is not on PATH: install Node.js 20 or later, then run `cargo xtask test` (it installs the end2end npm packages)"
    );
    dir
}

/// A server the kernel starts as `node <args…>`.
fn node_server(args: Vec<String>, call_timeout_ms: u64) -> McpServerConfig {
    McpServerConfig {
        transport: Transport::Stdio {
            command: "node".into(),
            args,
            env: BTreeMap::new(),
        },
        call_timeout_ms: NonZeroU64::new(call_timeout_ms).unwrap(),
    }
}

/// `@modelcontextprotocol/server-everything` over stdio.
fn everything() -> McpServerConfig {
    let script = node_modules().join("@modelcontextprotocol/server-everything/dist/index.js");
    node_server(vec![script.display().to_string(), "stdio".into()], 30_000)
}

/// The misbehaving fixture over stdio.
fn misbehaving(call_timeout_ms: u64) -> McpServerConfig {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp/misbehaving.mjs");
    let modules = node_modules().display().to_string();
    node_server(vec![script.display().to_string(), modules], call_timeout_ms)
}

fn rule(tool: &str, action: ToolAction) -> ToolRule {
    ToolRule {
        tool: ToolPattern::parse(tool).unwrap(),
        action,
    }
}

/// The scripted model, the given servers, and the given policy (the default one when `None`).
fn config(
    provider: &FakeProvider,
    servers: Vec<(&str, McpServerConfig)>,
    policy: Option<Vec<ToolRule>>,
) -> Config {
    let mut config = Config::default();
    config.ai.provider.base_url = Some(BaseUrl::parse(&provider.base_url()).unwrap());
    config.ai.provider.model = Some("scripted".into());
    for (name, server) in servers {
        config
            .ai
            .mcp_servers
            .0
            .insert(ServerName::parse(name).unwrap(), server);
    }
    if let Some(policy) = policy {
        config.ai.agent.policy = policy;
    }
    config.validate_with_env(|_| Some("set".into())).unwrap();
    config
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

    fn result(&self, n: usize) -> &Value {
        self.of_kind("tool_result")[n]
    }
}

/// Runs `goal` to its end; every call that waits for approval gets the next of `decisions`.
async fn run(tab: &mut Tab, goal: &str, decisions: &[&str]) -> Outcome {
    let id = tab.request("ai.agent.start", json!({"goal": goal})).await;
    let ack = tab.reply_to(&id).await;
    assert_eq!(
        ack.topic.as_str(),
        "ai.agent.start:ack",
        "{:?}",
        payload(&ack)
    );
    let mut decisions = decisions.iter();
    let mut events = Vec::new();
    loop {
        let env = tab.recv().await;
        if env.request_id() != Some(id.as_str()) {
            continue;
        }
        let body = payload(&env);
        match env.topic.as_str() {
            "ai.agent.event" => {
                if body["kind"] == "tool_call" && body["needs_approval"] == true {
                    let decision = decisions.next().expect("a decision for every approval");
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

/// The messages the provider was sent in its `n`-th request.
fn sent(provider: &FakeProvider, n: usize) -> Vec<Value> {
    provider.requests()[n].body["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// The tool names the provider was offered in its `n`-th request.
fn offered(provider: &FakeProvider, n: usize) -> Vec<String> {
    provider.requests()[n].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// True once process `pid` is gone and reaped (no `/proc` entry; a zombie still has one).
async fn reaped_within(pid: u32, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn pid_of(result: &Value) -> u32 {
    assert_eq!(result["ok"], true, "{result}");
    result["result"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_agent_calls_echo_of_a_real_stdio_server_and_reads_its_answer() {
    let provider = FakeProvider::start().await;
    let policy = vec![rule("everything__echo", ToolAction::Allow)];
    let kernel = start(config(
        &provider,
        vec![("everything", everything())],
        Some(policy),
    ))
    .await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-echo").await;
    provider.script([
        Turn::call("everything__echo", json!({"message": "hello from aether"})),
        Turn::say("It echoed."),
    ]);
    let out = run(&mut tab, "echo something", &[]).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    assert_eq!(out.end()["summary"], "It echoed.");

    let call = out.of_kind("tool_call")[0];
    assert_eq!(call["tool"], "everything__echo");
    assert_eq!(call["arguments"], json!({"message": "hello from aether"}));
    assert_eq!(call["needs_approval"], false, "the policy allows it");
    let result = out.result(0);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["result"], "Echo: hello from aether");

    // Offered next to the built-in tools, with the server's description and schema.
    let tools = &provider.requests()[0].body["tools"];
    let names = offered(&provider, 0);
    assert_eq!(
        &names[..7],
        [
            "list_files",
            "read_file",
            "search_files",
            "write_file",
            "run_program",
            "run_task",
            "shell"
        ]
    );
    let echo = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "everything__echo")
        .expect("echo is offered");
    assert_eq!(
        echo["function"]["description"],
        "Echoes back the input string"
    );
    assert_eq!(
        echo["function"]["parameters"]["properties"]["message"]["type"],
        "string"
    );
    let system = sent(&provider, 0)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        system.contains("- everything__echo: Echoes back the input string"),
        "{system}"
    );

    // The model's next turn read the answer.
    let told = sent(&provider, 1);
    let answer = told.last().unwrap();
    assert_eq!(answer["role"], "tool");
    assert_eq!(answer["content"], "Echo: hello from aether");
}

#[tokio::test]
async fn under_the_default_policy_an_outside_call_waits_for_the_users_decision() {
    let provider = FakeProvider::start().await;
    let kernel = start(config(&provider, vec![("everything", everything())], None)).await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-ask").await;
    provider.script([
        Turn::call("everything__echo", json!({"message": "one"})),
        Turn::call("everything__echo", json!({"message": "two"})),
        Turn::say("Done."),
    ]);
    let out = run(&mut tab, "echo twice", &["deny", "allow"]).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let calls = out.of_kind("tool_call");
    assert!(
        calls.iter().all(|c| c["needs_approval"] == true),
        "{calls:?}"
    );
    assert_eq!(
        calls[1]["arguments"],
        json!({"message": "two"}),
        "full arguments"
    );
    let declined = out.result(0);
    assert_eq!(declined["ok"], false);
    assert_eq!(declined["error"]["code"], "permission_denied", "{declined}");
    assert_eq!(out.result(1)["result"], "Echo: two");
}

#[tokio::test]
async fn a_server_that_exits_mid_call_fails_that_call_the_run_goes_on_and_the_next_use_restarts_it()
{
    let provider = FakeProvider::start().await;
    let policy = vec![rule("flaky__*", ToolAction::Allow)];
    let kernel = start(config(
        &provider,
        vec![("flaky", misbehaving(30_000))],
        Some(policy),
    ))
    .await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-exit").await;
    provider.script([
        Turn::call("flaky__pid", json!({})),
        Turn::call("flaky__exit", json!({})),
        Turn::say("The server went away; I carried on."),
    ]);
    let out = run(&mut tab, "use the flaky server", &[]).await;
    assert_eq!(
        out.end.topic.as_str(),
        "ai.agent.done",
        "the run goes on: {}",
        out.end()
    );
    assert_eq!(out.end()["summary"], "The server went away; I carried on.");
    let first = pid_of(out.result(0));
    let lost = out.result(1);
    assert_eq!(lost["ok"], false);
    assert_eq!(lost["error"]["code"], "backend_unavailable", "{lost}");
    assert_eq!(lost["error"]["details"]["server"], "flaky");
    let said = lost["error"]["error"].as_str().unwrap();
    assert!(
        said.contains("`flaky`") && said.contains("restarted"),
        "{said}"
    );
    let told = sent(&provider, 2);
    assert!(
        told.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("`flaky`"),
        "the model reads the failure"
    );
    assert!(
        reaped_within(first, Duration::from_secs(10)).await,
        "the exited server {first} was reaped"
    );

    provider.script([Turn::call("flaky__pid", json!({})), Turn::say("Back.")]);
    let again = run(&mut tab, "use it again", &[]).await;
    assert_eq!(again.end.topic.as_str(), "ai.agent.done", "{}", again.end());
    let second = pid_of(again.result(0));
    assert_ne!(first, second, "a fresh server");
}

#[tokio::test]
async fn a_hanging_tool_ends_with_a_timeout_and_a_tool_error_leaves_the_server_up() {
    let provider = FakeProvider::start().await;
    let policy = vec![rule("flaky__*", ToolAction::Allow)];
    let kernel = start(config(
        &provider,
        vec![("flaky", misbehaving(1_500))],
        Some(policy),
    ))
    .await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-hang").await;
    provider.script([
        Turn::call("flaky__pid", json!({})),
        Turn::call("flaky__fail", json!({})),
        Turn::call("flaky__pid", json!({})),
        Turn::call("flaky__hang", json!({})),
        Turn::call("flaky__pid", json!({})),
        Turn::say("Survived."),
    ]);
    let started = std::time::Instant::now();
    let out = run(&mut tab, "try everything", &[]).await;
    assert_eq!(
        out.end.topic.as_str(),
        "ai.agent.done",
        "the run goes on: {}",
        out.end()
    );
    let first = pid_of(out.result(0));

    let failed = out.result(1);
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["error"]["code"], "bad_request", "{failed}");
    assert!(
        failed["error"]["error"]
            .as_str()
            .unwrap()
            .contains("it failed on purpose")
    );
    assert_eq!(
        pid_of(out.result(2)),
        first,
        "a tool's own error does not restart its server"
    );

    let hung = out.result(3);
    assert_eq!(hung["ok"], false);
    assert_eq!(hung["error"]["code"], "timeout", "{hung}");
    assert_eq!(hung["error"]["details"]["server"], "flaky");
    assert_eq!(hung["error"]["details"]["value"], 1500);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by call_timeout_ms"
    );

    let second = pid_of(out.result(4));
    assert_ne!(first, second, "the hung server was replaced");
    assert!(
        reaped_within(first, Duration::from_secs(15)).await,
        "the hung server {first} was stopped and reaped"
    );
}

#[tokio::test]
async fn a_server_that_cannot_start_is_left_out_and_the_model_is_told() {
    let provider = FakeProvider::start().await;
    let ghost = McpServerConfig {
        transport: Transport::Stdio {
            command: "/nonexistent/aether-mcp-server".into(),
            args: Vec::new(),
            env: BTreeMap::new(),
        },
        call_timeout_ms: NonZeroU64::new(5_000).unwrap(),
    };
    let kernel = start(config(&provider, vec![("ghost", ghost)], None)).await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-ghost").await;
    provider.script([Turn::say("Nothing to call.")]);
    let out = run(&mut tab, "look around", &[]).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    assert!(
        !offered(&provider, 0)
            .iter()
            .any(|n| n.starts_with("ghost__"))
    );
    let system = sent(&provider, 0)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        system.contains("`ghost` is not available in this run") && system.contains("did not start"),
        "{system}"
    );
}

#[tokio::test]
async fn stopping_the_kernel_stops_the_servers_it_started() {
    let provider = FakeProvider::start().await;
    let policy = vec![rule("flaky__*", ToolAction::Allow)];
    let kernel = start(config(
        &provider,
        vec![("flaky", misbehaving(30_000))],
        Some(policy),
    ))
    .await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-stop").await;
    provider.script([Turn::call("flaky__pid", json!({})), Turn::say("Ok.")]);
    let out = run(&mut tab, "who are you", &[]).await;
    let pid = pid_of(out.result(0));
    kernel.shutdown.cancel();
    assert!(
        reaped_within(pid, Duration::from_secs(15)).await,
        "the server {pid} outlived the kernel"
    );
}

#[tokio::test]
async fn the_agent_calls_a_streamable_http_server_with_a_header_from_the_environment() {
    let provider = FakeProvider::start().await;
    // The kernel's own `/mcp`, reached over HTTP like any outside server; its grant token is
    // read from this variable when the server is first used.
    let var = format!("AETHER_TEST_MCP_SELF_AUTH_{}", std::process::id());
    let header = HeaderFromEnv {
        name: "Authorization".into(),
        env: var.clone(),
    };
    let kernel = start_with(|addr| {
        let own = McpServerConfig {
            transport: Transport::Http {
                url: format!("http://{addr}/mcp"),
                header: Some(header),
            },
            call_timeout_ms: NonZeroU64::new(10_000).unwrap(),
        };
        let policy = vec![rule("self__*", ToolAction::Allow)];
        config(&provider, vec![("self", own)], Some(policy))
    })
    .await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-http").await;
    tab.put("/notes.txt", "hello over streamable http");
    let id = tab
        .request(
            "mcp.grant",
            json!({"tools": ["read_file"], "ttl_ms": 60_000, "approval": "allow"}),
        )
        .await;
    let grant = payload(&tab.reply_to(&id).await);
    let token = grant["token"].as_str().expect("a grant token").to_owned();
    // SAFETY: a variable no other test reads, set before the kernel first reads it (the
    // server is connected at the start of the run below).
    unsafe { std::env::set_var(&var, format!("Bearer {token}")) };

    provider.script([
        Turn::call("self__read_file", json!({"path": "/notes.txt"})),
        Turn::say("Read it over HTTP."),
    ]);
    let out = run(&mut tab, "read my notes through MCP", &[]).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    assert_eq!(out.of_kind("tool_call")[0]["tool"], "self__read_file");
    let result = out.result(0);
    assert_eq!(result["ok"], true, "{result}");
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("hello over streamable http"),
        "{result}"
    );
    assert_eq!(
        offered(&provider, 0)
            .iter()
            .filter(|n| n.starts_with("self__"))
            .count(),
        1,
        "the grant's one tool"
    );
}

#[tokio::test]
async fn a_started_server_sees_its_own_env_but_not_the_kernels_secrets() {
    let provider = FakeProvider::start().await;
    let key_var = "AGENT_MCP_TEST_PROVIDER_KEY";
    let kernel_var = "AETHER_AGENT_MCP_TEST_SECRET";
    // SAFETY: variables no other test reads, set before the kernel starts the server.
    unsafe {
        std::env::set_var(key_var, "sk-not-for-servers");
        std::env::set_var(kernel_var, "kernel-only");
    }
    let mut server = misbehaving(30_000);
    if let Transport::Stdio { env, .. } = &mut server.transport {
        env.insert("GIVEN_TO_SERVER".into(), "yes".into());
    }
    let mut config = config(
        &provider,
        vec![("leaky", server)],
        Some(vec![rule("leaky__*", ToolAction::Allow)]),
    );
    config.ai.provider.api_key_env = Some(EnvVarName::parse(key_var).unwrap());
    let kernel = start(config).await;
    let mut tab = Tab::open(kernel.addr, "s-mcp-env").await;
    provider.script([Turn::call("leaky__env", json!({})), Turn::say("Seen.")]);
    let out = run(&mut tab, "what does the server see", &[]).await;
    assert_eq!(out.end.topic.as_str(), "ai.agent.done", "{}", out.end());
    let result = out.result(0);
    assert_eq!(result["ok"], true, "{result}");
    let names: Vec<&str> = result["result"].as_str().unwrap().lines().collect();
    assert!(names.contains(&"GIVEN_TO_SERVER"), "its own env: {names:?}");
    assert!(
        names.contains(&"PATH"),
        "the kernel's ordinary env: {names:?}"
    );
    assert!(
        !names.contains(&kernel_var),
        "no AETHER_* variable: {names:?}"
    );
    assert!(
        !names.contains(&key_var),
        "not the provider's key: {names:?}"
    );
}
