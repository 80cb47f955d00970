//! The shell: the desktop surface, the top bar, the dock, the window frames, the overlays
//! (launcher, shortcut help), the toasts, and the intents apps send each other through the
//! window manager (`intents`).
//!
//! [`Desktop`] is the root view. It owns the [`WindowManager`], the [`Overlays`], the toasts'
//! [`Notifier`] and the Editor's [`FrontFile`] (all provided as context), restores the saved
//! layout (or opens the start apps), saves the layout whenever it changes, refits the windows
//! when the browser window is resized, installs the keyboard shortcuts, and watches for outside
//! agents' calls that wait for the person (`ask_watch`: the Agent is brought forward). The pieces live one per file; the pure rules (`geometry`, `layout`,
//! `shortcuts`, `toast_stack`, the launcher's `matching`) are unit tested natively. The shell
//! renders and routes input; it never talks to the bus except to show its state and its errors,
//! and to hear that a call waits for the person.
//!
//! DOM contract for end-to-end tests (details in each file's header):
//! - top bar: `[data-testid=bus-state][data-state]`, `[data-testid=open-launcher]`,
//!   `[data-testid=open-help]`
//! - surface: `[data-testid=desktop-surface]`
//! - windows: `section.window[data-app][data-window-id][data-state=normal|maximized|minimized]`,
//!   `.focused`, `.window-titlebar`, `.window-minimize`, `.window-maximize`, `.window-close`,
//!   `.window-resize[data-edge=n|s|e|w|ne|nw|se|sw]`
//! - dock: `button.dock-item[data-testid=dock-<app>][data-windows][data-minimized]`
//! - launcher and command palette: `[data-testid=launcher][data-mode=apps|commands]`,
//!   `[data-testid=launcher-input]`, `[data-testid=launcher-item-<app>][aria-selected]`,
//!   `[data-testid=launcher-command-<id>][aria-selected][data-keys]`
//! - theme: `html[data-theme=light|dark]` (details in `theme`)
//! - help: `[data-testid=help]`
//! - search in files: `[data-testid=search]` (details in `find_in_files`)
//! - toasts: `[data-testid=toasts]`, `.toast[data-kind=error|notice][data-code][data-topic]`,
//!   `.toast-count`, `.toast-dismiss`
//! - apps: About `[data-testid=about-version|about-client-id|about-ping]`, Notes
//!   `[data-testid=notes-text]`

pub mod ask_watch;
pub mod chord;
pub mod dock;
pub mod find_in_files;
pub mod front_file;
pub mod fuzzy;
pub mod geometry;
pub mod help;
pub mod icons;
pub mod intents;
pub mod keyboard;
pub mod launcher;
pub mod layout;
pub mod overlay;
pub mod palette;
pub mod shortcuts;
pub mod theme;
pub mod toast_stack;
pub mod toasts;
pub mod top_bar;
pub mod window_frame;
pub mod windows;

use leptos::ev;
use leptos::prelude::*;

use crate::apps::{self, START_APPS};
use crate::services::bus::BusClient;
use crate::services::preferences::Preferences;
use dock::Dock;
use front_file::FrontFile;
use geometry::Size;
use help::Help;
use launcher::Launcher;
use overlay::{Overlay, Overlays};
use toasts::{Notifier, Toasts};
use top_bar::TopBar;
use window_frame::WindowFrame;
use windows::WindowManager;

/// The whole desktop.
#[component]
pub fn Desktop() -> impl IntoView {
    let wm = WindowManager::new(viewport());
    let overlays = Overlays::new();
    let notifier = Notifier::new();
    provide_context(wm);
    provide_context(overlays);
    provide_context(notifier);
    provide_context(FrontFile::new());
    let preferences = Preferences::load();
    provide_context(preferences);
    provide_context(theme::install(preferences));

    match layout::load() {
        Some(saved) => wm.restore(layout::plan(&saved, viewport(), apps::find)),
        None => {
            for app in START_APPS.iter().filter_map(|id| apps::find(id)) {
                wm.open(app);
            }
        }
    }
    // Runs again whenever a window opens, closes, moves or changes state.
    Effect::new(move |_| layout::save(&wm.snapshot()));
    let resize = window_event_listener(ev::resize, move |_| wm.fit_to(viewport()));
    let keys = keyboard::install(keyboard::Controls::from_context());
    let bus = expect_context::<BusClient>();
    let asks = ask_watch::install(&bus, wm, notifier);
    on_cleanup(move || {
        resize.remove();
        keys.remove();
        bus.off(asks);
    });

    let overlay = move || match overlays.current() {
        Some(Overlay::Launcher) => view! { <Launcher /> }.into_any(),
        Some(Overlay::Palette) => view! { <Launcher commands=true /> }.into_any(),
        Some(Overlay::Help) => view! { <Help /> }.into_any(),
        Some(Overlay::FindInFiles) => view! { <find_in_files::FindInFiles /> }.into_any(),
        None => ().into_any(),
    };

    view! {
        <div class="desktop">
            <TopBar />
            <main class="desktop-surface" data-testid="desktop-surface">
                <For
                    each=move || wm.windows()
                    key=|window| window.id
                    children=move |window| view! { <WindowFrame window /> }
                />
            </main>
            <Dock />
            <Toasts />
            {overlay}
        </div>
    }
}

/// The browser viewport in CSS pixels (a laptop-sized fallback outside a browser).
pub fn viewport() -> Size {
    let read = |value: Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>| {
        value.ok().and_then(|v| v.as_f64())
    };
    web_sys::window()
        .and_then(|w| {
            Some(Size {
                width: read(w.inner_width())?,
                height: read(w.inner_height())?,
            })
        })
        .unwrap_or(Size {
            width: 1280.0,
            height: 800.0,
        })
}
