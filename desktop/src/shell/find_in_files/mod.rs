//! Search in files (`Ctrl+Shift+F`): an overlay that searches this tab's files with the VFS's
//! `vfs:search` (`VfsProxy::search`, no bus round trip) and opens a result in the Editor at its
//! line.
//!
//! The query is searched as it is typed (after a short pause), with toggles for a regular
//! expression (`Alt+R`) and case-sensitive matching (`Alt+C`; off: any case matches) and a path
//! glob.
//! Results come grouped by file, each line's preview with the match highlighted; ↑/↓ move the
//! selection, Enter (or a click) opens the file in the Editor with the caret on the match
//! (`Intent::OpenFileAt`). An empty query shows nothing and asks nothing; a query the VFS
//! refuses (an invalid regex or glob) shows its sentence in place of the results. An answer to
//! an older query is dropped. The pure rules are in [`results`]. It never writes files.
//!
//! DOM contract for tests: `[data-testid=search]`, `search-input`, `search-glob`, toggles
//! `search-regex` / `search-case` (`aria-pressed`), `search-summary`, `search-error`, groups
//! `[data-testid=search-file][data-path]`, results
//! `[data-testid=search-result][data-path][data-line][aria-selected]` with the match in
//! `mark.search-hit`.

pub mod results;

use std::time::Duration;

use aether_shared::vfs::{Search, SearchMatch};
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::icons::{self, Icon};
use super::intents::Intent;
use super::overlay::Overlays;
use super::window_frame::focus_contents;
use super::windows::WindowManager;
use crate::apps::editor;
use crate::services::vfs::VfsProxy;
use results::{FileGroup, Preview, group, step, summary};

/// How long typing must pause before the query is searched, in milliseconds.
const TYPING_PAUSE_MS: u64 = 150;

/// What the overlay shows below its fields.
#[derive(Clone, Debug, Default, PartialEq)]
enum Outcome {
    /// Nothing asked (an empty query).
    #[default]
    Idle,
    Found {
        matches: Vec<SearchMatch>,
        truncated: bool,
    },
    /// The VFS refused the query; its sentence.
    Refused(String),
}

