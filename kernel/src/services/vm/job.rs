//! One accepted spawn, from its module to its one final message: the compiled module comes from
//! the [`cache`](super::cache), which knows a warm module by the text it was sent as (nothing is
//! decoded, parsed or hashed then); any other module is read, decoded and compiled on a blocking
//! thread. The program then runs ([`program`](super::program)) and the job answers `vm.exit` or
//! `vm.error` ([`VmError`], with `details.pid`). It never answers twice and always frees the
//! program's slot.
//!
//! Where the guest runs: on the async runtime at first (its first step on the requester's
//! connection task, see [`Job::start`], then on a task of its own), since most programs end
//! within microseconds and a thread hand-off would cost more than they do. Once a guest has held the
//! runtime for [`INLINE_BUDGET`] in all (it hands control back at least every
//! [`program::YIELD_FUEL`] of fuel), the same guest future moves to a blocking thread for the
//! rest of its run: a CPU-heavy guest never holds the async runtime for long, and a guest that
//! only waits (a sleep, stdin) costs no thread. Every [`WATCH_INTERVAL`] while it runs, the job
//! flushes its output and records a passed wall or idle deadline as its stop (which ends the
//! run at once, see [`super::watch`]); a program that ends sooner never arms that timer, and its
//! output goes out as it ends.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aether_shared::envelope::REQUEST_ID_FIELD;
use aether_shared::vm::{EXIT, Exit, ExitStats, ModuleSource, Spawn, SpawnLimits};
use aether_shared::{Envelope, Topic};
use futures_util::FutureExt as _;
use tracing::Instrument;
use wasmtime::Store;

use super::cache::{self, Compiled, ModuleCache};
use super::error::VmError;
use super::output::{GuestOutput, Sink};
use super::program::{self, Ended, Ending, GuestState, Run};
use super::registry::{Program, Registry};
use super::source::{self, Given};
use super::stdin::StdinReader;
use crate::bus::{Bus, ClientHandle};
use crate::config::ComputeLimits;

/// How often output is flushed and the clocks are checked while a program runs.
const WATCH_INTERVAL: Duration = Duration::from_millis(15);

/// How long, in all, a guest may run on the async runtime before it moves to a thread of its
/// own. Enough for a short program from instantiation to exit; a busy guest passes it by at
/// most one [`program::YIELD_FUEL`] slice.
const INLINE_BUDGET: Duration = Duration::from_micros(500);

/// A running guest, movable from the runtime to a thread; it ends with its result (an
/// [`Ended`] run), or with the panic that ended it.
type Guest<T> = Pin<Box<dyn Future<Output = std::thread::Result<T>> + Send>>;

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
    pub stdin_reader: StdinReader,
    pub limits: RunLimits,
}

impl Job {
    /// Starts the program on the caller's task, which has just queued the acknowledgement
    /// (the requester's connection): a short program ends within this first step, and its
    /// output and exit leave with the acknowledgement in one write. Whatever remains (a module
    /// to read or compile, a guest still running or waiting) goes on as a task of its own,
    /// which polls it again (so it waits on that task's waker, never on this one).
    pub fn start(self, env: Envelope) {
        let mut job = Box::pin(self.run(env));
        let mut first_step = Context::from_waker(Waker::noop());
        if job.as_mut().poll(&mut first_step).is_pending() {
            tokio::spawn(job);
        }
    }

    /// Runs the program; every message it sends answers `env`, the spawn.
    async fn run(self, env: Envelope) {
        let env = answers_to(env);
        let pid = self.program.pid;
        let (bus, programs) = (self.bus.clone(), Arc::clone(&self.programs));
        // Instrumented, not entered: a span entered across an `.await` leaks into other tasks.
        let span = tracing::debug_span!("program", pid, client_id = self.client.id());
        let result = self.execute(&env).instrument(span).await;
        let Finished { exit, store } = match result {
            Ok(finished) => finished,
            Err(error) => {
                programs.remove(pid);
                bus.emit_error(&env, error.of_program(pid));
                return;
            }
        };
        // The store goes back to the pool once the answer is out (after this task lets the
        // requester's connection write it), when a spare pool slot allows; else before.
        let lingering = programs.linger();
        let store = match lingering {
            Some(_) => Some(store),
            None => {
                drop(store);
                None
            }
        };
        programs.remove(pid);
        let _ = bus.publish_from_kernel(env.reply(Topic::from_static(EXIT), &exit));
        if store.is_some() {
            tokio::task::yield_now().await;
            drop(store);
            drop(lingering);
        }
    }

    async fn execute(self, env: &Envelope) -> Result<Finished, VmError> {
        let pid = self.program.pid;
        let compiled = compiled(&self.bus, &self.client, &self.cache, self.module).await?;
        let sha256 = compiled.sha256;
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
            .chain(self.spawn.args)
            .collect();
        let run = Run {
            compiled,
            argv,
            env: self.spawn.env.into_iter().collect(),
            stdin: self.stdin_reader,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            watch: Arc::clone(&watch),
            max_fuel: limits.max_fuel,
            max_memory_bytes: limits.max_memory_bytes,
            wall_timeout_ms: limits.wall_timeout_ms,
            idle_timeout_ms: limits.idle_timeout_ms,
        };
        let guest: Guest<Ended> = Box::pin(AssertUnwindSafe(program::run(run)).catch_unwind());
        let outcome = supervise(guest, || {
            stdout.flush_chunk();
            stderr.flush_chunk();
            // A passed deadline is recorded as the program's stop, which ends its run.
            watch.check_time(limits.wall_timeout_ms, limits.idle_timeout_ms);
        })
        .await;
        stdout.flush_all();
        stderr.flush_all();
        let Ended {
            ending,
            usage,
            store,
        } = outcome?;
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
                module_sha256: Some(cache::hex(&sha256)),
            },
        };
        Ok(Finished { exit, store })
    }
}

