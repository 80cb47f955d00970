//! Values that parse but cannot be used safely, refused before the kernel starts.
//!
//! Checks of one value run while it is parsed (the `deserialize_with` helpers below), so the
//! error names its key and line in the file, or its `AETHER_*` variable. Checks that compare two
//! keys run in [`Config::validate`], once the file, the environment and the flags are merged.
//! Nothing here changes a value: a bad one stops start-up with a sentence saying what to write.

use std::num::{NonZeroU32, NonZeroUsize};

use std::fmt;

use serde::de::{self, Error as _, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Config, ConfigError};

/// Shortest `admin_token` or `client_token` accepted, in characters.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Largest `limits.max_frame_bytes` accepted: 256 MiB. Frames are held whole in memory (and the
/// hub closes a connection at twice this size), so larger values only risk memory and overflow.
pub const MAX_FRAME_BYTES_LIMIT: usize = 256 * 1024 * 1024;

/// Largest `http_rate_limit.requests_per_second` accepted: one request per nanosecond.
pub const MAX_REQUESTS_PER_SECOND: u32 = 1_000_000_000;

impl Config {
    /// Refuses combinations of keys that cannot be meant: an `admin_token` equal to the
    /// `client_token` (every client holding the shared token would be admin), a policy rule
    /// naming an outside server that `ai.mcp_servers` does not have, and an MCP server's
    /// `header.env` that the kernel's environment does not set.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_with_env(|name| std::env::var(name).ok())
    }

    /// [`Config::validate`] with the environment read through `lookup`.
    pub fn validate_with_env(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let servers = &self.ai.mcp_servers;
        for rule in &self.ai.agent.policy {
            if let Some(server) = rule.tool.server()
                && servers.get(server).is_none()
            {
                let configured = match servers.names() {
                    names if names.is_empty() => "none is configured".to_owned(),
                    names => format!("configured: {}", names.join(", ")),
                };
                return Err(ConfigError::Invalid {
                    origin: "ai.agent.policy".into(),
                    message: format!(
                        "the rule for `{}` names the MCP server `{server}`, which ai.mcp_servers does not have ({configured}); fix the name or add the server",
                        rule.tool.as_str()
                    ),
                });
            }
        }
        servers
            .check_environment(lookup)
            .map_err(|message| ConfigError::Invalid {
                origin: "ai.mcp_servers".into(),
                message,
            })?;
        if let (Some(admin), Some(client)) = (&self.admin_token, &self.client_token)
            && admin == client
        {
            return Err(ConfigError::Invalid {
                origin: "admin_token (AETHER_ADMIN_TOKEN) and client_token (AETHER_CLIENT_TOKEN)"
                    .into(),
                message: "the two tokens are equal, so every client holding the shared token would be admin; give admin_token its own secret (e.g. `openssl rand -hex 16`)"
                    .into(),
            });
        }
        Ok(())
    }
}

/// Parses `admin_token` / `client_token`: absent or `~` is no token; a present one has at least
/// [`MIN_TOKEN_CHARS`] characters.
pub fn token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Token>::deserialize(d)?.map(|t| t.0))
}

/// A token long enough. Checked inside the deserializer's own call (a visitor), so that the
/// error carries the key's line even at the top level of the file.
struct Token(String);

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_string(TokenVisitor)
    }
}

struct TokenVisitor;

impl Visitor<'_> for TokenVisitor {
    type Value = Token;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a token of at least {MIN_TOKEN_CHARS} characters")
    }

    fn visit_str<E: de::Error>(self, token: &str) -> Result<Token, E> {
        let chars = token.chars().count();
        if chars < MIN_TOKEN_CHARS {
            return Err(E::custom(format!(
                "the token is {chars} characters long; use at least {MIN_TOKEN_CHARS} random characters (e.g. the output of `openssl rand -hex 16`), or remove the key for no token"
            )));
        }
        Ok(Token(token.to_owned()))
    }
}

/// Parses `limits.max_frame_bytes`: at most [`MAX_FRAME_BYTES_LIMIT`].
pub fn max_frame_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroUsize, D::Error> {
    let bytes = NonZeroUsize::deserialize(d)?;
    if bytes.get() > MAX_FRAME_BYTES_LIMIT {
        return Err(D::Error::custom(format!(
            "max_frame_bytes {bytes} is too large; the most accepted is {MAX_FRAME_BYTES_LIMIT} (256 MiB), and the default is 1048576 (1 MiB)"
        )));
    }
    Ok(bytes)
}

/// Parses `http_rate_limit.requests_per_second`: at most [`MAX_REQUESTS_PER_SECOND`].
pub fn requests_per_second<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    let rate = NonZeroU32::deserialize(d)?;
    if rate.get() > MAX_REQUESTS_PER_SECOND {
        return Err(D::Error::custom(format!(
            "requests_per_second {rate} is more than one per nanosecond; use at most {MAX_REQUESTS_PER_SECOND}"
        )));
    }
    Ok(rate)
}
