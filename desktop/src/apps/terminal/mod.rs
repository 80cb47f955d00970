//! The Terminal app: a real terminal emulator (xterm.js, through the typed bindings in
//! [`xterm`]) on the serial line of an x86 machine that runs in this tab (`vm.spawn {backend:
//! v86}`, routed by the kernel back to this tab's [`V86Host`]). Opening the window powers the
//! machine on: the kernel log scrolls, then a busybox shell answers. Power off (`vm.kill`),
//! reset, save the machine's state into this tab's files ([`SNAPSHOT_PATH`]) and restore it.
//!
//! The window can instead attach to a WASI program this tab runs (e.g. one started from the
//! Console): pick it in `terminal-attach`, or open the Terminal with the intent
//! `AttachProgram {pid}` (the Console's Terminal button); its output shows on the screen and
//! typed lines go to its stdin ([`line`]).
//!
//! Files: `screen` is the xterm.js screen, `machine` the x86 machine and its `vm.spawn` stream,
//! `attach` the attachment to a program; this module wires them to the window and routes keys
//! (to the program when attached, else to the machine). The screen takes the desktop's colours
//! again whenever the theme changes.
//!
//! DOM contract: `[data-testid=terminal-screen]` (xterm's own DOM inside),
//! `[data-testid=terminal-status]` with `data-state` `off|booting|running|failed|attached`,
//! buttons `terminal-power|terminal-reset|terminal-save|terminal-restore`, the select
//! `terminal-attach` (options: `value` = a program's pid).

mod attach;
mod line;
mod machine;
mod screen;
mod xterm;

use aether_shared::vm::ListPrograms;
use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlElement;

use super::AppMeta;
use crate::services::bus::BusClient;
use crate::services::v86::V86Host;
use crate::services::vfs::VfsProxy;
use crate::shell::geometry::Size;
use crate::shell::intents::{Intent, receive_intents};
use crate::shell::theme::ActiveTheme;
use attach::Attachment;
use machine::{ACK_TIMEOUT_MS, Machine};
use screen::Screen;

/// Where Save puts the machine's state, and Restore reads it from.
pub const SNAPSHOT_PATH: &str = "/machines/x86.v86state";

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "terminal",
    title: "Terminal",
    icon: "M3 4h18v16H3Z M6 9l3 3-3 3 M11 15h6",
    default_size: Size {
        width: 760.0,
        height: 480.0,
    },
    min_size: Size {
        width: 360.0,
        height: 220.0,
    },
    multi_instance: true,
    commands: &[],
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(terminal, view! { <Terminal /> });

/// What the window shows about its machine or program.
#[derive(Clone, Copy)]
pub struct View {
    /// `off`, `booting`, `running`, `failed` or `attached`.
    pub state: RwSignal<&'static str>,
    pub status: RwSignal<String>,
}

impl View {
    fn new() -> View {
        View {
            state: RwSignal::new("off"),
            status: RwSignal::new("Starting the terminal…".to_owned()),
        }
    }

    fn fail(self, message: String) {
        self.state.try_set("failed");
        self.status.try_set(message);
    }
}

/// The window's parts (`Copy`).
#[derive(Clone, Copy)]
struct Parts {
    bus: StoredValue<BusClient>,
    view: View,
    screen: Screen,
    machine: Machine,
    attached: Attachment,
}

impl Parts {
    /// Keys typed on the screen: to the attached program, else to the machine.
    fn keys(self, data: String) {
        if self.attached.is_attached() {
            self.attached.keys(&data);
        } else {
            self.machine.keys(data);
        }
    }

    /// Loads xterm.js, opens the screen in `el`, then powers the machine on (unless an intent
    /// attached the window to a program meanwhile).
    async fn mount(self, el: HtmlElement) {
        if let Err(e) = Screen::load().await {
            return self.view.fail(e);
        }
        if self.view.state.try_get_untracked().is_none() {
            return; // the window closed while loading
        }
        match self.screen.open(&el, move |data| self.keys(data)) {
            Ok(()) if self.attached.is_attached() => self.attached.show(),
            Ok(()) => self.machine.power_on(None),
            Err(e) => self.view.fail(format!(
                "The terminal did not start ({e}); reload the page."
            )),
        }
    }

