//! Running programs: who owns each, their stop switches and stdin, and the concurrency caps
//! (per client and in total), checked and taken under one lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::DuplexStream;

use super::watch::Watch;

/// One running program.
pub struct Program {
    pub pid: u64,
    pub owner: String,
    pub label: String,
    pub started: Instant,
    pub watch: Arc<Watch>,
    /// The writing end of the program's stdin; `None` once stdin has ended.
    pub stdin: tokio::sync::Mutex<Option<DuplexStream>>,
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
}

impl Registry {
    /// Registers a program of `owner` unless a cap is reached.
    pub fn admit(
        &self,
        owner: &str,
        label: String,
        stdin: DuplexStream,
        per_client: u32,
        total: u32,
    ) -> Result<Arc<Program>, CapHit> {
        let mut running = self.running.lock().expect("registry lock");
        if running.len() >= total as usize {
            return Err(CapHit::Total(total));
        }
        if running.values().filter(|p| p.owner == owner).count() >= per_client as usize {
            return Err(CapHit::PerClient(per_client));
        }
        let pid = self.allot_pid();
        let program = Arc::new(Program {
            pid,
            owner: owner.to_owned(),
            label,
            started: Instant::now(),
            watch: Arc::new(Watch::new()),
            stdin: tokio::sync::Mutex::new(Some(stdin)),
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
