//! `/mcp` against a real kernel: an outside agent, the `rmcp` SDK's own Streamable HTTP client,
//! uses the agent's tools with a grant a fake tab (`support/tab.rs`, a real WebSocket client)
//! made on the bus. Calls act on the granting tab's files only, and end with the grant. A call
//! of an `ask` grant waits for the granting tab's `mcp.decide`; every call is told to that tab
//! (`mcp.called`), draws on its rate limits, and can be undone (`mcp.undo`).

mod support;
#[path = "support/tab.rs"]
mod tab;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use aether_kernel::Config;
use aether_kernel::config::RateRule;
use aether_shared::Envelope;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, Implementation};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use support::{WAIT, payload, start};
use tab::Tab;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

type McpClient = RunningService<RoleClient, rmcp::model::ClientConfig>;

/// Makes a grant from `tab`; returns `(grant_id, token, url)`.
async fn grant(tab: &mut Tab, body: Value) -> (String, String, String) {
    let id = tab.request("mcp.grant", body).await;
    let reply = tab.reply_to(&id).await;
    assert_eq!(
        reply.topic.as_str(),
        "mcp.grant:resp",
        "{:?}",
        payload(&reply)
    );
    let p = payload(&reply);
    let s = |k: &str| p[k].as_str().unwrap().to_owned();
    (s("grant_id"), s("token"), s("url"))
}

fn all_tools(ttl_ms: u64) -> Value {
    json!({"tools": ["list_files", "read_file", "write_file"], "ttl_ms": ttl_ms, "approval": "allow"})
}

async fn connect(addr: SocketAddr, token: &str) -> McpClient {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://{addr}/mcp"))
            .auth_header(token),
    );
    let info = rmcp::model::ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("aether-test", "0"),
    );
    info.serve(transport).await.expect("the MCP handshake")
}

