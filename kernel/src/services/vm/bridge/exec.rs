//! `vm.exec`: one shell command in an x86 machine of the requester's own tab (the tab of the
//! client it is, or acts for: an agent run's is its caller's), as `compute:exec` to that tab.
//!
//! The machine is the request's `pid` (one that tab's own client spawned there), else the newest
//! one that client spawned (the Terminal's), else the one the kernel started there for `vm.exec`
//! before, else a new one without a window ([`Machine::spawn`] `None`), which stays for later
//! calls, counts against `max_machines_per_client`, shows in `vm.list` and goes with the tab.
//! The command waits until the tab hosts the machine, then the tab runs it once the guest is
//! ready and answers when it ends. `timeout_ms` is the request's or `exec_timeout_ms`, never
//! more than `max_exec_timeout_ms`; output is cut at `max_exec_output_bytes`. Only the kernel
//! sends `compute:exec` (the router keeps it private to the tab), so whoever reaches a machine
//! this way went through the kernel's admission as that tab's client or on its behalf.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_shared::compute;
use aether_shared::vm::{Exec, Executed};

use super::{Bridge, Machine, Machines, TAB_TIMEOUT, start_in_tab};
use crate::bus::{Bus, ClientHandle};
use crate::services::request::Answer;
use crate::services::vm::error::VmError;

impl Bridge {
    /// Admits a `vm.exec` from `client`; `allot_pid` gives the runner's next pid should a
    /// machine have to be started. Answered once the command ended (or failed).
    pub fn exec(
        &self,
        client: &Arc<ClientHandle>,
        req: Exec,
        allot_pid: impl FnOnce() -> u64,
    ) -> Result<Answer<Executed>, VmError> {
        let tab = client.acting_for();
        let session = self.sessions.of(tab).ok_or(VmError::NoMachineHost)?;
        let timeout_ms = self.exec_timeout_ms(req.timeout_ms)?;
        let (machine, start) = match req.pid {
            Some(pid) => (
                self.machines
                    .of_tab(pid, tab)
                    .ok_or(VmError::NoSuchProgram { pid })?,
                None,
            ),
            None => match self.machines.exec_target(tab) {
                Some(machine) => (machine, None),
                None => {
                    let start = self.admit(
                        tab,
                        &session,
                        None,
                        "x86 (v86) for vm.exec".to_owned(),
                        compute::Spawn {
                            pid: 0,
                            memory_bytes: self.limits.memory_bytes.get(),
                            boot_timeout_ms: self.limits.boot_timeout_ms.get(),
                            snapshot: None,
                        },
                        allot_pid,
                    )?;
                    let machine = self
                        .machines
                        .get(start.pid)
                        .ok_or(VmError::NotHosted { pid: start.pid })?;
                    (machine, Some(start))
                }
            },
        };
        let run = compute::Exec {
            pid: machine.pid,
            command: req.command,
            timeout_ms,
            max_output_bytes: self.limits.max_exec_output_bytes.get(),
        };
        // The guest may still be booting: its boot time, the command's and the tab's answer.
        let wait =
            Duration::from_millis(self.limits.boot_timeout_ms.get() + timeout_ms) + TAB_TIMEOUT;
        let (bus, machines) = (self.bus.clone(), self.machines.clone());
        Ok(Answer::Later(Box::new(move |env| {
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = run_in_tab(&bus, machines, machine, start, &run, wait).await;
                match answer {
                    Ok(done) if done.timed_out => {
                        let late = VmError::ExecTimeout {
                            pid: run.pid,
                            limit_ms: run.timeout_ms,
                        };
                        bus.emit_error(&env, late.of_program(run.pid));
                    }
                    Ok(done) => bus.reply::<Exec>(
                        &env,
                        &Executed {
                            pid: run.pid,
                            status: done.status,
                            output: done.output,
                            truncated: done.truncated,
                            max_output_bytes: run.max_output_bytes,
                            duration_ms: started.elapsed().as_millis() as u64,
                        },
                    ),
                    Err(e) => bus.emit_error(&env, e.of_program(run.pid)),
                }
            });
        })))
    }

    /// The command's limit in milliseconds: the request's, else `exec_timeout_ms`, at most
    /// `max_exec_timeout_ms`.
    fn exec_timeout_ms(&self, asked: Option<u64>) -> Result<u64, VmError> {
        match asked {
            Some(0) => Err(VmError::ExecTimeoutZero),
            asked => Ok(asked
                .unwrap_or(self.limits.exec_timeout_ms.get())
                .min(self.limits.max_exec_timeout_ms.get())),
        }
    }
}

/// Starts the machine first when the kernel is starting it (`start`), waits until the tab hosts
/// it, then has the tab run the command.
async fn run_in_tab(
    bus: &Bus,
    machines: Machines,
    machine: Arc<Machine>,
    start: Option<compute::Spawn>,
    run: &compute::Exec,
    wait: Duration,
) -> Result<compute::Executed, VmError> {
    let mut hosted = machine.hosted.subscribe();
    let session = machine.session.clone();
    drop(machine);
    if let Some(start) = start {
        start_in_tab(bus.clone(), machines, session.clone(), start).await;
    }
    // The sender goes with the machine: a machine that ended before its tab hosted it.
    if hosted.wait_for(|hosted| *hosted).await.is_err() {
        return Err(VmError::MachineGone { pid: run.pid });
    }
    bus.request(&session, run, wait)
        .await
        .map_err(|e| VmError::tab_failed(e, "run the command"))
}
