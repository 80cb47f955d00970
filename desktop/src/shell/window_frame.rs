//! The frame around an app: title bar (drag to move), close button, and the app's body.
//!
//! Dragging uses pointer capture on the title bar, so a fast pointer never loses the window.
//! DOM contract for tests: `section.window[data-app=<id>]`, `.window-titlebar`, `.window-close`.
//! The frame renders the app; it never decides where a window opens (see `windows`).

use leptos::ev::PointerEvent;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::geometry::{self, Rect};
use super::viewport;
use super::windows::{OpenWindow, WindowManager};

/// Where a drag started: the pointer and the window's place at that moment.
#[derive(Clone, Copy, Debug)]
struct DragStart {
    pointer_x: f64,
    pointer_y: f64,
    origin: Rect,
}

/// One window on the desktop.
#[component]
pub fn WindowFrame(window: OpenWindow) -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let OpenWindow { id, app, rect, z } = window;
    let drag = StoredValue::new(None::<DragStart>);

    let start_drag = move |ev: PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        if let Some(bar) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = bar.set_pointer_capture(ev.pointer_id());
        }
        drag.set_value(Some(DragStart {
            pointer_x: f64::from(ev.client_x()),
            pointer_y: f64::from(ev.client_y()),
            origin: rect.get_untracked(),
        }));
        ev.prevent_default();
    };
    let follow = move |ev: PointerEvent| {
        if let Some(start) = drag.get_value() {
            let dx = f64::from(ev.client_x()) - start.pointer_x;
            let dy = f64::from(ev.client_y()) - start.pointer_y;
            rect.set(geometry::dragged(start.origin, dx, dy, viewport()));
        }
    };
    let end_drag = move |_: PointerEvent| drag.set_value(None);

    view! {
        <section
            class="window"
            class:focused=move || wm.focused() == Some(id)
            data-app=app.id
            data-window-id=id
            role="dialog"
            aria-label=app.title
            style:left=move || px(rect.get().x)
            style:top=move || px(rect.get().y)
            style:width=move || px(rect.get().width)
            style:height=move || px(rect.get().height)
            style:z-index=move || z.get().to_string()
            on:pointerdown=move |_| wm.focus(id)
        >
            <header
                class="window-titlebar"
                on:pointerdown=start_drag
                on:pointermove=follow
                on:pointerup=end_drag
                on:pointercancel=end_drag
            >
                <span class="window-icon" aria-hidden="true">{app.icon}</span>
                <span class="window-title">{app.title}</span>
                <button
                    class="window-close"
                    title="Close"
                    aria-label="Close"
                    on:pointerdown=|ev: PointerEvent| ev.stop_propagation()
                    on:click=move |_| wm.close(id)
                >
                    "×"
                </button>
            </header>
            <div class="window-body">{(app.render)()}</div>
        </section>
    }
}

fn px(value: f64) -> String {
    format!("{value}px")
}