    fn attach(self, pid: u64) {
        self.machine.forget();
        self.attached.attach(pid);
    }

    fn toggle_power(self) {
        self.attached.detach();
        self.machine.toggle_power();
    }

    fn restore(self) {
        self.attached.detach();
        self.machine.restore();
    }

    /// The WASI programs of this tab that the window could attach to, as `(pid, label)`.
    async fn programs(self) -> Vec<(u64, String)> {
        let bus = self.bus.get_value();
        let listed = bus.send_request(&ListPrograms {}, ACK_TIMEOUT_MS).await;
        listed
            .map(|p| {
                p.programs
                    .into_iter()
                    .filter(|p| !p.module.starts_with("x86 (v86)"))
                    .map(|p| (p.pid, p.module))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The window closed: power off, let the program go, release the screen.
    fn close(self) {
        self.attached.detach();
        self.machine.forget();
        self.screen.close();
    }
}

/// `performance.now()`, in milliseconds.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The Terminal window's content.
#[component]
pub fn Terminal() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let host = expect_context::<V86Host>();
    let vfs = expect_context::<VfsProxy>();
    let view = View::new();
    let screen = Screen::new();
    let parts = Parts {
        bus: StoredValue::new(bus.clone()),
        view,
        screen,
        machine: Machine::new(bus.clone(), host, vfs, view, screen),
        attached: Attachment::new(bus, view, screen),
    };
    let screen_el = NodeRef::<Div>::new();
    let mounted = StoredValue::new(false);
    Effect::new(move |_| {
        if let Some(el) = screen_el.get()
            && !mounted.get_value()
        {
            mounted.set_value(true);
            spawn_local(parts.mount(el.into()));
        }
    });
    receive_intents(
        || true,
        move |intent| {
            if let Intent::AttachProgram { pid } = intent {
                parts.attach(pid);
            }
        },
    );
    // The desktop's theme changed: the screen takes its colours again.
    if let Some(theme) = use_context::<ActiveTheme>() {
        Effect::new(move |_| {
            theme.get();
            screen.recolour();
        });
    }
    on_cleanup(move || parts.close());
    let programs = RwSignal::new(Vec::<(u64, String)>::new());
    // The list is read when the select is pressed (and once at open).
    let refresh = move || {
        spawn_local(async move {
            let list = parts.programs().await;
            programs.try_set(list);
        });
    };
    refresh();
    let running = move || view.state.get() == "running";
    view! {
        <div class="terminal">
            <div class="terminal-bar">
                <span
                    class="terminal-status"
                    data-testid="terminal-status"
                    data-state=move || view.state.get()
                >
                    {move || view.status.get()}
                </span>
                <button
                    data-testid="terminal-power"
                    on:click=move |_| parts.toggle_power()
                >
                    {move || if matches!(view.state.get(), "off" | "failed" | "attached") { "Power on" } else { "Power off" }}
                </button>
                <button
                    data-testid="terminal-reset"
                    disabled=move || !running()
                    on:click=move |_| parts.machine.reset()
                >
                    "Reset"
                </button>
                <button
                    data-testid="terminal-save"
                    disabled=move || !running()
                    on:click=move |_| parts.machine.save()
                >
                    "Save state"
                </button>
                <button data-testid="terminal-restore" on:click=move |_| parts.restore()>
                    "Restore"
                </button>
                <select
                    data-testid="terminal-attach"
                    title="Attach this window to a program of this tab"
                    on:pointerdown=move |_| refresh()
                    on:change=move |ev| {
                        if let Ok(pid) = event_target_value(&ev).parse::<u64>() {
                            parts.attach(pid);
                        }
                    }
                >
                    <option value="" selected=true>"Attach to…"</option>
                    {move || {
                        programs
                            .get()
                            .into_iter()
                            .map(|(pid, label)| {
                                view! {
                                    <option value=pid.to_string()>{format!("program {pid} · {label}")}</option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </div>
            <div class="terminal-screen" data-testid="terminal-screen" node_ref=screen_el></div>
        </div>
    }
}
