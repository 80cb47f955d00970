//! Running programs: who owns each, their stop switches and stdin, and the concurrency caps
//! (per client and in total), checked and taken under one lock.
//!
//! A program is owned by the client that sent the spawn (only it sees, feeds and kills it) and
//! counts against the cap of the client it was spawned for (`ClientHandle::acting_for`): a
//! task run's agent spawns on its caller's behalf, so a run's programs share the caller's
//! `max_concurrent_per_client` instead of each run bringing a fresh one.
//!
//! A program leaves the registry before its final message goes out, so a requester that spawns
//! again on reading it finds the slot free. Its store may be given back to the engine's pool a
//! moment later ([`Registry::linger`]): at most [`SPARE_SLOTS`] at a time, the pool's slots
//! beyond the cap, so the pool never runs out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::engine::SPARE_SLOTS;
use super::stdin::StdinPipe;
use super::watch::Watch;

/// One running program.
pub struct Program {
    pub pid: u64,
    pub owner: String,
    /// The client whose `max_concurrent_per_client` it counts against.
    pub counted_as: String,
    pub label: String,
    pub started: Instant,
    pub watch: Arc<Watch>,
    /// The writing end of the program's stdin.
    pub stdin: Arc<StdinPipe>,
}

/// Which concurrency cap a spawn hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapHit {
    PerClient(u32),
    Total(u32),
}

#[derive(Default)]
pub struct Registry {
    next_pid: AtomicU64,
    running: Mutex<HashMap<u64, Arc<Program>>>,
    /// Stores of removed programs not yet given back to the pool.
    lingering: Arc<AtomicU32>,
}

/// Leave for one removed program's store to outlive its slot (until this is dropped).
pub struct Lingering(Arc<AtomicU32>);

impl Drop for Lingering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Registry {
    /// A registry whose pids start after `base` (a cluster kernel's own range, so the pids of
    /// one client's programs on several kernels do not clash).
    pub fn starting_after(base: u64) -> Registry {
        Registry {
            next_pid: AtomicU64::new(base),
            ..Registry::default()
        }
    }

    /// Registers a program of `owner`, spawned for `counted_as`, unless a cap is reached.
    pub fn admit(
        &self,
        owner: &str,
        counted_as: &str,
        label: String,
        stdin: Arc<StdinPipe>,
        per_client: u32,
        total: u32,
    ) -> Result<Arc<Program>, CapHit> {
        let mut running = self.running.lock().expect("registry lock");
        if running.len() >= total as usize {
            return Err(CapHit::Total(total));
        }
        let theirs = running
            .values()
            .filter(|p| p.counted_as == counted_as)
            .count();
        if theirs >= per_client as usize {
            return Err(CapHit::PerClient(per_client));
        }
        let pid = self.allot_pid();
        let program = Arc::new(Program {
            pid,
            owner: owner.to_owned(),
            counted_as: counted_as.to_owned(),
            label,
            started: Instant::now(),
            watch: Arc::new(Watch::new()),
            stdin,
        });
        running.insert(pid, Arc::clone(&program));
        Ok(program)
    }

    /// A fresh pid, also for the x86 machines of the bridge, so pids never clash.
    pub fn allot_pid(&self) -> u64 {
        self.next_pid.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The program `pid` if `owner` owns it (others' programs are invisible).
    pub fn get(&self, pid: u64, owner: &str) -> Option<Arc<Program>> {
        self.running
            .lock()
            .expect("registry lock")
            .get(&pid)
            .filter(|p| p.owner == owner)
            .cloned()
    }

    pub fn remove(&self, pid: u64) {
        self.running.lock().expect("registry lock").remove(&pid);
    }

    /// Leave for a program's store to be given back after its slot is freed, unless
    /// [`SPARE_SLOTS`] stores already linger (then give it back first).
    pub fn linger(&self) -> Option<Lingering> {
        self.lingering
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < SPARE_SLOTS).then_some(n + 1)
            })
            .ok()
            .map(|_| Lingering(Arc::clone(&self.lingering)))
    }

    /// The programs of `owner`, by pid.
    pub fn of(&self, owner: &str) -> Vec<Arc<Program>> {
        let mut list: Vec<_> = self
            .running
            .lock()
            .expect("registry lock")
            .values()
            .filter(|p| p.owner == owner)
            .cloned()
            .collect();
        list.sort_by_key(|p| p.pid);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(registry: &Registry, owner: &str, counted_as: &str) -> Result<Arc<Program>, CapHit> {
        let (stdin, _reader) = StdinPipe::new(16);
        registry.admit(owner, counted_as, "<wat>".into(), stdin, 1, 8)
    }

    #[test]
    fn programs_spawned_for_a_caller_count_against_the_callers_cap_but_stay_the_spawners() {
        let registry = Registry::default();
        let own = admit(&registry, "caller", "caller").unwrap();
        assert_eq!(
            admit(&registry, "task-1", "caller").err(),
            Some(CapHit::PerClient(1)),
            "a task run of the caller shares the caller's cap"
        );
        assert!(admit(&registry, "other", "other").is_ok());
        registry.remove(own.pid);
        let node = admit(&registry, "task-1", "caller").unwrap();
        assert!(registry.get(node.pid, "caller").is_none());
        assert!(registry.get(node.pid, "task-1").is_some());
    }

    #[test]
    fn no_more_stores_linger_than_the_pool_has_spare_slots() {
        let registry = Registry::default();
        let held: Vec<_> = (0..SPARE_SLOTS)
            .map(|_| registry.linger().unwrap())
            .collect();
        assert!(registry.linger().is_none());
        drop(held);
        assert!(registry.linger().is_some());
    }
}
