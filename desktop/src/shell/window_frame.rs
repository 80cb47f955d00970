//! The frame around an app: the title bar (drag to move, double-click to maximize), the
//! minimize / maximize / close buttons, eight resize handles, and the app's body.
//!
//! Moving and resizing use pointer events with pointer capture, so a fast pointer never loses the
//! window; every new place goes through `geometry` (minimum size, work area). A minimized window
//! stays mounted and is only hidden, so its app keeps its state. DOM contract for tests:
//! `section.window[data-app=<id>][data-window-id=<n>][data-state=normal|maximized|minimized]`
//! (class `focused` on the front one), `.window-titlebar`, `.window-minimize`,
//! `.window-maximize`, `.window-close`, `.window-resize[data-edge=n|s|e|w|ne|nw|se|sw]`.
//! The frame never decides where a window opens (see `windows`).

use leptos::ev::{MouseEvent, PointerEvent};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::geometry::{self, Edge, Rect};
use super::icons::{self, Icon};
use super::windows::{OpenWindow, WindowId, WindowManager};

/// How far the pointer must travel before pressing on a maximized window's title bar becomes a
/// drag that restores it, in CSS pixels (a click or double-click must not).
const DRAG_THRESHOLD_PX: f64 = 4.0;

/// What a pointer gesture changes.
#[derive(Clone, Copy, Debug)]
enum GestureKind {
    Move,
    Resize(Edge),
}

/// A gesture in progress: the pointer and the window's place when it started.
#[derive(Clone, Copy, Debug)]
struct Gesture {
    kind: GestureKind,
    pointer_id: i32,
    start_x: f64,
    start_y: f64,
    origin: Rect,
    /// The window was maximized when the move began; it leaves that state once the pointer
    /// has really moved.
    from_maximized: bool,
}