async fn call(client: &McpClient, tool: &str, args: Value) -> CallToolResult {
    client
        .call_tool(
            CallToolRequestParams::new(tool.to_owned())
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .expect("a tool result")
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// A raw POST of an `initialize` to `/mcp`, with the given extra headers; returns the status.
async fn post(addr: SocketAddr, headers: &[(&str, &str)]) -> u16 {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn an_outside_agent_reads_and_writes_the_granting_tabs_files() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    tab.put("/notes.txt", "hello from the tab");
    let (_, token, url) = grant(&mut tab, all_tools(60_000)).await;
    assert_eq!(
        url,
        format!("http://{}/mcp", kernel.addr),
        "the listener's own address"
    );
    assert_eq!(token.len(), 64);

    let client = connect(kernel.addr, &token).await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["list_files", "read_file", "write_file"]);
    let read = tools.iter().find(|t| t.name == "read_file").unwrap();
    assert_eq!(
        Value::Object((*read.input_schema).clone()),
        aether_shared::agent::tools::parameters("read_file").unwrap()
    );

    let result = call(&client, "read_file", json!({"path": "/notes.txt"})).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    assert!(
        text(&result).contains("hello from the tab"),
        "{}",
        text(&result)
    );

    let result = call(
        &client,
        "write_file",
        json!({"path": "/out.txt", "content": "written"}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    assert_eq!(tab.get("/out.txt").as_deref(), Some(&b"written"[..]));

    // A tool the grant does not name is refused as a tool error.
    let result = call(&client, "run_program", json!({"wat": "(module)"})).await;
    assert_eq!(result.is_error, Some(true));
    let _ = client.cancel().await;
}

#[tokio::test]
async fn a_revoked_or_expired_grant_is_refused() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    tab.put("/a.txt", "a");
    let (grant_id, token, _) = grant(&mut tab, all_tools(60_000)).await;
    let client = connect(kernel.addr, &token).await;
    assert_ne!(
        call(&client, "read_file", json!({"path": "/a.txt"}))
            .await
            .is_error,
        Some(true)
    );

    let id = tab.request("mcp.grants", json!({})).await;
    let list = payload(&tab.reply_to(&id).await);
    assert_eq!(list["grants"][0]["grant_id"], grant_id.as_str());
    assert!(list["grants"][0].get("token").is_none());

    let id = tab
        .request("mcp.revoke", json!({"grant_id": grant_id}))
        .await;
    assert_eq!(tab.reply_to(&id).await.topic.as_str(), "mcp.revoke:ack");
    let refused = client
        .call_tool(
            CallToolRequestParams::new("read_file")
                .with_arguments(json!({"path": "/a.txt"}).as_object().cloned().unwrap()),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        post(
            kernel.addr,
            &[("authorization", &format!("Bearer {token}"))]
        )
        .await,
        401
    );

    let (_, short, _) = grant(&mut tab, all_tools(200)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        post(
            kernel.addr,
            &[("authorization", &format!("Bearer {short}"))]
        )
        .await,
        401
    );
}

#[tokio::test]
async fn the_transport_wants_a_token_and_no_foreign_origin() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    let (_, token, _) = grant(&mut tab, all_tools(60_000)).await;
    let bearer = format!("Bearer {token}");
    assert_eq!(post(kernel.addr, &[]).await, 401);
    assert_eq!(
        post(kernel.addr, &[("authorization", "Bearer 00")]).await,
        401
    );
    assert_eq!(
        post(
            kernel.addr,
            &[
                ("authorization", &bearer),
                ("origin", "http://evil.example")
            ]
        )
        .await,
        403
    );
    let own = format!("http://{}", kernel.addr);
    assert_eq!(
        post(kernel.addr, &[("authorization", &bearer), ("origin", &own)]).await,
        200
    );
    assert_eq!(post(kernel.addr, &[("authorization", &bearer)]).await, 200);
    assert_eq!(
        post(
            kernel.addr,
            &[("authorization", &bearer), ("host", "evil.example")]
        )
        .await,
        403
    );
}

#[tokio::test]
async fn a_grant_cannot_reach_another_tabs_files() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    let other = Tab::open(kernel.addr, "tab-b").await;
    other.put("/secret.txt", "not yours");
    let (_, token, _) = grant(&mut tab, all_tools(60_000)).await;
    let client = connect(kernel.addr, &token).await;
    let result = call(&client, "read_file", json!({"path": "/secret.txt"})).await;
    assert_eq!(result.is_error, Some(true), "{}", text(&result));
    assert!(!text(&result).contains("not yours"));
    assert!(other.served.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_grant_for_no_tool_an_unknown_tool_or_a_bad_ttl_is_a_bad_request() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    for body in [
        json!({"tools": ["format_disk"], "ttl_ms": 1000, "approval": "allow"}),
        json!({"tools": [], "ttl_ms": 1000, "approval": "ask"}),
        json!({"tools": ["read_file"], "ttl_ms": 0, "approval": "ask"}),
    ] {
        let id = tab.request("mcp.grant", body).await;
        let reply = tab.reply_to(&id).await;
        assert_eq!(reply.topic.as_str(), "mcp.error");
        assert_eq!(payload(&reply)["code"], "bad_request");
    }
}

#[tokio::test]
async fn a_tab_over_its_grant_cap_is_refused_until_it_revokes_one() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    let mut first = String::new();
    for i in 0..16 {
        let (grant_id, _, _) = grant(&mut tab, all_tools(60_000)).await;
        if i == 0 {
            first = grant_id;
        }
    }
    let id = tab.request("mcp.grant", all_tools(60_000)).await;
    let refused = tab.reply_to(&id).await;
    assert_eq!(refused.topic.as_str(), "mcp.error");
    let body = payload(&refused);
    assert_eq!(body["code"], "resource_exceeded", "{body}");
    assert_eq!(body["details"]["limit"], "max_grants_per_client", "{body}");

    let id = tab.request("mcp.revoke", json!({"grant_id": first})).await;
    tab.reply_to(&id).await;
    grant(&mut tab, all_tools(60_000)).await;
}

