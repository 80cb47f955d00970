//! The x86 machine host of this tab: the `v86` backend of `vm.spawn`.
//!
//! At start the tab registers a compute session (`compute:register`, again after every
//! reconnect) and the kernel's VM bridge then sends it `compute:spawn` / `compute:stdin` /
//! `compute:kill` for the machines this tab's own client asked for, and `compute:exec` for a
//! shell command in one of them ([`shell`]). Each machine runs v86 in its
//! own dedicated Web Worker (`worker.js`, started on the first spawn, so the desktop's start stays
//! fast) from the files `cargo xtask` placed under `/v86/` (named by `/v86/manifest.json`). Serial
//! output goes back to the kernel as `compute:output` (in order, without waiting for each ack),
//! or straight to the window of this tab that claimed the machine ([`direct`]: the Terminal's
//! keys and echo never cross the socket); the machine's end as one `compute:exit`.
//! [`V86Host::save`] snapshots a machine (v86's state save); a `compute:spawn` with a `snapshot`
//! path resumes one from this tab's files. Each machine's guest sees the tab's files live at
//! `/mnt/files` (and its tools under `/mnt/host/tools`) through a 9p server in the page
//! ([`share`]); its fid table is saved with the machine's state.

mod direct;
pub mod manifest;
pub mod share;
mod shell;
mod worker;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use aether_shared::compute::{self, POWERED_OFF};
use aether_shared::kernel::HELLO;
use aether_shared::vfs::ComputeRegister;
use aether_shared::vm::Accepted;
use aether_shared::{BusRequest, Envelope, ErrorCode, ErrorPayload, Namespace, Pattern, Topic};
use send_wrapper::SendWrapper;

use direct::Claims;
pub use direct::DirectLine;
pub use manifest::Manifest;
use share::{Share, snapshot};
use worker::{Event, MachineWorker};

use crate::services::bus::{BusClient, DEFAULT_TIMEOUT_MS, namespace_pattern};
use crate::services::vfs::VfsProxy;

/// This tab's x86 machines; cheap to clone, lives in Leptos context.
#[derive(Clone)]
pub struct V86Host {
    inner: SendWrapper<Rc<Inner>>,
}

struct Inner {
    bus: BusClient,
    vfs: VfsProxy,
    session_id: String,
    machines: RefCell<HashMap<u64, MachineWorker>>,
    /// Each running machine's 9p server.
    shares: RefCell<HashMap<u64, Share>>,
    /// Keys for machines still starting (their snapshot or files being read), by pid.
    starting: RefCell<HashMap<u64, String>>,
    /// Machines claimed by a window of this tab, whose serial line bypasses the bus.
    claims: Claims,
    /// The rows and columns of each claimed machine's window, given to the guest when it runs.
    sizes: RefCell<HashMap<u64, (u32, u32)>>,
}

/// Starts serving the v86 backend for this tab on `bus`.
pub fn start(bus: BusClient, vfs: VfsProxy) -> V86Host {
    let session_id = compute_session_id(vfs.session_id());
    let host = V86Host {
        inner: SendWrapper::new(Rc::new(Inner {
            bus: bus.clone(),
            vfs,
            session_id,
            machines: RefCell::new(HashMap::new()),
            shares: RefCell::new(HashMap::new()),
            starting: RefCell::new(HashMap::new()),
            claims: Claims::default(),
            sizes: RefCell::new(HashMap::new()),
        })),
    };
    let requests = namespace_pattern(Namespace::Compute);
    let served = host.clone();
    bus.on(requests, move |envelope| {
        if envelope.to.as_deref() != Some(served.inner.session_id.as_str()) {
            return;
        }
        let (host, envelope) = (served.clone(), envelope.clone());
        wasm_bindgen_futures::spawn_local(async move { host.answer(envelope).await });
    });
    let hello = Pattern::Exact(Topic::from_static(HELLO));
    let registering = host.clone();
    bus.on(hello, move |_| {
        wasm_bindgen_futures::spawn_local(registering.clone().register());
    });
    if bus.state_untracked().is_connected() {
        wasm_bindgen_futures::spawn_local(host.clone().register());
    }
    host
}

/// The compute session id: the tab's VFS session id with a suffix (ids never exceed 64 bytes).
fn compute_session_id(vfs_session: &str) -> String {
    let mut id: String = vfs_session.chars().take(60).collect();
    id.push_str("-x86");
    id
}

impl V86Host {
    /// Claims machine `pid`, which this tab's own client spawned and the kernel is about to
    /// start here (call it on the `vm.spawn:ack`, which comes before the kernel's
    /// `compute:spawn`): from its start, its serial output goes to `on_output` instead of the
    /// kernel, and the returned line types into it without the bus. `None` when the machine is
    /// already starting or running (it keeps the kernel route) or already claimed.
    pub fn claim(&self, pid: u64, on_output: impl Fn(&str) + 'static) -> Option<DirectLine> {
        let known = self.inner.starting.borrow().contains_key(&pid)
            || self.inner.machines.borrow().contains_key(&pid);
        if known || !self.inner.claims.claim(pid, std::rc::Rc::new(on_output)) {
            return None;
        }
        Some(DirectLine::new(self.clone(), pid))
    }

