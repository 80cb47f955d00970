//! The shell: the desktop surface, the top bar, the dock and the window frames.
//!
//! [`Desktop`] is the root view. It owns the [`WindowManager`] (provided as context) and opens
//! the start apps; the pieces live one per file: `top_bar`, `dock`, `window_frame`, with the
//! pure placement rules in `geometry` and the window list in `windows`. The shell renders and
//! routes clicks; it never talks to the bus except to show its state.

pub mod dock;
pub mod geometry;
pub mod top_bar;
pub mod window_frame;
pub mod windows;

use leptos::prelude::*;

use crate::apps::{self, START_APPS};
use dock::Dock;
use geometry::Size;
use top_bar::TopBar;
use window_frame::WindowFrame;
use windows::WindowManager;

/// The whole desktop.
#[component]
pub fn Desktop() -> impl IntoView {
    let wm = WindowManager::new();
    provide_context(wm);
    for app in START_APPS.iter().filter_map(|id| apps::find(id)) {
        wm.open(app, viewport());
    }

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
