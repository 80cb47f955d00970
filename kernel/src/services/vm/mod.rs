//! The `vm.*` service (and legacy `wasm.run`): WASI programs on wasmtime.
//!
//! `vm.spawn` is checked (payload, backend, concurrency caps) and acknowledged with a pid at once;
//! the module is then fetched and compiled (through the [`cache`]) and run on a blocking thread
//! ([`program`]) while a watchdog task flushes its output, enforces wall and idle timeouts and
//! kills. Every program ends with exactly one `vm.exit` or `vm.error` to its requester. A program
//! is visible to, and can be fed or killed by, its requester only.
//!
//! `vm.spawn {backend: v86}` goes to the [`bridge`] instead: an x86 machine in the requester's tab.

pub mod bridge;
mod cache;
mod engine;
mod output;
mod program;
mod registry;
mod source;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use aether_shared::vm::{
    Accepted, Backend, EXIT, Exit, ExitStats, Kill, ListPrograms, ProgramInfo, Programs, Spawn,
    SpawnLimits, Spawned, Stdin, WasmRun,
};
use aether_shared::{BusRequest as _, Envelope, ErrorCode, ErrorPayload, Topic};
use tokio::io::AsyncWriteExt;
use wasmtime::{Engine, Linker};

use self::bridge::{Bridge, ComputeSessions};
use self::cache::ModuleCache;
use self::output::{GuestOutput, Sink};
use self::program::{Ending, GuestState, Run};
use self::registry::{CapHit, Program, Registry};
use self::watch::Stop;
use super::decode;
use crate::bus::{Bus, ClientHandle};
use crate::config::{ComputeLimits, Config};

/// Stdin bytes buffered between `vm.stdin` and the guest.
const STDIN_BUFFER_BYTES: usize = 64 * 1024;
/// How often the watchdog flushes output and checks the clocks.
const WATCH_INTERVAL: Duration = Duration::from_millis(15);

/// The runner.
pub struct VmService {
    bus: Bus,
    limits: ComputeLimits,
    cache: Arc<ModuleCache>,
    programs: Arc<Registry>,
    bridge: Bridge,
    _ticker: engine::TickerGuard,
}

/// Limits of one run, after a request tightened the configured ones.
#[derive(Clone, Copy, Debug)]
struct RunLimits {
    wall_timeout_ms: u64,
    idle_timeout_ms: u64,
    max_memory_bytes: u64,
    max_fuel: u64,
    max_output_bytes: u64,
}

impl RunLimits {
    fn tightened(config: &ComputeLimits, request: Option<&SpawnLimits>) -> RunLimits {
        let pick =
            |configured: u64, asked: Option<u64>| asked.map_or(configured, |a| a.min(configured));
        let r = request.cloned().unwrap_or_default();
        RunLimits {
            wall_timeout_ms: pick(config.wall_timeout_ms.get(), r.wall_timeout_ms),
            idle_timeout_ms: pick(config.idle_timeout_ms.get(), r.idle_timeout_ms),
            max_memory_bytes: pick(config.max_memory_bytes.get(), r.max_memory_bytes),
            max_fuel: pick(config.max_fuel.get(), r.max_fuel),
            max_output_bytes: pick(config.max_output_bytes.get(), r.max_output_bytes),
        }
    }
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
        Ok(VmService {
            bridge: Bridge::new(bus.clone(), config.compute.v86.clone(), compute_sessions),
            bus,
            limits: config.compute.clone(),
            cache: Arc::new(ModuleCache::new(engine, linker, cache_dir)),
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
                            close_stdin(&program);
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
            close_stdin(&program);
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
        let (stdin_writer, stdin_reader) = tokio::io::duplex(STDIN_BUFFER_BYTES);
        let admitted = self.programs.admit(
            client.id(),
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
        let bus = self.bus.clone();
        tokio::spawn(async move {
            let mut stdin = program.stdin.lock().await;
            let Some(writer) = stdin.as_mut() else {
                bus.emit_error(
                    &env,
                    ErrorPayload::new(
                        ErrorCode::Conflict,
                        format!("Program {}'s stdin has already ended.", req.pid),
                    )
                    .with_detail("pid", req.pid),
                );
                return;
            };
            if writer.write_all(req.data.as_bytes()).await.is_err() {
                *stdin = None;
            }
            if req.eof {
                *stdin = None;
            }
            bus.reply::<Stdin>(&env, &Accepted {});
        });
    }
}

/// Ends a program's stdin so a guest blocked reading it wakes up (and then sees its stop).
fn close_stdin(program: &Arc<Program>) {
    let program = Arc::clone(program);
    tokio::spawn(async move {
        *program.stdin.lock().await = None;
    });
}

fn wasi_linker(engine: &Engine) -> wasmtime::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut GuestState| &mut state.wasi)?;
    Ok(linker)
}

