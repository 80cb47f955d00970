//! `aether --print-config`: the effective configuration as YAML, secrets masked.

use super::Config;

const MASK: &str = "********";

impl Config {
    /// The configuration as YAML with `admin_token`, `client_token` and any password in
    /// `ai.provider.base_url` masked.
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
        serde_norway::to_string(&yaml).expect("the config serializes")
    }
}
