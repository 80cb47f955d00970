//! The VM bridge: `vm.spawn {backend: v86}` runs an x86 machine in the requester's own browser
//! tab (the compute session that same client registered), with the WASM runner's contract.
//!
//! The kernel allots the pid (from the runner's counter, so pids never clash), answers
//! `vm.spawn:ack {pid}` and asks the tab to start the machine (`compute:spawn`). The tab's serial
//! output comes back as `compute:output` and leaves as the requester's `vm.stdout` with a `seq`;
//! `vm.stdin` and `vm.kill` for the pid go to the tab that hosts it; the tab's `compute:exit`
//! becomes the one `vm.exit` (or `vm.error`). Whoever removes a machine from the table sends its
//! final message, so there is exactly one. Keys waiting for the tab are bounded per machine
//! ([`keys`]).

mod keys;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aether_shared::compute;
use aether_shared::vm::{
    Accepted, EXIT, Exit, ExitStats, Kill, ModuleSource, Output, ProgramInfo, STDOUT, Spawn,
    Spawned, Stdin,
};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, Topic};

use self::keys::Keys;
use crate::bus::{Bus, ClientHandle, RequestError};
use crate::config::V86Limits;

/// How long a tab may take to acknowledge a command (start, keys, power off).
const TAB_TIMEOUT: Duration = Duration::from_secs(15);
/// The least guest RAM that boots: v86 puts the initramfs at 64 MiB.
pub const MIN_MEMORY_BYTES: u64 = 96 * 1024 * 1024;

/// Which compute session each client registered (`compute:register`).
#[derive(Default)]
pub struct ComputeSessions {
    by_client: RwLock<HashMap<String, String>>,
}

impl ComputeSessions {
    /// Records that `client_id` serves compute session `session_id`.
    pub fn set(&self, client_id: &str, session_id: &str) {
        self.by_client
            .write()
            .expect("compute sessions lock")
            .insert(client_id.to_owned(), session_id.to_owned());
    }

    /// The compute session `client_id` registered, if any.
    pub fn of(&self, client_id: &str) -> Option<String> {
        self.by_client
            .read()
            .expect("compute sessions lock")
            .get(client_id)
            .cloned()
    }

    /// Forgets a client that left.
    pub fn remove(&self, client_id: &str) {
        self.by_client
            .write()
            .expect("compute sessions lock")
            .remove(client_id);
    }
}

/// One x86 machine the bridge knows about.
struct Machine {
    pid: u64,
    /// The requester (who gets the `vm.*` stream and may feed or kill it).
    owner: String,
    /// The client of the tab that runs it.
    host: String,
    /// The tab's compute session id.
    session: String,
    label: String,
    /// The `vm.spawn` envelope: every stream message answers it.
    spawn: Envelope,
    seq: AtomicU64,
    output_bytes: AtomicU64,
    started: Instant,
    /// `vm.stdin` requests, forwarded to the tab one after another.
    keys: Keys,
}

/// The bridge to the tabs' x86 machines.
pub struct Bridge {
    bus: Bus,
    limits: V86Limits,
    max_pending_stdin_bytes: usize,
    sessions: Arc<ComputeSessions>,
    machines: Arc<Mutex<HashMap<u64, Arc<Machine>>>>,
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
            machines: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// True when `pid` is an x86 machine of `owner`.
    pub fn owns(&self, pid: u64, owner: &str) -> bool {
        self.get(pid).is_some_and(|m| m.owner == owner)
    }

    fn get(&self, pid: u64) -> Option<Arc<Machine>> {
        self.machines
            .lock()
            .expect("machines lock")
            .get(&pid)
            .cloned()
    }

    fn take(machines: &Mutex<HashMap<u64, Arc<Machine>>>, pid: u64) -> Option<Arc<Machine>> {
        machines.lock().expect("machines lock").remove(&pid)
    }

