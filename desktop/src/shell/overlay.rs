//! [`Overlays`]: which overlay (launcher, shortcut help, search in files) is open, and where
//! keyboard focus goes back to when it closes.
//!
//! One overlay at a time; opening one replaces the other. The element that had focus before the
//! first overlay opened gets it back on close (if it is still on the page), so Escape returns
//! the user to the text they were typing. Overlays never move or open windows themselves.

use leptos::prelude::*;

/// An overlay over the desktop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Find an app by name and open it.
    Launcher,
    /// The keyboard shortcuts.
    Help,
    /// Search in this tab's files (`find_in_files`).
    FindInFiles,
    /// The launcher as the command palette (its query starting with `>`).
    Palette,
}

/// The open overlay. `Copy`: take it from context.
#[derive(Clone, Copy, Debug)]
pub struct Overlays {
    open: RwSignal<Option<Overlay>>,
    return_focus: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
}

impl Overlays {
    /// No overlay open.
    pub fn new() -> Self {
        Overlays {
            open: RwSignal::new(None),
            return_focus: StoredValue::new_local(None),
        }
    }

    /// The open overlay (tracked).
    pub fn current(&self) -> Option<Overlay> {
        self.open.get()
    }

    /// True when an overlay is open, without tracking.
    pub fn any_open(&self) -> bool {
        self.open.get_untracked().is_some()
    }

    /// Opens `overlay`, or closes it when it is the one already open.
    pub fn toggle(&self, overlay: Overlay) {
        match self.open.get_untracked() {
            Some(open) if open == overlay => self.close(),
            Some(_) => self.open.set(Some(overlay)),
            None => {
                let active = document()
                    .active_element()
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
                self.return_focus.set_value(active);
                self.open.set(Some(overlay));
            }
        }
    }

    /// Closes the open overlay and gives focus back to where it was.
    pub fn close(&self) {
        self.open.set(None);
        if let Some(element) = self.return_focus.try_update_value(Option::take).flatten()
            && element.is_connected()
        {
            let _ = element.focus();
        }
    }

    /// Closes the open overlay and leaves focus to the caller (who moves it somewhere new).
    pub fn dismiss(&self) {
        self.return_focus.set_value(None);
        self.open.set(None);
    }
}

/// Keeps Tab inside an overlay: each has a single focusable control (the launcher's field, the
/// help's close button), so Tab simply stays on it instead of reaching the desktop behind.
pub fn keep_focus_inside(ev: leptos::ev::KeyboardEvent) {
    if ev.key() == "Tab" {
        ev.prevent_default();
    }
}

impl Default for Overlays {
    fn default() -> Self {
        Self::new()
    }
}
