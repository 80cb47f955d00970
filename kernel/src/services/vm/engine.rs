//! The wasmtime engine every program shares, configured for untrusted guests:
//!
//! - **fuel** (`consume_fuel`): every instruction costs fuel; a program gets `max_fuel` and
//!   traps with `OutOfFuel` when it is spent (the CPU cap);
//! - **epoch interruption**: a ticker thread advances the engine's epoch every [`EPOCH_TICK`];
//!   each store's deadline callback then checks kill, wall-clock and idle limits, so a guest in
//!   an endless loop is stopped within one tick;
//! - **pooling allocator**: instances, memories, tables and the guests' stacks come from
//!   pre-reserved slots, so instantiation is a few microseconds; memories are capped at
//!   `max_memory_bytes`. Where Linux has `PAGEMAP_SCAN` (6.7 and later), a slot given back
//!   is reset by rewriting only the pages its guest dirtied, up to [`KEEP_RESIDENT_BYTES`]
//!   (its pages stay mapped: the next guest takes no page faults, and no other core has to
//!   flush its TLB); beyond that, and on older kernels, pages are unmapped as usual;
//! - **async guests**: programs run with `call_async` on a stack of their own (a fiber from the
//!   pool), their WASI host calls are futures, and the run awaits the guest beside its stop
//!   signal: a stop drops the guest even while it sleeps or waits for input in a host call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::ComputeLimits;

/// How often the epoch advances: the granularity of timeouts and kills.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Pool slots beyond `max_concurrent_total`: for the stores of programs already answered and
/// out of the registry, given back to the pool just after (see `registry::Lingering`).
pub const SPARE_SLOTS: u32 = 4;

/// Dirty bytes of a linear memory or table rewritten in place when its slot is reset (where
/// `PAGEMAP_SCAN` finds them), rather than unmapped: a short program's working set. At most
/// this much stays resident per pool slot once used.
pub const KEEP_RESIDENT_BYTES: usize = 1024 * 1024;

/// Builds the shared engine and starts its epoch ticker (stopped by dropping the guard).
pub fn build(limits: &ComputeLimits) -> wasmtime::Result<(Engine, TickerGuard)> {
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
    let slots = limits.max_concurrent_total.get() + SPARE_SLOTS;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        // One async stack (`async_stack_size`, 2 MiB by default) per running program.
        .total_stacks(slots)
        .max_memory_size(usize::try_from(limits.max_memory_bytes.get()).unwrap_or(usize::MAX));
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;

    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let engine = engine.clone();
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("aether-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(wasmtime::Error::new)?
    };
    Ok((
        engine,
        TickerGuard {
            stop,
            ticker: Some(ticker),
        },
    ))
}

/// Stops the epoch ticker when dropped.
pub struct TickerGuard {
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TickerGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}