    /// Starts a machine for `client` in its own tab; `pid` comes from the runner's counter.
    pub fn spawn(
        &self,
        client: &Arc<ClientHandle>,
        env: Envelope,
        spawn: Spawn,
        allot_pid: impl FnOnce() -> u64,
    ) {
        let Some(session) = self.sessions.of(client.id()) else {
            self.bus.emit_error(
                &env,
                ErrorPayload::new(
                    ErrorCode::BackendUnavailable,
                    "No x86 machine host in this tab: open the Aether desktop (the Terminal app) in your browser and spawn from there.",
                ),
            );
            return;
        };
        let limits = spawn.limits.clone().unwrap_or_default();
        let memory_bytes = limits
            .max_memory_bytes
            .unwrap_or(self.limits.memory_bytes.get())
            .min(self.limits.max_memory_bytes.get());
        if memory_bytes < MIN_MEMORY_BYTES {
            self.bus.emit_error(
                &env,
                ErrorPayload::new(
                    ErrorCode::BadRequest,
                    format!("An x86 machine needs at least {MIN_MEMORY_BYTES} bytes of memory; raise limits.max_memory_bytes."),
                )
                .with_detail("limit", "max_memory_bytes"),
            );
            return;
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
            Some(_) => {
                self.bus.emit_error(
                    &env,
                    ErrorPayload::new(
                        ErrorCode::BadRequest,
                        "An x86 machine boots without a module, or resumes a saved state from your own files with `module: {path}`.",
                    ),
                );
                return;
            }
        };
        let cap = self.limits.max_machines_per_client.get();
        let running = self
            .machines
            .lock()
            .expect("machines lock")
            .values()
            .filter(|m| m.owner == client.id())
            .count();
        if running >= cap as usize {
            self.bus.emit_error(
                &env,
                ErrorPayload::new(
                    ErrorCode::ResourceExceeded,
                    format!("You already run {running} x86 machines (max_machines_per_client is {cap}); power one off first."),
                )
                .with_detail("limit", "max_machines_per_client")
                .with_detail("value", cap),
            );
            return;
        }
        let pid = allot_pid();
        let keys = Keys::start(
            self.bus.clone(),
            session.clone(),
            pid,
            self.max_pending_stdin_bytes,
            TAB_TIMEOUT,
        );
        let machine = Arc::new(Machine {
            pid,
            owner: client.id().to_owned(),
            host: client.id().to_owned(),
            session: session.clone(),
            label: snapshot
                .clone()
                .map_or_else(|| "x86 (v86)".to_owned(), |p| format!("x86 (v86) {p}")),
            spawn: env.clone(),
            seq: AtomicU64::new(0),
            output_bytes: AtomicU64::new(0),
            started: Instant::now(),
            keys,
        });
        self.machines
            .lock()
            .expect("machines lock")
            .insert(pid, Arc::clone(&machine));
        self.bus.reply::<Spawn>(&env, &Spawned { pid });
        tracing::debug!(
            pid,
            session,
            memory_bytes,
            "starting an x86 machine in the tab"
        );
        let (bus, machines) = (self.bus.clone(), Arc::clone(&self.machines));
        let start = compute::Spawn {
            pid,
            memory_bytes,
            boot_timeout_ms,
            snapshot,
        };
        tokio::spawn(async move {
            if let Err(e) = bus.request(&session, &start, TAB_TIMEOUT).await
                && let Some(machine) = Self::take(&machines, pid)
            {
                end_with_error(&bus, &machine, tab_failed(e, "start the machine"));
            }
        });
    }

    /// `vm.stdin` for a machine of `client`: keys for its serial port.
    pub fn stdin(&self, env: Envelope, req: Stdin) {
        let Some(machine) = self.get(req.pid) else {
            return;
        };
        // One queue per machine: keys reach the serial port in the order they were typed.
        if let Err(refused) = machine.keys.type_in(env.clone(), req) {
            self.bus.emit_error(&env, refused);
        }
    }

    /// `vm.kill` for a machine of `client`: the tab powers it off and reports `compute:exit`.
    pub fn kill(&self, env: Envelope, req: Kill) {
        let Some(machine) = self.get(req.pid) else {
            return;
        };
        let (bus, machines) = (self.bus.clone(), Arc::clone(&self.machines));
        tokio::spawn(async move {
            let off = compute::Kill { pid: machine.pid };
            let result = bus.request(&machine.session, &off, TAB_TIMEOUT).await;
            bus.reply::<Kill>(&env, &Accepted {});
            if result.is_err()
                && let Some(machine) = Self::take(&machines, machine.pid)
            {
                let stopped = ErrorPayload::new(
                    ErrorCode::Cancelled,
                    format!("Machine {} was killed.", machine.pid),
                );
                end_with_error(&bus, &machine, stopped);
            }
        });
    }

