//! Opening one connection to an outside MCP server: for a `command`, the program started with
//! its stdin and stdout as the MCP stdio transport (rmcp's `TokioChildProcess`), its stderr read
//! line by line into the kernel's log, killed when the connection is dropped (`kill_on_drop`,
//! so neither a dead connection nor a stopping kernel leaves it behind); for a `url`, rmcp's
//! Streamable HTTP client with the configured header, its value read from the environment now
//! (so a rotated secret is picked up on the next reconnection). Then the MCP handshake and the
//! server's tool list. The caller bounds the whole with the server's `call_timeout_ms`.
//!
//! The program inherits the kernel's environment minus the variables it must not see (every
//! `AETHER_*` — the kernel's tokens —, the provider's key, the other servers' header
//! variables), plus the server's own `env`.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, Tool};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;

use super::error::OutsideError;
use crate::config::mcp_servers::{HeaderFromEnv, McpServerConfig, Transport};

/// A running MCP client session with a server.
pub type Session = RunningService<RoleClient, ClientConfig>;

/// Longest stderr line kept in the log, in characters.
const MAX_LOG_LINE_CHARS: usize = 2_000;

/// A connection just opened: the session and the server's tools.
pub struct Opened {
    pub session: Session,
    pub tools: Vec<Tool>,
}

/// Starts `server` and lists its tools. `withheld` are environment variables a started program
/// does not inherit.
pub async fn open(
    server: &str,
    config: &McpServerConfig,
    withheld: &[String],
) -> Result<Opened, OutsideError> {
    let start_error = |cause: String| OutsideError::Start {
        server: server.to_owned(),
        cause,
    };
    let (session, stderr) = match &config.transport {
        Transport::Stdio { command, args, env } => {
            let mut program = tokio::process::Command::new(command);
            program.args(args).kill_on_drop(true);
            for (key, _) in std::env::vars_os() {
                let key_text = key.to_string_lossy();
                if key_text.starts_with("AETHER_") || withheld.iter().any(|w| *w == key_text) {
                    program.env_remove(&key);
                }
            }
            program.envs(env);
            let (process, stderr) = TokioChildProcess::builder(program)
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| start_error(format!("`{command}` did not start ({e})")))?;
            tracing::info!(server, pid = ?process.id(), "outside MCP server started");
            let last_words = Arc::new(Mutex::new(String::new()));
            if let Some(stderr) = stderr {
                tokio::spawn(log_stderr(
                    server.to_owned(),
                    stderr,
                    Arc::clone(&last_words),
                ));
            }
            let served = client_info().serve(process).await;
            (served, Some(last_words))
        }
        Transport::Http { url, header } => {
            crate::tls::install_crypto_provider();
            let mut http = StreamableHttpClientTransportConfig::with_uri(url.as_str());
            if let Some(header) = header {
                http = http.custom_headers(header_from_env(server, header)?);
            }
            let served = client_info()
                .serve(StreamableHttpClientTransport::from_config(http))
                .await;
            (served, None)
        }
    };
    let session = session.map_err(|e| {
        let said = stderr
            .and_then(|s| s.lock().ok().map(|l| l.clone()))
            .filter(|l| !l.is_empty())
            .map(|l| format!("; its last words on stderr: {l}"))
            .unwrap_or_default();
        start_error(format!("the MCP handshake failed ({e}){said}"))
    })?;
    let tools = session
        .peer()
        .list_all_tools()
        .await
        .map_err(|e| start_error(format!("its tool list could not be read ({e})")))?;
    Ok(Opened { session, tools })
}

/// Who the kernel says it is in the handshake.
fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("aether", crate::VERSION),
    )
}

/// The configured header with its value from the environment.
fn header_from_env(
    server: &str,
    header: &HeaderFromEnv,
) -> Result<HashMap<axum::http::HeaderName, axum::http::HeaderValue>, OutsideError> {
    let missing = || OutsideError::MissingHeader {
        server: server.to_owned(),
        header: header.name.clone(),
        var: header.env.clone(),
    };
    let value = std::env::var(&header.env)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(missing)?;
    let bad = |what: &str| OutsideError::Start {
        server: server.to_owned(),
        cause: format!(
            "the {what} of header `{}` (from ${}) is not valid in HTTP",
            header.name, header.env
        ),
    };
    let name =
        axum::http::HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| bad("name"))?;
    let mut value = axum::http::HeaderValue::from_str(&value).map_err(|_| bad("value"))?;
    value.set_sensitive(true);
    Ok(HashMap::from([(name, value)]))
}

/// The program's stderr, line by line, into the log (the last line kept for a failed start).
async fn log_stderr(server: String, stderr: ChildStderr, last_words: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(MAX_LOG_LINE_CHARS).collect();
        tracing::info!(target: "aether::mcp_server", server = %server, "{line}");
        if let Ok(mut kept) = last_words.lock() {
            *kept = line;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use super::*;

    /// An https server that is not there is a start error, not a panic for want of a TLS
    /// provider (what rmcp's client did before the kernel installed one).
    #[tokio::test]
    async fn an_https_server_that_is_not_there_is_a_start_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let config = McpServerConfig {
            transport: Transport::Http {
                url: format!("https://127.0.0.1:{port}/mcp"),
                header: None,
            },
            call_timeout_ms: NonZeroU64::new(5_000).unwrap(),
        };
        let error = match open("tls", &config, &[]).await {
            Ok(_) => panic!("nothing listens there"),
            Err(e) => e,
        };
        assert!(
            matches!(error, OutsideError::Start { ref server, .. } if server == "tls"),
            "{error}"
        );
    }
}
