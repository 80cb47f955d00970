//! The Editor app: files of this tab's VFS in Monaco, one tab per file, with save (Ctrl+S),
//! quick open (Ctrl+P), Run (Ctrl+Enter) for `.wat`/`.wasm` with an output panel and compile
//! errors as markers, and an AI panel (chat, Explain selection, Fix this, Write a test, inline
//! completion, edits as a diff to accept or reject).
//!
//! Monaco is loaded when the first Editor window opens (`services::monaco::load`), never with
//! the desktop. Dirty tabs are marked; closing one asks first; unsaved buffers are kept as
//! drafts in `sessionStorage` ([`drafts`]) and come back with their tabs after a reload or when
//! the window is opened again, so closing the window loses nothing. The
//! Files app opens files here through [`open_in_editor`]. Pure rules live in `tabs`,
//! `language`, `output`, `prompts`, `quick_open` and `drafts`; Monaco glue in `host`.
//!
//! DOM contract for tests: `[data-testid=editor][data-ready]`, `[data-testid=editor-monaco]`,
//! tabs `[data-testid=editor-tab][data-path][data-dirty][data-active]` with
//! `editor-tab-close`, buttons `editor-save`, `editor-run`, `editor-open`, `editor-ai-toggle`,
//! `[data-testid=editor-status]`, `[data-testid=editor-output][data-state]` with
//! `editor-output-text` and `editor-output-status`, `[data-testid=editor-confirm-close]` with
//! `editor-close-save|discard|cancel`, and the AI panel's (see `ai::panel`, `ai::diff`).

mod ai;
mod drafts;
mod host;
mod language;
mod output;
mod prompts;
mod quick_open;
mod runner;
mod tabs;

use std::cell::{Cell, RefCell};
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
use crate::services::vfs::{VfsProxy, as_text};
use crate::shell::geometry::Size;
use crate::shell::windows::{WindowId, WindowManager};
use ai::Proposal;
use ai::client::AiClient;
use ai::panel::{AiPanel, Chat};
use host::Host;
use output::RunOutput;
use prompts::FileContext;
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
    render,
};

fn render() -> AnyView {
    view! { <Editor /> }.into_any()
}

/// The DOM event that tells a mounted Editor to take the queued files.
const OPEN_EVENT: &str = "aether:editor-open";

thread_local! {
    /// Files asked for before (or while) the Editor window mounts.
    static QUEUE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Opens `path` in the Editor: opens (or focuses) its window and queues the file for it.
pub fn open_in_editor(wm: &WindowManager, path: &str) {
    QUEUE.with(|q| q.borrow_mut().push(path.to_owned()));
    wm.open(&META);
    if let Some(window) = web_sys::window()
        && let Ok(event) = web_sys::Event::new(OPEN_EVENT)
    {
        let _ = window.dispatch_event(&event);
    }
}

fn take_queue() -> Vec<String> {
    QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()))
}

/// The window's state: signals and handles, `Copy`, shared by its parts.
#[derive(Clone, Copy)]
pub struct EditorState {
    pub window: u32,
    pub tabs: RwSignal<Tabs>,
    pub output: RwSignal<Option<RunOutput>>,
    pub proposal: RwSignal<Option<Proposal>>,
    pub status: RwSignal<Option<String>>,
    pub quick_open: RwSignal<bool>,
    pub confirm_close: RwSignal<Option<String>>,
    /// True once Monaco is loaded and the editor exists.
    pub ready: RwSignal<bool>,
    host: StoredValue<Rc<RefCell<Option<Host>>>, LocalStorage>,
    ai: StoredValue<AiClient, LocalStorage>,
    bus: StoredValue<BusClient, LocalStorage>,
    vfs: StoredValue<VfsProxy, LocalStorage>,
    runs: StoredValue<Rc<Cell<u32>>, LocalStorage>,
}

impl EditorState {
    fn new(window: u32, bus: BusClient, vfs: VfsProxy) -> EditorState {
        EditorState {
            window,
            tabs: RwSignal::new(Tabs::default()),
            output: RwSignal::new(None),
            proposal: RwSignal::new(None),
            status: RwSignal::new(None),
            quick_open: RwSignal::new(false),
            confirm_close: RwSignal::new(None),
            ready: RwSignal::new(false),
            host: StoredValue::new_local(Rc::default()),
            ai: StoredValue::new_local(AiClient::new(bus.clone(), window)),
            bus: StoredValue::new_local(bus),
            vfs: StoredValue::new_local(vfs),
            runs: StoredValue::new_local(Rc::default()),
        }
    }

    pub fn ai(self) -> AiClient {
        self.ai.get_value()
    }

    pub fn bus(self) -> BusClient {
        self.bus.get_value()
    }

    pub fn vfs(self) -> VfsProxy {
        self.vfs.get_value()
    }

    /// A fresh run number.
    pub fn next_run(self) -> u32 {
        let runs = self.runs.get_value();
        runs.set(runs.get() + 1);
        runs.get()
    }

    /// Calls `f` with the Monaco host, once it exists.
    pub fn with_host<T>(self, f: impl FnOnce(&Host) -> T) -> Option<T> {
        let host = self.host.try_get_value()?;
        let host = host.borrow();
        host.as_ref().map(f)
    }

