//! Requests served on another kernel of the cluster.
//!
//! - `vm.*` on a gateway that is no runner: a WASM spawn goes to the runners (see
//!   `cluster::forward`), a kill or keys for a program a runner holds go to that runner, and
//!   `vm.list` tells this kernel's machines and the runners' programs together. x86 machines
//!   (`backend: v86`) and their pids stay with this kernel's bridge to the requester's own tab.
//! - `ai.chat` and `ai.complete` on a kernel with no AI provider: to one that has one (its
//!   answer streams back); `ai.cancel` follows to the kernel streaming that answer. The agent
//!   (`ai.agent.*`) stays on the tab's own kernel.
//! - `task.*` naming a task or run another kernel keeps (ids end in `@<kernel id>` in a
//!   cluster): sent to that kernel, whose task service answers as it would a local client. So a
//!   tab that reconnects to another gateway still runs its tasks and reads its runs' status;
//!   `task.list` tells what the tab's own gateway keeps.

use std::convert::Infallible;
use std::sync::Arc;

use aether_shared::vm::{self, ListPrograms, Programs};
use aether_shared::{Envelope, Namespace, ai};
use serde_json::Value;

use super::request::serve;
use super::task;
use super::vm::{VmService, module_label};
use crate::bus::{Bus, ClientHandle};
use crate::cluster::ClusterLink;
use crate::cluster::forward::Group;
use crate::config::cluster::Role;

/// Sends a `task.*` request naming another kernel's task or run there; gives it back when
/// this kernel serves it itself.
fn route_task(
    bus: &Bus,
    link: &Arc<ClusterLink>,
    client: &Arc<ClientHandle>,
    env: Envelope,
) -> Option<Envelope> {
    let payload = env.payload.as_ref();
    let named = ["run_id", "task_id"]
        .iter()
        .find_map(|field| payload?.get(*field)?.as_str());
    match named.and_then(task::kept_by) {
        Some(kernel) if kernel != link.kernel_id() => {
            let gone = format!(
                "Kernel {kernel}, which keeps this task and its runs, is not up now; retry when it is back."
            );
            link.forward_to(bus, kernel.to_owned(), client, env, gone);
            None
        }
        _ => Some(env),
    }
}

/// Sends `env` to the kernel of the cluster that serves it, when another one does; gives it
/// back when this kernel serves it itself. `local_vm` is this kernel's own `vm.*` service (for
/// the x86 machines `vm.list` tells beside the runners' programs).
pub fn route<'a>(
    bus: &Bus,
    link: &Arc<ClusterLink>,
    local_vm: impl FnOnce() -> Option<&'a VmService>,
    client: &Arc<ClientHandle>,
    env: Envelope,
) -> Option<Envelope> {
    match env.topic.namespace() {
        // A gateway that is no runner: its clients' programs run on the runners.
        Namespace::Vm | Namespace::Wasm if !link.plays(Role::Runner) => {
            route_vm(bus, link, local_vm, client, env)
        }
        Namespace::Task => route_task(bus, link, client, env),
        Namespace::Ai if !link.serves_ai() => route_ai(bus, link, client, env),
        _ => Some(env),
    }
}

/// Sends `ai.chat` and `ai.complete` to a kernel with an AI provider, and `ai.cancel` to the
/// one streaming that answer; gives back what this kernel answers itself (the agent's topics,
/// a cancel of nothing sent away).
fn route_ai(
    bus: &Bus,
    link: &Arc<ClusterLink>,
    client: &Arc<ClientHandle>,
    env: Envelope,
) -> Option<Envelope> {
    match env.topic.as_str() {
        ai::CHAT | ai::COMPLETE => {
            link.forward_to_group(bus, Group::Ai, client, env, String::new());
            None
        }
        ai::CANCEL => {
            let payload = env.payload.as_ref();
            let id = payload.and_then(|p| p.get("request_id")?.as_str());
            match id.and_then(|id| link.remote().serving(client.id(), id)) {
                Some(kernel) => {
                    let gone = "The kernel answering that prompt is gone; its answer has ended.";
                    link.forward_to(bus, kernel, client, env, gone.into());
                    None
                }
                None => Some(env),
            }
        }
        _ => Some(env),
    }
}

/// Sends a `vm.*` request where it is served; gives it back when this kernel serves it itself.
fn route_vm<'a>(
    bus: &Bus,
    link: &Arc<ClusterLink>,
    local: impl FnOnce() -> Option<&'a VmService>,
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
            link.forward_to_group(bus, Group::Runners, client, env, label);
            None
        }
        vm::KILL | vm::STDIN => {
            let pid = field("pid").and_then(Value::as_u64);
            match pid.and_then(|pid| link.remote().runner_of(client.id(), pid)) {
                Some(kernel) => {
                    let gone = "The runner that runs this program is gone; it has ended or will end shortly.";
                    link.forward_to(bus, kernel, client, env, gone.into());
                    None
                }
                None => Some(env),
            }
        }
        vm::LIST => {
            serve(bus, env, |ListPrograms {}, _| {
                let mut programs = link.remote().list(client.id());
                if let Some(local) = local() {
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
