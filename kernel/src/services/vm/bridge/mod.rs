//! The VM bridge: `vm.spawn {backend: v86}` runs an x86 machine in the requester's own browser
//! tab (the compute session that same client registered), with the WASM runner's contract.
//!
//! The kernel allots the pid (from the runner's counter, so pids never clash), answers
//! `vm.spawn:ack {pid}` and asks the tab to start the machine (`compute:spawn`). The tab's serial
//! output comes back as `compute:output` and leaves as the requester's `vm.stdout` with a `seq`;
//! `vm.stdin` and `vm.kill` for the pid go to the tab that hosts it; the tab's `compute:exit`
//! becomes the one `vm.exit` (or `vm.error`) ([`reports`]). Whoever removes a machine from the
//! table ([`machines`]) sends its final message, so there is exactly one. Keys waiting for the tab
//! are bounded per machine ([`keys`]). `vm.exec` runs one shell command in a machine of the
//! requester's own tab, starting one without a window when the tab runs none ([`exec`]). This
//! file is the requester's side: spawn, kill, list and forgetting a client that left.

mod exec;
mod keys;
mod machines;
mod reports;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use aether_shared::Envelope;
use aether_shared::compute;
use aether_shared::vm::{Accepted, Kill, ModuleSource, ProgramInfo, Spawn, Spawned};
use tokio::sync::watch;

use self::keys::Keys;
pub use self::machines::Machine;
use self::machines::Machines;
use super::error::VmError;
use crate::bus::{Bus, ClientHandle};
use crate::config::V86Limits;
use crate::services::request::Answer;
use crate::services::sessions::ComputeSessions;

/// How long a tab may take to acknowledge a command (start, keys, power off).
const TAB_TIMEOUT: Duration = Duration::from_secs(15);
/// The least guest RAM that boots: v86 puts the initramfs at 64 MiB.
pub const MIN_MEMORY_BYTES: u64 = 96 * 1024 * 1024;

/// The bridge to the tabs' x86 machines.
pub struct Bridge {
    bus: Bus,
    limits: V86Limits,
    max_pending_stdin_bytes: usize,
    sessions: Arc<ComputeSessions>,
    machines: Machines,
}

impl Bridge {
    /// A bridge under `limits`; `max_pending_stdin_bytes` bounds each machine's waiting keys.
    pub fn new(
        bus: Bus,
        limits: V86Limits,
        max_pending_stdin_bytes: usize,
        sessions: Arc<ComputeSessions>,
    ) -> Bridge {
        Bridge {
            bus,
            limits,
            max_pending_stdin_bytes,
            sessions,
            machines: Machines::default(),
        }
    }

    /// Machine `pid` if `owner` asked for it: its `vm.stdin` and `vm.kill` come here.
    pub fn machine(&self, pid: u64, owner: &str) -> Option<Arc<Machine>> {
        self.machines.owned(pid, owner)
    }

    /// Admits a machine for `client` in its own tab (`env` is the spawn, answered by every
    /// stream message); `allot_pid` gives the runner's next pid. The acknowledgement goes first,
    /// then the tab is asked to start the machine.
    pub fn spawn(
        &self,
        client: &Arc<ClientHandle>,
        spawn: Spawn,
        env: &Envelope,
        allot_pid: impl FnOnce() -> u64,
    ) -> Result<Answer<Spawned>, VmError> {
        let session = self
            .sessions
            .of(client.id())
            .ok_or(VmError::NoMachineHost)?;
        let limits = spawn.limits.unwrap_or_default();
        let memory_bytes = limits
            .max_memory_bytes
            .unwrap_or(self.limits.memory_bytes.get())
            .min(self.limits.max_memory_bytes.get());
        if memory_bytes < MIN_MEMORY_BYTES {
            return Err(VmError::MachineTooSmall);
        }
        let boot_timeout_ms = limits
            .boot_timeout_ms
            .unwrap_or(u64::MAX)
            .min(self.limits.boot_timeout_ms.get());
        let snapshot = match spawn.module {
            None => None,
            Some(ModuleSource::Path {
                path,
                session: None,
            }) => Some(path),
            Some(_) => return Err(VmError::MachineModule),
        };
        let label = snapshot
            .clone()
            .map_or_else(|| "x86 (v86)".to_owned(), |p| format!("x86 (v86) {p}"));
        let start = self.admit(
            client.id(),
            &session,
            Some(env.clone()),
            label,
            compute::Spawn {
                pid: 0,
                memory_bytes,
                boot_timeout_ms,
                snapshot,
            },
            allot_pid,
        )?;
        let pid = start.pid;
        let (bus, machines) = (self.bus.clone(), self.machines.clone());
        Ok(Answer::ReplyThen(
            Spawned { pid },
            Box::new(move |_| {
                tokio::spawn(start_in_tab(bus, machines, session, start));
            }),
        ))
    }