#[tokio::test]
async fn a_call_after_the_granting_tab_closed_says_to_reopen_it() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    tab.put("/a.txt", "a");
    let (_, token, _) = grant(&mut tab, all_tools(60_000)).await;
    let client = connect(kernel.addr, &token).await;
    tab.close();
    let mut said = String::new();
    for _ in 0..50 {
        let result = call(&client, "read_file", json!({"path": "/a.txt"})).await;
        said = text(&result);
        if said.contains("reopen") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(said.contains("reopen"), "{said}");
}

fn ask_tools(tools: &[&str]) -> Value {
    json!({"tools": tools, "ttl_ms": 60_000, "approval": "ask"})
}

/// A granting tab whose envelopes are read in two streams: the `mcp.*` events, and the replies
/// to its requests (whichever comes first is held for the other).
struct Desk {
    tab: Tab,
    held: VecDeque<Envelope>,
}

impl Desk {
    fn new(tab: Tab) -> Desk {
        Desk {
            tab,
            held: VecDeque::new(),
        }
    }

    fn is_event(env: &Envelope) -> bool {
        matches!(env.topic.as_str(), "mcp.ask" | "mcp.settled" | "mcp.called")
    }

    /// The next `mcp.ask`, `mcp.settled` or `mcp.called` the tab was sent.
    async fn event(&mut self) -> Envelope {
        if let Some(i) = self.held.iter().position(Desk::is_event) {
            return self.held.remove(i).unwrap();
        }
        loop {
            let env = self.tab.recv().await;
            if Desk::is_event(&env) {
                return env;
            }
            self.held.push_back(env);
        }
    }

    /// The next event, which must be on `topic`; its payload.
    async fn expect(&mut self, topic: &str) -> Value {
        let env = self.event().await;
        assert_eq!(env.topic.as_str(), topic, "{:?}", payload(&env));
        payload(&env)
    }

    async fn ask(&mut self, topic: &str, body: Value) -> Envelope {
        let id = self.tab.request(topic, body).await;
        if let Some(i) = self.held.iter().position(|e| e.request_id() == Some(&id)) {
            return self.held.remove(i).unwrap();
        }
        loop {
            let env = self.tab.recv().await;
            if env.request_id() == Some(id.as_str()) {
                return env;
            }
            self.held.push_back(env);
        }
    }

    async fn decide(&mut self, ask_id: &str, decision: &str) -> Envelope {
        self.ask(
            "mcp.decide",
            json!({"ask_id": ask_id, "decision": decision}),
        )
        .await
    }

    /// The grant `grant_id` as `mcp.grants` lists it.
    async fn listed(&mut self, grant_id: &str) -> Value {
        let list = payload(&self.ask("mcp.grants", json!({})).await);
        list["grants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["grant_id"] == grant_id)
            .cloned()
            .unwrap_or_else(|| panic!("{grant_id} is not listed: {list}"))
    }
}

/// A call made on a task of its own (it may wait for the tab's decision).
fn call_later(client: &McpClient, tool: &str, args: Value) -> JoinHandle<CallToolResult> {
    let peer = client.peer().clone();
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap());
    tokio::spawn(async move { peer.call_tool(params).await.expect("a tool result") })
}

/// Its result, within the test's wait.
async fn finished(call: JoinHandle<CallToolResult>) -> CallToolResult {
    tokio::time::timeout(WAIT, call)
        .await
        .expect("the call did not end within the wait")
        .unwrap()
}

