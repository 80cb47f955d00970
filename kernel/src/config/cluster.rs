//! `cluster:`: join other kernels over NATS. Absent (the default), the kernel is one process
//! with its in-process bus, exactly as without this block.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

/// How this kernel reaches the cluster's NATS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The NATS server (`nats://host:port`, or `tls://host:port`); several may be given
    /// comma-separated, and the client moves between them.
    #[serde(deserialize_with = "nats_urls")]
    pub nats_url: String,
    /// This kernel's name in the cluster (letters, digits, `-`, `_`; at most 64). Default: a
    /// fresh random one at each start.
    #[serde(default, deserialize_with = "kernel_id")]
    pub kernel_id: Option<String>,
    /// A NATS `.creds` file (JWT and NKey seed) to authenticate with.
    #[serde(default)]
    pub credentials: Option<PathBuf>,
    /// What this kernel does in the cluster (default both): a `gateway` serves HTTP, the desktop
    /// and its tabs' connections; a `runner` runs WASM programs for any kernel of the cluster.
    /// A gateway that is no runner sends its tabs' spawns to the runners. `--role` overrides it.
    #[serde(default = "Role::all", deserialize_with = "roles")]
    pub roles: Vec<Role>,
}

/// A part a kernel plays in a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Serves HTTP: the desktop, `/ws`, `/mcp`; its clients' requests enter the bus here.
    Gateway,
    /// Runs WASM programs (`vm.spawn`), for its own clients and for every gateway's.
    Runner,
}

impl Role {
    /// Both roles: a lone kernel's, and a cluster kernel's by default.
    pub fn all() -> Vec<Role> {
        vec![Role::Gateway, Role::Runner]
    }

    /// The role's name in config and in `kernel.stats`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Runner => "runner",
        }
    }
}

impl ClusterConfig {
    /// True when this kernel plays `role`.
    pub fn plays(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn roles<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Role>, D::Error> {
    let mut roles = Vec::<Role>::deserialize(d)?;
    if roles.is_empty() {
        return Err(serde::de::Error::custom(
            "`roles` is empty; a kernel is a gateway, a runner, or both",
        ));
    }
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    Ok(roles)
}

fn nats_urls<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    for url in text.split(',').map(str::trim) {
        let rest = url
            .strip_prefix("nats://")
            .or_else(|| url.strip_prefix("tls://"))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{url}` is not a NATS URL; write nats://host:port (or tls://host:port)"
                ))
            })?;
        if rest.is_empty() {
            return Err(serde::de::Error::custom(format!("`{url}` names no host")));
        }
    }
    Ok(text)
}

fn kernel_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(id) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let fits = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !fits {
        return Err(serde::de::Error::custom(format!(
            "kernel_id `{id}` must be 1 to 64 letters, digits, `-` or `_`"
        )));
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ClusterConfig, String> {
        serde_norway::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn a_cluster_block_names_nats_and_optionally_the_kernel() {
        let config = parse("nats_url: nats://127.0.0.1:4222\nkernel_id: gw-1").unwrap();
        assert_eq!(config.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(config.kernel_id.as_deref(), Some("gw-1"));
        assert_eq!(config.roles, Role::all());
        let runner = parse("nats_url: nats://a:1\nroles: [runner, runner]").unwrap();
        assert_eq!(runner.roles, vec![Role::Runner]);
        assert!(runner.plays(Role::Runner) && !runner.plays(Role::Gateway));
        assert!(parse("nats_url: nats://a:1, tls://b:2").is_ok());
        for (bad, says) in [
            ("nats_url: http://127.0.0.1:4222", "not a NATS URL"),
            ("nats_url: nats://", "names no host"),
            ("nats_url: nats://a:1\nkernel_id: 'has space'", "kernel_id"),
            ("nats_url: nats://a:1\nkernel_id: ''", "kernel_id"),
            ("nats_url: nats://a:1\nnope: 1", "unknown field"),
            ("kernel_id: gw", "missing field `nats_url`"),
            ("nats_url: nats://a:1\nroles: []", "`roles` is empty"),
            ("nats_url: nats://a:1\nroles: [judge]", "unknown variant"),
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
