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
use super::theme::{self, ActiveTheme};
use super::window_frame::focus_contents;
use super::windows::WindowManager;
use crate::services::preferences::Preferences;

/// What the desktop's commands act on. `Copy`; [`Controls::from_context`] inside the desktop.
#[derive(Clone, Copy, Debug)]
pub struct Controls {
    pub wm: WindowManager,
    pub overlays: Overlays,
    pub preferences: Preferences,
    pub theme: ActiveTheme,
}

impl Controls {
    /// The desktop's controls, from the context the desktop provides.
    pub fn from_context() -> Controls {
        Controls {
            wm: expect_context(),
            overlays: expect_context(),
            preferences: expect_context(),
            theme: expect_context(),
        }
    }
}

/// Starts handling shortcuts; the handle stops it.
pub fn install(controls: Controls) -> WindowListenerHandle {
    let overlays = controls.overlays;
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
            run(command, controls);
        }
    })
}

/// Carries out `command` (a shortcut's, or one picked in the palette).
pub fn run(command: Command, controls: Controls) {
    let Controls { wm, overlays, .. } = controls;
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
        Command::FindInFiles => overlays.toggle(Overlay::FindInFiles),
        Command::TogglePalette => overlays.toggle(Overlay::Palette),
        Command::CloseOverlay => overlays.close(),
        Command::ToggleTheme => theme::toggle(controls.preferences, controls.theme),
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
