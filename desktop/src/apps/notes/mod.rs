//! The Notes app: a plain-text scratchpad, one per window, as many windows as you like.
//!
//! Each window keeps its text in `localStorage` under its window id, so a note survives a reload
//! with the layout, and forgets it when the window is closed. The text area is never re-rendered
//! from state while mounted (the browser owns the caret). DOM contract for tests:
//! `[data-testid=notes-text]` (the `textarea`).

use leptos::prelude::*;

use super::AppMeta;
use crate::services::web_storage::Area;
use crate::shell::geometry::Size;
use crate::shell::windows::WindowId;

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "notes",
    title: "Notes",
    icon: "M6 3h9l4 4v14H6Z M15 3v4h4 M9 12h7 M9 16h7 M9 8h3",
    default_size: Size {
        width: 420.0,
        height: 320.0,
    },
    min_size: Size {
        width: 240.0,
        height: 160.0,
    },
    multi_instance: true,
    commands: &[],
    render,
};

fn render() -> AnyView {
    view! { <Notes /> }.into_any()
}

/// The `localStorage` key of the note in window `id`.
fn storage_key(id: WindowId) -> String {
    format!("aether.notes.{}", id.0)
}

/// The Notes window's content.
#[component]
pub fn Notes() -> impl IntoView {
    let key = use_context::<WindowId>().map(storage_key);
    let initial = key
        .as_deref()
        .and_then(|key| Area::Local.get(key))
        .unwrap_or_default();
    let save = {
        let key = key.clone();
        move |text: String| {
            if let Some(key) = &key {
                Area::Local.set(key, &text);
            }
        }
    };
    on_cleanup(move || {
        if let Some(key) = &key {
            Area::Local.remove(key);
        }
    });

    view! {
        <textarea
            class="notes"
            data-testid="notes-text"
            aria-label="Note"
            placeholder="Type anything. It stays here while the window is open."
            spellcheck="false"
            prop:value=initial
            on:input=move |ev| save(event_target_value(&ev))
        ></textarea>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_window_keeps_its_note_under_its_own_key() {
        assert_eq!(storage_key(WindowId(7)), "aether.notes.7");
        assert_ne!(storage_key(WindowId(1)), storage_key(WindowId(11)));
    }
}