#[tokio::test]
async fn an_ask_grants_call_waits_for_the_tabs_allow_then_runs_and_is_told() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    desk.tab.put("/notes.txt", "old text");
    let (grant_id, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let args = json!({"path": "/notes.txt", "content": "new text"});
    let pending = call_later(&client, "write_file", args.clone());

    let ask = desk.expect("mcp.ask").await;
    assert_eq!(ask["grant_id"], grant_id.as_str());
    assert_eq!(ask["tool"], "write_file");
    assert_eq!(ask["arguments"], args, "the full arguments");
    assert_eq!(
        ask["write"],
        json!({"path": "/notes.txt", "before": "old text", "after": "new text"})
    );
    assert_eq!(ask["timeout_ms"], 300_000);
    assert_eq!(
        desk.tab.get("/notes.txt").as_deref(),
        Some(&b"old text"[..])
    );
    assert!(!pending.is_finished(), "the call waits for the decision");

    let ask_id = ask["ask_id"].as_str().unwrap();
    let ack = desk.decide(ask_id, "allow").await;
    assert_eq!(ack.topic.as_str(), "mcp.decide:ack", "{:?}", payload(&ack));
    let settled = desk.expect("mcp.settled").await;
    assert_eq!(
        settled,
        json!({"ask_id": ask_id, "grant_id": grant_id, "outcome": "allowed"})
    );
    let called = desk.expect("mcp.called").await;
    assert_eq!(called["grant_id"], grant_id.as_str());
    assert_eq!(called["tool"], "write_file");
    assert_eq!(called["arguments"], args);
    assert_eq!(called["ok"], true);
    assert!(called.get("error").is_none(), "{called}");

    let result = finished(pending).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    assert_eq!(
        desk.tab.get("/notes.txt").as_deref(),
        Some(&b"new text"[..])
    );
    let listed = desk.listed(&grant_id).await;
    assert_eq!(listed["calls"], 1);
    assert_eq!(listed["written"], json!(["/notes.txt"]));
}

#[tokio::test]
async fn a_denied_call_is_a_tool_error_and_writes_nothing() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    desk.tab.put("/a.txt", "keep me");
    let (grant_id, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let pending = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "gone"}),
    );
    let ask = desk.expect("mcp.ask").await;
    let ask_id = ask["ask_id"].as_str().unwrap();
    assert_eq!(
        desk.decide(ask_id, "deny").await.topic.as_str(),
        "mcp.decide:ack"
    );
    assert_eq!(desk.expect("mcp.settled").await["outcome"], "denied");
    let called = desk.expect("mcp.called").await;
    assert_eq!(called["ok"], false);
    assert_eq!(called["error"]["code"], "permission_denied", "{called}");

    let result = finished(pending).await;
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("declined"), "{}", text(&result));
    assert_eq!(desk.tab.get("/a.txt").as_deref(), Some(&b"keep me"[..]));
    let listed = desk.listed(&grant_id).await;
    assert!(listed.get("written").is_none(), "nothing to undo: {listed}");
}

#[tokio::test]
async fn allow_tool_for_grant_stops_asking_for_that_tool_only() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let (_, token, _) = grant(&mut desk.tab, ask_tools(&["read_file", "write_file"])).await;
    let client = connect(kernel.addr, &token).await;

    let first = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "1"}),
    );
    let ask = desk.expect("mcp.ask").await;
    desk.decide(ask["ask_id"].as_str().unwrap(), "allow_tool_for_grant")
        .await;
    assert_eq!(desk.expect("mcp.settled").await["outcome"], "allowed");
    desk.expect("mcp.called").await;
    assert_ne!(finished(first).await.is_error, Some(true));

    // The same tool runs at once now: the next thing the tab hears is that it ran.
    let second = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "2"}),
    );
    assert_ne!(finished(second).await.is_error, Some(true));
    assert_eq!(desk.expect("mcp.called").await["ok"], true);
    assert_eq!(desk.tab.get("/a.txt").as_deref(), Some(&b"2"[..]));

    // Another tool still asks.
    let read = call_later(&client, "read_file", json!({"path": "/a.txt"}));
    let ask = desk.expect("mcp.ask").await;
    assert_eq!(ask["tool"], "read_file");
    assert!(ask.get("write").is_none());
    desk.decide(ask["ask_id"].as_str().unwrap(), "allow").await;
    let result = finished(read).await;
    assert!(text(&result).contains('2'), "{}", text(&result));
}

