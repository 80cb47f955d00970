//! `aether --print-config`: the effective configuration as YAML, secrets masked.

use super::Config;

const MASK: &str = "********";

impl Config {
    /// The configuration as YAML with `admin_token` and `client_token` masked.
    pub fn masked_yaml(&self) -> String {
        let mut shown = self.clone();
        for token in [&mut shown.admin_token, &mut shown.client_token] {
            if token.is_some() {
                *token = Some(MASK.to_owned());
            }
        }
        serde_norway::to_string(&shown).expect("the config serializes")
    }
}
