//! The kernel's configuration: one YAML file, every key optional.
//!
//! An unknown key or a value of the wrong type stops start-up with a message that names the key
//! and the line (serde's location). Limits are named with their units and documented here, next
//! to their defaults; the code that enforces each one reads it from [`Limits`].

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Everything the kernel can be told at start-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP and WebSocket listener.
    pub listen: SocketAddr,
    /// Per-client limits of the hub.
    pub limits: Limits,
    /// How long shutdown waits for connections to flush and close, in milliseconds.
    pub shutdown_grace_ms: u64,
}

/// Per-client limits enforced by the hub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest text frame accepted from a client, in bytes. Larger frames are refused with
    /// `payload_too_large` and the connection stays up (frames over twice this size close it).
    pub max_frame_bytes: usize,
    /// Envelopes that may wait for one client. A client whose queue is full is disconnected so
    /// that it never slows the bus or the other clients.
    pub outbound_queue_len: usize,
    /// Most subscription patterns one client may hold.
    pub max_subscriptions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            limits: Limits::default(),
            shutdown_grace_ms: 5_000,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 1024 * 1024,
            outbound_queue_len: 1024,
            max_subscriptions: 256,
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
        "{path}: {message}; fix that key (every key is optional, see the README's config reference)"
    )]
    Invalid { path: String, message: String },
}

impl Config {
    /// Loads a YAML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_yaml(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default_config() {
        assert_eq!(Config::from_yaml("").unwrap(), Config::default());
    }

    #[test]
    fn keys_override_defaults() {
        let config =
            Config::from_yaml("listen: 127.0.0.1:9000\nlimits:\n  outbound_queue_len: 8\n")
                .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.outbound_queue_len, 8);
        assert_eq!(
            config.limits.max_frame_bytes,
            Limits::default().max_frame_bytes
        );
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name_and_line() {
        let err = Config::from_yaml("listen: 127.0.0.1:9000\nlimitz: {}\n").unwrap_err();
        assert!(err.contains("limitz"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_refused() {
        let err = Config::from_yaml("limits:\n  max_frame_bytes: lots\n").unwrap_err();
        assert!(
            err.contains("max_frame_bytes") || err.contains("line 2"),
            "{err}"
        );
    }
}