#[tokio::test]
async fn only_the_granting_tab_may_decide() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let mut other = Tab::open(kernel.addr, "tab-b").await;
    let (_, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let pending = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    );
    let ask = desk.expect("mcp.ask").await;
    let ask_id = ask["ask_id"].as_str().unwrap();

    // The same principal's other tab neither hears the ask nor may answer it.
    let id = other
        .request("mcp.decide", json!({"ask_id": ask_id, "decision": "allow"}))
        .await;
    let refused = loop {
        let env = other.recv().await;
        assert_ne!(env.topic.as_str(), "mcp.ask", "another tab heard the ask");
        if env.request_id() == Some(id.as_str()) {
            break env;
        }
    };
    assert_eq!(refused.topic.as_str(), "mcp.error");
    assert_eq!(
        payload(&refused)["code"],
        "not_found",
        "{:?}",
        payload(&refused)
    );
    let unknown = desk.decide("ask-999", "allow").await;
    assert_eq!(payload(&unknown)["code"], "not_found");
    assert!(!pending.is_finished(), "still waiting for its own tab");

    desk.decide(ask_id, "deny").await;
    assert_eq!(finished(pending).await.is_error, Some(true));
    assert_eq!(desk.tab.get("/a.txt"), None);
    let late = desk.decide(ask_id, "allow").await;
    assert_eq!(
        payload(&late)["code"],
        "not_found",
        "an ask is decided once"
    );
}

#[tokio::test]
async fn a_waiting_call_is_listed_to_its_granting_tab_alone_until_decided() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let mut other = Tab::open(kernel.addr, "tab-b").await;
    desk.tab.put("/notes.txt", "old text");
    let (grant_id, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let args = json!({"path": "/notes.txt", "content": "new text"});
    let pending = call_later(&client, "write_file", args.clone());
    let ask = desk.expect("mcp.ask").await;
    let ask_id = ask["ask_id"].as_str().unwrap();

    // A view opened after the `mcp.ask` went out reads it from `mcp.grants`, as it was told,
    // with the time it still waits.
    let list = payload(&desk.ask("mcp.grants", json!({})).await);
    let listed = list["pending"].as_array().expect("pending asks").clone();
    assert_eq!(listed.len(), 1, "{list}");
    let waiting = &listed[0];
    assert_eq!(waiting["ask_id"], ask_id);
    assert_eq!(waiting["grant_id"], grant_id.as_str());
    assert_eq!(waiting["tool"], "write_file");
    assert_eq!(waiting["arguments"], args, "the full arguments");
    assert_eq!(
        waiting["write"],
        json!({"path": "/notes.txt", "before": "old text", "after": "new text"})
    );
    let left = waiting["timeout_ms"].as_u64().unwrap();
    assert!(left <= 300_000 && left > 240_000, "time left: {left}");

    // The same principal's other tab is not told about it.
    let id = other.request("mcp.grants", json!({})).await;
    let theirs = payload(&other.reply_to(&id).await);
    assert!(theirs.get("pending").is_none(), "{theirs}");

    desk.decide(ask_id, "allow").await;
    assert_eq!(desk.expect("mcp.settled").await["outcome"], "allowed");
    assert_ne!(finished(pending).await.is_error, Some(true));
    let list = payload(&desk.ask("mcp.grants", json!({})).await);
    assert!(
        list.get("pending").is_none(),
        "a decided call is gone: {list}"
    );
}

#[tokio::test]
async fn an_unanswered_ask_times_out_and_the_call_does_not_run() {
    let mut config = Config::default();
    config.ai.agent.approval_timeout_ms = NonZeroU64::new(300).unwrap();
    let kernel = start(config).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let (_, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let pending = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    );
    let ask = desk.expect("mcp.ask").await;
    assert_eq!(ask["timeout_ms"], 300);
    let settled = desk.expect("mcp.settled").await;
    assert_eq!(settled["ask_id"], ask["ask_id"]);
    assert_eq!(settled["outcome"], "timed_out");
    let called = desk.expect("mcp.called").await;
    assert_eq!(called["error"]["code"], "timeout", "{called}");
    assert_eq!(called["error"]["details"]["limit"], "approval_timeout_ms");
    let result = finished(pending).await;
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).starts_with("timeout:"), "{}", text(&result));
    assert_eq!(desk.tab.get("/a.txt"), None);
}