/// The search overlay.
#[component]
pub fn FindInFiles() -> impl IntoView {
    let wm = expect_context::<WindowManager>();
    let overlays = expect_context::<Overlays>();
    let vfs = expect_context::<VfsProxy>();
    let query = RwSignal::new(String::new());
    let glob = RwSignal::new(String::new());
    let regex = RwSignal::new(false);
    let case_sensitive = RwSignal::new(false);
    let outcome = RwSignal::new(Outcome::Idle);
    let selected = RwSignal::new(0_usize);
    // Bumped by every new search; an answer carrying an older number is dropped.
    let generation = StoredValue::new(0_u64);

    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });

    // Searches whenever the query, a toggle or the glob changes (or a file changes), after a
    // pause in typing.
    Effect::new(move |_| {
        let request = Search {
            query: query.get(),
            regex: regex.get(),
            ignore_case: !case_sensitive.get(),
            glob: Some(glob.get().trim().to_owned()).filter(|g| !g.is_empty()),
            ..Search::default()
        };
        vfs.revision();
        let turn = generation.get_value() + 1;
        generation.set_value(turn);
        if request.query.is_empty() {
            outcome.set(Outcome::Idle);
            selected.set(0);
            return;
        }
        let vfs = vfs.clone();
        spawn_local(async move {
            gloo_timers::future::sleep(Duration::from_millis(TYPING_PAUSE_MS)).await;
            if generation.try_get_value() != Some(turn) {
                return;
            }
            let answer = vfs.search(&request).await;
            if generation.try_get_value() != Some(turn) {
                return;
            }
            outcome.try_set(match answer {
                Ok(found) => Outcome::Found {
                    matches: found.matches,
                    truncated: found.truncated,
                },
                Err(e) => Outcome::Refused(e.to_string()),
            });
            selected.try_set(0);
        });
    });

    let matches = Memo::new(move |_| match outcome.get() {
        Outcome::Found { matches, .. } => matches,
        _ => Vec::new(),
    });
    let groups = Memo::new(move |_| matches.with(|m| group(m)));

    // Close first, then open on the next turn, once the overlay and its effects are gone.
    let open = move |found: SearchMatch| {
        overlays.dismiss();
        set_timeout(
            move || {
                let intent = Intent::OpenFileAt {
                    path: found.path,
                    line: found.line as u32,
                    column: found.column as u32,
                };
                focus_contents(wm.open_with(&editor::META, intent));
            },
            Duration::ZERO,
        );
    };
    let on_key = move |ev: KeyboardEvent| {
        let count = matches.with_untracked(Vec::len);
        match (ev.key().as_str(), ev.alt_key(), ev.code().as_str()) {
            ("ArrowDown", false, _) => selected.update(|s| *s = step(*s, count, true)),
            ("ArrowUp", false, _) => selected.update(|s| *s = step(*s, count, false)),
            ("Enter", false, _) => {
                let chosen = matches.with_untracked(|m| m.get(selected.get_untracked()).cloned());
                if let Some(found) = chosen {
                    open(found);
                }
            }
            (_, true, "KeyR") => regex.update(|on| *on = !*on),
            (_, true, "KeyC") => case_sensitive.update(|on| *on = !*on),
            ("Tab", false, _) => cycle_focus(&ev),
            _ => return,
        }
        ev.prevent_default();
        ev.stop_propagation();
    };
    // The selected result stays in view as the keyboard moves it.
    Effect::new(move |_| {
        let index = selected.get();
        matches.track();
        request_animation_frame(move || {
            let selector = format!("#search-result-{index}");
            if let Ok(Some(row)) = document().query_selector(&selector) {
                row.scroll_into_view_with_bool(false);
            }
        });
    });
    let close_outside = move |ev: PointerEvent| {
        if ev.target() == ev.current_target() {
            overlays.close();
        }
    };
    let active = move || {
        matches.with(|m| {
            let index = selected.get();
            if index < m.len() {
                format!("search-result-{index}")
            } else {
                String::new()
            }
        })
    };
    let file_view = move |file: FileGroup| {
        let rows = file
            .matches
            .into_iter()
            .map(|(index, found)| result_row(index, found, selected, open))
            .collect_view();
        let (path, title, label, shown) = (
            file.path.clone(),
            file.path.clone(),
            file.path.clone(),
            file.path,
        );
        view! {
            <li class="search-file" data-testid="search-file" data-path=path role="presentation">
                <div class="search-file-path" title=title>{shown}</div>
                <ul class="search-lines" role="group" aria-label=label>{rows}</ul>
            </li>
        }
    };
    let status = move || match outcome.get() {
        Outcome::Idle => None,
        Outcome::Refused(why) => Some(
            view! {
                <p class="search-error" data-testid="search-error" role="alert">{why}</p>
            }
            .into_any(),
        ),
        Outcome::Found { matches, truncated } => {
            let files = groups.with(Vec::len);
            let text = if matches.is_empty() {
                "No results.".to_owned()
            } else {
                summary(matches.len(), files, truncated)
            };
            Some(
                view! { <p class="search-summary" data-testid="search-summary">{text}</p> }
                    .into_any(),
            )
        }
    };
    let toggle = move |signal: RwSignal<bool>,
                       label: &'static str,
                       text: &'static str,
                       testid: &'static str| {
        view! {
            <button
                class="search-toggle"
                data-testid=testid
                title=label
                aria-label=label
                aria-pressed=move || signal.get().to_string()
                on:click=move |_| signal.update(|on| *on = !*on)
            >
                {text}
            </button>
        }
    };

    view! {
        <div class="overlay-backdrop" on:pointerdown=close_outside>
            <div class="search" role="dialog" aria-modal="true" aria-label="Search in files" data-testid="search" on:keydown=on_key>
                <div class="search-fields">
                    <div class="launcher-field search-query">
                        <Icon path=icons::SEARCH />
                        <input
                            class="launcher-input"
                            data-testid="search-input"
                            type="text"
                            role="combobox"
                            aria-expanded="true"
                            aria-controls="search-results"
                            aria-activedescendant=active
                            aria-label="Text to find"
                            placeholder="Search in files…"
                            autocomplete="off"
                            spellcheck="false"
                            node_ref=input
                            prop:value=move || query.get()
                            on:input=move |ev| query.set(event_target_value(&ev))
                        />
                        {toggle(case_sensitive, "Match case (Alt+C)", "Aa", "search-case")}
                        {toggle(regex, "Regular expression (Alt+R)", ".*", "search-regex")}
                    </div>
                    <input
                        class="search-glob"
                        data-testid="search-glob"
                        type="text"
                        aria-label="Files to include (glob)"
                        placeholder="Files to include, e.g. *.rs or src/**/*.md"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || glob.get()
                        on:input=move |ev| glob.set(event_target_value(&ev))
                    />
                </div>
                {status}
                <ul class="search-results" id="search-results" role="listbox" aria-label="Results">
                    {move || groups.get().into_iter().map(file_view).collect_view()}
                </ul>
            </div>
        </div>
    }
}

/// One result line: its number and its preview with the match marked.
fn result_row(
    index: usize,
    found: SearchMatch,
    selected: RwSignal<usize>,
    open: impl Fn(SearchMatch) + Copy + 'static,
) -> impl IntoView {
    let Preview { before, hit, after } = Preview::of(&found);
    let (path, line) = (found.path.clone(), found.line);
    view! {
        <li
            class="search-result"
            id=format!("search-result-{index}")
            data-testid="search-result"
            data-path=path
            data-line=line
            role="option"
            aria-selected=move || (selected.get() == index).to_string()
            on:pointerdown=|ev: PointerEvent| ev.prevent_default()
            on:click=move |_| open(found.clone())
        >
            <span class="search-line-number">{line}</span>
            <span class="search-preview">
                {before}
                <mark class="search-hit">{hit}</mark>
                {after}
            </span>
        </li>
    }
}

/// The overlay's controls in Tab order.
const CONTROLS: [&str; 4] = ["search-input", "search-case", "search-regex", "search-glob"];

/// Keeps Tab among the overlay's fields and toggles, wrapping at either end, so focus never
/// reaches the desktop behind it.
fn cycle_focus(ev: &KeyboardEvent) {
    let Some(dialog) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let controls: Vec<web_sys::HtmlElement> = CONTROLS
        .iter()
        .filter_map(|id| {
            dialog
                .query_selector(&format!("[data-testid={id}]"))
                .ok()
                .flatten()
        })
        .filter_map(|e| e.dyn_into().ok())
        .collect();
    if controls.is_empty() {
        return;
    }
    let focused = document().active_element();
    let at = controls
        .iter()
        .position(|c| focused.as_ref() == Some(c.unchecked_ref::<web_sys::Element>()));
    let next = results::step(at.unwrap_or(0), controls.len(), !ev.shift_key());
    let _ = controls[next].focus();
}