/// A program that ended by itself: its exit, and its store to give back to the pool.
struct Finished {
    exit: Exit,
    store: Store<GuestState>,
}

/// The compiled module: found by its hash, or recalled by its text when warm, else read,
/// decoded and compiled (on a blocking thread: decoding and compiling are CPU work in proportion
/// to its size). A hash finds only a module this requester's principal has sent.
async fn compiled(
    bus: &Bus,
    client: &ClientHandle,
    cache: &Arc<ModuleCache>,
    module: ModuleSource,
) -> Result<Compiled, VmError> {
    let sender = client.principal();
    let given = source::read(bus, client, module).await?;
    let text = match &given {
        Given::Sha256(key) => {
            return cache
                .by_sha256(key, sender)
                .ok_or_else(|| VmError::UnknownModule(cache::hex(key)));
        }
        given => given.text().expect("a module sent as text"),
    };
    if let Some(compiled) = cache.recall(text, sender) {
        return Ok(compiled);
    }
    let cache = Arc::clone(cache);
    let compiled = tokio::task::spawn_blocking(move || {
        let wasm = given.decode()?;
        let text = given.text().expect("a module sent as text");
        cache
            .get_sent_as(text, &wasm, sender)
            .map(|(compiled, _source)| compiled)
            .map_err(|e| VmError::DoesNotCompile(format!("{e:#}")))
    });
    compiled
        .await
        .map_err(|e| VmError::CompilerCrashed(e.to_string()))?
}

/// The spawn request cut down to what its answers need (its topic, requester and request id):
/// the module it carried is not kept, nor copied into the program's output sink.
fn answers_to(mut env: Envelope) -> Envelope {
    if let Some(payload) = env.payload.as_mut() {
        payload.retain(|field, _| field == REQUEST_ID_FIELD);
    }
    env
}

/// Runs `guest` to its end: on this task while it has held the runtime for less than
/// [`INLINE_BUDGET`] in all, then on a blocking thread; calls `on_tick` every
/// [`WATCH_INTERVAL`] meanwhile (the first one after an interval: a short guest never arms it).
async fn supervise<T: Send + 'static>(
    mut guest: Guest<T>,
    on_tick: impl Fn(),
) -> Result<T, VmError> {
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + WATCH_INTERVAL, WATCH_INTERVAL);
    let mut held = Duration::ZERO;
    let inline = loop {
        tokio::select! {
            biased;
            // `None`: the guest has had its share of the runtime.
            step = poll_fn(|cx| {
                let slice = Instant::now();
                let step = guest.as_mut().poll(cx);
                held += slice.elapsed();
                match step {
                    Poll::Ready(result) => Poll::Ready(Some(result)),
                    Poll::Pending if held >= INLINE_BUDGET => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                }
            }) => break step,
            _ = tick.tick() => on_tick(),
        }
    };
    let result = match inline {
        Some(result) => result,
        None => {
            let runtime = tokio::runtime::Handle::current();
            let mut thread = tokio::task::spawn_blocking(move || runtime.block_on(guest));
            loop {
                tokio::select! {
                    biased;
                    joined = &mut thread => {
                        break joined.map_err(|e| VmError::ThreadCrashed(e.to_string()))?;
                    }
                    _ = tick.tick() => on_tick(),
                }
            }
        }
    };
    result.map_err(|panic| VmError::ThreadCrashed(panic_message(&*panic)))
}

/// The message of a panic, as `std` prints it.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
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

#[cfg(test)]
mod tests {
    use std::thread::ThreadId;

    use super::*;

    fn guest<T: Send + 'static>(run: impl Future<Output = T> + Send + 'static) -> Guest<T> {
        Box::pin(AssertUnwindSafe(run).catch_unwind())
    }

    /// Computes for `slice`, then yields, `slices` times, like a guest out of its fuel slice;
    /// ends with the thread it ended on.
    async fn computing(slices: u32, slice: Duration) -> ThreadId {
        for _ in 0..slices {
            let began = Instant::now();
            while began.elapsed() < slice {
                std::hint::spin_loop();
            }
            tokio::task::yield_now().await;
        }
        std::thread::current().id()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_short_guest_ends_on_the_runtime_and_a_busy_one_moves_to_a_thread() {
        let runtime = std::thread::current().id();
        let short = supervise(guest(computing(2, Duration::from_micros(10))), || {});
        assert_eq!(short.await.unwrap(), runtime);
        let busy = supervise(guest(computing(40, Duration::from_micros(100))), || {});
        assert_ne!(
            busy.await.unwrap(),
            runtime,
            "a busy guest keeps the runtime"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_guest_that_panics_ends_as_a_crash_on_the_runtime_or_on_its_thread() {
        let at_once = supervise(guest(async { panic!("at once") }), || {});
        assert_eq!(
            at_once.await.err(),
            Some(VmError::ThreadCrashed("at once".into()))
        );
        let later = guest(async {
            computing(40, Duration::from_micros(100)).await;
            panic!("later")
        });
        assert_eq!(
            supervise::<()>(later, || {}).await.err(),
            Some(VmError::ThreadCrashed("later".into()))
        );
    }
}