#[tokio::test]
async fn an_outside_agent_hanging_up_mid_ask_settles_it_abandoned() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let (_, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    // A bare HTTP request, so hanging up is closing its connection.
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "write_file", "arguments": {"path": "/a.txt", "content": "x"}}})
    .to_string();
    let mut socket = tokio::net::TcpStream::connect(kernel.addr).await.unwrap();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
        kernel.addr,
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let ask = desk.expect("mcp.ask").await;
    drop(socket);
    let settled = desk.expect("mcp.settled").await;
    assert_eq!(settled["ask_id"], ask["ask_id"]);
    assert_eq!(settled["outcome"], "abandoned");
    let called = desk.expect("mcp.called").await;
    assert_eq!(called["error"]["code"], "cancelled", "{called}");
    let late = desk.decide(ask["ask_id"].as_str().unwrap(), "allow").await;
    assert_eq!(payload(&late)["code"], "not_found");
    assert_eq!(desk.tab.get("/a.txt"), None);
}

#[tokio::test]
async fn revoking_the_grant_or_closing_the_tab_ends_its_waiting_calls() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let (grant_id, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let pending = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    );
    desk.expect("mcp.ask").await;
    let revoked = desk.ask("mcp.revoke", json!({"grant_id": grant_id})).await;
    assert_eq!(revoked.topic.as_str(), "mcp.revoke:ack");
    assert_eq!(desk.expect("mcp.settled").await["outcome"], "abandoned");
    let result = finished(pending).await;
    assert!(text(&result).contains("revoked"), "{}", text(&result));
    assert_eq!(desk.tab.get("/a.txt"), None);

    let (_, token, _) = grant(&mut desk.tab, ask_tools(&["write_file"])).await;
    let client = connect(kernel.addr, &token).await;
    let pending = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    );
    desk.expect("mcp.ask").await;
    desk.tab.close();
    let result = finished(pending).await;
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("reopen"), "{}", text(&result));
}

#[tokio::test]
async fn a_grant_expiring_mid_ask_ends_the_wait() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let (grant_id, token, _) = grant(
        &mut desk.tab,
        json!({"tools": ["write_file"], "ttl_ms": 500, "approval": "ask"}),
    )
    .await;
    let client = connect(kernel.addr, &token).await;
    let pending = call_later(
        &client,
        "write_file",
        json!({"path": "/a.txt", "content": "x"}),
    );
    let ask = desk.expect("mcp.ask").await;
    assert_eq!(ask["timeout_ms"], 300_000, "the grant ends long before");
    assert_eq!(desk.expect("mcp.settled").await["outcome"], "abandoned");
    let result = finished(pending).await;
    assert!(text(&result).contains("expired"), "{}", text(&result));
    assert_eq!(desk.tab.get("/a.txt"), None);
    assert_eq!(desk.listed(&grant_id).await["state"], "expired");
}

#[tokio::test]
async fn mcp_calls_draw_from_the_tabs_rate_limits_and_the_grant_outlives_a_refusal() {
    let config = Config {
        rate_limits: vec![RateRule {
            topic: "vfs:read".parse().unwrap(),
            limit: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(1).unwrap(),
            window_ms: NonZeroU64::new(60_000).unwrap(),
        }],
        ..Config::default()
    };
    let kernel = start(config).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    desk.tab.put("/a.txt", "a");
    let (_, token, _) = grant(
        &mut desk.tab,
        json!({"tools": ["read_file", "list_files"], "ttl_ms": 60_000, "approval": "allow"}),
    )
    .await;
    let client = connect(kernel.addr, &token).await;
    let first = call(&client, "read_file", json!({"path": "/a.txt"})).await;
    assert_ne!(first.is_error, Some(true), "{}", text(&first));
    let second = call(&client, "read_file", json!({"path": "/a.txt"})).await;
    assert_eq!(second.is_error, Some(true));
    assert!(
        text(&second).starts_with("rate_limited:"),
        "{}",
        text(&second)
    );
    desk.expect("mcp.called").await;
    let refused = desk.expect("mcp.called").await;
    assert_eq!(refused["error"]["code"], "rate_limited", "{refused}");
    assert!(
        refused["error"]["details"]["retry_after_ms"]
            .as_u64()
            .unwrap()
            > 0
    );
    let listed = call(&client, "list_files", json!({"path": "/"})).await;
    assert_ne!(listed.is_error, Some(true), "{}", text(&listed));
}

