//! The desktop's global key handler: turns key presses into shortcut [`Command`]s (see
//! `shortcuts` for the table) and carries them out on the windows and overlays.
//!
//! It listens on the browser window, so every key press passes by; a press is only consumed
//! (`preventDefault`) when it is a shortcut, and what counts as one depends on where focus is
//! (text fields keep plain keys). It never acts on keys while an IME composition is running.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::overlay::{Overlay, Overlays};
use super::shortcuts::{Command, KeyPress, command_for};
use super::window_frame::focus_contents;
use super::windows::WindowManager;

/// Starts handling shortcuts; the handle stops it.
pub fn install(wm: WindowManager, overlays: Overlays) -> WindowListenerHandle {
    window_event_listener(ev::keydown, move |ev| {
        if ev.is_composing() {
            return;
        }
        let (key, code) = (ev.key(), ev.code());
        let press = KeyPress {
            key: &key,
            code: &code,
            alt: ev.alt_key(),
            ctrl: ev.ctrl_key(),
            shift: ev.shift_key(),
            meta: ev.meta_key(),
            in_text_field: is_text_field(ev.target()),
            overlay_open: overlays.any_open(),
        };
        if let Some(command) = command_for(&press) {
            ev.prevent_default();
            ev.stop_propagation();
            run(command, wm, overlays);
        }
    })
}

fn run(command: Command, wm: WindowManager, overlays: Overlays) {
    let front = wm.focused_untracked();
    match command {
        Command::NextWindow | Command::PreviousWindow => {
            if let Some(id) = wm.cycle(command == Command::NextWindow) {
                focus_contents(id);
            }
        }
        Command::CloseWindow | Command::MinimizeWindow => {
            let Some(id) = front else { return };
            if command == Command::CloseWindow {
                wm.close(id);
            } else {
                wm.minimize(id);
            }
            if let Some(next) = wm.focused_untracked() {
                focus_contents(next);
            }
        }
        Command::ToggleMaximize => {
            if let Some(id) = front {
                wm.toggle_maximize(id);
            }
        }
        Command::ToggleLauncher => overlays.toggle(Overlay::Launcher),
        Command::ToggleHelp => overlays.toggle(Overlay::Help),
        Command::CloseOverlay => overlays.close(),
    }
}

/// True when `target` is somewhere the user types: an input, a text area, a select, or
/// editable content.
fn is_text_field(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.is_content_editable()
}