    /// `compute:output` from the tab hosting a machine: the requester's next `vm.stdout`.
    pub fn output(&self, client: &ClientHandle, env: &Envelope, out: compute::Output) {
        let Some(machine) = self.get(out.pid).filter(|m| m.host == client.id()) else {
            self.not_hosted(env, out.pid);
            return;
        };
        self.bus.reply::<compute::Output>(env, &Accepted {});
        let seq = machine.seq.fetch_add(1, Ordering::Relaxed);
        machine
            .output_bytes
            .fetch_add(out.data.len() as u64, Ordering::Relaxed);
        let chunk = Output {
            pid: out.pid,
            seq,
            data: out.data,
        };
        let _ = self
            .bus
            .publish_from_kernel(machine.spawn.reply(Topic::from_static(STDOUT), &chunk));
    }

    /// `compute:exit` from the tab hosting a machine: the requester's `vm.exit` or `vm.error`.
    pub fn exit(&self, client: &ClientHandle, env: &Envelope, exit: compute::Exit) {
        let hosted = self.get(exit.pid).is_some_and(|m| m.host == client.id());
        let Some(machine) = hosted
            .then(|| Self::take(&self.machines, exit.pid))
            .flatten()
        else {
            self.not_hosted(env, exit.pid);
            return;
        };
        self.bus.reply::<compute::Exit>(env, &Accepted {});
        if let Some(error) = exit.error {
            end_with_error(&self.bus, &machine, error);
            return;
        }
        let done = Exit {
            pid: machine.pid,
            code: exit.code,
            duration_ms: machine.started.elapsed().as_millis() as u64,
            stats: ExitStats {
                output_bytes: machine.output_bytes.load(Ordering::Relaxed),
                ..ExitStats::default()
            },
        };
        let _ = self
            .bus
            .publish_from_kernel(machine.spawn.reply(Topic::from_static(EXIT), &done));
    }

    /// The machines of `owner`, for `vm.list`.
    pub fn list(&self, owner: &str) -> Vec<ProgramInfo> {
        self.machines
            .lock()
            .expect("machines lock")
            .values()
            .filter(|m| m.owner == owner)
            .map(|m| ProgramInfo {
                pid: m.pid,
                module: m.label.clone(),
                running_ms: m.started.elapsed().as_millis() as u64,
            })
            .collect()
    }

    /// Forgets a client that left: its compute session and the machines it asked for or hosted.
    pub fn client_gone(&self, client_id: &str) {
        self.sessions.remove(client_id);
        let gone: Vec<Arc<Machine>> = {
            let mut machines = self.machines.lock().expect("machines lock");
            let pids: Vec<u64> = machines
                .values()
                .filter(|m| m.owner == client_id || m.host == client_id)
                .map(|m| m.pid)
                .collect();
            pids.iter().filter_map(|p| machines.remove(p)).collect()
        };
        for machine in gone {
            if machine.owner != client_id {
                let stopped = ErrorPayload::new(
                    ErrorCode::Cancelled,
                    format!("Machine {} stopped: the tab running it left.", machine.pid),
                );
                end_with_error(&self.bus, &machine, stopped);
            }
        }
    }

    fn not_hosted(&self, env: &Envelope, pid: u64) {
        self.bus.emit_error(
            env,
            ErrorPayload::new(
                ErrorCode::NotFound,
                format!("This tab hosts no running machine {pid}; it may have been stopped."),
            )
            .with_detail("pid", pid),
        );
    }
}

fn end_with_error(bus: &Bus, machine: &Machine, error: ErrorPayload) {
    bus.emit_error(&machine.spawn, error.with_detail("pid", machine.pid));
}

fn tab_failed(e: RequestError, what: &str) -> ErrorPayload {
    match e {
        RequestError::Remote(payload) => payload,
        other => ErrorPayload::new(
            ErrorCode::BackendUnavailable,
            format!(
                "The tab hosting the x86 machine did not {what} ({other}); reload the desktop and try again."
            ),
        ),
    }
}
