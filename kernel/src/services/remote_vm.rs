//! `vm.*` on a gateway of a cluster that is no runner: a WASM spawn goes to the runners (see
//! `cluster::forward`), a kill or keys for a program a runner holds go to that runner, and
//! `vm.list` tells this kernel's machines and the runners' programs together. x86 machines
//! (`backend: v86`) and their pids stay with this kernel's bridge to the requester's own tab.

use std::convert::Infallible;
use std::sync::Arc;

use aether_shared::Envelope;
use aether_shared::vm::{self, ListPrograms, Programs};
use serde_json::Value;

use super::request::serve;
use super::vm::{VmService, module_label};
use crate::bus::{Bus, ClientHandle};
use crate::cluster::ClusterLink;

/// Sends `env` where it is served; gives it back when this kernel serves it itself.
pub fn route(
    bus: &Bus,
    link: &Arc<ClusterLink>,
    local: Option<&VmService>,
    client: &Arc<ClientHandle>,
    env: Envelope,
) -> Option<Envelope> {
    let field = |name: &str| env.payload.as_ref().and_then(|p| p.get(name));
    match env.topic.as_str() {
        vm::SPAWN | vm::WASM_RUN => {
            if field("backend").and_then(Value::as_str) == Some("v86") {
                return Some(env);
            }
            let label = module_label(field("module").cloned());
            link.forward_spawn(bus, client, env, label);
            None
        }
        vm::KILL | vm::STDIN => {
            let pid = field("pid").and_then(Value::as_u64);
            match pid.and_then(|pid| link.remote().runner_of(client.id(), pid)) {
                Some(kernel) => {
                    link.forward_to(bus, kernel, client, env);
                    None
                }
                None => Some(env),
            }
        }
        vm::LIST => {
            serve(bus, env, |ListPrograms {}, _| {
                let mut programs = link.remote().list(client.id());
                if let Some(local) = local {
                    programs.extend(local.list(client).programs);
                }
                programs.sort_by_key(|p| p.pid);
                Ok::<_, Infallible>(Programs { programs })
            });
            None
        }
        _ => Some(env),
    }
}
