//! The `ai.mcp_servers:` section: outside MCP servers whose tools the agent may call, each named
//! (the name prefixes its tools: `<server>__<tool>`), each either a program the kernel starts
//! and speaks to over its stdin/stdout, or a Streamable HTTP URL.
//!
//! ```yaml
//! ai:
//!   mcp_servers:
//!     everything:                 # tools offered as everything__echo, everything__add, …
//!       command: npx              # a program started on first use (found on PATH)
//!       args: [-y, "@modelcontextprotocol/server-everything"]
//!       env: {LOG_LEVEL: warn}    # added to the kernel's environment, minus AETHER_* variables
//!       call_timeout_ms: 60000    # one call (and the server's start) longer than this: timeout
//!     docs:
//!       url: http://127.0.0.1:9000/mcp          # Streamable HTTP (plain http only, for now)
//!       header: {name: Authorization, env: DOCS_MCP_AUTH}   # value read from $DOCS_MCP_AUTH
//! ```
//!
//! Every value checks itself while it is parsed, so a bad one names its key and line: a name is
//! lower-case letters, digits, `-` and `_` (never `__`, never ending in `_`, at most
//! [`MAX_SERVER_NAME_CHARS`]); a server has exactly one of `command` and `url`; `args` and `env`
//! go with `command`, `header` with `url`. The header's value is never in the file: `env` names
//! the variable that holds it, checked to be set at start-up ([`McpServers::check_environment`])
//! and read each time the server is connected. This module only describes servers; the agent
//! starts and calls them (`services/agent/mcp_client`).

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest server name, in characters (a tool's full name must stay within the 64 characters
/// chat-completions APIs accept).
pub const MAX_SERVER_NAME_CHARS: usize = 32;

/// What joins a server's name and its tool's name in the name the model sees.
pub const TOOL_SEPARATOR: &str = "__";

/// Headers the MCP transport sets itself, refused as `header.name`.
const RESERVED_HEADERS: [&str; 5] = [
    "accept",
    "content-type",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// The configured servers, by name (in name order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct McpServers(pub BTreeMap<ServerName, McpServerConfig>);

impl McpServers {
    /// The server called `name`.
    pub fn get(&self, name: &str) -> Option<&McpServerConfig> {
        self.0.get(name)
    }

    /// True when no server is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The servers' names, for sentences.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(ServerName::as_str).collect()
    }

    /// Refuses a `header.env` that names a variable `lookup` does not find (or finds empty): the
    /// server could never be connected, so start-up says so now.
    pub fn check_environment(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        for (name, server) in &self.0 {
            if let Transport::Http {
                header: Some(header),
                ..
            } = &server.transport
                && lookup(&header.env).is_none_or(|v| v.is_empty())
            {
                return Err(format!(
                    "ai.mcp_servers.{name}.header.env names `{}`, which is not set (or empty) in the kernel's environment; export it (the whole value of the `{}` header, e.g. \"Bearer …\") and start again, or remove the header",
                    header.env, header.name
                ));
            }
        }
        Ok(())
    }
}

/// A server's name: `[a-z0-9_-]+`, starting with a letter or digit, without `__`, not ending
/// in `_`, at most [`MAX_SERVER_NAME_CHARS`] characters. So `<server>__<tool>` always splits back
/// at its first `__`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerName(String);

impl ServerName {
    /// Parses a server name.
    pub fn parse(s: &str) -> Result<ServerName, String> {
        let well_formed = !s.is_empty()
            && s.len() <= MAX_SERVER_NAME_CHARS
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && !s.ends_with('_')
            && !s.contains(TOOL_SEPARATOR);
        if !well_formed {
            return Err(format!(
                "`{s}` is not a server name: use lower-case letters, digits, `-` and `_` (at most {MAX_SERVER_NAME_CHARS}, starting with a letter or digit, never `__`, not ending in `_`), like `everything` or `git-hub`; its tools are offered as `<name>__<tool>`"
            ));
        }
        Ok(ServerName(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ServerName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ServerName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServerName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ServerName::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// `<server>__<tool>` split at its first `__`: the server's name and the tool's, or `None`
/// when `name` is not an outside tool's name.
pub fn split_tool_name(name: &str) -> Option<(&str, &str)> {
    let (server, tool) = name.split_once(TOOL_SEPARATOR)?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// One outside MCP server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawServer", into = "RawServer")]
pub struct McpServerConfig {
    /// How the kernel reaches it.
    pub transport: Transport,
    /// Longest one tool call may take, in milliseconds; also bounds the server's start (the
    /// program's launch, the MCP handshake and its tool list). Past it the call ends with
    /// `timeout` and the server is restarted on its next use.
    pub call_timeout_ms: NonZeroU64,
}

/// How a server is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A program started by the kernel (on first use, and again after it died), speaking MCP
    /// over its stdin and stdout; its stderr goes to the kernel's log.
    Stdio {
        /// The program: a path, or a name found on `PATH`.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Variables added to its environment (the kernel's own, minus every `AETHER_*`).
        env: BTreeMap<String, String>,
    },
    /// A server already running, reached over MCP's Streamable HTTP transport.
    Http {
        /// Its endpoint, `http://…` or `https://…`.
        url: String,
        /// A header sent with every request, its value read from an environment variable.
        header: Option<HeaderFromEnv>,
    },
}

/// `header: {name, env}`: send header `name` with the value of environment variable `env`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFromEnv {
    /// The header, e.g. `Authorization`.
    pub name: String,
    /// The environment variable holding its whole value, e.g. `Bearer 3f1c…`.
    pub env: String,
}

/// A server as written in the file: every key optional, checked together by `TryFrom`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<HeaderFromEnv>,
    call_timeout_ms: Option<NonZeroU64>,
}

/// The default `call_timeout_ms`: one minute.
pub const DEFAULT_CALL_TIMEOUT_MS: u64 = 60_000;

impl TryFrom<RawServer> for McpServerConfig {
    type Error = String;

    fn try_from(raw: RawServer) -> Result<McpServerConfig, String> {
        let call_timeout_ms = raw
            .call_timeout_ms
            .unwrap_or(NonZeroU64::new(DEFAULT_CALL_TIMEOUT_MS).expect("non-zero"));
        let transport = match (raw.command, raw.url) {
            (Some(_), Some(_)) => {
                return Err(
                    "a server has `command` (a program the kernel starts) or `url` (a server already running), not both; keep one".into(),
                );
            }
            (None, None) => {
                return Err(
                    "a server needs `command` (a program the kernel starts, with `args` and `env`) or `url` (a Streamable HTTP endpoint, with an optional `header`)".into(),
                );
            }
            (Some(command), None) => {
                if command.trim().is_empty() {
                    return Err("`command` is empty; name the program to start, like `npx` or `/usr/bin/node`".into());
                }
                if raw.header.is_some() {
                    return Err("`header` goes with `url`; a `command` server gets its secrets through `env`".into());
                }
                for key in raw.env.keys() {
                    if !is_env_name(key) {
                        return Err(format!(
                            "env key `{key}` is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
                        ));
                    }
                }
                Transport::Stdio {
                    command,
                    args: raw.args,
                    env: raw.env,
                }
            }
            (None, Some(url)) => {
                if !raw.args.is_empty() || !raw.env.is_empty() {
                    return Err("`args` and `env` go with `command`; a `url` server is already running (send it a secret with `header`)".into());
                }
                check_url(&url)?;
                if let Some(header) = &raw.header {
                    check_header(header)?;
                }
                Transport::Http {
                    url,
                    header: raw.header,
                }
            }
        };
        Ok(McpServerConfig {
            transport,
            call_timeout_ms,
        })
    }
}

impl From<McpServerConfig> for RawServer {
    fn from(server: McpServerConfig) -> RawServer {
        let call_timeout_ms = Some(server.call_timeout_ms);
        match server.transport {
            Transport::Stdio { command, args, env } => RawServer {
                command: Some(command),
                args,
                env,
                call_timeout_ms,
                ..RawServer::default()
            },
            Transport::Http { url, header } => RawServer {
                url: Some(url),
                header,
                call_timeout_ms,
                ..RawServer::default()
            },
        }
    }
}

/// An `http://` or `https://` URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("url `{url}` is not a URL ({e}); write it like http://127.0.0.1:9000/mcp")
    })?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        _ => Err(format!(
            "url `{url}` must be an http:// or https:// URL with a host, like http://127.0.0.1:9000/mcp"
        )),
    }
}