    fn claims(&self) -> &Claims {
        &self.inner.claims
    }

    /// Keys from a direct line: to the machine, or kept until its `compute:spawn` arrives.
    fn type_direct(&self, pid: u64, keys: &str) {
        let stdin = compute::Stdin {
            pid,
            data: keys.to_owned(),
        };
        if self.type_in(stdin).is_err() {
            self.inner.claims.keep_early(pid, keys);
        }
    }

    fn forget_size(&self, pid: u64) {
        self.inner.sizes.borrow_mut().remove(&pid);
    }

    /// The window of machine `pid` is `rows` × `cols`: told to the guest now, or when it runs.
    fn resize(&self, pid: u64, rows: u32, cols: u32) {
        self.inner.sizes.borrow_mut().insert(pid, (rows, cols));
        if let Some(machine) = self.inner.machines.borrow().get(&pid) {
            machine.send_size(rows, cols);
        }
    }

    /// Snapshots machine `pid` (v86's state save) and returns the state, with the fid table of
    /// its 9p server (what the guest held open for writing is written back first).
    pub async fn save(&self, pid: u64) -> Result<Vec<u8>, String> {
        let saving = self.inner.shares.borrow().get(&pid).map(Share::save);
        let fids = match saving {
            Some(saving) => saving.await,
            None => None,
        };
        let waiting = {
            let machines = self.inner.machines.borrow();
            let machine = machines
                .get(&pid)
                .ok_or_else(|| format!("machine {pid} is not running in this tab"))?;
            machine.save()
        };
        let state = waiting.await?;
        Ok(snapshot::attach(state, fids.as_deref().unwrap_or("[]")))
    }

    /// Resets machine `pid` (the guest reboots).
    pub fn reset(&self, pid: u64) {
        if let Some(machine) = self.inner.machines.borrow().get(&pid) {
            machine.reset();
        }
    }

    async fn register(self) {
        let request = ComputeRegister {
            session_id: self.inner.session_id.clone(),
        };
        if let Err(e) = self
            .inner
            .bus
            .send_request(&request, DEFAULT_TIMEOUT_MS)
            .await
        {
            warn(&format!("this tab cannot host x86 machines: {e}"));
        }
    }

    /// Answers one `compute:*` request the kernel addressed to this tab.
    async fn answer(&self, env: Envelope) {
        if env.topic.as_str() == compute::Exec::TOPIC {
            return self.answer_exec(env).await;
        }
        let result = match env.topic.as_str() {
            compute::Spawn::TOPIC => match env.decode::<compute::Spawn>() {
                Ok(req) => self.spawn(req).await,
                Err(e) => Err(bad(e)),
            },
            compute::Stdin::TOPIC => match env.decode::<compute::Stdin>() {
                Ok(req) => self.type_in(req),
                Err(e) => Err(bad(e)),
            },
            compute::Kill::TOPIC => match env.decode::<compute::Kill>() {
                Ok(req) => self.kill(req.pid),
                Err(e) => Err(bad(e)),
            },
            _ => return,
        };
        let reply = match result {
            Ok(()) => env.reply(env.topic.ack(), &Accepted {}),
            Err(error) => env.error_reply(error),
        };
        if let Err(e) = self.inner.bus.publish(reply) {
            warn(&format!("could not answer `{}`: {e}", env.topic));
        }
    }

    /// Keys for the serial port of machine `pid` (kept until it exists when it is starting).
    fn type_in(&self, req: compute::Stdin) -> Result<(), ErrorPayload> {
        if let Some(keys) = self.inner.starting.borrow_mut().get_mut(&req.pid) {
            keys.push_str(&req.data);
            return Ok(());
        }
        match self.inner.machines.borrow().get(&req.pid) {
            Some(machine) => {
                machine.send_serial(&req.data);
                Ok(())
            }
            None => Err(ErrorPayload::new(
                ErrorCode::NotFound,
                format!("Machine {} is not running in this tab.", req.pid),
            )),
        }
    }

    async fn spawn(&self, req: compute::Spawn) -> Result<(), ErrorPayload> {
        // A claimed machine runs direct from here on, with the keys its window typed so far.
        let early = self.inner.claims.start(req.pid).unwrap_or_default();
        self.inner.starting.borrow_mut().insert(req.pid, early);
        let started = self.start(&req).await;
        if started.is_err() {
            self.inner.claims.stopped(req.pid);
        }
        let keys = self.inner.starting.borrow_mut().remove(&req.pid);
        match keys {
            // Powered off while it was starting: it already reported its exit.
            None => {
                self.inner.shares.borrow_mut().remove(&req.pid);
                if let Some(machine) = self.inner.machines.borrow_mut().remove(&req.pid) {
                    machine.terminate();
                }
            }
            Some(keys) if !keys.is_empty() => {
                if let Some(machine) = self.inner.machines.borrow().get(&req.pid) {
                    machine.send_serial(&keys);
                }
            }
            Some(_) => {}
        }
        started
    }