/// One accepted spawn, from fetching the module to the final message.
struct Job {
    bus: Bus,
    cache: Arc<ModuleCache>,
    programs: Arc<Registry>,
    client: Arc<ClientHandle>,
    env: Envelope,
    spawn: Spawn,
    module: aether_shared::vm::ModuleSource,
    program: Arc<Program>,
    stdin_reader: std::sync::Mutex<Option<tokio::io::DuplexStream>>,
    limits: RunLimits,
}

impl Job {
    async fn run(self) {
        let pid = self.program.pid;
        let span = tracing::debug_span!("program", pid, client_id = self.client.id());
        let _guard = span.enter();
        let result = self.execute().await;
        self.programs.remove(pid);
        if let Err(error) = result {
            self.bus
                .emit_error(&self.env, error.with_detail("pid", pid));
        }
    }

    async fn execute(&self) -> Result<(), ErrorPayload> {
        let pid = self.program.pid;
        let wasm = source::fetch(&self.bus, &self.client, self.module.clone()).await?;
        let cache = Arc::clone(&self.cache);
        let (compiled, _source) = tokio::task::spawn_blocking(move || cache.get(&wasm))
            .await
            .map_err(|e| {
                ErrorPayload::new(ErrorCode::Internal, format!("The compiler crashed: {e}"))
            })?
            .map_err(|e| {
                ErrorPayload::new(
                    ErrorCode::BadRequest,
                    format!("The module does not compile: {e:#}"),
                )
            })?;

        // A stdin given with the spawn is all of it: written, then ended, without blocking the run.
        if let Some(text) = self.spawn.stdin.clone()
            && let Some(mut writer) = self.program.stdin.lock().await.take()
        {
            tokio::spawn(async move {
                let _ = writer.write_all(text.as_bytes()).await;
            });
        }

        let watch = Arc::clone(&self.program.watch);
        watch.touch();
        let limits = self.limits;
        let sink = Sink::new(
            self.bus.clone(),
            self.env.clone(),
            pid,
            limits.max_output_bytes,
            Arc::clone(&watch),
        );
        let (stdout, stderr) = (GuestOutput::stdout(&sink), GuestOutput::stderr(&sink));
        let argv = std::iter::once(self.program.label.clone())
            .chain(self.spawn.args.iter().cloned())
            .collect();
        let run = Run {
            compiled,
            argv,
            env: self
                .spawn
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            stdin: self.take_reader(),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            watch: Arc::clone(&watch),
            max_fuel: limits.max_fuel,
            max_memory_bytes: limits.max_memory_bytes,
            wall_timeout_ms: limits.wall_timeout_ms,
            idle_timeout_ms: limits.idle_timeout_ms,
        };
        let done = tokio_util::sync::CancellationToken::new();
        let watchdog = tokio::spawn(watchdog(
            Arc::clone(&self.program),
            stdout.clone(),
            stderr.clone(),
            limits,
            done.clone(),
        ));
        let outcome = tokio::task::spawn_blocking(move || program::run(run)).await;
        done.cancel();
        let _ = watchdog.await;
        stdout.flush_all();
        stderr.flush_all();
        let (ending, usage) = outcome.map_err(|e| {
            ErrorPayload::new(
                ErrorCode::Internal,
                format!("The program's thread crashed: {e}"),
            )
        })?;
        // A program that ended normally after being stopped (its stdin was closed under it)
        // still reports the stop.
        let ending = match (ending, watch.reason()) {
            (Ending::Exited(_), Some(reason)) => Ending::Stopped(reason),
            (ending, _) => ending,
        };
        let code = match ending {
            Ending::Exited(code) => code,
            Ending::Trapped(message) => {
                // Like a native abort: the trap goes to stderr and the exit code is 134.
                let trap = GuestOutput::stderr(&sink);
                let _ = std::io::Write::write_all(
                    &mut TrapWriter(&trap),
                    format!("\ntrap: {message}\n").as_bytes(),
                );
                trap.flush_all();
                134
            }
            Ending::OutOfFuel => return Err(exceeded("max_fuel", limits.max_fuel, "CPU (fuel)")),
            Ending::Stopped(reason) => return Err(stopped(pid, reason)),
            Ending::Unrunnable(message) => {
                return Err(ErrorPayload::new(ErrorCode::BadRequest, message));
            }
        };
        let exit = Exit {
            pid,
            code,
            duration_ms: usage.duration_ms,
            stats: ExitStats {
                fuel_used: usage.fuel_used,
                peak_memory_bytes: usage.peak_memory_bytes,
                output_bytes: sink.total(),
            },
        };
        let _ = self
            .bus
            .publish_from_kernel(self.env.reply(Topic::from_static(EXIT), &exit));
        Ok(())
    }

