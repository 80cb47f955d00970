//! `/mcp` against a real kernel: an outside agent, the `rmcp` SDK's own Streamable HTTP client,
//! uses the agent's tools with a grant a fake tab (`support/tab.rs`, a real WebSocket client)
//! made on the bus. Calls act on the granting tab's files only, and end with the grant.

mod support;
#[path = "support/tab.rs"]
mod tab;

use std::net::SocketAddr;
use std::time::Duration;

use aether_kernel::Config;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, Implementation};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use support::{payload, start};
use tab::Tab;

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
async fn a_grant_for_an_unknown_tool_or_asking_is_a_bad_request() {
    let kernel = start(Config::default()).await;
    let mut tab = Tab::open(kernel.addr, "tab-a").await;
    for body in [
        json!({"tools": ["format_disk"], "ttl_ms": 1000, "approval": "allow"}),
        json!({"tools": ["read_file"], "ttl_ms": 1000, "approval": "ask"}),
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
