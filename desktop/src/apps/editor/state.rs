//! [`EditorState`]: the Editor window's signals and handles, and what the window does with
//! files — open (from the VFS, or a `.wasm` as a read-only note), show, edit, save, close (asking
//! first when dirty), keep the session's drafts, and restore them after a reload. `Copy`, shared
//! by the window's parts; the Monaco side is in [`super::host`], the rules in [`super::tabs`].

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ai::Proposal;
use super::ai::client::AiClient;
use super::drafts;
use super::host::{Caret, Host};
use super::language;
use super::output::RunOutput;
use super::prompts::FileContext;
use super::tabs::Tabs;
use crate::services::bus::{BusClient, StreamHandle};
use crate::services::vfs::{VfsProxy, as_text};

/// The window's state: signals and handles, `Copy`, shared by its parts.
#[derive(Clone, Copy)]
pub struct EditorState {
    pub tabs: RwSignal<Tabs>,
    pub output: RwSignal<Option<RunOutput>>,
    pub proposal: RwSignal<Option<Proposal>>,
    pub status: RwSignal<Option<String>>,
    pub quick_open: RwSignal<bool>,
    pub confirm_close: RwSignal<Option<String>>,
    /// True once Monaco is loaded and the editor exists.
    pub ready: RwSignal<bool>,
    /// True once the last session's tabs are back (files asked for by other apps open then).
    pub restored: RwSignal<bool>,
    pub(super) host: StoredValue<Rc<RefCell<Option<Host>>>, LocalStorage>,
    pub(super) ai: StoredValue<AiClient, LocalStorage>,
    bus: StoredValue<BusClient, LocalStorage>,
    vfs: StoredValue<VfsProxy, LocalStorage>,
    /// The stream of the latest run (dropping it ends the run's events).
    run: StoredValue<Option<StreamHandle>, LocalStorage>,
}

impl EditorState {
    pub(super) fn new(bus: BusClient, vfs: VfsProxy) -> EditorState {
        EditorState {
            tabs: RwSignal::new(Tabs::default()),
            output: RwSignal::new(None),
            proposal: RwSignal::new(None),
            status: RwSignal::new(None),
            quick_open: RwSignal::new(false),
            confirm_close: RwSignal::new(None),
            ready: RwSignal::new(false),
            restored: RwSignal::new(false),
            host: StoredValue::new_local(Rc::default()),
            ai: StoredValue::new_local(AiClient::new(bus.clone())),
            bus: StoredValue::new_local(bus),
            vfs: StoredValue::new_local(vfs),
            run: StoredValue::new_local(None),
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

    /// Keeps the stream of the run just started (the previous run's events stop).
    pub fn keep_run(self, stream: StreamHandle) {
        self.run.try_set_value(Some(stream));
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
        let language = self
            .tabs
            .with_untracked(|t| t.get(&path).map(|t| t.language))?;
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
        self.open_at(path, None);
    }

    /// Opens `path` like [`Self::open`], then puts the caret at `caret` (when given) with its
    /// line in the middle of the view.
    pub fn open_at(self, path: String, caret: Option<Caret>) {
        // Once the DOM shows the editor (it is hidden while no tab is open), so Monaco has a
        // height to centre the line in.
        let reveal = move || {
            if let Some(caret) = caret {
                request_animation_frame(move || {
                    self.with_host(|h| h.reveal(caret));
                });
            }
        };
        if self.tabs.with_untracked(|t| t.get(&path).is_some()) {
            self.activate(&path);
            reveal();
            return;
        }
        let vfs = self.vfs();
        spawn_local(async move {
            match vfs.read(&path).await {
                Ok(file) => match as_text(&file.bytes) {
                    Some(text) => {
                        self.add_tab(&path, text.to_owned(), None);
                        reveal();
                    }
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

    pub(super) fn activate(self, path: &str) {
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
    pub(super) fn edited(self, path: &str) {
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

    pub(super) fn save(self, path: String, then_close: bool) {
        if self
            .tabs
            .with_untracked(|t| t.get(&path).is_some_and(|t| t.read_only))
        {
            self.status.set(Some(format!(
                "{path} is a binary file; there is nothing to save."
            )));
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
        let dirty = self
            .tabs
            .with_untracked(|t| t.get(&path).is_some_and(|t| t.dirty));
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

    /// Reopens the tabs of the last session (drafts included); then the window takes the files
    /// other apps asked for.
    pub(super) async fn restore(self) {
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
        self.restored.try_set(true);
    }
}
