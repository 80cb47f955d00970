//! Inline SVG icons: the shell's own glyphs and the [`Icon`] view that draws any icon path
//! (apps give theirs in `AppMeta::icon`).
//!
//! Icons are stroked paths on a 24×24 view box in `currentColor`, so CSS colours them and no
//! file or font is ever fetched. Icons are decorative (`aria-hidden`); the control that holds
//! one carries the accessible name.

use leptos::prelude::*;

/// A dash: minimize.
pub const MINIMIZE: &str = "M6 12h12";
/// A square: maximize.
pub const MAXIMIZE: &str = "M6 6h12v12H6Z";
/// Two squares: restore from maximized.
pub const RESTORE: &str = "M8.5 8.5h9.5v9.5H8.5Z M6 15.5V6h9.5";
/// A cross: close, dismiss.
pub const CLOSE: &str = "M7 7l10 10M17 7 7 17";
/// A magnifier: the launcher.
pub const SEARCH: &str = "M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13Z M15.5 15.5 20 20";
/// A keyboard: the shortcut help.
pub const KEYBOARD: &str =
    "M3 7h18v10H3Z M6.5 10h.01 M9.5 10h.01 M12.5 10h.01 M15.5 10h.01 M8 14h8";

/// One icon.
#[component]
pub fn Icon(
    /// SVG path data for a 24×24 view box (a constant, or a signal for an icon that changes).
    #[prop(into)]
    path: Signal<&'static str>,
) -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            aria-hidden="true"
            focusable="false"
            fill="none"
            stroke="currentColor"
            stroke-width="1.8"
            stroke-linecap="round"
            stroke-linejoin="round"
        >
            <path d=move || path.get()></path>
        </svg>
    }
}
