//! The kernel's configuration: one YAML file (`aether.yaml` or `--config PATH`), every key
//! optional, each overridable by an `AETHER_*` environment variable and some by flags.
//!
//! Bad input stops start-up with a message that names the key and the line: unknown keys and
//! wrong types come from serde's location, and impossible values (a zero burst, a zero window)
//! are refused by the value types themselves ([`rules`]), so they carry the location too. Values
//! that parse but are unsafe (short tokens, a frame cap that would overflow, equal admin and
//! client tokens) are refused by [`validate`].
//! Limits are named with their units and documented here; the code that enforces each reads it
//! from this struct.

pub mod agent;
pub mod ai;
pub mod cluster;
pub mod egress;
mod env;
pub mod mcp_servers;
mod print;
pub mod rules;
pub mod validate;

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use agent::{AgentConfig, ToolAction, ToolPattern, ToolRule};
pub use ai::{AiConfig, BaseUrl, EnvVarName, ProviderConfig};
pub use cluster::ClusterConfig;
pub use env::apply_env;
pub use mcp_servers::{McpServerConfig, McpServers, ServerName};
pub use rules::{Action, HttpRateLimit, Origin, PermissionRule, RateRule, TopicPrefix};

/// Everything the kernel can be told at start-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP and WebSocket listener.
    pub listen: SocketAddr,
    /// A client presenting this token (`Authorization: Bearer …` or `?token=`) is admin: it
    /// bypasses permissions and rate limits. Keep it secret; it is masked by `--print-config`.
    /// At least 16 characters, and never equal to `client_token` ([`validate`]).
    #[serde(deserialize_with = "validate::token")]
    pub admin_token: Option<String>,
    /// When set, every non-admin client must present it. Required when `listen` is not a
    /// loopback address (start-up refuses otherwise, unless `--insecure-no-token`). At least 16
    /// characters.
    #[serde(deserialize_with = "validate::token")]
    pub client_token: Option<String>,
    /// Origins, besides the kernel's own, whose pages may open `/ws` (e.g. `http://127.0.0.1:8081`
    /// for `trunk serve`). Every other origin is refused: cross-site WebSocket hijacking.
    pub allowed_origins: Vec<Origin>,
    /// Host names, besides the listen address (and `localhost` when listening on loopback),
    /// that requests may name in `Host`. Anything else is refused: DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Ordered `{topic_prefix, action: allow|deny}` rules; the first match wins. No rules: every
    /// topic is allowed. Any rule: an unmatched topic is denied. Admin bypasses them.
    pub permissions: Vec<PermissionRule>,
    /// Token buckets per (client, topic): `{topic, limit, burst, window_ms}`. `topic` is a topic
    /// or a pattern ending in `*`. Admin bypasses them.
    pub rate_limits: Vec<RateRule>,
    /// Requests per second (and burst) per peer IP on the HTTP routes.
    pub http_rate_limit: HttpRateLimit,
    /// Per-client limits of the hub.
    pub limits: Limits,
    /// Caps of programs run by `vm.spawn` (enforced by the WASM runner).
    pub compute: ComputeLimits,
    /// Caps of task runs (enforced by the task engine).
    pub task: TaskLimits,
    /// How long shutdown waits for connections to flush and close, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Where the kernel keeps its data (compiled modules, task history). Default:
    /// `$XDG_DATA_HOME/aether`, else `~/.local/share/aether`.
    pub data_dir: Option<std::path::PathBuf>,
    /// Serve the desktop from this folder (a built desktop such as `target/dist`), read once at
    /// start, instead of the one embedded at build time. Absent: the embedded desktop.
    pub desktop_dir: Option<std::path::PathBuf>,
    /// The AI provider behind `ai.*` and its limits.
    pub ai: AiConfig,
    /// Other kernels to share events with, over NATS ([`ClusterConfig`]). Absent: this
    /// kernel alone.
    pub cluster: Option<ClusterConfig>,
}

