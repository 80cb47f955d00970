//! One accepted spawn, from fetching the module to its one final message: fetch and compile
//! (through the [`cache`](super::cache)), run on a blocking thread ([`program`](super::program))
//! while a watchdog task flushes the output every [`WATCH_INTERVAL`] and records a passed wall or
//! idle deadline as the program's stop (which ends the run at once, see [`super::watch`]), then
//! answer `vm.exit` or `vm.error` ([`VmError`], with `details.pid`). It never answers twice and
//! always frees the program's slot.

use std::sync::Arc;
use std::time::Duration;

use aether_shared::vm::{EXIT, Exit, ExitStats, ModuleSource, Spawn, SpawnLimits};
use aether_shared::{Envelope, Topic};
use tracing::Instrument;

use super::cache::ModuleCache;
use super::error::VmError;
use super::output::{GuestOutput, Sink};
use super::program::{self, Ending, Run};
use super::registry::{Program, Registry};
use super::source;
use super::stdin::StdinReader;
use crate::bus::{Bus, ClientHandle};
use crate::config::ComputeLimits;

/// How often the watchdog flushes output and checks the clocks.
const WATCH_INTERVAL: Duration = Duration::from_millis(15);

/// Limits of one run, after a request tightened the configured ones.
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    wall_timeout_ms: u64,
    idle_timeout_ms: u64,
    max_memory_bytes: u64,
    max_fuel: u64,
    max_output_bytes: u64,
}

impl RunLimits {
    pub fn tightened(config: &ComputeLimits, request: Option<&SpawnLimits>) -> RunLimits {
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

/// One accepted spawn, from fetching the module to the final message.
pub struct Job {
    pub bus: Bus,
    pub cache: Arc<ModuleCache>,
    pub programs: Arc<Registry>,
    pub client: Arc<ClientHandle>,
    /// The spawn (its `module` taken out into [`Job::module`]).
    pub spawn: Spawn,
    pub module: ModuleSource,
    pub program: Arc<Program>,
    pub stdin_reader: std::sync::Mutex<Option<StdinReader>>,
    pub limits: RunLimits,
}

impl Job {
    /// Runs the program; every message it sends answers `env`, the spawn.
    pub async fn run(self, env: Envelope) {
        let pid = self.program.pid;
        // Instrumented, not entered: a span entered across an `.await` leaks into other tasks.
        let span = tracing::debug_span!("program", pid, client_id = self.client.id());
        let result = self.execute(&env).instrument(span).await;
        self.programs.remove(pid);
        if let Err(error) = result {
            self.bus.emit_error(&env, error.of_program(pid));
        }
    }

    async fn execute(&self, env: &Envelope) -> Result<(), VmError> {
        let pid = self.program.pid;
        let wasm = source::fetch(&self.bus, &self.client, self.module.clone()).await?;
        let cache = Arc::clone(&self.cache);
        let (compiled, _source) = tokio::task::spawn_blocking(move || cache.get(&wasm))
            .await
            .map_err(|e| VmError::CompilerCrashed(e.to_string()))?
            .map_err(|e| VmError::DoesNotCompile(format!("{e:#}")))?;

        let watch = Arc::clone(&self.program.watch);
        watch.touch();
        let limits = self.limits;
        let sink = Sink::new(
            self.bus.clone(),
            env.clone(),
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
        let runtime = tokio::runtime::Handle::current();
        let outcome = tokio::task::spawn_blocking(move || program::run(run, &runtime)).await;
        done.cancel();
        let _ = watchdog.await;
        stdout.flush_all();
        stderr.flush_all();
        let (ending, usage) = outcome.map_err(|e| VmError::ThreadCrashed(e.to_string()))?;
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
            Ending::OutOfFuel => {
                return Err(VmError::Exhausted {
                    what: "CPU (fuel)",
                    limit: "max_fuel",
                    value: limits.max_fuel,
                });
            }
            Ending::Stopped(reason) => return Err(VmError::stopped(pid, reason)),
            Ending::Unrunnable(message) => return Err(VmError::Unrunnable(message)),
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
            .publish_from_kernel(env.reply(Topic::from_static(EXIT), &exit));
        Ok(())
    }

    fn take_reader(&self) -> StdinReader {
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
                // A passed deadline is recorded as the program's stop, which ends its run.
                program.watch.check_time(limits.wall_timeout_ms, limits.idle_timeout_ms);
            }
        }
    }
}
