//! The Editor app: files of this tab's VFS in Monaco, one tab per file, with save (Ctrl+S),
//! quick open (Ctrl+P), Run (Ctrl+Enter) for `.wat`/`.wasm` with an output panel and compile
//! errors as markers, and an AI panel (chat, Explain selection, Fix this, Write a test, inline
//! completion, edits as a diff to accept or reject).
//!
//! Monaco is loaded when the first Editor window opens (`services::monaco::load`), never with
//! the desktop. Dirty tabs are marked; closing one asks first; unsaved buffers are kept as
//! drafts in `sessionStorage` ([`drafts`]) and come back with their tabs after a reload or when
//! the window is opened again, so closing the window loses nothing. Other apps open files here
//! with the window manager's `open_with(&editor::META, Intent::OpenFile {path})` (or
//! `Intent::OpenFileAt {path, line, column}`, which puts the caret there and that line in the
//! middle of the view), taken once the last session is back. The active tab's path and
//! selection are published for other apps as the shell's `FrontFile`. What the window does with
//! files is
//! in `state`, its small views in `panels`; pure rules live in `tabs`, `language`, `output`,
//! `prompts`, `quick_open` and `drafts`; Monaco glue in `host`.
//!
//! DOM contract for tests: `[data-testid=editor][data-ready]`, `[data-testid=editor-monaco]`,
//! tabs `[data-testid=editor-tab][data-path][data-dirty][data-active]` with
//! `editor-tab-close`, buttons `editor-save`, `editor-run`, `editor-open`, `editor-ai-toggle`,
//! `[data-testid=editor-status]`, `[data-testid=editor-output][data-state]` with
//! `editor-output-text` and `editor-output-status`, `[data-testid=editor-confirm-close]` with
//! `editor-close-save|discard|cancel`, and the AI panel's (see `ai::panel`, `ai::diff`).

mod ai;
mod commands;
mod drafts;
mod host;
mod language;
mod output;
mod panels;
mod prompts;
mod quick_open;
mod runner;
mod state;
mod tabs;

use std::cell::Cell;
use std::rc::Rc;

use aether_shared::vfs::path::file_name;
use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::AppMeta;
use crate::services::bus::BusClient;
use crate::services::monaco;
use crate::services::preferences::Preferences;
use crate::services::vfs::VfsProxy;
use crate::shell::front_file::FrontFile;
use crate::shell::geometry::Size;
use crate::shell::intents::{Intent, receive_intents};
use ai::client::AiClient;
use ai::panel::{AiPanel, Chat};
use host::{Caret, Host};
use panels::{ConfirmClose, OutputPanel};
pub use state::EditorState;
use tabs::Tabs;

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "editor",
    title: "Editor",
    icon: "M4 5h16v14H4Z M8 10l-2 2 2 2 M16 10l2 2-2 2 M13 9l-2 6",
    default_size: Size {
        width: 980.0,
        height: 600.0,
    },
    min_size: Size {
        width: 480.0,
        height: 300.0,
    },
    multi_instance: false,
    commands: commands::COMMANDS,
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(editor, view! { <Editor /> });

/// Creates the Monaco host in `element` and everything registered on it.
fn start_host(
    state: EditorState,
    chat: Chat,
    element: &web_sys::HtmlElement,
    quiet: Rc<Cell<bool>>,
) {
    let on_change: Rc<dyn Fn(&str)> = Rc::new(move |path: &str| state.edited(path));
    let host = Host::new(element, on_change);
    let path: Rc<dyn Fn() -> Option<String>> =
        Rc::new(move || state.tabs.try_with_untracked(|t| t.active.clone()).flatten());
    host.keep(ai::inline::register(state.ai(), path, quiet));
    for (id, label, command) in [
        ("aether.explain", "AI: Explain selection", prompts::Command::Explain),
        ("aether.fix", "AI: Fix this", prompts::Command::Fix),
        ("aether.test", "AI: Write a test", prompts::Command::WriteTest),
    ] {
        let run = move || ai::panel::ask(state, chat, None, Some(command));
        host.keep(host.add_action(id, label, Rc::new(run)));
    }
    if let Some(front) = use_context::<FrontFile>() {
        host.on_selection(Rc::new(move |selection| front.select(selection)));
    }
    *state.host.get_value().borrow_mut() = Some(host);
    state.ready.set(true);
}

/// Ctrl+S, Ctrl+Enter and Ctrl+P, caught before Monaco and the browser see them (with Shift they
/// are left alone: Ctrl+Shift+P is the desktop's command palette).
fn on_shortcut(state: EditorState, ev: &web_sys::KeyboardEvent) {
    if !(ev.ctrl_key() || ev.meta_key()) || ev.alt_key() || ev.shift_key() {
        return;
    }
    let handled = match ev.key().to_ascii_lowercase().as_str() {
        "s" => {
            state.save_active();
            true
        }
        "enter" => {
            runner::run_active(state);
            true
        }
        "p" => {
            state.quick_open.set(true);
            true
        }
        _ => false,
    };
    if handled {
        ev.prevent_default();
        ev.stop_propagation();
    }
}