/// A header name HTTP accepts, not one the transport sets, and a variable name for its value.
fn check_header(header: &HeaderFromEnv) -> Result<(), String> {
    let name = &header.name;
    if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!(
            "header.name `{name}` is not an HTTP header name; write it like Authorization or X-Api-Key"
        ));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "header.name `{name}` is set by the MCP transport itself; send the secret in another header, like Authorization"
        ));
    }
    if !is_env_name(&header.env) {
        return Err(format!(
            "header.env `{}` is not an environment variable name: name the variable that holds the header's value, like DOCS_MCP_AUTH (not the value itself)",
            header.env
        ));
    }
    Ok(())
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_env_name(s: &str) -> bool {
    super::ai::EnvVarName::parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(yaml: &str) -> Result<McpServers, String> {
        serde_norway::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn a_stdio_and_an_http_server_parse_with_their_defaults() {
        let parsed = servers(
            "everything:\n  command: npx\n  args: [-y, server]\n  env: {LOG: warn}\ndocs:\n  url: http://127.0.0.1:9000/mcp\n  header: {name: Authorization, env: DOCS_AUTH}\n  call_timeout_ms: 500\n",
        )
        .unwrap();
        assert_eq!(parsed.names(), ["docs", "everything"]);
        let everything = parsed.get("everything").unwrap();
        assert_eq!(everything.call_timeout_ms.get(), DEFAULT_CALL_TIMEOUT_MS);
        let Transport::Stdio { command, args, env } = &everything.transport else {
            panic!("{everything:?}");
        };
        assert_eq!((command.as_str(), args.len()), ("npx", 2));
        assert_eq!(env["LOG"], "warn");
        let docs = parsed.get("docs").unwrap();
        assert_eq!(docs.call_timeout_ms.get(), 500);
        assert!(
            matches!(&docs.transport, Transport::Http { header: Some(h), .. } if h.env == "DOCS_AUTH")
        );
        // What is written back reads the same (print-config, environment overrides).
        let again = servers(&serde_norway::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(again, parsed);
    }

    #[test]
    fn bad_names_are_refused_with_the_rule() {
        for bad in ["Git", "a__b", "a_", "_a", "-a", "", "a.b", &"a".repeat(33)] {
            let err = ServerName::parse(bad).unwrap_err();
            assert!(err.contains("lower-case"), "{bad}: {err}");
        }
        for good in ["a", "git-hub", "my_server", "x9"] {
            assert!(ServerName::parse(good).is_ok(), "{good}");
        }
        let err = servers("Bad Name:\n  command: x\n").unwrap_err();
        assert!(err.contains("Bad Name"), "{err}");
    }

    #[test]
    fn a_server_has_command_or_url_never_both_nor_neither() {
        let err = servers("x:\n  command: node\n  url: http://127.0.0.1:1/mcp\n").unwrap_err();
        assert!(err.contains("not both"), "{err}");
        let err = servers("x:\n  call_timeout_ms: 5\n").unwrap_err();
        assert!(err.contains("needs `command`"), "{err}");
        let err = servers("x:\n  url: http://127.0.0.1:1/mcp\n  args: [a]\n").unwrap_err();
        assert!(err.contains("go with `command`"), "{err}");
        let err = servers("x:\n  command: node\n  header: {name: A, env: B}\n").unwrap_err();
        assert!(err.contains("goes with `url`"), "{err}");
        let err = servers("x:\n  command: node\n  cmd: y\n").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
        let err = servers("x:\n  command: node\n  call_timeout_ms: 0\n").unwrap_err();
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn urls_are_http_or_https_and_headers_come_from_variables() {
        servers("x:\n  url: https://example.com/mcp\n").unwrap();
        for (bad, said) in [("ftp://x/mcp", "http://"), ("nope", "not a URL")] {
            let err = servers(&format!("x:\n  url: {bad}\n")).unwrap_err();
            assert!(err.contains(said), "{bad}: {err}");
        }
        let err =
            servers("x:\n  url: http://a/mcp\n  header: {name: Authorization, env: Bearer abc}\n")
                .unwrap_err();
        assert!(err.contains("not an environment variable name"), "{err}");
        let err = servers("x:\n  url: http://a/mcp\n  header: {name: Mcp-Session-Id, env: A}\n")
            .unwrap_err();
        assert!(err.contains("transport itself"), "{err}");
        let err = servers("x:\n  url: http://a/mcp\n  header: {name: \"bad header\", env: A}\n")
            .unwrap_err();
        assert!(err.contains("not an HTTP header name"), "{err}");
    }

    #[test]
    fn a_header_variable_missing_at_start_is_refused_by_name() {
        let parsed = servers(
            "docs:\n  url: http://a/mcp\n  header: {name: Authorization, env: DOCS_AUTH}\n",
        )
        .unwrap();
        let err = parsed.check_environment(|_| None).unwrap_err();
        assert!(
            err.contains("ai.mcp_servers.docs.header.env") && err.contains("DOCS_AUTH"),
            "{err}"
        );
        assert!(parsed.check_environment(|_| Some(String::new())).is_err());
        assert!(
            parsed
                .check_environment(|_| Some("Bearer x".into()))
                .is_ok()
        );
    }

    #[test]
    fn tool_names_split_at_the_first_separator() {
        assert_eq!(
            split_tool_name("everything__echo"),
            Some(("everything", "echo"))
        );
        assert_eq!(split_tool_name("a___x"), Some(("a", "_x")));
        assert_eq!(split_tool_name("a__b__c"), Some(("a", "b__c")));
        assert_eq!(split_tool_name("read_file"), None);
        assert_eq!(split_tool_name("__x"), None);
    }
}
