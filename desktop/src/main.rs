//! The Aether desktop: a Leptos (CSR) app, built to wasm32 by Trunk and served by the kernel.
//!
//! Start-up order: panic hook, the service worker's registration (in the background), the bus
//! client (connecting at once), `window.aether` for the
//! console and end-to-end tests, the VFS proxy (opening its store, then serving it), then the
//! shell. `services/` holds the UI-free parts, `shell/`
//! the desktop chrome, `apps/` one folder per app. On a native host the crate only builds (for
//! `cargo test` and clippy); running it there just says where it belongs.

mod apps;
mod services;
mod shell;

use leptos::prelude::*;

use services::bus::BusClient;
use shell::Desktop;

fn main() {
    if cfg!(target_arch = "wasm32") {
        start();
    } else {
        eprintln!(
            "The Aether desktop runs in a browser: build it with `trunk build --release` and open the kernel's page."
        );
    }
}

/// Connects the bus, installs the devtools hook, starts this tab's VFS and mounts the desktop.
fn start() {
    console_error_panic_hook::set_once();
    services::service_worker::register();
    let bus = BusClient::connect_from_page();
    services::devtools::install(bus.clone());
    let vfs = services::vfs::start(bus.clone());
    services::vfs::devtools::install(vfs.clone());
    let v86 = services::v86::start(bus.clone(), vfs.clone());
    leptos::mount::mount_to_body(move || {
        provide_context(bus);
        provide_context(vfs);
        provide_context(v86);
        view! { <Desktop /> }
    });
}
