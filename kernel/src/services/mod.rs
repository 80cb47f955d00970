//! Kernel services: the handlers behind request topics, one module per namespace.
//!
//! The hub hands every un-addressed request to [`Services::dispatch`] after the guardrails; a
//! service decodes the typed payload (a bad payload is `bad_request`) and answers through the bus
//! helpers. Services never read sockets and never block the runtime.

pub mod ai;
mod kernel;
mod sessions;
mod subscriptions;
mod task;
pub mod vm;

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload, Namespace, compute};

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
    /// The compute session each client registered (the v86 backend of its own tab).
    compute_sessions: Arc<vm::bridge::ComputeSessions>,
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
        Arc::new_cyclic(|me| Services {
            task: task::TaskService::new(
                bus.clone(),
                me.clone(),
                Arc::clone(&guards),
                &config,
                shutdown,
            ),
            ai: ai::AiService::new(bus.clone(), &config.ai),
            bus,
            config,
            guards,
            vm: OnceLock::new(),
            compute_sessions: Arc::default(),
        })
    }

    /// The guardrails, for services that send requests on a client's behalf.
    pub fn guards(&self) -> &Arc<Guards> {
        &self.guards
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

    /// Releases what a disconnected client held (its running programs and AI requests stop).
    pub fn client_gone(&self, client_id: &str) {
        self.ai.client_gone(client_id);
        self.task.client_gone(client_id);
        self.compute_sessions.remove(client_id);
        if let Some(Some(vm)) = self.vm.get() {
            vm.client_gone(client_id);
        }
    }

    /// Handles one request from `client`.
    pub fn dispatch(&self, client: &Arc<ClientHandle>, env: Envelope) {
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
            Namespace::Compute
                if matches!(
                    env.topic.as_str(),
                    compute::Output::TOPIC | compute::Exit::TOPIC
                ) =>
            {
                self.machine_report(client, env)
            }
            Namespace::Vfs | Namespace::Compute => sessions::handle(
                &self.bus,
                &self.compute_sessions,
                self.config.limits.max_sessions_per_client.get(),
                client,
                env,
            ),
            Namespace::Vm | Namespace::Wasm => match self.vm() {
                Some(vm) => vm.handle(client, env),
                None => self.bus.emit_error(
                    &env,
                    ErrorPayload::new(
                        ErrorCode::BackendUnavailable,
                        "The WASM runner failed to start (see the kernel log); restart the kernel.",
                    ),
                ),
            },
            Namespace::Task => self.task.handle(client, env),
            Namespace::Ai => self.ai.handle(client, env),
        }
    }
}

impl Services {
    /// `compute:output` / `compute:exit` from a tab hosting an x86 machine.
    fn machine_report(&self, client: &Arc<ClientHandle>, env: Envelope) {
        let Some(vm) = self.vm() else {
            return;
        };
        if env.topic.as_str() == compute::Output::TOPIC {
            if let Some(out) = decode::<compute::Output>(&self.bus, &env) {
                vm.bridge().output(client, &env, out);
            }
        } else if let Some(exit) = decode::<compute::Exit>(&self.bus, &env) {
            vm.bridge().exit(client, &env, exit);
        }
    }
}

/// Decodes a typed request, answering `bad_request` when the payload does not match.
pub(crate) fn decode<R: BusRequest>(bus: &Bus, env: &Envelope) -> Option<R> {
    match env.decode::<R>() {
        Ok(req) => Some(req),
        Err(e) => {
            bus.emit_error(
                env,
                ErrorPayload::new(
                    ErrorCode::BadRequest,
                    format!("{e}; fix the payload and resend."),
                ),
            );
            None
        }
    }
}

/// Answers a topic of a served namespace that has no handler.
pub(crate) fn unknown(bus: &Bus, env: &Envelope) {
    bus.emit_error(
        env,
        ErrorPayload::new(
            ErrorCode::UnknownTopic,
            format!(
                "No handler for `{}`; see SPEC §5 for the topics of this namespace.",
                env.topic
            ),
        ),
    );
}
