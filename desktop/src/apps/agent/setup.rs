//! What the "Connect an agent" panel offers and writes out, pure and unit tested natively: which
//! of the agent's tools only read (ticked by default: the contract's `Tool::read_only`), the
//! grant lifetimes on offer, and the set-up lines for the grant just made — the `claude mcp add`
//! command and the `mcpServers` JSON that Cursor, Zed and most other MCP clients read.

use std::collections::BTreeMap;

use aether_shared::agent::tools::TOOLS;
use serde::Serialize;

/// The lifetimes a grant can be made for: label, test id suffix, milliseconds.
pub(super) const LIFETIMES: &[(&str, &str, u64)] = &[
    ("15 min", "15m", 15 * 60 * 1000),
    ("1 hour", "1h", 60 * 60 * 1000),
    ("8 hours", "8h", 8 * 60 * 60 * 1000),
];

/// The lifetime ticked at first (1 hour).
pub(super) const DEFAULT_TTL_MS: u64 = 60 * 60 * 1000;

/// The name the outside agent knows Aether by.
const SERVER_NAME: &str = "aether";

/// True for a tool of the agent that only reads this tab's files: offered ticked.
pub(super) fn is_read_only(tool: &str) -> bool {
    TOOLS.iter().any(|t| t.name == tool && t.read_only)
}

/// The grant's URL as an outside client must dial it: the kernel's own, or, should it be a bare
/// path, that path at the page's `origin`.
pub(super) fn absolute_url(url: &str, origin: &str) -> String {
    if url.starts_with('/') {
        format!("{}{url}", origin.trim_end_matches('/'))
    } else {
        url.to_owned()
    }
}

/// The Claude Code command that adds Aether as an MCP server.
pub(super) fn claude_command(url: &str, token: &str) -> String {
    format!(
        "claude mcp add --transport http {SERVER_NAME} {url} --header \"Authorization: Bearer {token}\""
    )
}

/// The JSON configuration of MCP clients (`{"mcpServers": {name: {url, headers}}}`), its fields
/// in the order people read them.
#[derive(Serialize)]
struct ClientConfig<'a> {
    #[serde(rename = "mcpServers")]
    mcp_servers: BTreeMap<&'static str, RemoteServer<'a>>,
}

#[derive(Serialize)]
struct RemoteServer<'a> {
    url: &'a str,
    headers: BTreeMap<&'static str, String>,
}

/// The `mcpServers` entry for clients configured by JSON (Cursor's `mcp.json`, Zed, …).
pub(super) fn client_json(url: &str, token: &str) -> String {
    let server = RemoteServer {
        url,
        headers: BTreeMap::from([("Authorization", format!("Bearer {token}"))]),
    };
    let config = ClientConfig {
        mcp_servers: BTreeMap::from([(SERVER_NAME, server)]),
    };
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// A duration for people: `1 h 05 min`, `14 min 59 s`, `42 s`, `ended`.
pub(super) fn time_left(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, 0) => "ended".to_owned(),
        (0, 0, sec) => format!("{sec} s"),
        (0, min, sec) => format!("{min} min {sec:02} s"),
        (h, min, _) => format!("{h} h {min:02} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tools_that_read_are_offered_ticked() {
        for name in ["list_files", "read_file", "search_files"] {
            assert!(is_read_only(name), "{name}");
        }
        for name in ["write_file", "run_program", "run_task", "format_disk"] {
            assert!(!is_read_only(name), "{name}");
        }
        assert!(LIFETIMES.iter().any(|(_, _, ms)| *ms == DEFAULT_TTL_MS));
    }

    #[test]
    fn the_set_up_lines_carry_the_url_and_the_token() {
        let (url, token) = ("http://127.0.0.1:8080/mcp", "ab12");
        assert_eq!(
            claude_command(url, token),
            "claude mcp add --transport http aether http://127.0.0.1:8080/mcp --header \"Authorization: Bearer ab12\""
        );
        let json = client_json(url, token);
        assert!(json.find("\"url\"") < json.find("\"headers\""), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["mcpServers"]["aether"]["url"], url);
        assert_eq!(
            parsed["mcpServers"]["aether"]["headers"]["Authorization"],
            "Bearer ab12"
        );
    }

    #[test]
    fn a_bare_path_is_dialled_at_the_pages_origin() {
        assert_eq!(
            absolute_url("/mcp", "http://localhost:8080/"),
            "http://localhost:8080/mcp"
        );
        assert_eq!(
            absolute_url("http://127.0.0.1:9/mcp", "http://x"),
            "http://127.0.0.1:9/mcp"
        );
    }

    #[test]
    fn time_left_reads_in_the_largest_units() {
        assert_eq!(time_left(0), "ended");
        assert_eq!(time_left(1), "1 s");
        assert_eq!(time_left(42_000), "42 s");
        assert_eq!(time_left(15 * 60 * 1000 - 1000), "14 min 59 s");
        assert_eq!(time_left(8 * 3600 * 1000), "8 h 00 min");
        assert_eq!(time_left(3900 * 1000), "1 h 05 min");
    }
}