    /// The file in front, its buffer and selection (what the AI sees).
    pub fn file_context(self) -> Option<FileContext> {
        let path = self.tabs.with_untracked(|t| t.active.clone())?;
        let language = self.tabs.with_untracked(|t| t.get(&path).map(|t| t.language))?;
        let (text, selection) = self.with_host(|h| (h.value(&path), h.selection()))?;
        Some(FileContext {
            path,
            language: language.to_owned(),
            text: text?,
            selection,
        })
    }

    /// The last run's stderr (and the kernel's error), for "Fix this".
    pub fn last_stderr(self) -> String {
        self.output
            .with_untracked(|o| o.as_ref().map(RunOutput::stderr))
            .unwrap_or_default()
    }

    /// Applies an accepted proposal to its buffer (the tab becomes dirty; saving is the user's).
    pub fn accept(self, proposal: Proposal) {
        self.proposal.set(None);
        self.open(proposal.path.clone());
        self.with_host(|h| h.set_value(&proposal.path, &proposal.proposed));
    }

    /// Opens `path` in a tab (reading it from the VFS the first time) and brings it forward.
    pub fn open(self, path: String) {
        if self.tabs.with_untracked(|t| t.get(&path).is_some()) {
            self.activate(&path);
            return;
        }
        let vfs = self.vfs();
        spawn_local(async move {
            match vfs.read(&path).await {
                Ok(file) => match as_text(&file.bytes) {
                    Some(text) => self.add_tab(&path, text.to_owned(), None),
                    None if language::is_runnable(&path) => {
                        self.add_binary_tab(&path, file.bytes.len());
                    }
                    None => {
                        self.status.try_set(Some(format!(
                            "{path} is a binary file; the Editor opens text (download it from Files)."
                        )));
                    }
                },
                Err(e) => {
                    self.status.try_set(Some(e.to_string()));
                }
            }
        });
    }

    fn add_tab(self, path: &str, saved: String, draft: Option<String>) {
        let buffer = draft.unwrap_or_else(|| saved.clone());
        let language = language::of_path(path);
        self.with_host(|h| {
            h.show(path, &buffer, language);
            h.set_read_only(false);
        });
        self.tabs.try_update(|t| t.open(path, saved, &buffer));
        self.status.try_set(None);
        self.persist();
        self.focus_soon();
    }

    /// Focuses the editor once the DOM shows it (it is hidden while no tab is open).
    fn focus_soon(self) {
        request_animation_frame(move || {
            self.with_host(Host::focus);
        });
    }

    /// A `.wasm` file: a read-only note in its tab, and Run executes it.
    fn add_binary_tab(self, path: &str, bytes: usize) {
        let note = format!(
            ";; {path}: a binary WebAssembly module of {bytes} bytes.\n;; Run (Ctrl+Enter) executes it; the Editor does not edit binary files.\n"
        );
        self.with_host(|h| {
            h.show(path, &note, "wat");
            h.set_read_only(true);
        });
        self.tabs.try_update(|t| t.open_read_only(path, note));
        self.status.try_set(None);
        self.persist();
        self.focus_soon();
    }

    fn activate(self, path: &str) {
        let Some((language, read_only)) = self
            .tabs
            .with_untracked(|t| t.get(path).map(|t| (t.language, t.read_only)))
        else {
            return;
        };
        self.with_host(|h| {
            h.show(path, "", language);
            h.set_read_only(read_only);
        });
        self.tabs.update(|t| t.active = Some(path.to_owned()));
        self.persist();
        self.focus_soon();
    }

    /// A buffer changed (a keystroke, an accepted edit).
    fn edited(self, path: &str) {
        if let Some(Some(text)) = self.with_host(|h| h.value(path)) {
            self.tabs.try_update(|t| t.edited(path, &text));
            self.persist();
        }
    }

    /// Saves the file in front to the VFS.
    pub fn save_active(self) {
        if let Some(path) = self.tabs.with_untracked(|t| t.active.clone()) {
            self.save(path, false);
        }
    }

    fn save(self, path: String, then_close: bool) {
        if self.tabs.with_untracked(|t| t.get(&path).is_some_and(|t| t.read_only)) {
            self.status.set(Some(format!("{path} is a binary file; there is nothing to save.")));
            return;
        }
        let Some(Some(text)) = self.with_host(|h| h.value(&path)) else {
            return;
        };
        let vfs = self.vfs();
        spawn_local(async move {
            match vfs.write(&path, text.as_bytes()).await {
                Ok(_) => {
                    self.tabs.try_update(|t| t.saved(&path, text));
                    self.status.try_set(Some(format!("Saved {path}")));
                    if then_close {
                        self.close_tab(path, true);
                    } else {
                        self.persist();
                    }
                }
                Err(e) => {
                    self.status.try_set(Some(format!("Not saved: {e}")));
                }
            }
        });
    }

