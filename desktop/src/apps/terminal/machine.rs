//! A Terminal window's x86 machine: powered on by `vm.spawn {backend: v86}` (cold, or resumed
//! from [`SNAPSHOT_PATH`]) and read as a typed stream (`BusClient::stream::<Spawn>`); powered off
//! by `vm.kill`; reset and saved through this tab's [`V86Host`] and files.
//!
//! The kernel runs the machine in this same tab, so on the spawn's acknowledgement the window
//! claims its pid from the tab's [`V86Host`] ([`DirectLine`]): the serial output then comes
//! straight from the machine's worker to the [`Screen`] and typed keys go straight to it, with no
//! bus crossing (a keystroke's echo stays within the tab). The kernel still starts, lists, kills
//! and ends the machine (`vm.exit` comes on the stream). Were the claim refused (the machine
//! already known to the host), output comes as `vm.stdout` and keys go as `vm.stdin`.
//!
//! [`Machine`] is `Copy`, its state in the window's signals and stored values. Only the latest
//! machine's stream is kept: powering on again (or restoring) drops the events of the one before.

use aether_shared::vm::{Backend, Kill, ModuleSource, Spawn, SpawnEvent, Stdin};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::screen::Screen;
use super::{SNAPSHOT_PATH, View, now_ms};
use crate::services::bus::{BusClient, StreamHandle, StreamOptions};
use crate::services::v86::{DirectLine, V86Host};
use crate::services::vfs::VfsProxy;

/// The guest's shell prompt (PS1 in the guest's /init).
const PROMPT: &str = "root@aether:";
/// How long a kill or keys may wait for their acknowledgement, in milliseconds.
pub const ACK_TIMEOUT_MS: u32 = 30_000;

/// The window's machine (`Copy`).
#[derive(Clone, Copy)]
pub struct Machine {
    bus: StoredValue<BusClient, LocalStorage>,
    host: StoredValue<V86Host, LocalStorage>,
    vfs: StoredValue<VfsProxy, LocalStorage>,
    view: View,
    screen: Screen,
    /// The running machine's pid, once its spawn was acknowledged.
    pid: RwSignal<Option<u64>>,
    /// The current machine resumes a saved state (it gets a fresh prompt once it runs).
    restoring: StoredValue<bool>,
    /// When the current machine was powered on or reset (`performance.now()`).
    started_ms: StoredValue<f64>,
    /// The stream of the current machine's `vm.spawn`.
    spawn: StoredValue<Option<StreamHandle>, LocalStorage>,
    /// The current machine's serial line within the tab, once claimed.
    line: StoredValue<Option<DirectLine>, LocalStorage>,
    /// The end of the output so far, so a prompt split across two chunks is still seen.
    tail: StoredValue<String>,
}

impl Machine {
    pub fn new(bus: BusClient, host: V86Host, vfs: VfsProxy, view: View, screen: Screen) -> Self {
        let machine = Machine {
            bus: StoredValue::new_local(bus),
            host: StoredValue::new_local(host),
            vfs: StoredValue::new_local(vfs),
            view,
            screen,
            pid: RwSignal::new(None),
            restoring: StoredValue::new(false),
            started_ms: StoredValue::new(0.0),
            spawn: StoredValue::new_local(None),
            line: StoredValue::new_local(None),
            tail: StoredValue::new(String::new()),
        };
        // The guest's terminal follows the window's: each refit's rows and columns go down the
        // line (a line claimed later gets the size then, see `on_event`).
        Effect::new(move |_| {
            if let Some((rows, cols)) = screen.size() {
                machine.line.try_with_value(|line| {
                    if let Some(line) = line {
                        line.resize(rows, cols);
                    }
                });
            }
        });
        machine
    }

    /// Powers a machine on: cold, or resumed from the state saved at `snapshot`.
    pub fn power_on(self, snapshot: Option<String>) {
        let restoring = snapshot.is_some();
        self.view.state.set("booting");
        self.view.status.set(if restoring {
            format!("Restoring the machine from {SNAPSHOT_PATH}…")
        } else {
            "Booting the x86 machine (Linux on v86, in this tab)…".to_owned()
        });
        self.started_ms.set_value(now_ms());
        self.restoring.set_value(restoring);
        self.pid.set(None);
        self.line.set_value(None);
        self.tail.set_value(String::new());
        let request = Spawn {
            backend: Backend::V86,
            module: snapshot.map(|path| ModuleSource::Path {
                path,
                session: None,
            }),
            args: Vec::new(),
            env: Default::default(),
            stdin: None,
            limits: None,
        };
        let opened =
            self.bus
                .get_value()
                .stream(&request, StreamOptions::default(), move |event| {
                    self.on_event(event)
                });
        match opened {
            Ok(stream) => self.spawn.set_value(Some(stream)),
            Err(e) => {
                self.spawn.set_value(None);
                self.view.fail(e.to_string());
            }
        }
    }

    /// Power: off when a machine runs (it ends with `powered off`), else on.
    pub fn toggle_power(self) {
        match self.pid.get_untracked() {
            Some(pid) => self.kill(pid),
            None => {
                self.screen.reset();
                self.power_on(None);
            }
        }
    }

