//! The top bar: the product name, the launcher and help buttons, and the bus connection state.
//!
//! DOM contract for tests: `[data-testid=bus-state]` with `data-state` =
//! `connecting|connected|reconnecting|offline` and a label such as `Connected · c-1a2b`;
//! `[data-testid=kernel-unreachable]`, present only while the kernel cannot be reached (the
//! desktop may then be the copy the service worker kept: it keeps retrying, and the badge goes
//! when the kernel answers); `[data-testid=open-launcher]`, `[data-testid=open-help]`. It only
//! reads the bus; it never sends.

use leptos::prelude::*;

use super::icons::{self, Icon};
use super::overlay::{Overlay, Overlays};
use crate::services::bus::{BusClient, BusState};

/// The bar across the top of the desktop.
#[component]
pub fn TopBar() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let overlays = expect_context::<Overlays>();
    let state = Memo::new(move |_| bus.state());
    let retry_hint = move || match state.get() {
        BusState::Reconnecting { next_retry_ms, .. } => {
            format!("Next attempt in {next_retry_ms} ms")
        }
        other => other.label(),
    };

    view! {
        <header class="top-bar">
            <div class="top-bar-start">
                <div class="top-bar-brand">
                    <span class="top-bar-logo" aria-hidden="true">"◆"</span>
                    "Aether"
                </div>
                <button
                    class="top-bar-button"
                    data-testid="open-launcher"
                    title="Open an app (Ctrl+K)"
                    aria-keyshortcuts="Control+K Alt+Space"
                    on:click=move |_| overlays.toggle(Overlay::Launcher)
                >
                    <Icon path=icons::SEARCH />
                    <span>"Apps"</span>
                </button>
            </div>
            <div class="top-bar-end">
                <button
                    class="top-bar-button"
                    data-testid="open-help"
                    title="Keyboard shortcuts (?)"
                    aria-label="Keyboard shortcuts"
                    aria-keyshortcuts="F1"
                    on:click=move |_| overlays.toggle(Overlay::Help)
                >
                    <Icon path=icons::KEYBOARD />
                </button>
                <Show when=move || state.get().is_unreachable()>
                    <div
                        class="kernel-unreachable"
                        data-testid="kernel-unreachable"
                        role="alert"
                        title="The kernel does not answer: the desktop keeps retrying. Files, apps and windows of this tab stay as they are; requests fail until it is back."
                    >
                        "Kernel unreachable"
                    </div>
                </Show>
                <div
                    class="bus-state"
                    data-testid="bus-state"
                    data-state=move || state.get().as_str()
                    title=retry_hint
                    role="status"
                    aria-live="polite"
                >
                    <span class="bus-state-dot" aria-hidden="true"></span>
                    <span class="bus-state-label">{move || state.get().label()}</span>
                </div>
            </div>
        </header>
    }
}
