//! The shortcut help: an overlay listing every keyboard shortcut (the table in `shortcuts`).
//!
//! Opened with `?` (outside text fields), F1 or the top bar's keyboard button; closed with Escape,
//! its close button or a click outside. DOM contract for tests: `[data-testid=help]`.

use leptos::ev::PointerEvent;
use leptos::html;
use leptos::prelude::*;

use super::icons::{self, Icon};
use super::overlay::Overlays;
use super::overlay::keep_focus_inside;
use super::shortcuts::SHORTCUTS;

/// The help overlay.
#[component]
pub fn Help() -> impl IntoView {
    let overlays = expect_context::<Overlays>();
    let close_button = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = close_button.get() {
            let _ = button.focus();
        }
    });
    let close_outside = move |ev: PointerEvent| {
        if ev.target() == ev.current_target() {
            overlays.close();
        }
    };
    let rows = SHORTCUTS
        .iter()
        .map(|(keys, what)| {
            view! {
                <tr>
                    <th scope="row">
                        <kbd>{*keys}</kbd>
                    </th>
                    <td>{*what}</td>
                </tr>
            }
        })
        .collect_view();

    view! {
        <div class="overlay-backdrop" on:pointerdown=close_outside>
            <div class="help" on:keydown=keep_focus_inside role="dialog" aria-modal="true" aria-labelledby="help-title" data-testid="help">
                <header class="help-header">
                    <h2 id="help-title">"Keyboard shortcuts"</h2>
                    <button
                        class="overlay-close"
                        aria-label="Close"
                        title="Close (Escape)"
                        node_ref=close_button
                        on:click=move |_| overlays.close()
                    >
                        <Icon path=icons::CLOSE />
                    </button>
                </header>
                <table class="help-table">
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </div>
    }
}