/// One window on the desktop.
#[component]
pub fn WindowFrame(window: OpenWindow) -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let OpenWindow {
        id,
        app,
        rect,
        minimized,
        maximized,
        inbox,
    } = window;
    let gesture = StoredValue::new(None::<Gesture>);
    let place = move || {
        if maximized.get() {
            geometry::work_area(wm.viewport())
        } else {
            rect.get()
        }
    };
    let state = move || match (minimized.get(), maximized.get()) {
        (true, _) => "minimized",
        (false, true) => "maximized",
        (false, false) => "normal",
    };

    let begin = move |ev: &PointerEvent, kind: GestureKind| {
        if ev.button() != 0 {
            return;
        }
        if let Some(target) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = target.set_pointer_capture(ev.pointer_id());
        }
        gesture.set_value(Some(Gesture {
            kind,
            pointer_id: ev.pointer_id(),
            start_x: f64::from(ev.client_x()),
            start_y: f64::from(ev.client_y()),
            origin: rect.get_untracked(),
            from_maximized: maximized.get_untracked() && matches!(kind, GestureKind::Move),
        }));
        ev.prevent_default();
    };
    let follow = move |ev: PointerEvent| {
        let Some(mut g) = gesture.get_value() else {
            return;
        };
        if g.pointer_id != ev.pointer_id() {
            return;
        }
        let (x, y) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        let viewport = wm.viewport_untracked();
        if g.from_maximized {
            if (x - g.start_x).hypot(y - g.start_y) < DRAG_THRESHOLD_PX {
                return;
            }
            let area = geometry::work_area(viewport);
            g.origin = geometry::unmaximized_under_pointer(g.origin, area, g.start_x);
            g.from_maximized = false;
            gesture.set_value(Some(g));
            wm.unmaximize(id);
        }
        let (dx, dy) = (x - g.start_x, y - g.start_y);
        let next = match g.kind {
            GestureKind::Move => geometry::dragged(g.origin, dx, dy, app.min_size, viewport),
            GestureKind::Resize(edge) => {
                geometry::resized(g.origin, edge, dx, dy, app.min_size, viewport)
            }
        };
        if next != rect.get_untracked() {
            rect.set(next);
        }
    };
    let end = move |_: PointerEvent| gesture.set_value(None);
    let toggle_on_title = move |ev: MouseEvent| {
        let on_button = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("button").ok().flatten())
            .is_some();
        if !on_button {
            wm.toggle_maximize(id);
        }
    };
    let handles = Edge::ALL
        .into_iter()
        .map(|edge| {
            view! {
                <div
                    class="window-resize"
                    data-edge=edge.as_str()
                    aria-hidden="true"
                    on:pointerdown=move |ev| begin(&ev, GestureKind::Resize(edge))
                    on:pointermove=follow
                    on:pointerup=end
                    on:pointercancel=end
                    on:lostpointercapture=end
                ></div>
            }
        })
        .collect_view();

    // The app finds its window, and the intents posted to it, in context.
    provide_context(WindowId(id));
    provide_context(inbox);
    let body = (app.render)();

    view! {
        <section
            class="window"
            class:focused=move || wm.focused() == Some(id)
            class:maximized=move || maximized.get()
            data-app=app.id
            data-window-id=id
            data-state=state
            role="dialog"
            aria-label=app.title
            tabindex="-1"
            hidden=move || minimized.get()
            style:left=move || px(place().x)
            style:top=move || px(place().y)
            style:width=move || px(place().width)
            style:height=move || px(place().height)
            style:z-index=move || wm.z_index(id).to_string()
            on:pointerdown=move |_| wm.focus(id)
        >
            <header
                class="window-titlebar"
                on:pointerdown=move |ev| begin(&ev, GestureKind::Move)
                on:pointermove=follow
                on:pointerup=end
                on:pointercancel=end
                on:lostpointercapture=end
                on:dblclick=toggle_on_title
            >
                <span class="window-icon">
                    <Icon path=app.icon />
                </span>
                <span class="window-title">{app.title}</span>
                <div class="window-controls" on:pointerdown=|ev: PointerEvent| ev.stop_propagation()>
                    <button
                        class="window-minimize"
                        title="Minimize (Alt+M)"
                        aria-label="Minimize"
                        on:click=move |_| wm.minimize(id)
                    >
                        <Icon path=icons::MINIMIZE />
                    </button>
                    <button
                        class="window-maximize"
                        title=move || if maximized.get() { "Restore (Alt+↑)" } else { "Maximize (Alt+↑)" }
                        aria-label=move || if maximized.get() { "Restore" } else { "Maximize" }
                        on:click=move |_| wm.toggle_maximize(id)
                    >
                        <Icon path=Signal::derive(move || {
                            if maximized.get() { icons::RESTORE } else { icons::MAXIMIZE }
                        }) />
                    </button>
                    <button
                        class="window-close"
                        title="Close (Alt+W)"
                        aria-label="Close"
                        on:click=move |_| wm.close(id)
                    >
                        <Icon path=icons::CLOSE />
                    </button>
                </div>
            </header>
            <div class="window-body">{body}</div>
            {handles}
        </section>
    }
}

/// Moves keyboard focus into window `id` once it is on screen: to its first text field, else
/// to the window itself, so typing goes where the user just switched to.
pub fn focus_contents(id: u32) {
    request_animation_frame(move || {
        let selector = format!("section.window[data-window-id=\"{id}\"]");
        let Some(frame) = document().query_selector(&selector).ok().flatten() else {
            return;
        };
        if frame.contains(document().active_element().as_ref().map(|e| e.as_ref())) {
            return;
        }
        let field = frame
            .query_selector(
                ".window-body textarea, .window-body input, .window-body [contenteditable=true]",
            )
            .ok()
            .flatten();
        if let Some(target) = field.unwrap_or(frame).dyn_ref::<web_sys::HtmlElement>() {
            let _ = target.focus();
        }
    });
}

fn px(value: f64) -> String {
    format!("{value}px")
}