/// The Editor window's content.
#[component]
pub fn Editor() -> impl IntoView {
    let bus = expect_context::<BusClient>();
    let vfs = expect_context::<VfsProxy>();
    let state = EditorState::new(bus.clone(), vfs);
    let chat = Chat::new();
    let show_ai = RwSignal::new(true);
    let quiet = Rc::new(Cell::new(false));

    let root = NodeRef::<Div>::new();
    let monaco_el = NodeRef::<Div>::new();
    monaco_el.on_load(move |element| {
        let quiet = Rc::clone(&quiet);
        spawn_local(async move {
            match monaco::load().await {
                Ok(()) => {
                    start_host(state, chat, &element, quiet);
                    state.restore().await;
                }
                Err(e) => {
                    state.status.try_set(Some(e.to_string()));
                }
            }
        });
    });
    root.on_load(move |element| {
        let keys = Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |ev: web_sys::KeyboardEvent| {
            on_shortcut(state, &ev)
        })
        .into_js_value();
        let _ = element.add_event_listener_with_callback_and_bool("keydown", keys.unchecked_ref(), true);
    });
    // Files other apps ask for, once the last session's tabs are back.
    receive_intents(
        move || state.restored.get(),
        move |intent| {
            match intent {
                Intent::OpenFile { path } => state.open(path),
                Intent::Command(id) => commands::run(state, id),
                Intent::OpenFileAt { path, line, column } => {
                    state.open_at(path, Some(Caret { line, column }));
                }
                _ => {}
            }
        },
    );
    // The font size of Settings, now and whenever it changes there.
    if let Some(preferences) = use_context::<Preferences>() {
        Effect::new(move |_| {
            let px = preferences.editor_font_size.get();
            if state.ready.get() {
                state.with_host(|h| h.set_font_size(px));
            }
        });
    }
    // The file in front, for other apps' context (the Agent's goal box).
    let front = use_context::<FrontFile>();
    if let Some(front) = front {
        Effect::new(move |_| front.show(state.tabs.with(|t| t.active.clone())));
    }
    on_cleanup(move || {
        if let Some(front) = front {
            front.clear();
        }
        state.ai.try_with_value(AiClient::stop);
        if let Some(host) = state.host.try_get_value()
            && let Some(host) = host.borrow_mut().take()
        {
            host.dispose();
        }
    });

    let tab_view = move || {
        state
            .tabs
            .get()
            .tabs
            .into_iter()
            .map(|tab| {
                let active = state.tabs.with(|t| t.active.as_deref() == Some(tab.path.as_str()));
                let (open_path, close_path) = (tab.path.clone(), tab.path.clone());
                view! {
                    <div
                        class="editor-tab"
                        class:active=active
                        data-testid="editor-tab"
                        data-path=tab.path.clone()
                        data-dirty=tab.dirty.to_string()
                        data-active=active.to_string()
                        title=tab.path.clone()
                        on:click=move |_| state.activate(&open_path)
                    >
                        <span class="editor-tab-name">{file_name(&tab.path).to_owned()}</span>
                        {tab.dirty.then(|| view! { <span class="editor-tab-dirty" aria-label="unsaved">"●"</span> })}
                        <button
                            class="editor-tab-close"
                            data-testid="editor-tab-close"
                            aria-label="Close tab"
                            on:click=move |ev| {
                                ev.stop_propagation();
                                state.close_tab(close_path.clone(), false);
                            }
                        >"×"</button>
                    </div>
                }
            })
            .collect_view()
    };
    let has_tabs = move || state.tabs.with(|t| !t.tabs.is_empty());

    view! {
        <div
            class="editor"
            data-testid="editor"
            data-ready=move || state.ready.get().to_string()
            data-dirty=move || state.tabs.with(Tabs::any_dirty).to_string()
            node_ref=root
        >
            <div class="editor-bar">
                <div class="editor-tabs" role="tablist">{tab_view}</div>
                <div class="editor-actions">
                    <button data-testid="editor-open" title="Open a file (Ctrl+P)" on:click=move |_| state.quick_open.set(true)>"Open…"</button>
                    <button data-testid="editor-save" title="Save (Ctrl+S)" disabled=move || !has_tabs() on:click=move |_| state.save_active()>"Save"</button>
                    <button data-testid="editor-run" title="Run (Ctrl+Enter)" disabled=move || !has_tabs() on:click=move |_| runner::run_active(state)>"Run"</button>
                    <button data-testid="editor-ai-toggle" aria-pressed=move || show_ai.get().to_string() on:click=move |_| show_ai.update(|v| *v = !*v)>"AI"</button>
                </div>
            </div>
            <div class="editor-body">
                <div class="editor-main">
                    <div class="editor-monaco" data-testid="editor-monaco" class:hidden=move || !has_tabs() node_ref=monaco_el></div>
                    {move || (!has_tabs()).then(|| view! {
                        <p class="editor-empty">
                            {move || if state.ready.get() { "Open a file: Ctrl+P, or Edit in the Files app." } else { "Loading the editor…" }}
                        </p>
                    })}
                    <ai::diff::ProposalDiff state />
                    <OutputPanel state />
                </div>
                {move || show_ai.get().then(|| view! { <AiPanel state chat /> })}
            </div>
            <p class="editor-status" data-testid="editor-status">{move || state.status.get()}</p>
            <quick_open::QuickOpen state />
            <ConfirmClose state />
        </div>
    }
}