    /// Powers the current machine off and forgets it: its last events are not shown (the window
    /// restores another machine, attaches to a program, or closes).
    pub fn forget(self) {
        if let Some(Some(pid)) = self.pid.try_update(Option::take) {
            self.kill(pid);
        }
        if let Some(Some(stream)) = self.spawn.try_update_value(Option::take) {
            stream.close();
        }
        self.line.try_set_value(None);
    }

    /// Reboots the running machine.
    pub fn reset(self) {
        let Some(pid) = self.pid.get_untracked() else {
            return;
        };
        self.screen.reset();
        self.host.with_value(|host| host.reset(pid));
        self.started_ms.set_value(now_ms());
        self.tail.set_value(String::new());
        self.view.state.set("booting");
        self.view.status.set(format!("Machine {pid}: rebooting…"));
    }

    /// Powers the current machine off and resumes the saved one.
    pub fn restore(self) {
        self.forget();
        self.screen.reset();
        self.power_on(Some(SNAPSHOT_PATH.to_owned()));
    }

    /// Saves the machine's state into [`SNAPSHOT_PATH`].
    pub fn save(self) {
        let Some(pid) = self.pid.get_untracked() else {
            return;
        };
        let (host, vfs, view) = (self.host.get_value(), self.vfs.get_value(), self.view);
        view.status.set(format!("Machine {pid}: saving its state…"));
        spawn_local(async move {
            let started = now_ms();
            let saved = match host.save(pid).await {
                Ok(bytes) => {
                    let _ = vfs.mkdir("/machines").await;
                    vfs.write(SNAPSHOT_PATH, &bytes)
                        .await
                        .map(|_| bytes.len())
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            view.status.try_set(match saved {
                Ok(len) => format!(
                    "Machine {pid}: state saved to {SNAPSHOT_PATH} ({:.1} MiB in {} ms)",
                    len as f64 / 1_048_576.0,
                    (now_ms() - started).round()
                ),
                Err(e) => format!("Machine {pid}: the state was not saved: {e}"),
            });
        });
    }

    /// Keys for the machine's serial line (dropped while no machine runs): straight to the
    /// machine when the window holds its line, else `vm.stdin`.
    pub fn keys(self, data: String) {
        let Some(pid) = self.pid.get_untracked() else {
            return;
        };
        let direct = self.line.with_value(|line| match line {
            Some(line) if line.pid() == pid => {
                line.send(&data);
                true
            }
            _ => false,
        });
        if direct {
            return;
        }
        let bus = self.bus.get_value();
        spawn_local(async move {
            let keys = Stdin {
                pid,
                data,
                eof: false,
            };
            let _ = bus.send_request(&keys, ACK_TIMEOUT_MS).await;
        });
    }

    fn kill(self, pid: u64) {
        let Some(bus) = self.bus.try_get_value() else {
            return;
        };
        spawn_local(async move {
            let _ = bus.send_request(&Kill { pid }, ACK_TIMEOUT_MS).await;
        });
    }

    /// One event of the current machine's spawn.
    fn on_event(self, event: SpawnEvent) {
        match event {
            SpawnEvent::Spawned(spawned) => {
                // Before the kernel's `compute:spawn` reaches the host (the ack comes first).
                let line = self
                    .host
                    .with_value(|host| host.claim(spawned.pid, move |data: &str| self.show(data)));
                if let (Some(line), Some((rows, cols))) = (&line, self.screen.size_untracked()) {
                    line.resize(rows, cols);
                }
                self.line.set_value(line);
                self.pid.set(Some(spawned.pid));
                if self.restoring.get_value() {
                    // A fresh prompt from the resumed shell (keys wait until the machine runs).
                    self.keys("\n".to_owned());
                }
            }
            SpawnEvent::Stdout(out) | SpawnEvent::Stderr(out) => self.show(&out.data),
            SpawnEvent::Exited(_) => {
                self.line.set_value(None);
                let pid = self.pid.try_update(Option::take).flatten();
                self.view.state.set("off");
                self.view
                    .status
                    .set(format!("Machine {}: powered off", pid.unwrap_or_default()));
            }
            SpawnEvent::Failed(error) => {
                self.line.set_value(None);
                self.pid.set(None);
                self.view
                    .fail(format!("The machine stopped: {}", error.error));
            }
        }
    }

    /// Serial output of the current machine (by either route): on the screen; the first prompt
    /// says the machine runs.
    fn show(self, data: &str) {
        self.screen.write(data);
        let booting = self.view.state.try_get_untracked() == Some("booting");
        if !booting {
            return;
        }
        let Some(seen) = self.tail.try_update_value(|tail| {
            tail.push_str(data);
            let seen = tail.contains(PROMPT);
            let keep = tail.len().saturating_sub(PROMPT.len());
            let cut = (keep..=tail.len())
                .find(|&i| tail.is_char_boundary(i))
                .unwrap_or(tail.len());
            tail.drain(..cut);
            seen
        }) else {
            return;
        };
        if seen {
            let secs = (now_ms() - self.started_ms.get_value()) / 1000.0;
            let pid = self.pid.get_untracked().unwrap_or_default();
            self.view.state.set("running");
            self.view
                .status
                .set(format!("Machine {pid}: running (shell in {secs:.1} s)"));
        }
    }
}
