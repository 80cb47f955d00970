//! The launcher: a small overlay to find an app by name and open it from the keyboard, and the
//! command palette when what is typed starts with `>` (`Ctrl+Shift+P` opens it so).
//!
//! Typing filters the registry ([`matching`]: name starts first, then word starts, then anywhere);
//! ↑/↓ move the selection, Enter opens it (a new window for a multi-instance app, the existing one
//! otherwise), Escape or a click outside closes. After `>`, the rest is matched fuzzily
//! (`fuzzy`) against the palette's commands (`palette`: the apps' and the shell's, each with its
//! shortcut), and Enter runs the one selected. DOM contract for tests: `[data-testid=launcher]`
//! (`data-mode=apps|commands`), `[data-testid=launcher-input]`,
//! `[data-testid=launcher-item-<id>]` (`aria-selected`), `[data-testid=launcher-command-<id>]`
//! (`aria-selected`, `data-keys`).

use std::time::Duration;

use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::html;
use leptos::prelude::*;

use super::chord::Chord;
use super::fuzzy;
use super::icons::Icon;
use super::keyboard::Controls;
use super::overlay::Overlays;
use super::overlay::keep_focus_inside;
use super::palette::{self, Entry};
use super::window_frame::focus_contents;
use super::windows::WindowManager;
use crate::apps::{self, APPS, AppMeta};

/// What starts a query for commands rather than apps.
pub const COMMAND_PREFIX: char = '>';

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

/// The launcher overlay; with `commands`, it opens as the command palette (the query starts
/// with `>`).
#[component]
pub fn Launcher(#[prop(optional)] commands: bool) -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let overlays = expect_context::<Overlays>();
    let controls = Controls::from_context();
    let initial = if commands {
        COMMAND_PREFIX.to_string()
    } else {
        String::new()
    };
    let query = RwSignal::new(initial);
    let selected = RwSignal::new(0_usize);
    let entries = StoredValue::new(palette::entries(APPS));
    let command_query = move || {
        query.with(|q| {
            q.trim_start()
                .strip_prefix(COMMAND_PREFIX)
                .map(str::to_owned)
        })
    };
    // The ids shown, best first: apps, or palette entries after `>`.
    let results = Memo::new(move |_| match command_query() {
        Some(q) => entries.with_value(|all| {
            fuzzy::rank(&q, all, |e: &Entry| e.label.as_str())
                .into_iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>()
        }),
        None => query.with(|q| {
            matching(q, APPS)
                .iter()
                .map(|app| app.id.to_owned())
                .collect::<Vec<_>>()
        }),
    });
    let in_commands = Memo::new(move |_| command_query().is_some());
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });

    // Close first; act on the next turn, once the launcher and its effects are gone.
    let open = move |app_id: &str| {
        if let Some(app) = apps::find(app_id) {
            overlays.dismiss();
            set_timeout(move || focus_contents(wm.open(app)), Duration::ZERO);
        }
    };
    let run = move |entry_id: &str| {
        let action =
            entries.with_value(|all| all.iter().find(|e| e.id == entry_id).map(|e| e.action));
        if let Some(action) = action {
            overlays.dismiss();
            set_timeout(move || palette::run(action, controls), Duration::ZERO);
        }
    };
    let pick = move |id: &str| {
        if in_commands.get_untracked() {
            run(id);
        } else {
            open(id);
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let count = results.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if count > 0 => selected.update(|s| *s = (*s + 1) % count),
            "ArrowUp" if count > 0 => selected.update(|s| *s = (*s + count - 1) % count),
            "Enter" => {
                let chosen = results.with_untracked(|r| r.get(selected.get_untracked()).cloned());
                if let Some(id) = chosen {
                    pick(&id);
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
    let app_items = move || {
        let chosen = selected.get();
        results
            .get()
            .iter()
            .filter_map(|id| apps::find(id))
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
    let command_items = move || {
        let chosen = selected.get();
        let shown = results.get();
        entries.with_value(|all| {
            shown
                .iter()
                .filter_map(|id| all.iter().find(|e| &e.id == id))
                .enumerate()
                .map(|(index, entry)| {
                    let id = entry.id.clone();
                    view! {
                        <li
                            class="launcher-item launcher-command"
                            id=format!("launcher-item-{}", entry.id)
                            data-testid=format!("launcher-command-{}", entry.id)
                            data-keys=entry.keys.unwrap_or_default()
                            aria-keyshortcuts=entry.keys.and_then(Chord::parse).map(|c| c.aria())
                            role="option"
                            aria-selected=if index == chosen { "true" } else { "false" }
                            on:pointerdown=|ev: PointerEvent| ev.prevent_default()
                            on:click=move |_| run(&id)
                        >
                            <span class="launcher-title">{entry.label.clone()}</span>
                            {entry.keys.map(|keys| view! { <kbd class="launcher-keys">{keys}</kbd> })}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let items = move || {
        if in_commands.get() {
            command_items().into_any()
        } else {
            app_items().into_any()
        }
    };
    let active = move || {
        results.with(|r| {
            r.get(selected.get())
                .map(|id| format!("launcher-item-{id}"))
                .unwrap_or_default()
        })
    };
    let mode = move || {
        if in_commands.get() {
            "commands"
        } else {
            "apps"
        }
    };

    view! {
        <div class="overlay-backdrop" on:pointerdown=close_outside>
            <div class="launcher" on:keydown=keep_focus_inside role="dialog" aria-modal="true" aria-label="Open an app or run a command" data-testid="launcher" data-mode=mode>
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
                        aria-label="App name, or > and a command"
                        placeholder=move || if in_commands.get() { "Run a command…" } else { "Open an app… (> for commands)" }
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
                <ul class="launcher-list" id="launcher-list" role="listbox" aria-label=move || if in_commands.get() { "Commands" } else { "Apps" }>
                    {items}
                </ul>
                <Show when=move || results.with(Vec::is_empty)>
                    <p class="launcher-empty">
                        {move || if in_commands.get() { "No command matches." } else { "No app by that name." }}
                    </p>
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
