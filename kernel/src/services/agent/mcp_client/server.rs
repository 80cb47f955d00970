//! One outside MCP server as the agent's runs share it: at most one connection, opened on first
//! use (one start at a time; a run that needs the server while another starts it waits for that
//! start), its tool list read once per connection, and any number of calls in flight on it.
//!
//! A call is bounded by `call_timeout_ms`. When the server goes away (its program exits, the
//! HTTP stream breaks), does not answer in time, or breaks the protocol, that call ends with a
//! tool error and the connection is retired: dropped from here at once and closed in the
//! background (a program is asked to exit by closing its stdin, then terminated, then killed,
//! and reaped), so the next use starts a fresh one. A JSON-RPC error the server answers with
//! leaves the connection alone: the server is fine, the call was not. Nothing here holds a lock
//! across a call.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::ServiceError;
use rmcp::model::{CallToolRequestParams, JsonObject, Tool};
use rmcp::service::Peer;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::connect::{self, Session};
use super::error::OutsideError;
use crate::config::mcp_servers::McpServerConfig;

/// How long a retired connection is given to close before it is dropped (which kills a program).
const CLOSE_GRACE: Duration = Duration::from_secs(8);

/// One configured server and its connection, if open.
pub struct OutsideServer {
    name: String,
    config: McpServerConfig,
    /// Environment variables a started program does not inherit.
    withheld: Vec<String>,
    /// The open connection. Held only to look or swap, never across an await.
    current: Mutex<Option<Connection>>,
    /// Held while a connection is being opened: one start at a time.
    starting: tokio::sync::Mutex<()>,
    next_id: AtomicU64,
    shutdown: CancellationToken,
}

/// An open connection.
struct Connection {
    id: u64,
    session: Session,
    tools: std::sync::Arc<[Tool]>,
}

/// What a user of the connection holds: which one it is, its peer, its tools.
#[derive(Clone)]
pub struct Handle {
    id: u64,
    peer: Peer<RoleClient>,
    pub tools: std::sync::Arc<[Tool]>,
}

impl Connection {
    fn handle(&self) -> Handle {
        Handle {
            id: self.id,
            peer: self.session.peer().clone(),
            tools: std::sync::Arc::clone(&self.tools),
        }
    }

    /// False once the session's loop ended (the program exited, the stream closed).
    fn alive(&self) -> bool {
        !self.session.is_closed() && !self.session.peer().is_transport_closed()
    }
}

impl OutsideServer {
    pub fn new(
        name: String,
        config: McpServerConfig,
        withheld: Vec<String>,
        shutdown: CancellationToken,
    ) -> OutsideServer {
        OutsideServer {
            name,
            config,
            withheld,
            current: Mutex::new(None),
            starting: tokio::sync::Mutex::new(()),
            next_id: AtomicU64::new(1),
            shutdown,
        }
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn timeout_ms(&self) -> u64 {
        self.config.call_timeout_ms.get()
    }

    /// The open connection, opened now if there is none (or it died).
    pub async fn connection(&self) -> Result<Handle, OutsideError> {
        if let Some(handle) = self.live_handle() {
            return Ok(handle);
        }
        let _starting = self.starting.lock().await;
        // Another run may have opened it while this one waited.
        if let Some(handle) = self.live_handle() {
            return Ok(handle);
        }
        if self.shutdown.is_cancelled() {
            return Err(OutsideError::ShuttingDown {
                server: self.name.clone(),
            });
        }
        let ms = self.timeout_ms();
        let opening = connect::open(&self.name, &self.config, &self.withheld);
        let opened = match tokio::time::timeout(Duration::from_millis(ms), opening).await {
            Ok(opened) => opened?,
            // Dropping the half-open session killed its program.
            Err(_) => {
                return Err(OutsideError::StartTimeout {
                    server: self.name.clone(),
                    ms,
                });
            }
        };
        let connection = Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            session: opened.session,
            tools: opened.tools.into(),
        };
        // The kernel began stopping during the start: this connection would outlive the stop.
        if self.shutdown.is_cancelled() {
            close_later(&self.name, connection);
            return Err(OutsideError::ShuttingDown {
                server: self.name.clone(),
            });
        }
        tracing::info!(server = %self.name, tools = connection.tools.len(), "outside MCP server connected");
        let handle = connection.handle();
        let previous = self.lock().replace(connection);
        if let Some(previous) = previous {
            close_later(&self.name, previous);
        }
        Ok(handle)
    }

