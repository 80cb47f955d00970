//! Counters of the bus, read by `kernel.stats` and the benchmarks. Relaxed atomics: they are
//! figures for people, never used to make decisions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Counters of envelopes and refusals.
#[derive(Default)]
pub struct BusStats {
    envelopes_in: AtomicU64,
    envelopes_out: AtomicU64,
    slow_clients: AtomicU64,
    /// Bytes waiting in every client's outbound queue (a gauge; see `client::Queued`).
    queued_bytes: Arc<AtomicU64>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
}

impl BusStats {
    pub fn count_in(&self) {
        self.envelopes_in.fetch_add(1, Relaxed);
    }
    pub fn count_out(&self) {
        self.envelopes_out.fetch_add(1, Relaxed);
    }
    pub fn count_slow_client(&self) {
        self.slow_clients.fetch_add(1, Relaxed);
    }
    /// Counts one refusal under `reason` (an error code name or an audit reason).
    pub fn count_refusal(&self, reason: &'static str) {
        *self
            .refusals
            .lock()
            .expect("stats lock")
            .entry(reason)
            .or_default() += 1;
    }
    pub fn envelopes_in(&self) -> u64 {
        self.envelopes_in.load(Relaxed)
    }
    pub fn envelopes_out(&self) -> u64 {
        self.envelopes_out.load(Relaxed)
    }
    pub fn slow_clients(&self) -> u64 {
        self.slow_clients.load(Relaxed)
    }
    /// Bytes queued to all clients now.
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes.load(Relaxed)
    }
    pub(super) fn queued_bytes_gauge(&self) -> &Arc<AtomicU64> {
        &self.queued_bytes
    }
    /// Refusals by wire code name.
    pub fn refusals(&self) -> BTreeMap<String, u64> {
        self.refusals
            .lock()
            .expect("stats lock")
            .iter()
            .map(|(reason, n)| ((*reason).to_owned(), *n))
            .collect()
    }
}
