//! The launcher: a small overlay to find an app by name and open it from the keyboard.
//!
//! Typing filters the registry ([`matching`]: name starts first, then word starts, then anywhere);
//! ↑/↓ move the selection, Enter opens it (a new window for a multi-instance app, the existing one
//! otherwise), Escape or a click outside closes. DOM contract for tests: `[data-testid=launcher]`,
//! `[data-testid=launcher-input]`, `[data-testid=launcher-item-<id>]` (`aria-selected`).

use std::time::Duration;

use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::html;
use leptos::prelude::*;

use super::icons::Icon;
use super::overlay::Overlays;
use super::overlay::keep_focus_inside;
use super::window_frame::focus_contents;
use super::windows::WindowManager;
use crate::apps::{self, APPS, AppMeta};

/// The apps matching `query` (case-insensitive), best first; every app for an empty query.
pub fn matching(query: &str, apps: &'static [AppMeta]) -> Vec<&'static AppMeta> {
    let query = query.trim().to_lowercase();
    let mut ranked: Vec<(u8, usize, &'static AppMeta)> = apps
        .iter()
        .enumerate()
        .filter_map(|(order, app)| {
            let title = app.title.to_lowercase();
            let rank =
                if query.is_empty() || title.starts_with(&query) || app.id.starts_with(&query) {
                    0
                } else if title
                    .split_whitespace()
                    .any(|word| word.starts_with(&query))
                {
                    1
                } else if title.contains(&query) || app.id.contains(&query) {
                    2
                } else {
                    return None;
                };
            Some((rank, order, app))
        })
        .collect();
    ranked.sort_by_key(|&(rank, order, _)| (rank, order));
    ranked.into_iter().map(|(_, _, app)| app).collect()
}

/// The launcher overlay.
#[component]
pub fn Launcher() -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let overlays = expect_context::<Overlays>();
    let query = RwSignal::new(String::new());
    let selected = RwSignal::new(0_usize);
    let results = Memo::new(move |_| {
        query.with(|q| {
            matching(q, APPS)
                .iter()
                .map(|app| app.id)
                .collect::<Vec<_>>()
        })
    });
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });

    // Close first; open on the next turn, once the launcher and its effects are gone.
    let open = move |app_id: &str| {
        if let Some(app) = apps::find(app_id) {
            overlays.dismiss();
            set_timeout(move || focus_contents(wm.open(app)), Duration::ZERO);
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let count = results.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if count > 0 => selected.update(|s| *s = (*s + 1) % count),
            "ArrowUp" if count > 0 => selected.update(|s| *s = (*s + count - 1) % count),
            "Enter" => {
                let chosen = results.with_untracked(|r| r.get(selected.get_untracked()).copied());
                if let Some(app_id) = chosen {
                    open(app_id);
                }
            }
            _ => return,
        }
        ev.prevent_default();
    };
    let close_outside = move |ev: PointerEvent| {
        if ev.target() == ev.current_target() {
            overlays.close();
        }
    };
    let items = move || {
        let chosen = selected.get();
        results
            .get()
            .into_iter()
            .filter_map(apps::find)
            .enumerate()
            .map(|(index, app)| {
                let running = untrack(|| wm.is_open(app.id));
                let hint = match (app.multi_instance, running) {
                    (true, _) => "New window",
                    (false, true) => "Switch to",
                    (false, false) => "Open",
                };
                view! {
                    <li
                        class="launcher-item"
                        id=format!("launcher-item-{}", app.id)
                        data-testid=format!("launcher-item-{}", app.id)
                        role="option"
                        aria-selected=if index == chosen { "true" } else { "false" }
                        on:pointerdown=|ev: PointerEvent| ev.prevent_default()
                        on:click=move |_| open(app.id)
                    >
                        <span class="launcher-icon">
                            <Icon path=app.icon />
                        </span>
                        <span class="launcher-title">{app.title}</span>
                        <span class="launcher-hint">{hint}</span>
                    </li>
                }
            })
            .collect_view()
    };
    let active = move || {
        results.with(|r| {
            r.get(selected.get())
                .map(|id| format!("launcher-item-{id}"))
                .unwrap_or_default()
        })
    };

    view! {
        <div class="overlay-backdrop" on:pointerdown=close_outside>
            <div class="launcher" on:keydown=keep_focus_inside role="dialog" aria-modal="true" aria-label="Open an app" data-testid="launcher">
                <div class="launcher-field">
                    <Icon path=super::icons::SEARCH />
                    <input
                        class="launcher-input"
                        data-testid="launcher-input"
                        type="text"
                        role="combobox"
                        aria-expanded="true"
                        aria-controls="launcher-list"
                        aria-activedescendant=active
                        aria-label="App name"
                        placeholder="Open an app…"
                        autocomplete="off"
                        spellcheck="false"
                        node_ref=input
                        prop:value=move || query.get()
                        on:input=move |ev| {
                            query.set(event_target_value(&ev));
                            selected.set(0);
                        }
                        on:keydown=on_key
                    />
                </div>
                <ul class="launcher-list" id="launcher-list" role="listbox" aria-label="Apps">
                    {items}
                </ul>
                <Show when=move || results.with(Vec::is_empty)>
                    <p class="launcher-empty">"No app by that name."</p>
                </Show>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry of its own, so the tests do not change when apps are added.
    static TEST_APPS: [AppMeta; 3] = [
        AppMeta {
            id: "file-browser",
            title: "Files and Notebooks",
            ..crate::apps::about::META
        },
        AppMeta {
            id: "about",
            title: "About Aether",
            ..crate::apps::about::META
        },
        AppMeta {
            id: "notes",
            title: "Notes",
            ..crate::apps::about::META
        },
    ];

    fn ids(query: &str) -> Vec<&'static str> {
        matching(query, &TEST_APPS)
            .iter()
            .map(|app| app.id)
            .collect()
    }

    #[test]
    fn an_empty_query_lists_every_app_in_registry_order() {
        assert_eq!(ids(""), vec!["file-browser", "about", "notes"]);
        assert_eq!(ids("   "), ids(""));
    }

    #[test]
    fn names_are_matched_case_insensitively_best_first() {
        assert_eq!(ids("ABOUT"), vec!["about"]);
        // A word start counts, and so does the id.
        assert_eq!(ids("aeth"), vec!["about"]);
        assert_eq!(ids("brow"), vec!["file-browser"]);
        assert!(ids("zzz").is_empty());
        // A title start beats a word start, which beats registry order.
        assert_eq!(ids("no"), vec!["notes", "file-browser"]);
        // Matches in the middle only: registry order.
        assert_eq!(ids("o"), vec!["file-browser", "about", "notes"]);
    }
}
