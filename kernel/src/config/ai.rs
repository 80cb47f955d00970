//! The `ai:` section: which OpenAI-compatible chat-completions endpoint the `ai.*` service talks
//! to, and the limits it holds each request to.
//!
//! The provider's values validate themselves while being parsed (an `http`/`https` base URL, an
//! environment variable name), so a bad value names its key and line. The API key itself is never
//! in the config: `api_key_env` names the environment variable that holds it. The agent's own
//! section is [`super::agent`]; its outside MCP servers, [`super::mcp_servers`].

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The AI service's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    /// The endpoint. Without `base_url` every `ai.*` request is answered `not_configured`.
    pub provider: ProviderConfig,
    /// Longest wait for the provider's TCP (and TLS) connection, in milliseconds.
    pub connect_timeout_ms: NonZeroU64,
    /// Longest the provider may stay silent (before its first byte, or between two chunks), in
    /// milliseconds; a stalled stream then ends with `ai.error {code: timeout}`.
    pub idle_timeout_ms: NonZeroU64,
    /// Longest one whole answer may take, in milliseconds.
    pub request_timeout_ms: NonZeroU64,
    /// `ai.chat` and `ai.complete` requests one client may have running at once.
    pub max_concurrent_per_client: NonZeroU32,
    /// `max_tokens` asked of the provider for one inline completion (`ai.complete`).
    pub complete_max_tokens: NonZeroU32,
    /// The agent (`ai.agent.*`): its tool policy and the budgets of a run.
    pub agent: super::agent::AgentConfig,
    /// Outside MCP servers whose tools the agent is offered as `<server>__<tool>`, by name
    /// ([`super::mcp_servers`]). None by default.
    pub mcp_servers: super::mcp_servers::McpServers,
}

/// `ai.provider`: an OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM, hosted APIs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// The API root, ending before `/chat/completions`, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: Option<BaseUrl>,
    /// The model asked for when a request names none.
    pub model: Option<String>,
    /// The environment variable holding the API key, sent as `Authorization: Bearer …`
    /// (local servers usually need none).
    pub api_key_env: Option<EnvVarName>,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            provider: ProviderConfig::default(),
            connect_timeout_ms: NonZeroU64::new(10_000).expect("non-zero"),
            idle_timeout_ms: NonZeroU64::new(60_000).expect("non-zero"),
            request_timeout_ms: NonZeroU64::new(300_000).expect("non-zero"),
            max_concurrent_per_client: NonZeroU32::new(4).expect("non-zero"),
            complete_max_tokens: NonZeroU32::new(128).expect("non-zero"),
            agent: super::agent::AgentConfig::default(),
            mcp_servers: super::mcp_servers::McpServers::default(),
        }
    }
}

/// An `http://` or `https://` URL without query or fragment, stored without a trailing `/`.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Parses and checks a base URL.
    pub fn parse(s: &str) -> Result<BaseUrl, String> {
        let url = url::Url::parse(s).map_err(|e| {
            format!("base_url `{s}` is not a URL ({e}); write it like http://127.0.0.1:8000/v1")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "base_url `{s}` must start with http:// or https://"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || url.host().is_none() {
            return Err(format!(
                "base_url `{s}` must be a host and a path only (no query, no fragment), like https://api.example.com/v1"
            ));
        }
        Ok(BaseUrl(s.trim_end_matches('/').to_owned()))
    }

    /// The URL of a path below the base (`/chat/completions`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The URL with any password replaced by `********` (for `--print-config` and logs).
    pub fn masked(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("********"));
                url.as_str().trim_end_matches('/').to_owned()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for BaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BaseUrl::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The name of an environment variable: `[A-Za-z_][A-Za-z0-9_]*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVarName(String);

impl EnvVarName {
    /// Parses a variable name.
    pub fn parse(s: &str) -> Result<EnvVarName, String> {
        let mut bytes = s.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
        if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "api_key_env `{s}` is not an environment variable name: name the variable that holds the key, like OPENAI_API_KEY (not the key itself)"
            ));
        }
        Ok(EnvVarName(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for EnvVarName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EnvVarName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EnvVarName::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_http_without_query_and_lose_their_trailing_slash() {
        let url = BaseUrl::parse("http://127.0.0.1:8000/v1/").unwrap();
        assert_eq!(
            url.join("/chat/completions"),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
        for bad in [
            "ftp://x/v1",
            "127.0.0.1:8000",
            "http://x/v1?key=1",
            "not a url",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_password_in_the_base_url_is_masked() {
        let url = BaseUrl::parse("https://user:hunter2@api.example.com/v1").unwrap();
        assert!(!url.masked().contains("hunter2"));
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn api_key_env_is_a_variable_name_not_a_key() {
        assert!(EnvVarName::parse("OPENAI_API_KEY").is_ok());
        for bad in ["", "sk-abc123", "1ABC", "A B"] {
            assert!(EnvVarName::parse(bad).is_err(), "{bad}");
        }
    }
}
