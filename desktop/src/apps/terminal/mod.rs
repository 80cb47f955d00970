//! The Terminal app: a real terminal emulator (xterm.js, through the typed bindings in
//! [`xterm`]) on the serial line of an x86 machine that runs in this tab (`vm.spawn {backend:
//! v86}`, routed by the kernel back to this tab's [`V86Host`]). Opening the window powers the
//! machine on: the kernel log scrolls, then a busybox shell answers. Power off (`vm.kill`),
//! reset, save the machine's state into this tab's files ([`SNAPSHOT_PATH`]) and restore it.
//!
//! The window can instead attach to a WASI program this tab runs (e.g. one started from the
//! Console): pick it in `terminal-attach`; its output shows on the screen and typed lines go to
//! its stdin ([`line`]).
//!
//! DOM contract: `[data-testid=terminal-screen]` (xterm's own DOM inside),
//! `[data-testid=terminal-status]` with `data-state` `off|booting|running|failed|attached`,
//! buttons `terminal-power|terminal-reset|terminal-save|terminal-restore`, the select
//! `terminal-attach` (options: `value` = a program's pid).

mod line;
mod session;
mod xterm;

use leptos::html::Div;
use leptos::prelude::*;

use super::AppMeta;
use crate::services::bus::BusClient;
use crate::services::v86::V86Host;
use crate::services::vfs::VfsProxy;
use crate::shell::geometry::Size;
use session::{Session, View};

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
    render,
};

fn render() -> AnyView {
    view! { <Terminal /> }.into_any()
}

/// The Terminal window's content.
#[component]
pub fn Terminal() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let host = expect_context::<V86Host>();
    let vfs = expect_context::<VfsProxy>();
    let view = View::new();
    let screen = NodeRef::<Div>::new();
    let session = Session::new(bus, host, vfs, view);
    {
        let session = session.clone();
        Effect::new(move |_| {
            if let Some(el) = screen.get() {
                session.mount(el.into());
            }
        });
    }
    {
        let session = session.clone();
        on_cleanup(move || session.close());
    }
    let (s1, s2, s3, s4) = (
        session.clone(),
        session.clone(),
        session.clone(),
        session.clone(),
    );
    let programs = RwSignal::new(Vec::<(u64, String)>::new());
    // The list is read when the select is pressed (and once at open).
    {
        let session = session.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let list = session.programs().await;
            programs.try_set(list);
        });
    }
    let lister = session.clone();
    let refresh = move || {
        let lister = lister.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let list = lister.programs().await;
            programs.try_set(list);
        });
    };
    let attacher = session.clone();
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
                    on:click=move |_| s1.toggle_power()
                >
                    {move || if matches!(view.state.get(), "off" | "failed" | "attached") { "Power on" } else { "Power off" }}
                </button>
                <button
                    data-testid="terminal-reset"
                    disabled=move || !running()
                    on:click=move |_| s2.reset()
                >
                    "Reset"
                </button>
                <button
                    data-testid="terminal-save"
                    disabled=move || !running()
                    on:click=move |_| s3.save()
                >
                    "Save state"
                </button>
                <button data-testid="terminal-restore" on:click=move |_| s4.restore()>
                    "Restore"
                </button>
                <select
                    data-testid="terminal-attach"
                    title="Attach this window to a program of this tab"
                    on:pointerdown=move |_| refresh()
                    on:change=move |ev| {
                        if let Ok(pid) = event_target_value(&ev).parse::<u64>() {
                            attacher.attach(pid);
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
            <div class="terminal-screen" data-testid="terminal-screen" node_ref=screen></div>
        </div>
    }
}