    /// Calls `tool` with `arguments`, within `call_timeout_ms`; the server's answer as returned.
    pub async fn call(
        &self,
        tool: &str,
        arguments: JsonObject,
    ) -> Result<rmcp::model::CallToolResult, OutsideError> {
        let handle = self.connection().await?;
        let ms = self.timeout_ms();
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        // Dropping the call (a timeout, or the run stopping) tells the server it is cancelled.
        let called = tokio::time::timeout(Duration::from_millis(ms), handle.peer.call_tool(params));
        let (server, tool) = (self.name.clone(), tool.to_owned());
        match called.await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(ServiceError::McpError(e))) => Err(OutsideError::Refused {
                server,
                tool,
                message: e.message.to_string(),
                rpc_code: e.code.0,
            }),
            Ok(Err(e)) => {
                self.retire(handle.id, &e.to_string());
                Err(OutsideError::Lost {
                    server,
                    tool,
                    cause: describe(&e),
                })
            }
            Err(_) => {
                self.retire(handle.id, "a call timed out");
                Err(OutsideError::Timeout { server, tool, ms })
            }
        }
    }

    /// Drops connection `id` if it is still the current one, and closes it in the background.
    fn retire(&self, id: u64, why: &str) {
        let taken = {
            let mut current = self.lock();
            match current.as_ref() {
                Some(c) if c.id == id => current.take(),
                _ => None,
            }
        };
        if let Some(connection) = taken {
            tracing::warn!(server = %self.name, "outside MCP server retired: {why}; it is restarted on its next use");
            close_later(&self.name, connection);
        }
    }

    /// Closes the connection, if open, and waits (a bounded time) for it to be closed.
    pub async fn stop(&self) {
        let taken = self.lock().take();
        if let Some(mut connection) = taken {
            let _ = connection.session.close_with_timeout(CLOSE_GRACE).await;
            tracing::info!(server = %self.name, "outside MCP server stopped");
        }
    }

    fn live_handle(&self) -> Option<Handle> {
        let current = self.lock();
        current
            .as_ref()
            .filter(|c| c.alive())
            .map(Connection::handle)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Closes a connection on a task of its own (a program: stdin closed, then SIGTERM, then killed,
/// and reaped); past [`CLOSE_GRACE`] it is dropped, which kills the program.
fn close_later(server: &str, mut connection: Connection) {
    let server = server.to_owned();
    tokio::spawn(async move {
        match connection.session.close_with_timeout(CLOSE_GRACE).await {
            Ok(Some(_)) => tracing::debug!(server = %server, "outside MCP connection closed"),
            _ => {
                tracing::warn!(server = %server, "an outside MCP connection did not close in time; dropped")
            }
        }
    });
}

/// A failure of the transport, in words.
fn describe(error: &ServiceError) -> String {
    match error {
        ServiceError::TransportClosed => {
            "the connection closed: the server exited or hung up".into()
        }
        ServiceError::TransportSend(e) => format!("the request could not be sent: {e}"),
        ServiceError::UnexpectedResponse => {
            "it answered with something that is not a tool result".into()
        }
        other => other.to_string(),
    }
}

/// The JSON Schema of a tool's arguments, as the model is offered it.
pub fn parameters(tool: &Tool) -> Value {
    Value::Object((*tool.input_schema).clone())
}
