//! The dock: one launcher per registered app, with a dot per window (hollow when minimized).
//!
//! Clicking (or Enter/Space on) an item brings the app's front window forward, restoring it if
//! minimized; clicking it again while that window is focused moves on to the app's next window;
//! an app with no window gets a new one. Shift+click opens another window of a multi-instance
//! app. DOM contract for tests: `button.dock-item[data-app=<id>]` (`data-testid=dock-<id>`) with
//! `data-windows` and `data-minimized` (counts) and class `running`. The dock only asks the
//! window manager; it never renders apps.

use leptos::ev::MouseEvent;
use leptos::prelude::*;

use super::icons::Icon;
use super::window_frame::focus_contents;
use super::windows::WindowManager;
use crate::apps::{APPS, AppMeta};

/// At most this many window dots under an item.
const MAX_DOTS: usize = 4;

/// The launcher bar at the bottom of the desktop.
#[component]
pub fn Dock() -> impl IntoView {
    let launchers = APPS
        .iter()
        .map(|app| view! { <DockItem app /> })
        .collect_view();
    view! { <nav class="dock" aria-label="Apps">{launchers}</nav> }
}

#[component]
fn DockItem(app: &'static AppMeta) -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let count = Memo::new(move |_| wm.count(app.id));
    let label = move || {
        let c = count.get();
        match (c.open, c.minimized) {
            (0, _) => format!("Open {}", app.title),
            (open, 0) => format!("{}: {open} open", app.title),
            (open, minimized) => format!("{}: {open} open, {minimized} minimized", app.title),
        }
    };
    let title = move || {
        if app.multi_instance {
            format!("{} (Shift+click: new window)", label())
        } else {
            label()
        }
    };
    let activate = move |ev: MouseEvent| {
        let id = if ev.shift_key() && app.multi_instance {
            wm.open(app)
        } else {
            wm.launch(app)
        };
        focus_contents(id);
    };
    let dots = move || {
        let c = count.get();
        (0..c.open.min(MAX_DOTS))
            .map(|i| {
                // Visible windows first, then the minimized ones.
                let hollow = i >= c.open - c.minimized;
                view! { <span class="dock-dot" class:hollow=hollow></span> }
            })
            .collect_view()
    };

    let running = move || count.get().open > 0;
    view! {
        <button
            class="dock-item"
            class:running=running
            data-app=app.id
            data-testid=format!("dock-{}", app.id)
            data-windows=move || count.get().open
            data-minimized=move || count.get().minimized
            aria-label=label
            title=title
            on:click=activate
        >
            <span class="dock-icon">
                <Icon path=app.icon />
            </span>
            <span class="dock-label">{app.title}</span>
            <span class="dock-dots" aria-hidden="true">
                {dots}
            </span>
        </button>
    }
}
