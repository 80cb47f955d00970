//! Running one program to its end: a fresh store with WASI preview 1 (only args, env and the
//! three standard streams: no files, no network), fuel, a memory limiter, and two ways of
//! stopping it when its [`Watch`] says so:
//!
//! - the guest is a future (async instantiation and call, async WASI host calls) awaited beside
//!   [`Watch::stopped`]; a stop drops it wherever it is, so a guest asleep in `poll_oneoff` or
//!   waiting for stdin ends at once;
//! - an epoch callback interrupts a guest busy in its own code, which never yields to that
//!   await (checked every epoch tick).
//!
//! A guest busy in its own code also hands control back to whoever polls it every
//! [`YIELD_FUEL`] units of fuel, so the job can poll it on the async runtime at first and move
//! it to a thread of its own once it has held the runtime long enough (see `job`).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

use super::cache::Compiled;
use super::output::GuestOutput;
use super::stdin::{GuestStdin, StdinReader};
use super::watch::{Stop, Watch};

/// Fuel between two points where a guest busy in its own code yields to whoever polls it:
/// roughly 50–100 µs of WebAssembly, the longest a guest holds a thread without a break.
pub const YIELD_FUEL: u64 = 100_000;

/// What a store holds for its guest.
pub struct GuestState {
    pub wasi: WasiP1Ctx,
    pub limiter: MemoryLimiter,
}

/// Caps linear memory and records the peak.
pub struct MemoryLimiter {
    max_bytes: u64,
    peak_bytes: u64,
    watch: Arc<Watch>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max_bytes {
            self.watch.stop(Stop::Memory {
                limit_bytes: self.max_bytes,
            });
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes reached (asked for {desired}, had {current})",
                self.max_bytes
            ));
        }
        self.peak_bytes = self.peak_bytes.max(desired as u64);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Everything one run needs.
pub struct Run {
    pub compiled: Compiled,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: StdinReader,
    pub stdout: GuestOutput,
    pub stderr: GuestOutput,
    pub watch: Arc<Watch>,
    pub max_fuel: u64,
    pub max_memory_bytes: u64,
    pub wall_timeout_ms: u64,
    pub idle_timeout_ms: u64,
}

/// How a run ended.
#[derive(Debug)]
pub enum Ending {
    /// Returned from `_start` (0) or called `proc_exit`.
    Exited(i32),
    /// Stopped from outside or by a cap.
    Stopped(Stop),
    OutOfFuel,
    /// The guest trapped (a Rust panic is an `unreachable` trap); exit code 134, like an abort.
    Trapped(String),
    /// The module cannot run here (no `_start`, an import WASI does not provide, …).
    Unrunnable(String),
}

/// What a run used.
#[derive(Debug, Default)]
pub struct Usage {
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    pub duration_ms: u64,
}

/// How a run ended and what it used, with its store.
pub struct Ended {
    pub ending: Ending,
    pub usage: Usage,
    /// Drop it once the program's answer is out: giving the guest's memory and table back to
    /// the pool takes microseconds nobody needs to wait for.
    pub store: Store<GuestState>,
}

/// Runs the program to its end or its stop. A future that does the guest's work when polled
/// (in slices of at most [`YIELD_FUEL`] when the guest computes) and waits for its host calls:
/// poll it on the runtime for short stretches only, or on a thread of its own.
pub async fn run(run: Run) -> Ended {
    let started = Instant::now();
    let wasi = WasiCtxBuilder::new()
        .args(&run.argv)
        .envs(&run.env)
        .stdin(GuestStdin::new(run.stdin))
        .stdout(run.stdout)
        .stderr(run.stderr)
        .build_p1();
    let limiter = MemoryLimiter {
        max_bytes: run.max_memory_bytes,
        peak_bytes: 0,
        watch: Arc::clone(&run.watch),
    };
    let engine = run.compiled.pre.module().engine().clone();
    let mut store = Store::new(&engine, GuestState { wasi, limiter });
    store.limiter(|state| &mut state.limiter);
    let mut usage = Usage::default();
    if let Err(e) = store
        .set_fuel(run.max_fuel)
        .and_then(|()| store.fuel_async_yield_interval(Some(YIELD_FUEL)))
    {
        return Ended {
            ending: Ending::Unrunnable(e.to_string()),
            usage,
            store,
        };
    }
    store.set_epoch_deadline(1);
    let watch = Arc::clone(&run.watch);
    let (wall, idle) = (run.wall_timeout_ms, run.idle_timeout_ms);
    store.epoch_deadline_callback(move |_| {
        Ok(match watch.check_time(wall, idle) {
            Some(_) => UpdateDeadline::Interrupt,
            None => UpdateDeadline::Continue(1),
        })
    });

    let guest = async {
        let instance = match run.compiled.pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(e) => return classify(&run.watch, e),
        };
        let Ok(start) = instance.get_typed_func::<(), ()>(&mut store, "_start") else {
            return Ending::Unrunnable(
                "the module has no `_start` function: build it as a WASI command (wasm32-wasip1 binary)".into(),
            );
        };
        match start.call_async(&mut store, ()).await {
            Ok(()) => Ending::Exited(0),
            Err(e) => classify(&run.watch, e),
        }
    };
    let ending = tokio::select! {
        biased;
        // Dropping the guest's future ends it, whatever host call it is in.
        () = run.watch.stopped() => Ending::Stopped(run.watch.reason().unwrap_or(Stop::Killed)),
        ending = guest => ending,
    };
    usage.fuel_used = run.max_fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    usage.peak_memory_bytes = store.data().limiter.peak_bytes;
    usage.duration_ms = started.elapsed().as_millis() as u64;
    Ended {
        ending,
        usage,
        store,
    }
}

fn classify(watch: &Watch, error: wasmtime::Error) -> Ending {
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Ending::Exited(exit.0);
    }
    if let Some(reason) = watch.reason() {
        return Ending::Stopped(reason);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Ending::OutOfFuel,
        Some(_) => Ending::Trapped(format!("{error:#}")),
        None => Ending::Unrunnable(format!("{error:#}")),
    }
}
