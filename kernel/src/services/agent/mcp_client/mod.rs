//! Outside MCP servers (`ai.mcp_servers`) as tools of the agent: the kernel is their MCP client.
//!
//! Each configured server is one [`OutsideServer`], shared by every run: started (or connected)
//! on first use, its tools listed once per connection, restarted on the use after it crashed,
//! hung or broke the protocol ([`server`]). A run asks for the [`Offer`] at its start — every
//! server's tools named `<server>__<tool>`, with the server's description and input schema,
//! and the servers that could not be reached, which the run tells the model about — and
//! [`OutsideServers::call`]s a tool with the model's arguments. A failure ends that call only,
//! as a tool error naming the server ([`error`]); the answer's content becomes the text the
//! model reads ([`result`]). This module never decides whether a call may run (the agent's
//! policy does) and never blocks a run beyond the call's own `call_timeout_ms`.
//!
//! When the kernel stops, every connection is closed and every program it started is stopped.

mod connect;
mod error;
mod result;
mod server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aether_shared::ErrorPayload;
use futures_util::future::join_all;
use rmcp::model::JsonObject;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use self::server::OutsideServer;
use crate::config::Config;
use crate::config::mcp_servers::TOOL_SEPARATOR;
use crate::services::request::ServiceError as _;

pub use self::error::OutsideError;

/// Longest name a chat-completions API accepts for a function, in characters.
const MAX_TOOL_NAME_CHARS: usize = 64;

/// Every configured outside server. Cheap to share (`Arc`).
pub struct OutsideServers {
    servers: BTreeMap<String, Arc<OutsideServer>>,
    shutdown: CancellationToken,
    /// Set once the task that stops the servers with the kernel is running.
    watching: AtomicBool,
}

/// A tool of an outside server, as a run offers it to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct OutsideTool {
    /// `<server>__<tool>`: what the model calls.
    pub name: String,
    pub server: String,
    /// The tool's own name on its server.
    pub tool: String,
    pub description: String,
    /// The JSON Schema of its arguments, as the server gave it.
    pub parameters: Value,
}

/// What a run is offered at its start.
#[derive(Clone, Debug, Default)]
pub struct Offer {
    pub tools: Vec<OutsideTool>,
    /// Servers left out, with the sentence saying why.
    pub unavailable: Vec<(String, String)>,
}

impl OutsideServers {
    /// The servers of `config.ai.mcp_servers`, none started. Programs started later do not
    /// inherit the provider's key variable nor any server's header variable.
    pub fn new(config: &Config, shutdown: CancellationToken) -> OutsideServers {
        let servers = &config.ai.mcp_servers;
        let mut withheld: Vec<String> = servers
            .0
            .values()
            .filter_map(|s| match &s.transport {
                crate::config::mcp_servers::Transport::Http {
                    header: Some(h), ..
                } => Some(h.env.clone()),
                _ => None,
            })
            .collect();
        if let Some(key) = &config.ai.provider.api_key_env {
            withheld.push(key.as_str().to_owned());
        }
        let servers = servers
            .0
            .iter()
            .map(|(name, server)| {
                let name = name.as_str().to_owned();
                let server = OutsideServer::new(
                    name.clone(),
                    server.clone(),
                    withheld.clone(),
                    shutdown.clone(),
                );
                (name, Arc::new(server))
            })
            .collect();
        OutsideServers {
            servers,
            shutdown,
            watching: AtomicBool::new(false),
        }
    }

    /// Every server's tools, the servers started as needed (together, each within its
    /// `call_timeout_ms`). A server that cannot be reached is left out with a warning in the log
    /// and its reason in [`Offer::unavailable`]; so is a tool whose name the model could not
    /// call (not `[A-Za-z0-9_-]`, or longer than 64 characters with its prefix).
    pub async fn offer(&self) -> Offer {
        if self.servers.is_empty() {
            return Offer::default();
        }
        self.watch_shutdown();
        let listed = join_all(
            self.servers
                .values()
                .map(|s| async move { (s.name().to_owned(), s.connection().await) }),
        )
        .await;
        let mut offer = Offer::default();
        for (server, listed) in listed {
            match listed {
                Ok(handle) => {
                    for tool in handle.tools.iter() {
                        match offered(&server, tool) {
                            Some(tool) => offer.tools.push(tool),
                            None => tracing::warn!(
                                server = %server,
                                tool = %tool.name,
                                "an outside tool is not offered: its name is not [A-Za-z0-9_-] or too long"
                            ),
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(server = %server, "an outside MCP server is not offered: {e}");
                    offer.unavailable.push((server, e.to_string()));
                }
            }
        }
        offer
    }

    /// Calls `tool` with the model's `arguments` (a JSON object); its result as the text the
    /// model reads, or the failure that ends this call (never the run).
    pub async fn call(
        &self,
        tool: &OutsideTool,
        arguments: JsonObject,
    ) -> Result<Value, ErrorPayload> {
        let Some(server) = self.servers.get(&tool.server) else {
            return Err(OutsideError::Start {
                server: tool.server.clone(),
                cause: "it is not configured".into(),
            }
            .to_payload());
        };
        self.watch_shutdown();
        let span = tracing::info_span!("mcp_call", server = %tool.server, tool = %tool.tool);
        match server.call(&tool.tool, arguments).instrument(span).await {
            Ok(answer) => result::outcome(&tool.server, &tool.tool, answer),
            Err(e) => Err(e.to_payload()),
        }
    }

    /// Stops every server when the kernel stops (a task started on first use: the registry is
    /// built before the runtime may be running).
    fn watch_shutdown(&self) {
        if self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let servers: Vec<Arc<OutsideServer>> = self.servers.values().cloned().collect();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            join_all(servers.iter().map(|s| s.stop())).await;
        });
    }
}

/// `tool` of `server` as offered, unless the model could not call it by name.
fn offered(server: &str, tool: &rmcp::model::Tool) -> Option<OutsideTool> {
    let name = format!("{server}{TOOL_SEPARATOR}{}", tool.name);
    let callable = name.len() <= MAX_TOOL_NAME_CHARS
        && tool
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    callable.then(|| OutsideTool {
        name,
        server: server.to_owned(),
        tool: tool.name.to_string(),
        description: tool
            .description
            .as_deref()
            .or(tool.title.as_deref())
            .unwrap_or("")
            .to_owned(),
        parameters: server::parameters(tool),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str) -> rmcp::model::Tool {
        serde_json::from_value(json!({
            "name": name, "description": "Echoes back the input string",
            "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}}
        }))
        .unwrap()
    }

    #[test]
    fn tools_are_offered_under_their_servers_name_with_their_schema() {
        let echo = offered("everything", &tool("echo")).unwrap();
        assert_eq!(echo.name, "everything__echo");
        assert_eq!(echo.tool, "echo");
        assert_eq!(echo.description, "Echoes back the input string");
        assert_eq!(echo.parameters["properties"]["message"]["type"], "string");
        assert!(offered("everything", &tool("get-roots-list")).is_some());
        assert!(offered("s", &tool("dotted.name")).is_none());
        assert!(offered("s", &tool(&"x".repeat(62))).is_none());
    }
}
