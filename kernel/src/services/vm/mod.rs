//! The `vm.*` service (and legacy `wasm.run`): WASI programs on wasmtime.
//!
//! `vm.spawn` is checked (payload, backend, concurrency caps, stdin bound) and acknowledged with a
//! pid at once; a [`job`] then fetches and compiles the module (through the [`cache`]) and runs it
//! on a blocking thread ([`program`]) while a watchdog flushes its output and enforces its
//! clocks. Every program ends with exactly one `vm.exit` or `vm.error` to its requester. A
//! program is visible to, and can be fed or killed by, its requester only. Every stop (kill, timeouts,
//! the requester leaving, a cap) ends the program within a watchdog interval plus an epoch tick
//! whatever the guest is doing, and frees its slot. `wasm.run` is handled exactly as `vm.spawn`
//! (only its acknowledgement topic differs).
//!
//! `vm.spawn {backend: v86}` goes to the [`bridge`] instead: an x86 machine in the requester's tab.

pub mod bridge;
mod cache;
mod engine;
mod job;
mod output;
mod program;
mod registry;
mod source;
mod stdin;
mod watch;

use std::sync::Arc;

use aether_shared::vm::{
    Accepted, Backend, Kill, ListPrograms, ProgramInfo, Programs, Spawn, Spawned, Stdin, WasmRun,
};
use aether_shared::{BusRequest as _, Envelope, ErrorCode, ErrorPayload};
use wasmtime::{Engine, Linker};

use self::bridge::{Bridge, ComputeSessions};
use self::cache::{CacheCaps, ModuleCache};
use self::job::{Job, RunLimits};
use self::program::GuestState;
use self::registry::{CapHit, Registry};
use self::stdin::{StdinPipe, StdinRefusal};
use self::watch::Stop;
use super::decode;
use crate::bus::{Bus, ClientHandle};
use crate::config::{ComputeLimits, Config};

/// The runner.
pub struct VmService {
    bus: Bus,
    limits: ComputeLimits,
    cache: Arc<ModuleCache>,
    programs: Arc<Registry>,
    bridge: Bridge,
    _ticker: engine::TickerGuard,
}

impl VmService {
    /// Builds the engine, the linker (WASI preview 1 only) and the module cache.
    pub fn new(
        bus: Bus,
        config: &Config,
        compute_sessions: Arc<ComputeSessions>,
    ) -> wasmtime::Result<VmService> {
        let (engine, ticker) = engine::build(&config.compute)?;
        let linker = wasi_linker(&engine)?;
        let cache_dir = config.data_dir().map(|d| d.join("modules"));
        let caps = CacheCaps {
            memory_bytes: config.compute.module_cache_memory_bytes.get(),
            disk_bytes: config.compute.module_cache_disk_bytes.get(),
        };
        Ok(VmService {
            bridge: Bridge::new(
                bus.clone(),
                config.compute.v86.clone(),
                max_pending_stdin_bytes(&config.compute),
                compute_sessions,
            ),
            bus,
            limits: config.compute.clone(),
            cache: Arc::new(ModuleCache::new(engine, linker, cache_dir, caps)),
            programs: Arc::new(Registry::default()),
            _ticker: ticker,
        })
    }

    /// Handles a `vm.*` or `wasm.run` request from `client`.
    pub fn handle(&self, client: &Arc<ClientHandle>, env: Envelope) {
        match env.topic.as_str() {
            Spawn::TOPIC => {
                if let Some(spawn) = decode::<Spawn>(&self.bus, &env) {
                    self.spawn(client, env, spawn, false);
                }
            }
            WasmRun::TOPIC => {
                if let Some(WasmRun(spawn)) = decode::<WasmRun>(&self.bus, &env) {
                    self.spawn(client, env, spawn, true);
                }
            }
            Stdin::TOPIC => {
                if let Some(req) = decode::<Stdin>(&self.bus, &env) {
                    if self.bridge.owns(req.pid, client.id()) {
                        self.bridge.stdin(env, req);
                    } else {
                        self.stdin(client, env, req);
                    }
                }
            }
            Kill::TOPIC => {
                if let Some(req) = decode::<Kill>(&self.bus, &env) {
                    if self.bridge.owns(req.pid, client.id()) {
                        self.bridge.kill(env, req);
                        return;
                    }
                    match self.programs.get(req.pid, client.id()) {
                        Some(program) => {
                            program.watch.stop(Stop::Killed);
                            program.stdin.end();
                            self.bus.reply::<Kill>(&env, &Accepted {});
                        }
                        None => self.no_such_program(&env, req.pid),
                    }
                }
            }
            ListPrograms::TOPIC => {
                if decode::<ListPrograms>(&self.bus, &env).is_some() {
                    let mut programs: Vec<ProgramInfo> = self
                        .programs
                        .of(client.id())
                        .iter()
                        .map(|p| ProgramInfo {
                            pid: p.pid,
                            module: p.label.clone(),
                            running_ms: p.started.elapsed().as_millis() as u64,
                        })
                        .chain(self.bridge.list(client.id()))
                        .collect();
                    programs.sort_by_key(|p| p.pid);
                    self.bus.reply::<ListPrograms>(&env, &Programs { programs });
                }
            }
            _ => super::unknown(&self.bus, &env),
        }
    }

