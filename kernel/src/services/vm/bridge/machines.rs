//! The x86 machines the bridge knows about, by pid: who asked for each (its requester, who gets
//! the `vm.*` stream and may feed or kill it), which tab runs it, and its stream's counters. A
//! machine the kernel started for `vm.exec` has no stream: its serial output is dropped and its
//! end announced to nobody.
//!
//! Whoever takes a machine out of the table sends its final message ([`Machine::end`], or the
//! `vm.exit` of its report), so there is exactly one. The table never sends anything itself.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aether_shared::Envelope;
use aether_shared::vm::ProgramInfo;
use tokio::sync::watch;

use super::keys::Keys;
use crate::bus::Bus;
use crate::services::vm::error::VmError;

/// One x86 machine the bridge knows about.
pub struct Machine {
    pub pid: u64,
    /// The requester (who gets the `vm.*` stream and may feed or kill it).
    pub owner: String,
    /// The client of the tab that runs it.
    pub host: String,
    /// The tab's compute session id.
    pub session: String,
    pub label: String,
    /// The `vm.spawn` envelope: every stream message answers it. `None` for a machine the
    /// kernel started for `vm.exec` (no window, no stream).
    pub spawn: Option<Envelope>,
    /// The `seq` of the next `vm.stdout` chunk.
    pub seq: AtomicU64,
    pub output_bytes: AtomicU64,
    pub started: Instant,
    /// `vm.stdin` requests, forwarded to the tab one after another.
    pub keys: Keys,
    /// Becomes true once the tab acknowledged `compute:spawn` (the machine exists there), so a
    /// `compute:exec` never overtakes it; dropped with the machine.
    pub hosted: watch::Sender<bool>,
}

impl Machine {
    /// Ends the machine's stream with `error` on the requester's `vm.error` (with `details.pid`).
    /// Only whoever took the machine out of the table calls this.
    pub fn end(&self, bus: &Bus, error: &VmError) {
        if let Some(spawn) = &self.spawn {
            bus.emit_error(spawn, error.of_program(self.pid));
        }
    }

    /// The machine as `vm.list` shows it.
    fn info(&self) -> ProgramInfo {
        ProgramInfo {
            pid: self.pid,
            module: self.label.clone(),
            running_ms: self.started.elapsed().as_millis() as u64,
        }
    }
}

/// The machine table, shared by the bridge and the tasks that wait on tabs.
#[derive(Clone, Default)]
pub struct Machines(Arc<Mutex<HashMap<u64, Arc<Machine>>>>);

impl Machines {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Machine>>> {
        self.0.lock().expect("machines lock")
    }

    pub fn insert(&self, machine: Arc<Machine>) {
        self.lock().insert(machine.pid, machine);
    }

    /// Machine `pid`, whoever asked for it.
    pub fn get(&self, pid: u64) -> Option<Arc<Machine>> {
        self.lock().get(&pid).cloned()
    }

    /// Machine `pid` if `owner` asked for it (others' machines are invisible).
    pub fn owned(&self, pid: u64, owner: &str) -> Option<Arc<Machine>> {
        self.lock().get(&pid).filter(|m| m.owner == owner).cloned()
    }

    /// Machine `pid` if `host`'s tab runs it.
    pub fn hosted(&self, pid: u64, host: &str) -> Option<Arc<Machine>> {
        self.lock().get(&pid).filter(|m| m.host == host).cloned()
    }

    /// Where a `vm.exec` of `tab` (a client id) runs when it names no machine: the newest
    /// machine that client spawned itself in its own tab (the Terminal's), else the one the
    /// kernel started there for `vm.exec`.
    pub fn exec_target(&self, tab: &str) -> Option<Arc<Machine>> {
        self.lock()
            .values()
            .filter(|m| m.owner == tab && m.host == tab)
            .max_by_key(|m| (m.spawn.is_some(), m.pid))
            .cloned()
    }

    /// Machine `pid` if `tab`'s own client asked for it and that tab runs it.
    pub fn of_tab(&self, pid: u64, tab: &str) -> Option<Arc<Machine>> {
        self.lock()
            .get(&pid)
            .filter(|m| m.owner == tab && m.host == tab)
            .cloned()
    }

    /// Takes machine `pid` out of the table, whoever runs it.
    pub fn take(&self, pid: u64) -> Option<Arc<Machine>> {
        self.lock().remove(&pid)
    }

    /// Takes machine `pid` out of the table if `host`'s tab runs it.
    pub fn take_hosted(&self, pid: u64, host: &str) -> Option<Arc<Machine>> {
        let mut machines = self.lock();
        machines.get(&pid).filter(|m| m.host == host)?;
        machines.remove(&pid)
    }

    /// Takes out every machine `client_id` asked for or hosts.
    pub fn take_of(&self, client_id: &str) -> Vec<Arc<Machine>> {
        let mut machines = self.lock();
        let pids: Vec<u64> = machines
            .values()
            .filter(|m| m.owner == client_id || m.host == client_id)
            .map(|m| m.pid)
            .collect();
        pids.iter().filter_map(|p| machines.remove(p)).collect()
    }

    /// How many machines `owner` asked for.
    pub fn count_of(&self, owner: &str) -> usize {
        self.lock().values().filter(|m| m.owner == owner).count()
    }

    /// The machines of `owner`, for `vm.list`.
    pub fn list(&self, owner: &str) -> Vec<ProgramInfo> {
        self.lock()
            .values()
            .filter(|m| m.owner == owner)
            .map(|m| m.info())
            .collect()
    }
}