    /// Closes `path`'s tab; with unsaved changes and not `force`, asks first.
    pub fn close_tab(self, path: String, force: bool) {
        let dirty = self.tabs.with_untracked(|t| t.get(&path).is_some_and(|t| t.dirty));
        if dirty && !force {
            self.confirm_close.set(Some(path));
            return;
        }
        self.confirm_close.set(None);
        self.tabs.update(|t| t.close(&path));
        self.with_host(|h| h.close(&path));
        match self.tabs.with_untracked(|t| t.active.clone()) {
            Some(next) => self.activate(&next),
            None => {
                self.with_host(Host::show_none);
            }
        }
        self.persist();
    }

    /// Writes the open tabs and the unsaved buffers to the window's session.
    fn persist(self) {
        let Some(session) = self.with_host(|h| {
            self.tabs.with_untracked(|t| drafts::Session {
                open: t.paths(),
                active: t.active.clone(),
                drafts: t
                    .tabs
                    .iter()
                    .filter(|tab| tab.dirty)
                    .filter_map(|tab| h.value(&tab.path).map(|v| (tab.path.clone(), v)))
                    .collect(),
            })
        }) else {
            return;
        };
        drafts::save(&session);
    }

    /// Reopens the tabs of the last session (drafts included), then the queued files.
    async fn restore(self) {
        let vfs = self.vfs();
        while !vfs.is_ready() && vfs.failure().is_none() {
            gloo_timers::future::TimeoutFuture::new(30).await;
        }
        let session = drafts::load();
        for path in &session.open {
            let file = vfs.read(path).await.ok();
            if let Some(file) = &file
                && as_text(&file.bytes).is_none()
                && language::is_runnable(path)
            {
                self.add_binary_tab(path, file.bytes.len());
                continue;
            }
            let saved = file.and_then(|f| as_text(&f.bytes).map(str::to_owned));
            let draft = session.drafts.get(path).cloned();
            match (saved, draft) {
                (Some(saved), draft) => self.add_tab(path, saved, draft),
                (None, Some(draft)) => self.add_tab(path, String::new(), Some(draft)),
                (None, None) => {}
            }
        }
        if let Some(active) = session.active
            && self.tabs.with_untracked(|t| t.get(&active).is_some())
        {
            self.activate(&active);
        }
        for path in take_queue() {
            self.open(path);
        }
    }
}

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
    *state.host.get_value().borrow_mut() = Some(host);
    state.ready.set(true);
}

/// Ctrl+S, Ctrl+Enter and Ctrl+P, caught before Monaco and the browser see them.
fn on_shortcut(state: EditorState, ev: &web_sys::KeyboardEvent) {
    if !(ev.ctrl_key() || ev.meta_key()) || ev.alt_key() {
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
    let window = use_context::<WindowId>().map_or(0, |w| w.0);
    let state = EditorState::new(window, bus.clone(), vfs);
    let chat = Chat::new();
    let show_ai = RwSignal::new(true);
    let quiet = Rc::new(Cell::new(false));

    let vm_listener = runner::listen(state);
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
    // Files asked for while the window is open.
    let wake = Closure::<dyn Fn()>::new(move || {
        if state.ready.get_untracked() {
            for path in take_queue() {
                state.open(path);
            }
        }
    })
    .into_js_value();
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback(OPEN_EVENT, wake.unchecked_ref());
    }
    let wake = send_wrapper::SendWrapper::new(wake);
    on_cleanup(move || {
        if let Some(w) = web_sys::window() {
            let _ = w.remove_event_listener_with_callback(OPEN_EVENT, wake.unchecked_ref());
        }
        bus.off(vm_listener);
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

/// The output of the last run.
#[component]
fn OutputPanel(state: EditorState) -> impl IntoView {
    move || {
        state.output.get().map(|out| {
            let chunks = out
                .chunks
                .iter()
                .map(|(err, text)| view! { <span class:stderr=*err>{text.clone()}</span> })
                .collect_view();
            view! {
                <section class="editor-output" data-testid="editor-output" data-state=out.state_name() aria-label="Output">
                    <header class="editor-output-head">
                        <span>{format!("Run {}", out.path)}</span>
                        <span data-testid="editor-output-status">{out.status()}</span>
                        <button aria-label="Close output" on:click=move |_| state.output.set(None)>"×"</button>
                    </header>
                    <pre class="editor-output-text" data-testid="editor-output-text">{chunks}</pre>
                </section>
            }
        })
    }
}

/// "Unsaved changes" before a dirty tab closes.
#[component]
fn ConfirmClose(state: EditorState) -> impl IntoView {
    move || {
        state.confirm_close.get().map(|path| {
            let (save, discard) = (path.clone(), path.clone());
            view! {
                <div class="editor-confirm" role="alertdialog" data-testid="editor-confirm-close">
                    <p>{format!("{} has unsaved changes.", file_name(&path))}</p>
                    <button class="primary" data-testid="editor-close-save" on:click=move |_| state.save(save.clone(), true)>"Save"</button>
                    <button data-testid="editor-close-discard" on:click=move |_| state.close_tab(discard.clone(), true)>"Discard"</button>
                    <button data-testid="editor-close-cancel" on:click=move |_| state.confirm_close.set(None)>"Cancel"</button>
                </div>
            }
        })
    }
}