    /// Stops the programs of a client that left.
    pub fn client_gone(&self, client_id: &str) {
        self.bridge.client_gone(client_id);
        for program in self.programs.of(client_id) {
            program.watch.stop(Stop::Abandoned);
            program.stdin.end();
        }
    }

    /// The bridge to the tabs' x86 machines (`compute:output`, `compute:exit` arrive here).
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    fn no_such_program(&self, env: &Envelope, pid: u64) {
        self.bus.emit_error(
            env,
            ErrorPayload::new(
                ErrorCode::NotFound,
                format!("You have no running program {pid}; see `vm.list`."),
            )
            .with_detail("pid", pid),
        );
    }

    fn spawn(&self, client: &Arc<ClientHandle>, env: Envelope, spawn: Spawn, legacy: bool) {
        if spawn.backend == Backend::V86 {
            let programs = Arc::clone(&self.programs);
            self.bridge
                .spawn(client, env, spawn, move || programs.allot_pid());
            return;
        }
        let Some(module) = spawn.module.clone() else {
            self.bus.emit_error(
                &env,
                ErrorPayload::new(
                    ErrorCode::BadRequest,
                    "`module` is missing: give the program as {path}, {base64} or {wat}.",
                ),
            );
            return;
        };
        let limits = RunLimits::tightened(&self.limits, spawn.limits.as_ref());
        let max_stdin = max_pending_stdin_bytes(&self.limits);
        let (stdin_writer, stdin_reader) = StdinPipe::new(max_stdin);
        // A stdin given with the spawn is all of it: buffered now, then ended.
        if let Some(text) = &spawn.stdin
            && stdin_writer.push(text.as_bytes(), true).is_err()
        {
            let message = format!(
                "The spawn's `stdin` is {} bytes but at most {max_stdin} may wait for a program to read them (max_pending_stdin_bytes); send it in parts with `vm.stdin` as the program reads, or raise the limit.",
                text.len()
            );
            self.bus
                .emit_error(&env, stdin::over_bound(message, max_stdin));
            return;
        }
        let admitted = self.programs.admit(
            client.id(),
            client.acting_for(),
            source::label(&module),
            stdin_writer,
            self.limits.max_concurrent_per_client.get(),
            self.limits.max_concurrent_total.get(),
        );
        let program = match admitted {
            Ok(p) => p,
            Err(hit) => {
                let (limit, value) = match hit {
                    CapHit::PerClient(n) => ("max_concurrent_per_client", n),
                    CapHit::Total(n) => ("max_concurrent_total", n),
                };
                self.bus.emit_error(
                    &env,
                    ErrorPayload::new(
                        ErrorCode::ResourceExceeded,
                        format!("Too many programs running ({limit} is {value}); wait for one to end or kill one."),
                    )
                    .with_detail("limit", limit)
                    .with_detail("value", value),
                );
                return;
            }
        };
        let spawned = Spawned { pid: program.pid };
        if legacy {
            self.bus.reply::<WasmRun>(&env, &spawned);
        } else {
            self.bus.reply::<Spawn>(&env, &spawned);
        }
        let job = Job {
            bus: self.bus.clone(),
            cache: Arc::clone(&self.cache),
            programs: Arc::clone(&self.programs),
            client: Arc::clone(client),
            env,
            spawn,
            module,
            program,
            stdin_reader: std::sync::Mutex::new(Some(stdin_reader)),
            limits,
        };
        tokio::spawn(job.run());
    }

    fn stdin(&self, client: &Arc<ClientHandle>, env: Envelope, req: Stdin) {
        let Some(program) = self.programs.get(req.pid, client.id()) else {
            self.no_such_program(&env, req.pid);
            return;
        };
        program.watch.touch();
        // Taken or refused at once: nothing waits on a guest that does not read.
        match program.stdin.push(req.data.as_bytes(), req.eof) {
            Ok(()) => self.bus.reply::<Stdin>(&env, &Accepted {}),
            Err(refusal) => self.refuse_stdin(&env, req.pid, refusal),
        }
    }

    /// Answers a `vm.stdin` that program `pid`'s stdin did not take.
    fn refuse_stdin(&self, env: &Envelope, pid: u64, refusal: StdinRefusal) {
        let error = match refusal {
            StdinRefusal::Ended => ErrorPayload::new(
                ErrorCode::Conflict,
                format!(
                    "Program {pid}'s stdin has already ended; spawn it again to give it more input."
                ),
            ),
            StdinRefusal::Full { pending, max } => stdin::over_bound(
                format!(
                    "Program {pid} has not read {pending} bytes of its stdin yet and at most {max} may wait (max_pending_stdin_bytes); send less at a time, or wait until it reads."
                ),
                max,
            ),
        };
        self.bus.emit_error(env, error.with_detail("pid", pid));
    }
}

/// `compute.max_pending_stdin_bytes`, as a size in memory.
fn max_pending_stdin_bytes(limits: &ComputeLimits) -> usize {
    usize::try_from(limits.max_pending_stdin_bytes.get()).unwrap_or(usize::MAX)
}

/// WASI preview 1, async: a host call that waits (a sleep, a read) is a future the run can drop.
fn wasi_linker(engine: &Engine) -> wasmtime::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state: &mut GuestState| &mut state.wasi)?;
    Ok(linker)
}
