//! The About app: which kernel this desktop talks to, as whom, and how fast.
//!
//! DOM contract for tests: `[data-testid=about-version]` (kernel version),
//! `[data-testid=about-client-id]`, `[data-testid=about-ping]` (round trip, e.g. `0.8 ms`).
//! It only reads the bus and sends `kernel.ping` (see `ping`).

mod ping;

use leptos::prelude::*;

use super::AppMeta;
use crate::services::bus::BusClient;
use crate::shell::geometry::Size;

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "about",
    title: "About Aether",
    icon: "M12 2.5 21.5 12 12 21.5 2.5 12Z M12 11v5 M12 8v.01",
    default_size: Size {
        width: 380.0,
        height: 320.0,
    },
    min_size: Size {
        width: 280.0,
        height: 240.0,
    },
    multi_instance: false,
    commands: &[],
    render,
};

fn render() -> AnyView {
    view! { <About /> }.into_any()
}

/// Shown until a value is known.
const UNKNOWN: &str = "—";

/// The About window's content.
#[component]
pub fn About() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let round_trip_ms = RwSignal::new(None::<f64>);
    ping::measure_while_mounted(bus.clone(), round_trip_ms);

    let version = {
        let bus = bus.clone();
        move || bus.kernel_version().unwrap_or_else(|| UNKNOWN.to_owned())
    };
    let connected = {
        let bus = bus.clone();
        move || bus.state().is_connected()
    };
    let client_id = move || bus.client_id().unwrap_or_else(|| UNKNOWN.to_owned());
    // A figure from before a drop would be a lie: show one only while connected.
    let ping = move || match (connected(), round_trip_ms.get()) {
        (true, Some(ms)) => ping::format_ms(ms),
        _ => UNKNOWN.to_owned(),
    };

    view! {
        <div class="about">
            <div class="about-logo" aria-hidden="true">"◆"</div>
            <h1 class="about-title">"Aether"</h1>
            <p class="about-tagline">"A browser-native desktop on a Rust kernel."</p>
            <dl class="about-facts">
                <dt>"Kernel"</dt>
                <dd data-testid="about-version">{version}</dd>
                <dt>"Desktop"</dt>
                <dd data-testid="about-desktop-version">{env!("CARGO_PKG_VERSION")}</dd>
                <dt>"Client"</dt>
                <dd data-testid="about-client-id">{client_id}</dd>
                <dt>"Ping"</dt>
                <dd data-testid="about-ping">{ping}</dd>
            </dl>
        </div>
    }
}
