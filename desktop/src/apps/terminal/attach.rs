//! A Terminal window attached to a WASI program of this tab (one the Console started, say),
//! instead of its machine: the program's output shows on the [`Screen`], typed lines go to its
//! stdin through the line discipline of `line`, Ctrl-D ends its stdin.
//!
//! The program's stream belongs to whoever spawned it, so the window taps the page's `vm.*`
//! streams (`BusClient::tap::<Spawn>`) and keeps the typed events of its pid; a refusal of one of
//! its own `vm.stdin` requests answers that request and never reaches the tap, so it cannot end
//! the attachment. [`Attachment`] is `Copy`, its state in the window's signals.

use aether_shared::vm::{Spawn, SpawnEvent, Stdin};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::View;
use super::line::{self, LineEditor};
use super::machine::ACK_TIMEOUT_MS;
use super::screen::Screen;
use crate::services::bus::{BusClient, SubscriptionHandle};

/// The window's attachment (`Copy`).
#[derive(Clone, Copy)]
pub struct Attachment {
    bus: StoredValue<BusClient, LocalStorage>,
    view: View,
    screen: Screen,
    /// The program attached to.
    pid: RwSignal<Option<u64>>,
    /// The line being typed.
    editor: StoredValue<LineEditor>,
    /// The tap on the page's `vm.*` streams, while attached.
    tap: StoredValue<Option<SubscriptionHandle>>,
}

impl Attachment {
    pub fn new(bus: BusClient, view: View, screen: Screen) -> Attachment {
        Attachment {
            bus: StoredValue::new_local(bus),
            view,
            screen,
            pid: RwSignal::new(None),
            editor: StoredValue::new(LineEditor::default()),
            tap: StoredValue::new(None),
        }
    }

    /// True while attached to a program (untracked).
    pub fn is_attached(self) -> bool {
        self.pid.try_get_untracked().flatten().is_some()
    }

    /// Attaches to program `pid` (the caller has powered the machine off).
    pub fn attach(self, pid: u64) {
        self.detach();
        self.editor.set_value(LineEditor::default());
        self.pid.set(Some(pid));
        let handle = self.bus.with_value(|bus| {
            bus.tap::<Spawn>(move |event| self.on_event(event))
        });
        self.tap.set_value(Some(handle));
        self.show();
        self.view.state.set("attached");
        self.view
            .status
            .set(format!("Program {pid}: attached (typed lines go to its stdin)"));
    }

    /// Writes the attachment's banner on a fresh screen (again once a late screen opens).
    pub fn show(self) {
        let Some(pid) = self.pid.get_untracked() else {
            return;
        };
        self.screen.reset();
        self.screen.write(&format!(
            "Attached to program {pid}: lines you type go to its stdin, Ctrl-D ends it.\r\n"
        ));
        self.screen.focus();
    }

    /// Lets the program go (the window powers a machine on, or closes); it keeps running.
    pub fn detach(self) {
        self.pid.try_set(None);
        if let Some(Some(handle)) = self.tap.try_update_value(Option::take) {
            self.bus.with_value(|bus| bus.off(handle));
        }
    }

    /// Keys for the program: echoed, edited, sent a line at a time.
    pub fn keys(self, data: &str) {
        let Some(pid) = self.pid.get_untracked() else {
            return;
        };
        let Some(keyed) = self.editor.try_update_value(|editor| editor.key(data)) else {
            return;
        };
        self.screen.write(&keyed.echo);
        let Some((data, eof)) = keyed.send else {
            return;
        };
        let bus = self.bus.get_value();
        spawn_local(async move {
            let _ = bus
                .send_request(&Stdin { pid, data, eof }, ACK_TIMEOUT_MS)
                .await;
        });
    }

    /// Output and the end of the attached program (whoever started it, in this tab).
    fn on_event(self, event: SpawnEvent) {
        let Some(pid) = self.pid.try_get_untracked().flatten() else {
            return;
        };
        match event {
            SpawnEvent::Stdout(out) | SpawnEvent::Stderr(out) if out.pid == pid => {
                self.screen.write(&line::to_screen(&out.data));
            }
            SpawnEvent::Exited(exit) if exit.pid == pid => {
                let code = exit.code;
                self.screen
                    .write(&format!("\r\n[program {pid} exited with code {code}]\r\n"));
                self.end(format!("Program {pid}: exited with code {code}"));
            }
            SpawnEvent::Failed(error) if pid_of(&error) == Some(pid) => {
                let why = error.error;
                self.screen
                    .write(&format!("\r\n[program {pid} stopped: {why}]\r\n"));
                self.end(format!("Program {pid}: stopped: {why}"));
            }
            _ => {}
        }
    }

    fn end(self, status: String) {
        self.detach();
        self.view.state.set("off");
        self.view.status.set(status);
    }
}

/// The program an error of a spawn's stream is about (`details.pid`).
fn pid_of(error: &aether_shared::ErrorPayload) -> Option<u64> {
    error.details.as_ref()?.get("pid")?.as_u64()
}