/// Per-client limits enforced by the hub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest text frame accepted from a client, in bytes. Larger frames are refused with
    /// `payload_too_large` and the connection stays up (frames over twice this size close it).
    /// At most 256 MiB ([`validate::MAX_FRAME_BYTES_LIMIT`]).
    #[serde(deserialize_with = "validate::max_frame_bytes")]
    pub max_frame_bytes: NonZeroUsize,
    /// Envelopes that may wait for one client. A client whose queue is full is disconnected so
    /// that it never slows the bus or the other clients.
    pub outbound_queue_len: NonZeroUsize,
    /// Bytes that may wait for one client (its queued frames together). Past it the client is
    /// disconnected (close 1008) and its queue freed, like a full `outbound_queue_len`.
    pub max_queue_bytes: NonZeroUsize,
    /// Longest one write to a client's socket may take, in milliseconds. A client that does not
    /// take its messages in that time is disconnected (close 1008).
    pub write_timeout_ms: NonZeroU64,
    /// How often the kernel pings each connection, in milliseconds.
    pub ping_interval_ms: NonZeroU64,
    /// A connection that sends nothing (not even the pong every browser answers a ping with)
    /// for this long, in milliseconds, is closed (1008).
    pub idle_timeout_ms: NonZeroU64,
    /// Longest an HTTP client may take to send a request's headers, in milliseconds; a slower
    /// (or half-sent) request is dropped so idle sockets cannot pile up.
    pub header_read_timeout_ms: NonZeroU64,
    /// Most sessions (`vfs:register`, `compute:register`) one client may serve at once.
    pub max_sessions_per_client: NonZeroUsize,
    /// Most subscription patterns one client may hold.
    pub max_subscriptions: NonZeroUsize,
    /// A principal at `max_connections_per_principal` may still connect: the newcomer takes the
    /// slot of its connection that has sent nothing for longest, if that one has been quiet for
    /// this many milliseconds (so idle sockets cannot lock a real tab out).
    pub evict_idle_after_ms: NonZeroU64,
    /// Most simultaneous connections of one principal (admin, token holders, local anonymous).
    pub max_connections_per_principal: NonZeroUsize,
}

/// Caps of one program run by `vm.spawn`; a request may tighten them, never loosen them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComputeLimits {
    /// Wall-clock time a program may run, in milliseconds.
    pub wall_timeout_ms: NonZeroU64,
    /// Time a program may go without output or input, in milliseconds.
    pub idle_timeout_ms: NonZeroU64,
    /// Linear memory a program may grow to, in bytes.
    pub max_memory_bytes: NonZeroU64,
    /// Fuel (roughly, WebAssembly instructions) a program may burn.
    pub max_fuel: NonZeroU64,
    /// Bytes of stdout plus stderr a program may write.
    pub max_output_bytes: NonZeroU64,
    /// Programs one client may run at once.
    pub max_concurrent_per_client: NonZeroU32,
    /// Programs the kernel runs at once, all clients together.
    pub max_concurrent_total: NonZeroU32,
    /// Stdin bytes that may wait for one program (WASM or x86) to read them. A `vm.stdin` that
    /// would pass it is refused with `resource_exceeded`; a `stdin` given with `vm.spawn` larger
    /// than it is refused too.
    pub max_pending_stdin_bytes: NonZeroU64,
    /// Bytes of compiled modules kept on disk under `<data_dir>/modules/`; past it the least
    /// recently used are deleted.
    pub module_cache_disk_bytes: NonZeroU64,
    /// Bytes of compiled code of the modules kept in memory; past it the least recently used
    /// are dropped (and loaded again from disk when next run).
    pub module_cache_memory_bytes: NonZeroU64,
    /// x86 machines (the `v86` backend) that a tab runs for its own requests.
    pub v86: V86Limits,
}

/// Caps of x86 machines (`vm.spawn {backend: v86}`); a request's limits may only tighten them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct V86Limits {
    /// Guest RAM when the request asks for none, in bytes.
    pub memory_bytes: NonZeroU64,
    /// Most guest RAM a request may ask for (`limits.max_memory_bytes`), in bytes.
    pub max_memory_bytes: NonZeroU64,
    /// Longest a guest may take to reach its shell (`limits.boot_timeout_ms` may ask for less).
    pub boot_timeout_ms: NonZeroU64,
    /// Machines one client may run at once (each is a whole emulated PC in its tab).
    pub max_machines_per_client: NonZeroU32,
    /// How long a `vm.exec` command may run when the request asks for no `timeout_ms`.
    pub exec_timeout_ms: NonZeroU64,
    /// The longest `timeout_ms` a `vm.exec` may ask for (a longer one is cut to this).
    pub max_exec_timeout_ms: NonZeroU64,
    /// Output of one `vm.exec` command kept, in bytes; the rest is left out (`truncated`).
    pub max_exec_output_bytes: NonZeroU64,
    /// The guest network (`/wisp`): allowed destinations, byte quota and caps per machine.
    pub egress: egress::EgressRules,
}

impl Default for V86Limits {
    fn default() -> Self {
        V86Limits {
            memory_bytes: nz64(128 * 1024 * 1024),
            max_memory_bytes: nz64(512 * 1024 * 1024),
            boot_timeout_ms: nz64(300_000),
            max_machines_per_client: nz32(4),
            exec_timeout_ms: nz64(30_000),
            max_exec_timeout_ms: nz64(300_000),
            max_exec_output_bytes: nz64(64 * 1024),
            egress: egress::EgressRules::default(),
        }
    }
}

