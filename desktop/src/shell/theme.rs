//! The desktop's colour theme: light or dark, the person's choice ([`Preferences::theme`]) or,
//! without one, the system's (`prefers-color-scheme`, followed live).
//!
//! [`install`] applies the theme to the document — `data-theme` on `<html>`, which switches the
//! colour variables of `style/themes.css`, and the `color-scheme` meta tag, which the browser's
//! own controls and scroll bars follow — and tells Monaco. [`ActiveTheme`] (in context) is the
//! theme as applied: it changes only after the document has, so an app that reads colours from
//! the CSS variables (the Terminal's xterm.js) reads the new ones. [`toggle`] switches to the
//! other theme and remembers that choice. Colours themselves live only in the stylesheet.
//!
//! DOM contract for tests: `html[data-theme=light|dark]`, `meta[name=color-scheme][content]`.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::services::monaco;
use crate::services::preferences::{Preferences, Theme};

/// The media query of a light system theme.
const PREFERS_LIGHT: &str = "(prefers-color-scheme: light)";

/// The theme as applied to the document (tracked). `Copy`: take it from context.
#[derive(Clone, Copy, Debug)]
pub struct ActiveTheme(ReadSignal<Theme>);

impl ActiveTheme {
    /// The applied theme (tracked).
    pub fn get(self) -> Theme {
        self.0.get()
    }

    /// The applied theme, without tracking.
    pub fn get_untracked(self) -> Theme {
        self.0.get_untracked()
    }
}

/// Applies the theme now and whenever the choice or the system's theme changes.
pub fn install(preferences: Preferences) -> ActiveTheme {
    let system = RwSignal::new(system_theme());
    follow_system(system);
    let wanted = move || preferences.theme.get().unwrap_or_else(|| system.get());
    let first = untrack(wanted);
    apply(first);
    let (applied, set_applied) = signal(first);
    Effect::new(move |_| {
        let theme = wanted();
        apply(theme);
        set_applied.set(theme);
    });
    ActiveTheme(applied)
}

/// Switches to the other theme and remembers it for this browser.
pub fn toggle(preferences: Preferences, active: ActiveTheme) {
    preferences.theme.set(Some(active.get_untracked().other()));
}

/// The system's theme: light when the browser says the person prefers light, else dark.
fn system_theme() -> Theme {
    let light = web_sys::window()
        .and_then(|w| w.match_media(PREFERS_LIGHT).ok().flatten())
        .is_some_and(|query| query.matches());
    if light { Theme::Light } else { Theme::Dark }
}

/// Keeps `system` up to date when the system's theme changes (for the page's whole life: the
/// desktop is never unmounted).
fn follow_system(system: RwSignal<Theme>) {
    let Some(query) = web_sys::window().and_then(|w| w.match_media(PREFERS_LIGHT).ok().flatten())
    else {
        return;
    };
    let on_change = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
        system.try_set(system_theme());
    })
    .into_js_value();
    let _ = query.add_event_listener_with_callback("change", on_change.unchecked_ref());
}

/// Puts `theme` on the document and in Monaco.
fn apply(theme: Theme) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(root) = document.document_element() {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
    if let Ok(Some(meta)) = document.query_selector("meta[name=color-scheme]") {
        let _ = meta.set_attribute("content", theme.as_str());
    }
    monaco::follow_theme(theme == Theme::Light);
}

#[cfg(test)]
mod tests;