    fn take_reader(&self) -> tokio::io::DuplexStream {
        // The reader is moved into the run exactly once.
        self.stdin_reader
            .lock()
            .expect("reader lock")
            .take()
            .expect("the stdin reader is taken once")
    }
}

/// Adapts a [`GuestOutput`] to `std::io::Write` for the kernel's own notes on stderr.
struct TrapWriter<'a>(&'a GuestOutput);

impl std::io::Write for TrapWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push_unchecked(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Flushes output and enforces the clocks while the program runs.
async fn watchdog(
    program: Arc<Program>,
    stdout: GuestOutput,
    stderr: GuestOutput,
    limits: RunLimits,
    done: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        tokio::select! {
            _ = done.cancelled() => return,
            _ = tick.tick() => {
                stdout.flush_chunk();
                stderr.flush_chunk();
                let stopping = program.watch.reason().is_some()
                    || program.watch.check_time(limits.wall_timeout_ms, limits.idle_timeout_ms).is_some();
                if stopping {
                    // Wake a guest blocked on stdin so the epoch check can stop it.
                    *program.stdin.lock().await = None;
                }
            }
        }
    }
}

fn exceeded(limit: &str, value: u64, what: &str) -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::ResourceExceeded,
        format!("The program used all the {what} it was allowed ({limit} = {value}); raise the limit or make it do less."),
    )
    .with_detail("limit", limit)
    .with_detail("value", value)
}

fn stopped(pid: u64, reason: Stop) -> ErrorPayload {
    match reason {
        Stop::Killed => ErrorPayload::new(ErrorCode::Cancelled, format!("Program {pid} was killed.")),
        Stop::Abandoned => ErrorPayload::new(ErrorCode::Cancelled, format!("Program {pid} was stopped: its requester left.")),
        Stop::WallTimeout { limit_ms } => ErrorPayload::new(
            ErrorCode::Timeout,
            format!("Program {pid} ran longer than {limit_ms} ms and was stopped; raise wall_timeout_ms or make it faster."),
        )
        .with_detail("limit", "wall_timeout_ms")
        .with_detail("value", limit_ms),
        Stop::IdleTimeout { limit_ms } => ErrorPayload::new(
            ErrorCode::Timeout,
            format!("Program {pid} wrote nothing and read nothing for {limit_ms} ms and was stopped; send it input or raise idle_timeout_ms."),
        )
        .with_detail("limit", "idle_timeout_ms")
        .with_detail("value", limit_ms),
        Stop::Memory { limit_bytes } => exceeded("max_memory_bytes", limit_bytes, "memory"),
        Stop::Output { limit_bytes } => exceeded("max_output_bytes", limit_bytes, "output"),
    }
}