    async fn start(&self, req: &compute::Spawn) -> Result<(), ErrorPayload> {
        let manifest = manifest::load().await.map_err(|e| {
            ErrorPayload::new(
                ErrorCode::BackendUnavailable,
                format!(
                    "The x86 machine's files are missing ({e}); rebuild with `cargo xtask build`."
                ),
            )
        })?;
        let (state, fids) = match &req.snapshot {
            None => (None, None),
            Some(path) => {
                let saved = self
                    .inner
                    .vfs
                    .read(path)
                    .await
                    .map_err(|e| e.to_payload())?;
                let (state, fids) = snapshot::detach(saved.bytes);
                // Earlier builds gave the guest a copy of the files on another 9p device: such
                // a guest cannot run on this one.
                let Some(fids) = fids else {
                    return Err(ErrorPayload::new(
                        ErrorCode::BadRequest,
                        format!(
                            "`{path}` was saved by an earlier version of Aether, whose machine \
                             shared the tab's files differently; power the machine on fresh and \
                             save its state again."
                        ),
                    ));
                };
                (Some(state), Some(fids))
            }
        };
        let pid = req.pid;
        let host = self.clone();
        let on_event = move |event: Event| host.on_event(pid, event);
        let machine =
            MachineWorker::boot(&manifest, req, state.as_deref(), on_event).map_err(|e| {
                ErrorPayload::new(
                    ErrorCode::Internal,
                    format!("The x86 machine's worker did not start ({e}); reload the page."),
                )
            })?;
        if let Some((rows, cols)) = self.inner.sizes.borrow().get(&pid) {
            machine.send_size(*rows, *cols);
        }
        let share = Share::start(
            self.inner.vfs.clone(),
            manifest.tools.clone(),
            fids,
            machine.replier(),
        );
        self.inner.shares.borrow_mut().insert(pid, share);
        self.inner.machines.borrow_mut().insert(pid, machine);
        Ok(())
    }

    fn kill(&self, pid: u64) -> Result<(), ErrorPayload> {
        if self.inner.starting.borrow_mut().remove(&pid).is_some() {
            self.report(&compute::Exit {
                pid,
                code: POWERED_OFF,
                error: None,
                direct_output_bytes: self.inner.claims.stopped(pid),
            });
            return Ok(());
        }
        self.inner.shares.borrow_mut().remove(&pid);
        let machine = self.inner.machines.borrow_mut().remove(&pid);
        let Some(machine) = machine else {
            return Err(ErrorPayload::new(
                ErrorCode::NotFound,
                format!("Machine {pid} is not running in this tab."),
            ));
        };
        machine.terminate();
        self.report(&compute::Exit {
            pid,
            code: POWERED_OFF,
            error: None,
            direct_output_bytes: self.inner.claims.stopped(pid),
        });
        Ok(())
    }

    fn on_event(&self, pid: u64, event: Event) {
        match event {
            Event::Output(data) => {
                if !self.inner.claims.deliver(pid, &data) {
                    self.report(&compute::Output { pid, data });
                }
            }
            Event::NineP(request) => {
                if let Some(share) = self.inner.shares.borrow().get(&pid) {
                    share.request(request);
                }
            }
            Event::Failed(error) => {
                self.inner.shares.borrow_mut().remove(&pid);
                if let Some(machine) = self.inner.machines.borrow_mut().remove(&pid) {
                    machine.terminate();
                }
                self.report(&compute::Exit {
                    pid,
                    code: 0,
                    error: Some(error),
                    direct_output_bytes: self.inner.claims.stopped(pid),
                });
            }
        }
    }

    /// Sends a report to the kernel without waiting, so reports keep their order.
    fn report<R: BusRequest>(&self, report: &R) {
        if let Err(e) = self.inner.bus.post(report) {
            warn(&format!("a report of the x86 machine was lost: {e}"));
        }
    }
}

fn bad(e: impl std::fmt::Display) -> ErrorPayload {
    ErrorPayload::new(
        ErrorCode::BadRequest,
        format!("{e}; the kernel and the desktop disagree on the contract, rebuild both."),
    )
}

fn warn(message: &str) {
    web_sys::console::warn_1(&format!("aether: {message}").into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compute_session_id_is_a_valid_session_id_of_its_own() {
        let id = compute_session_id(&"s".repeat(64));
        assert!(aether_shared::vfs::validate_session_id(&id).is_ok(), "{id}");
        assert_eq!(compute_session_id("s-abc"), "s-abc-x86");
    }
}
