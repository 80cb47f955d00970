//! Kernel services: the handlers behind request topics, one module per namespace.
//!
//! The hub hands every un-addressed request to [`Services::dispatch`] after the guardrails, which
//! names the handler of each namespace; each handler matches its namespace's topic constants
//! (`vm::SPAWN`, declared once in `shared`) to one method. A method takes the typed request and
//! returns its reply or its error type, and [`request::serve`] answers with either. Services never
//! read sockets and never block the runtime.

mod agent;
pub mod ai;
mod db;
mod kernel;
pub mod mcp;
mod remote;
mod request;
mod sessions;
mod subscriptions;
mod task;
pub mod vm;

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use aether_shared::{Envelope, Namespace, agent as agent_topics, compute};

use self::agent::caller::Seat;

use crate::bus::{Bus, ClientHandle};
use crate::config::Config;
use crate::guard::Guards;

/// Every service of the kernel.
pub struct Services {
    bus: Bus,
    config: Arc<Config>,
    /// The guardrails: the task engine admits every node through them as its caller.
    guards: Arc<Guards>,
    /// The WASM runner, started on the first `vm.*` request (its engine reserves memory and
    /// runs a ticker thread: a kernel that never runs programs should not pay for it).
    vm: OnceLock<Option<vm::VmService>>,
    /// The task engine; it sends its nodes' requests back through [`Services::dispatch`].
    task: task::TaskService,
    /// The AI provider client (cheap: no connection until the first request).
    ai: ai::AiService,
    /// The agent (`ai.agent.*`): runs that call tools as their caller, through the guardrails.
    agent: agent::AgentService,
    /// The compute session each client registered (the v86 backend of its own tab).
    compute_sessions: Arc<sessions::ComputeSessions>,
    /// MCP grants (`mcp.*`) and the calls outside agents make with them.
    mcp: Arc<mcp::McpService>,
}

impl Services {
    /// Builds the services over a bus; `guards` are the guardrails (task nodes are admitted
    /// through them; their live bucket count is reported by `kernel.stats`); `shutdown` stops
    /// task runs.
    pub fn new(
        bus: Bus,
        config: Arc<Config>,
        guards: Arc<Guards>,
        shutdown: CancellationToken,
    ) -> Arc<Services> {
        Arc::new_cyclic(|me| {
            let ai = ai::AiService::new(bus.clone(), &config.ai);
            let compute_sessions: Arc<sessions::ComputeSessions> = Arc::default();
            let agent = agent::AgentService::new(
                bus.clone(),
                me.clone(),
                Arc::clone(&guards),
                Arc::clone(&compute_sessions),
                ai.provider(),
                &config,
                shutdown.clone(),
            );
            let mcp = Arc::new(mcp::McpService::new(
                Seat {
                    bus: bus.clone(),
                    guards: Arc::clone(&guards),
                    services: me.clone(),
                    compute: Arc::clone(&compute_sessions),
                },
                &config,
            ));
            Services {
                mcp,
                task: task::TaskService::new(
                    bus.clone(),
                    me.clone(),
                    Arc::clone(&guards),
                    &config,
                    shutdown,
                ),
                ai,
                agent,
                bus,
                config,
                guards,
                vm: OnceLock::new(),
                compute_sessions,
            }
        })
    }

    /// The guardrails, for services that send requests on a client's behalf.
    pub fn guards(&self) -> &Arc<Guards> {
        &self.guards
    }

    /// The MCP grants, for the `/mcp` transport.
    pub fn mcp(&self) -> &Arc<mcp::McpService> {
        &self.mcp
    }

    fn vm(&self) -> Option<&vm::VmService> {
        self.vm
            .get_or_init(|| {
                match vm::VmService::new(
                    self.bus.clone(),
                    &self.config,
                    Arc::clone(&self.compute_sessions),
                ) {
                    Ok(vm) => Some(vm),
                    Err(e) => {
                        tracing::error!("the WASM runner is unavailable: {e:#}");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Releases what a disconnected client held (its running programs, AI requests and agent
    /// runs stop).
    pub fn client_gone(&self, client_id: &str) {
        if let Some(link) = self.bus.cluster() {
            link.client_gone(client_id);
        }
        self.ai.client_gone(client_id);
        self.agent.client_gone(client_id);
        self.task.client_gone(client_id);
        self.compute_sessions.remove(client_id);
        self.mcp.client_gone(client_id);
        if let Some(Some(vm)) = self.vm.get() {
            vm.client_gone(client_id);
        }
    }

    /// Handles one request from `client`.
    pub fn dispatch(&self, client: &Arc<ClientHandle>, env: Envelope) {
        // What another kernel of the cluster serves goes there.
        let env = match self.bus.cluster() {
            Some(link) => match remote::route(&self.bus, link, || self.vm(), client, env) {
                Some(env) => env,
                None => return,
            },
            None => env,
        };
        match env.topic.namespace() {
            Namespace::Kernel => {
                let buckets = self.guards.rates.bucket_count() as u64;
                kernel::handle(&self.bus, buckets, env)
            }
            Namespace::Bus => subscriptions::handle(
                &self.bus,
                client,
                self.config.limits.max_subscriptions.get(),
                env,
            ),
            Namespace::Vfs => self.sessions(client, env),
            Namespace::Compute => match env.topic.as_str() {
                // Reports of a tab hosting an x86 machine (dropped while the runner is down).
                compute::OUTPUT | compute::EXIT => {
                    if let Some(vm) = self.vm() {
                        vm.bridge().report(client, env)
                    }
                }
                _ => self.sessions(client, env),
            },
            Namespace::Vm | Namespace::Wasm => match self.vm() {
                Some(vm) => vm.handle(client, env),
                None => request::refuse(&self.bus, &env, &vm::VmError::Unavailable),
            },
            Namespace::Task => self.task.handle(client, env),
            Namespace::Mcp => self.mcp.handle(client, env),
            Namespace::Ai => self.serve_ai(client, env),
        }
    }

    /// `ai.*` served by this kernel: the agent's topics, or the AI provider's.
    fn serve_ai(&self, client: &Arc<ClientHandle>, env: Envelope) {
        match env.topic.as_str() {
            agent_topics::START
            | agent_topics::APPROVE
            | agent_topics::CANCEL
            | agent_topics::UNDO
            | agent_topics::LIST
            | agent_topics::STATUS => self.agent.handle(client, env),
            _ => self.ai.handle(client, env),
        }
    }
}

impl Services {
    /// `vfs:register` / `compute:register`, and the refusal of what a tab serves.
    fn sessions(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let max_sessions = self.config.limits.max_sessions_per_client.get();
        sessions::handle(&self.bus, &self.compute_sessions, max_sessions, client, env)
    }
}