#[tokio::test]
async fn undo_puts_back_a_written_file_and_deletes_a_created_one_once() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let mut other = Tab::open(kernel.addr, "tab-b").await;
    desk.tab.put("/a.txt", "before");
    let (grant_id, token, _) = grant(&mut desk.tab, all_tools(60_000)).await;
    let client = connect(kernel.addr, &token).await;
    for (path, content) in [("/a.txt", "one"), ("/a.txt", "two"), ("/new.txt", "x")] {
        let result = call(
            &client,
            "write_file",
            json!({"path": path, "content": content}),
        )
        .await;
        assert_ne!(result.is_error, Some(true), "{}", text(&result));
    }
    let listed = desk.listed(&grant_id).await;
    assert_eq!(listed["calls"], 3);
    assert_eq!(listed["written"], json!(["/a.txt", "/new.txt"]));

    let id = other
        .request("mcp.undo", json!({"grant_id": grant_id}))
        .await;
    let refused = payload(&other.reply_to(&id).await);
    assert_eq!(
        refused["code"], "not_found",
        "only the granting tab undoes: {refused}"
    );
    assert_eq!(desk.tab.get("/a.txt").as_deref(), Some(&b"two"[..]));

    let undone = desk.ask("mcp.undo", json!({"grant_id": grant_id})).await;
    assert_eq!(
        undone.topic.as_str(),
        "mcp.undo:ack",
        "{:?}",
        payload(&undone)
    );
    assert_eq!(payload(&undone)["restored"], json!(["/a.txt", "/new.txt"]));
    assert_eq!(desk.tab.get("/a.txt").as_deref(), Some(&b"before"[..]));
    assert_eq!(desk.tab.get("/new.txt"), None);
    let again = desk.ask("mcp.undo", json!({"grant_id": grant_id})).await;
    assert_eq!(payload(&again)["restored"], json!([]));
    let unknown = desk.ask("mcp.undo", json!({"grant_id": "grant-999"})).await;
    assert_eq!(payload(&unknown)["code"], "not_found");
}

#[tokio::test]
async fn a_revoked_grant_stays_listed_with_its_writes_and_can_be_undone() {
    let kernel = start(Config::default()).await;
    let mut desk = Desk::new(Tab::open(kernel.addr, "tab-a").await);
    let (grant_id, token, _) = grant(&mut desk.tab, all_tools(60_000)).await;
    let client = connect(kernel.addr, &token).await;
    let result = call(
        &client,
        "write_file",
        json!({"path": "/b.txt", "content": "b"}),
    )
    .await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let live = desk.listed(&grant_id).await;
    assert_eq!(live["state"], "live");
    assert!(live["expires_in_ms"].as_u64().unwrap() > 0);

    desk.ask("mcp.revoke", json!({"grant_id": grant_id})).await;
    let ended = desk.listed(&grant_id).await;
    assert_eq!(ended["state"], "revoked");
    assert_eq!(ended["expires_in_ms"], 0);
    assert_eq!(ended["calls"], 1);
    assert_eq!(ended["written"], json!(["/b.txt"]));
    let again = desk.ask("mcp.revoke", json!({"grant_id": grant_id})).await;
    assert_eq!(
        payload(&again)["code"],
        "not_found",
        "an ended grant is not revoked twice"
    );

    let undone = desk.ask("mcp.undo", json!({"grant_id": grant_id})).await;
    assert_eq!(payload(&undone)["restored"], json!(["/b.txt"]));
    assert_eq!(desk.tab.get("/b.txt"), None);
}