    /// Puts a machine of `owner` (hosted by `owner`'s own tab, serving `session`) in the table
    /// under the runner's next pid, within `max_machines_per_client`; returns `start` with that
    /// pid, for [`start_in_tab`].
    fn admit(
        &self,
        owner: &str,
        session: &str,
        spawn: Option<Envelope>,
        label: String,
        mut start: compute::Spawn,
        allot_pid: impl FnOnce() -> u64,
    ) -> Result<compute::Spawn, VmError> {
        let cap = self.limits.max_machines_per_client.get();
        let running = self.machines.count_of(owner);
        if running >= cap as usize {
            return Err(VmError::TooManyMachines { running, cap });
        }
        start.pid = allot_pid();
        let keys = Keys::start(
            self.bus.clone(),
            session.to_owned(),
            start.pid,
            self.max_pending_stdin_bytes,
            TAB_TIMEOUT,
        );
        self.machines.insert(Arc::new(Machine {
            pid: start.pid,
            owner: owner.to_owned(),
            host: owner.to_owned(),
            session: session.to_owned(),
            label,
            spawn,
            seq: AtomicU64::new(0),
            output_bytes: AtomicU64::new(0),
            started: Instant::now(),
            keys,
            hosted: watch::Sender::new(false),
        }));
        Ok(start)
    }

    /// `vm.kill` for `machine`: the tab powers it off and reports `compute:exit`; the kill is
    /// acknowledged once the tab answered (or failed to, which ends the machine here).
    pub fn kill(&self, machine: Arc<Machine>) -> Answer<Accepted> {
        let (bus, machines) = (self.bus.clone(), self.machines.clone());
        Answer::Later(Box::new(move |env| {
            tokio::spawn(async move {
                let off = compute::Kill { pid: machine.pid };
                let result = bus.request(&machine.session, &off, TAB_TIMEOUT).await;
                bus.reply::<Kill>(&env, &Accepted {});
                if result.is_err()
                    && let Some(machine) = machines.take(machine.pid)
                {
                    machine.end(&bus, &VmError::MachineKilled { pid: machine.pid });
                }
            });
        }))
    }

    /// The machines of `owner`, for `vm.list`.
    pub fn list(&self, owner: &str) -> Vec<ProgramInfo> {
        self.machines.list(owner)
    }

    /// Forgets a client that left: its compute session and the machines it asked for or hosted.
    pub fn client_gone(&self, client_id: &str) {
        self.sessions.remove(client_id);
        for machine in self.machines.take_of(client_id) {
            if machine.owner != client_id {
                machine.end(&self.bus, &VmError::HostLeft { pid: machine.pid });
            }
        }
    }
}

/// Asks the tab serving `session` to start machine `start.pid`: once it acknowledged, the machine
/// is hosted (a `compute:exec` may follow); if it refused or did not answer, the machine ends here.
async fn start_in_tab(bus: Bus, machines: Machines, session: String, start: compute::Spawn) {
    let pid = start.pid;
    tracing::debug!(
        pid,
        session,
        memory_bytes = start.memory_bytes,
        "starting an x86 machine in the tab"
    );
    match bus.request(&session, &start, TAB_TIMEOUT).await {
        Ok(_) => {
            if let Some(machine) = machines.get(pid) {
                machine.hosted.send_replace(true);
            }
        }
        Err(e) => {
            if let Some(machine) = machines.take(pid) {
                machine.end(&bus, &VmError::tab_failed(e, "start the machine"));
            }
        }
    }
}
