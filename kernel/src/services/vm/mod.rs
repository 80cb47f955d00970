//! The `vm.*` service (and legacy `wasm.run`): programs on wasmtime, or x86 machines in a tab.
//!
//! This file is the handler: each `vm.*` topic goes to the WASM [`runner`] or, for
//! `vm.spawn {backend: v86}`, `vm.exec` and the pids of x86 machines, to the [`bridge`]; every refusal is a
//! [`VmError`]. `vm.spawn` is checked (payload, backend, concurrency caps, stdin bound) and
//! acknowledged with a pid at once (its `module`, up to a frame of text, is moved out of the
//! payload rather than copied with it); a [`job`] then gets the compiled module (from the
//! [`cache`], which knows a warm module by its text) and runs it ([`program`]): on the async
//! runtime while it is short, on a blocking thread once it computes for longer, flushing its
//! output and enforcing its clocks meanwhile. Every program ends with exactly one `vm.exit` or
//! `vm.error` to its requester. A program is visible to, and can be fed or killed by, its
//! requester only. Every stop (kill, timeouts, the requester leaving, a cap) ends the program
//! within a watchdog interval plus an epoch tick whatever the guest is doing, and frees its
//! slot. `wasm.run` is handled exactly as `vm.spawn`, and answered on `vm.spawn:ack` too.

mod bridge;
mod cache;
mod engine;
mod error;
mod job;
mod output;
mod program;
mod registry;
mod runner;
mod source;
mod stdin;
mod watch;

use std::convert::Infallible;
use std::sync::Arc;

use aether_shared::vm::{
    self, Accepted, Backend, Exec, Kill, ListPrograms, Programs, Spawn, Spawned, Stdin, WasmRun,
};
use aether_shared::{ContractError, Envelope};

use self::bridge::Bridge;
pub use self::error::VmError;
use self::runner::{Runner, max_pending_stdin_bytes};
use super::request::{Answer, serve, unknown};
use super::sessions::ComputeSessions;
use crate::bus::{Bus, ClientHandle};
use crate::config::Config;

/// How `vm.list` names the module of a spawn's `module` field (`<module>` when it is none).
pub fn module_label(module: Option<serde_json::Value>) -> String {
    match source::module_of(module) {
        Ok(Some(source)) => source::label(&source),
        _ => "<module>".into(),
    }
}

/// The `vm.*` service: the WASM runner and the bridge to the tabs' x86 machines.
pub struct VmService {
    bus: Bus,
    runner: Runner,
    bridge: Bridge,
}

impl VmService {
    /// Builds the runner (engine, linker, module cache) and the bridge.
    pub fn new(
        bus: Bus,
        config: &Config,
        compute_sessions: Arc<ComputeSessions>,
    ) -> wasmtime::Result<VmService> {
        Ok(VmService {
            runner: Runner::new(bus.clone(), config)?,
            bridge: Bridge::new(
                bus.clone(),
                config.compute.v86.clone(),
                max_pending_stdin_bytes(&config.compute),
                compute_sessions,
            ),
            bus,
        })
    }

    /// Handles a `vm.*` or `wasm.run` request from `client`.
    pub fn handle(&self, client: &Arc<ClientHandle>, mut env: Envelope) {
        let bus = &self.bus;
        match env.topic.as_str() {
            vm::SPAWN => {
                let module = source::take_module(&mut env);
                serve(bus, env, |spawn, env| {
                    self.spawn(client, spawn, module, env)
                })
            }
            vm::WASM_RUN => {
                let module = source::take_module(&mut env);
                serve(bus, env, |WasmRun(spawn), env| {
                    self.spawn(client, spawn, module, env)
                })
            }
            vm::STDIN => serve(bus, env, |req, _| self.stdin(client, req)),
            vm::KILL => serve(bus, env, |req, _| self.kill(client, req)),
            vm::LIST => serve(bus, env, |ListPrograms {}, _| {
                Ok::<_, Infallible>(self.list(client))
            }),
            vm::EXEC => serve(bus, env, |req: Exec, _| {
                self.bridge.exec(client, req, || self.runner.allot_pid())
            }),
            _ => unknown(bus, &env),
        }
    }

    /// Stops the programs and machines of a client that left.
    pub fn client_gone(&self, client_id: &str) {
        self.bridge.client_gone(client_id);
        self.runner.client_gone(client_id);
    }

    /// The bridge to the tabs' x86 machines (`compute:output`, `compute:exit` arrive here).
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// `vm.spawn` (or `wasm.run`) whose `module` was taken apart: acknowledged with the pid,
    /// then the program's stream.
    fn spawn(
        &self,
        client: &Arc<ClientHandle>,
        mut spawn: Spawn,
        module: Option<serde_json::Value>,
        env: &Envelope,
    ) -> Result<Answer<Spawned>, VmError> {
        spawn.module = source::module_of(module).map_err(|e| {
            let why = ContractError::InvalidPayload {
                topic: env.topic.to_string(),
                why: e.to_string(),
            };
            VmError::BadModule(why.to_string())
        })?;
        match spawn.backend {
            Backend::Wasm => self.runner.spawn(client, spawn),
            Backend::V86 => self
                .bridge
                .spawn(client, spawn, env, || self.runner.allot_pid()),
        }
    }

    /// `vm.stdin`: keys for an x86 machine of the sender, else input for its WASM program.
    fn stdin(&self, client: &ClientHandle, req: Stdin) -> Result<Answer<Accepted>, VmError> {
        match self.bridge.machine(req.pid, client.id()) {
            Some(machine) => machine.keys.type_in(req),
            None => self.runner.stdin(client.id(), req).map(Answer::from),
        }
    }

    /// `vm.kill`: powers off an x86 machine of the sender, else stops its WASM program.
    fn kill(&self, client: &ClientHandle, req: Kill) -> Result<Answer<Accepted>, VmError> {
        match self.bridge.machine(req.pid, client.id()) {
            Some(machine) => Ok(self.bridge.kill(machine)),
            None => self.runner.kill(client.id(), req.pid).map(Answer::from),
        }
    }

    /// `vm.list`: the sender's programs and machines, by pid.
    pub fn list(&self, client: &ClientHandle) -> Programs {
        let mut programs: Vec<_> = self
            .runner
            .list(client.id())
            .chain(self.bridge.list(client.id()))
            .collect();
        programs.sort_by_key(|p| p.pid);
        Programs { programs }
    }
}
