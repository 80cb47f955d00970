//! `aether --print-config`: the effective configuration as YAML, secrets masked.

use super::Config;

const MASK: &str = "********";

impl Config {
    /// The configuration as YAML with `admin_token`, `client_token`, any password in
    /// `ai.provider.base_url` or an `ai.mcp_servers.*.url`, and the values of every
    /// `ai.mcp_servers.*.env` masked.
    pub fn masked_yaml(&self) -> String {
        let mut shown = self.clone();
        for token in [&mut shown.admin_token, &mut shown.client_token] {
            if token.is_some() {
                *token = Some(MASK.to_owned());
            }
        }
        let mut yaml = serde_norway::to_value(&shown).expect("the config serializes");
        if let Some(url) = &self.ai.provider.base_url
            && let Some(provider) = yaml.get_mut("ai").and_then(|ai| ai.get_mut("provider"))
        {
            provider["base_url"] = serde_norway::Value::String(url.masked());
        }
        if let Some(servers) = yaml
            .get_mut("ai")
            .and_then(|ai| ai.get_mut("mcp_servers"))
            .and_then(|servers| servers.as_mapping_mut())
        {
            for (_, server) in servers.iter_mut() {
                if let Some(env) = server.get_mut("env").and_then(|e| e.as_mapping_mut()) {
                    for (_, value) in env.iter_mut() {
                        *value = serde_norway::Value::String(MASK.to_owned());
                    }
                }
                if let Some(url) = server.get_mut("url")
                    && let Some(mut parsed) = url.as_str().and_then(|u| url::Url::parse(u).ok())
                    && parsed.password().is_some()
                {
                    let _ = parsed.set_password(Some(MASK));
                    *url = serde_norway::Value::String(parsed.to_string());
                }
            }
        }
        serde_norway::to_string(&yaml).expect("the config serializes")
    }
}
