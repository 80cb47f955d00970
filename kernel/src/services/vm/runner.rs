//! The WASM backend's programs, from admission to the end: a spawn is checked (module given,
//! stdin within its bound, the concurrency caps) and takes its slot at once; its [`Job`] starts
//! only after the acknowledgement is queued, so no output overtakes it. `vm.stdin` and
//! `vm.kill` reach a running program of their sender only, and a client that leaves stops all of
//! its programs. Nothing here waits on a guest (a job's first step runs on the caller's task for
//! at most its inline budget, see [`Job::start`]).

use std::sync::Arc;

use aether_shared::vm::{Accepted, ProgramInfo, Spawn, Spawned, Stdin};
use wasmtime::{Engine, Linker};

use super::cache::{CacheCaps, ModuleCache};
use super::engine::{self, TickerGuard};
use super::error::VmError;
use super::job::{Job, RunLimits};
use super::program::GuestState;
use super::registry::{CapHit, Registry};
use super::source;
use super::stdin::{StdinPipe, StdinRefusal};
use super::watch::Stop;
use crate::bus::{Bus, ClientHandle};
use crate::config::{ComputeLimits, Config};
use crate::services::request::Answer;

/// The WASM runner: its engine (with the epoch ticker), module cache and running programs.
pub struct Runner {
    bus: Bus,
    limits: ComputeLimits,
    cache: Arc<ModuleCache>,
    programs: Arc<Registry>,
    _ticker: TickerGuard,
}

impl Runner {
    /// Builds the engine, the linker (WASI preview 1 only) and the module cache.
    pub fn new(bus: Bus, config: &Config) -> wasmtime::Result<Runner> {
        let (engine, ticker) = engine::build(&config.compute)?;
        let linker = wasi_linker(&engine)?;
        let cache_dir = config.data_dir().map(|d| d.join("modules"));
        let caps = CacheCaps {
            memory_bytes: config.compute.module_cache_memory_bytes.get(),
            disk_bytes: config.compute.module_cache_disk_bytes.get(),
        };
        let pid_base = pid_base(&bus);
        Ok(Runner {
            bus,
            limits: config.compute.clone(),
            cache: Arc::new(ModuleCache::new(engine, linker, cache_dir, caps)),
            programs: Arc::new(Registry::starting_after(pid_base)),
            _ticker: ticker,
        })
    }

    /// A fresh pid, also for the bridge's x86 machines, so pids never clash.
    pub fn allot_pid(&self) -> u64 {
        self.programs.allot_pid()
    }

    /// Admits `client`'s spawn: the acknowledgement (its pid), then the job that runs it.
    pub fn spawn(
        &self,
        client: &Arc<ClientHandle>,
        mut spawn: Spawn,
    ) -> Result<Answer<Spawned>, VmError> {
        let module = spawn.module.take().ok_or(VmError::MissingModule)?;
        let limits = RunLimits::tightened(&self.limits, spawn.limits.as_ref());
        let max = max_pending_stdin_bytes(&self.limits);
        let (stdin_writer, stdin_reader) = StdinPipe::new(max);
        // A stdin given with the spawn is all of it: buffered now, then ended.
        if let Some(text) = &spawn.stdin
            && stdin_writer.push(text.as_bytes(), true).is_err()
        {
            return Err(VmError::SpawnStdinTooLarge {
                len: text.len(),
                max,
            });
        }
        let program = self
            .programs
            .admit(
                client.id(),
                client.acting_for(),
                source::label(&module),
                stdin_writer,
                self.limits.max_concurrent_per_client.get(),
                self.limits.max_concurrent_total.get(),
            )
            .map_err(|hit| match hit {
                CapHit::PerClient(value) => VmError::TooManyPrograms {
                    limit: "max_concurrent_per_client",
                    value,
                },
                CapHit::Total(value) => VmError::TooManyPrograms {
                    limit: "max_concurrent_total",
                    value,
                },
            })?;
        let spawned = Spawned { pid: program.pid };
        let job = Job {
            bus: self.bus.clone(),
            cache: Arc::clone(&self.cache),
            programs: Arc::clone(&self.programs),
            client: Arc::clone(client),
            spawn,
            module,
            program,
            stdin_reader,
            limits,
        };
        Ok(Answer::ReplyThen(spawned, Box::new(|env| job.start(env))))
    }

    /// `vm.stdin` for a program of `owner`: taken or refused at once (nothing waits on a guest
    /// that does not read).
    pub fn stdin(&self, owner: &str, req: Stdin) -> Result<Accepted, VmError> {
        let pid = req.pid;
        let program = self
            .programs
            .get(pid, owner)
            .ok_or(VmError::NoSuchProgram { pid })?;
        program.watch.touch();
        program
            .stdin
            .push(req.data.as_bytes(), req.eof)
            .map_err(|refusal| match refusal {
                StdinRefusal::Ended => VmError::StdinEnded { pid },
                StdinRefusal::Full { pending, max } => VmError::StdinFull { pid, pending, max },
            })?;
        Ok(Accepted {})
    }

    /// `vm.kill` for a program of `owner`: it ends with `vm.error {code: cancelled}`.
    pub fn kill(&self, owner: &str, pid: u64) -> Result<Accepted, VmError> {
        let program = self
            .programs
            .get(pid, owner)
            .ok_or(VmError::NoSuchProgram { pid })?;
        program.watch.stop(Stop::Killed);
        program.stdin.end();
        Ok(Accepted {})
    }

    /// The running programs of `owner`, by pid.
    pub fn list(&self, owner: &str) -> impl Iterator<Item = ProgramInfo> {
        self.programs.of(owner).into_iter().map(|p| ProgramInfo {
            pid: p.pid,
            module: p.label.clone(),
            running_ms: p.started.elapsed().as_millis() as u64,
        })
    }

    /// Stops the programs of a client that left.
    pub fn client_gone(&self, client_id: &str) {
        for program in self.programs.of(client_id) {
            program.watch.stop(Stop::Abandoned);
            program.stdin.end();
        }
    }
}

/// `compute.max_pending_stdin_bytes`, as a size in memory.
/// Where this kernel's pids start: 0 alone; in a cluster, a million-wide range of its own
/// (one of 9,999, by its name), so a client's pids on its gateway and on the runners differ.
fn pid_base(bus: &Bus) -> u64 {
    let Some(link) = bus.cluster() else {
        return 0;
    };
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = link
        .kernel_id()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    (1 + hash % 9_999) * 1_000_000
}

pub fn max_pending_stdin_bytes(limits: &ComputeLimits) -> usize {
    usize::try_from(limits.max_pending_stdin_bytes.get()).unwrap_or(usize::MAX)
}

/// WASI preview 1, async: a host call that waits (a sleep, a read) is a future the run can drop.
pub(super) fn wasi_linker(engine: &Engine) -> wasmtime::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |state: &mut GuestState| &mut state.wasi)?;
    Ok(linker)
}
