//! The Console app: run WASI programs on the kernel and watch them live.
//!
//! Pick a program (WAT text, a VFS path, a sample, or a file from the computer), give arguments,
//! environment and limits, and press Run: each run opens a tab that streams the program's
//! stdout and stderr, takes stdin, can be killed, and ends with the exit code, duration, fuel
//! and peak memory — or the kernel's error. Closing a tab, or the window, kills what still runs.
//!
//! Files: `form` (the launch form) and `panel` (tabs and the run in front) render; `runs` sends
//! `vm.*` requests and feeds each spawn's typed stream into the pure `run::RunBook`;
//! `transcript`, `argv`, `environment`, `request`, `module` and `units` are pure rules, unit
//! tested natively; `loader` fetches samples and reads uploads. The app talks to the kernel only
//! through the bus client and never reads the VFS itself (the kernel reads `{path}` modules
//! from this tab's VFS session).
//!
//! DOM contract: `[data-testid=console-wat|console-path|console-sample-<name>|console-upload|
//! console-args|console-env|console-limit-wall|console-limit-fuel|console-limit-memory|
//! console-run|console-form-error]`, and the run side described in `panel`.

mod argv;
mod environment;
mod form;
mod loader;
mod module;
mod panel;
mod request;
mod run;
mod runs;
mod transcript;
mod units;

use leptos::prelude::*;

use super::AppMeta;
use crate::services::bus::BusClient;
use crate::shell::geometry::Size;
use crate::shell::windows::WindowId;
use form::LaunchForm;
use panel::RunPanel;
use runs::Runs;

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "console",
    title: "Console",
    icon: "M3 5h18v14H3Z M7 9l3 3-3 3 M12 15h5",
    default_size: Size {
        width: 820.0,
        height: 540.0,
    },
    min_size: Size {
        width: 420.0,
        height: 300.0,
    },
    multi_instance: true,
    commands: &[],
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(console, view! { <Console /> });

/// The Console window's content.
#[component]
pub fn Console() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let window = use_context::<WindowId>().map_or(0, |w| w.0);
    let runs = Runs::new(bus);
    {
        let runs = runs.clone();
        on_cleanup(move || runs.stop());
    }

    view! {
        <div class="console">
            <LaunchForm runs=runs.clone() window />
            <RunPanel runs />
        </div>
    }
}
