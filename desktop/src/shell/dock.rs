//! The dock: one launcher per registered app, marked while the app has a window.
//!
//! DOM contract for tests: `button.dock-item[data-app=<id>]` (`data-testid=dock-<id>`).
//! The dock only asks the window manager to open apps; it never renders them.

use leptos::prelude::*;

use super::viewport;
use super::windows::WindowManager;
use crate::apps::APPS;

/// The launcher bar at the bottom of the desktop.
#[component]
pub fn Dock() -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let launchers = APPS
        .iter()
        .map(|app| {
            view! {
                <button
                    class="dock-item"
                    class:running=move || wm.is_open(app.id)
                    data-app=app.id
                    data-testid=format!("dock-{}", app.id)
                    title=app.title
                    on:click=move |_| {
                        wm.open(app, viewport());
                    }
                >
                    <span class="dock-icon" aria-hidden="true">{app.icon}</span>
                    <span class="dock-label">{app.title}</span>
                </button>
            }
        })
        .collect::<Vec<_>>();

    view! { <nav class="dock" aria-label="Apps">{launchers}</nav> }
}