/// Caps of task runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskLimits {
    /// Longest a whole run may take, in milliseconds.
    pub run_timeout_ms: NonZeroU64,
    /// Longest one node may wait for its reply, in milliseconds (a node may ask for less).
    pub node_timeout_ms: NonZeroU64,
    /// Most nodes in one task.
    pub max_nodes: NonZeroU32,
    /// Most nodes of one run in flight at once.
    pub max_parallel: NonZeroU32,
    /// Most runs in flight at once, over all clients.
    pub max_runs: NonZeroU32,
    /// Task definitions kept per principal; defining one more drops that principal's oldest.
    pub max_definitions: NonZeroU32,
    /// Largest definition `task.define` accepts, in bytes of its JSON (`resource_exceeded`).
    pub max_definition_bytes: NonZeroUsize,
    /// Bytes of one node's result kept in the run's history and sent in `task.event`,
    /// `task.done` and `task.status`; a larger result is cut and marked `truncated`.
    pub max_result_bytes: NonZeroUsize,
    /// Bytes of all of one run's node results kept together; past it, results are cut further.
    pub max_run_result_bytes: NonZeroUsize,
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("a non-zero default")
}

fn nz64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).expect("a non-zero default")
}

fn nz32(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("a non-zero default")
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_token: None,
            client_token: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            permissions: Vec::new(),
            rate_limits: Vec::new(),
            http_rate_limit: HttpRateLimit::default(),
            limits: Limits::default(),
            compute: ComputeLimits::default(),
            task: TaskLimits::default(),
            shutdown_grace_ms: 5_000,
            data_dir: None,
            desktop_dir: None,
            ai: AiConfig::default(),
            cluster: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: nz(1024 * 1024),
            outbound_queue_len: nz(1024),
            max_queue_bytes: nz(32 * 1024 * 1024),
            write_timeout_ms: nz64(10_000),
            ping_interval_ms: nz64(20_000),
            idle_timeout_ms: nz64(60_000),
            header_read_timeout_ms: nz64(10_000),
            max_sessions_per_client: nz(8),
            max_subscriptions: nz(256),
            evict_idle_after_ms: nz64(30_000),
            max_connections_per_principal: nz(512),
        }
    }
}

impl Default for ComputeLimits {
    fn default() -> Self {
        ComputeLimits {
            wall_timeout_ms: nz64(30_000),
            idle_timeout_ms: nz64(10_000),
            max_memory_bytes: nz64(256 * 1024 * 1024),
            max_fuel: nz64(10_000_000_000),
            max_output_bytes: nz64(8 * 1024 * 1024),
            max_concurrent_per_client: nz32(4),
            max_concurrent_total: nz32(16),
            max_pending_stdin_bytes: nz64(1024 * 1024),
            module_cache_disk_bytes: nz64(256 * 1024 * 1024),
            module_cache_memory_bytes: nz64(64 * 1024 * 1024),
            v86: V86Limits::default(),
        }
    }
}

impl Default for TaskLimits {
    fn default() -> Self {
        TaskLimits {
            run_timeout_ms: nz64(300_000),
            node_timeout_ms: nz64(60_000),
            max_nodes: nz32(256),
            max_parallel: nz32(16),
            max_runs: nz32(32),
            max_definitions: nz32(64),
            max_definition_bytes: nz(1024 * 1024),
            max_result_bytes: nz(64 * 1024),
            max_run_result_bytes: nz(256 * 1024),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{origin}: {message}. Fix that key (every key is optional; see the README's configuration reference)."
    )]
    Invalid { origin: String, message: String },
    #[error("{0}")]
    Unsafe(String),
}

impl Config {
    /// Loads a YAML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_yaml(&text).map_err(|message| ConfigError::Invalid {
            origin: path.display().to_string(),
            message,
        })
    }

    /// Parses YAML text; the error names the key and the line.
    pub fn from_yaml(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }

    /// The data folder: `data_dir`, else the platform's default; `None` when no home is known.
    pub fn data_dir(&self) -> Option<std::path::PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Some(dir.clone());
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share"))
            })?;
        Some(base.join("aether"))
    }

    /// Refuses a configuration that would expose the kernel: a non-loopback listen address
    /// with no `client_token` (unless the operator insists with `--insecure-no-token`).
    pub fn check_exposure(&self, insecure_no_token: bool) -> Result<(), ConfigError> {
        if !self.listen.ip().is_loopback() && self.client_token.is_none() && !insecure_no_token {
            return Err(ConfigError::Unsafe(format!(
                "listening on {} (not loopback) lets anyone on the network drive this kernel: set `client_token` (or AETHER_CLIENT_TOKEN), or pass --insecure-no-token if you really mean it",
                self.listen
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
