//! The Files app: this tab's VFS as a folder tree and a list, with create, rename (F2), delete
//! (with confirmation), drag-and-drop moves, uploads (button or files dropped on the window),
//! downloads, a read-only viewer for Open, and export/import of the whole tree as a `.zip`.
//!
//! It calls the [`VfsProxy`] directly and re-reads the tree whenever the proxy's revision moves
//! (a change here, in another window, or through the bus). Failures show in the status line
//! with the VFS's own sentence. Pure helpers live in `format`, browser glue in `transfer`, the
//! panes in `tree`, `list` and `viewer`.
//!
//! DOM contract for tests: entries `[data-testid=vfs-entry][data-path][data-kind]` (the list),
//! `[data-testid=vfs-tree-entry][data-path]` (the tree), buttons `files-new-file`,
//! `files-new-folder`, `files-upload`, `files-export`, `files-import`, `files-open`,
//! `files-edit` (opens the file in the Editor), `files-rename`, `files-delete`, `files-download`; `[data-testid=files-rename-input]`,
//! `[data-testid=confirm-delete]` with `confirm-delete-yes|no`, `[data-testid=files-viewer]`
//! with `files-viewer-text`, `[data-testid=files-status]`, `[data-testid=files-cwd]`.

mod format;
mod list;
mod transfer;
mod tree;
mod viewer;

use std::future::Future;

use aether_shared::vfs::path::{file_name, is_within, parent};
use aether_shared::vfs::{Entry, EntryKind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::AppMeta;
use crate::services::vfs::{EXPORT_FILE_NAME, VfsError, VfsProxy, as_text};
use crate::shell::geometry::Size;
use crate::shell::windows::WindowManager;
use format::{children, crumbs, drop_target, fresh_name, join};
use list::EntryList;
use tree::FolderTree;
use viewer::{Viewed, Viewer};

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "files",
    title: "Files",
    icon: "M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2h8.5A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5Z",
    default_size: Size {
        width: 760.0,
        height: 460.0,
    },
    min_size: Size {
        width: 420.0,
        height: 260.0,
    },
    multi_instance: true,
    render,
};

fn render() -> AnyView {
    view! { <Files /> }.into_any()
}

/// The drag payload type of an entry dragged inside the app.
const DRAG_TYPE: &str = "application/x-aether-path";

/// The app's state: plain signals, `Copy`, shared by the panes.
#[derive(Clone, Copy)]
struct FilesState {
    vfs: StoredValue<VfsProxy>,
    /// Every entry, in path order.
    all: RwSignal<Vec<Entry>>,
    /// The folder the list shows.
    cwd: RwSignal<String>,
    selected: RwSignal<Option<String>>,
    renaming: RwSignal<Option<String>>,
    confirming: RwSignal<Option<String>>,
    viewing: RwSignal<Option<Viewed>>,
    status: RwSignal<Option<String>>,
}

impl FilesState {
    fn vfs(self) -> VfsProxy {
        self.vfs.get_value()
    }

    /// Runs an action in the background; its failure goes to the status line.
    fn run(self, action: impl Future<Output = Result<(), VfsError>> + 'static) {
        self.status.set(None);
        spawn_local(async move {
            if let Err(e) = action.await {
                let _ = self.status.try_set(Some(e.to_string()));
            }
        });
    }

    /// The names inside the current folder.
    fn names_in_cwd(self) -> Vec<String> {
        let cwd = self.cwd.get_untracked();
        self.all
            .with_untracked(|all| children(all, &cwd).map(|e| e.name.clone()).collect())
    }

    fn entry(self, path: &str) -> Option<Entry> {
        self.all
            .with_untracked(|all| all.iter().find(|e| e.path == path).cloned())
    }

    fn new_entry(self, kind: EntryKind) {
        let names = self.names_in_cwd();
        let taken: Vec<&str> = names.iter().map(String::as_str).collect();
        let base = match kind {
            EntryKind::File => "untitled.txt",
            EntryKind::Dir => "New folder",
        };
        let path = join(&self.cwd.get_untracked(), &fresh_name(&taken, base));
        let vfs = self.vfs();
        self.run(async move {
            match kind {
                EntryKind::File => vfs.write(&path, b"").await.map(drop)?,
                EntryKind::Dir => vfs.mkdir(&path).await?,
            }
            self.selected.set(Some(path.clone()));
            self.renaming.set(Some(path));
            Ok(())
        });
    }

    fn commit_rename(self, path: String, name: String) {
        self.renaming.set(None);
        let name = name.trim().to_owned();
        if name.is_empty() || name == file_name(&path) {
            return;
        }
        let dir = parent(&path).unwrap_or("/").to_owned();
        let target = join(&dir, &name);
        self.move_entry(path, target);
    }

    fn move_entry(self, from: String, to: String) {
        let vfs = self.vfs();
        self.run(async move {
            vfs.rename(&from, &to).await?;
            self.selected.set(Some(to.clone()));
            self.follow_move(&from, &to);
            Ok(())
        });
    }

    /// Keeps the current folder and the viewer pointing at what moved.
    fn follow_move(self, from: &str, to: &str) {
        let moved = |path: &str| format!("{to}{}", &path[from.len()..]);
        let cwd = self.cwd.get_untracked();
        if is_within(&cwd, from) && cwd != "/" {
            self.cwd.set(moved(&cwd));
        }
        self.viewing.update(|v| {
            if let Some(v) = v
                && is_within(&v.path, from)
            {
                v.path = moved(&v.path);
            }
        });
    }

    fn drop_onto(self, path: String, dir: &str) {
        if let Some(target) = drop_target(&path, dir) {
            self.move_entry(path, target);
        }
    }

    fn delete(self, path: String) {
        self.confirming.set(None);
        let vfs = self.vfs();
        self.run(async move {
            vfs.delete(&path, true).await?;
            self.selected.set(None);
            if is_within(&self.cwd.get_untracked(), &path) {
                self.cwd.set(parent(&path).unwrap_or("/").to_owned());
            }
            self.viewing.update(|v| {
                if v.as_ref().is_some_and(|v| is_within(&v.path, &path)) {
                    *v = None;
                }
            });
            Ok(())
        });
    }

    fn open(self, path: String) {
        match self.entry(&path).map(|e| e.kind) {
            Some(EntryKind::Dir) => {
                self.cwd.set(path);
                self.selected.set(None);
            }
            Some(EntryKind::File) => {
                let vfs = self.vfs();
                self.run(async move {
                    let file = vfs.read(&path).await?;
                    transfer::announce_open(&path, vfs.session_id());
                    self.viewing.set(Some(Viewed {
                        path,
                        size: file.entry.size,
                        text: as_text(&file.bytes).map(str::to_owned),
                    }));
                    Ok(())
                });
            }
            None => {}
        }
    }

    fn download(self, path: String) {
        let vfs = self.vfs();
        self.run(async move {
            let file = vfs.read(&path).await?;
            transfer::download(&file.entry.name, &file.bytes, "application/octet-stream")
                .map_err(|e| VfsError::Store(format!("the download failed: {e:?}")))
        });
    }

    fn upload(self, list: Option<web_sys::FileList>, dir: String) {
        let files = transfer::take_files(list);
        let vfs = self.vfs();
        self.run(async move {
            for (name, bytes) in transfer::read_files(files).await {
                let bytes = bytes.map_err(|e| {
                    VfsError::Store(format!("the browser could not read `{name}` ({e})"))
                })?;
                vfs.write(&join(&dir, &name), &bytes).await?;
            }
            Ok(())
        });
    }

    fn export(self) {
        let vfs = self.vfs();
        self.run(async move {
            let zip = vfs.export_zip().await?;
            transfer::download(EXPORT_FILE_NAME, &zip, "application/zip")
                .map_err(|e| VfsError::Store(format!("the download failed: {e:?}")))
        });
    }

    fn import(self, list: Option<web_sys::FileList>) {
        let files = transfer::take_files(list);
        let vfs = self.vfs();
        self.run(async move {
            for (name, bytes) in transfer::read_files(files).await {
                let bytes = bytes.map_err(|e| {
                    VfsError::Store(format!("the browser could not read `{name}` ({e})"))
                })?;
                let count = vfs.import_zip(&bytes).await?;
                self.status
                    .set(Some(format!("Imported {count} entries from {name}.")));
            }
            Ok(())
        });
    }

    /// Handles a drop on `dir`: an entry dragged inside the app moves, files from the computer
    /// are uploaded.
    fn handle_drop(self, ev: &web_sys::DragEvent, dir: String) {
        let Some(data) = ev.data_transfer() else {
            return;
        };
        ev.prevent_default();
        ev.stop_propagation();
        match data.get_data(DRAG_TYPE).ok().filter(|p| !p.is_empty()) {
            Some(path) => self.drop_onto(path, &dir),
            None => self.upload(data.files(), dir),
        }
    }
}

/// Lets a drop happen on the element (the browser refuses drops by default).
fn allow_drop(ev: &web_sys::DragEvent) {
    ev.prevent_default();
}

/// The Files window's content.
#[component]
pub fn Files() -> impl IntoView {
    let vfs = expect_context::<VfsProxy>();
    let wm = use_context::<WindowManager>();
    let state = FilesState {
        vfs: StoredValue::new(vfs.clone()),
        all: RwSignal::new(Vec::new()),
        cwd: RwSignal::new("/".to_owned()),
        selected: RwSignal::new(None),
        renaming: RwSignal::new(None),
        confirming: RwSignal::new(None),
        viewing: RwSignal::new(None),
        status: RwSignal::new(None),
    };
    // Re-read the tree whenever the VFS changes; a stale answer is dropped.
    Effect::new(move |_| {
        let revision = state.vfs().revision();
        let vfs = state.vfs();
        spawn_local(async move {
            let result = vfs.walk().await;
            if vfs.revision_untracked() != revision {
                return;
            }
            match result {
                Ok(all) => {
                    let _ = state.all.try_set(all);
                }
                Err(VfsError::NotReady) => {}
                Err(e) => {
                    let _ = state.status.try_set(Some(e.to_string()));
                }
            }
        });
    });
    // A folder that disappeared (deleted elsewhere) sends the list back to the root.
    Effect::new(move |_| {
        let cwd = state.cwd.get();
        let gone = cwd != "/" && state.all.with(|all| !all.iter().any(|e| e.path == cwd));
        if gone && state.vfs().is_ready() && !state.all.with(Vec::is_empty) {
            state.cwd.set("/".to_owned());
        }
    });

    let upload_input = NodeRef::<leptos::html::Input>::new();
    let import_input = NodeRef::<leptos::html::Input>::new();
    let has_selection = move || state.selected.with(Option::is_some);
    let selected_is_file = move || {
        state
            .selected
            .get()
            .and_then(|p| state.entry(&p))
            .is_some_and(|e| e.kind == EntryKind::File)
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if state.renaming.with_untracked(Option::is_some) {
            return;
        }
        let selected = state.selected.get_untracked();
        match (ev.key().as_str(), selected) {
            ("F2", Some(path)) => {
                ev.prevent_default();
                state.renaming.set(Some(path));
            }
            ("Delete", Some(path)) => {
                ev.prevent_default();
                state.confirming.set(Some(path));
            }
            ("Enter", Some(path)) => state.open(path),
            ("Escape", _) => {
                state.confirming.set(None);
            }
            _ => {}
        }
    };
    let crumb_view = move || {
        crumbs(&state.cwd.get())
            .into_iter()
            .map(|(name, path)| {
                let target = path.clone();
                let drop_dir = path.clone();
                view! {
                    <button
                        class="files-crumb"
                        on:click=move |_| state.cwd.set(target.clone())
                        on:dragover=move |ev| allow_drop(&ev)
                        on:drop=move |ev| state.handle_drop(&ev, drop_dir.clone())
                    >
                        {name}
                    </button>
                }
            })
            .collect_view()
    };

    view! {
        <div
            class="files"
            data-testid="files"
            tabindex="0"
            on:keydown=on_key
            on:dragover=move |ev| allow_drop(&ev)
            on:drop=move |ev| state.handle_drop(&ev, state.cwd.get_untracked())
        >
            <div class="files-toolbar" role="toolbar" aria-label="Files">
                <button data-testid="files-new-file" title="New file" on:click=move |_| state.new_entry(EntryKind::File)>
                    "New file"
                </button>
                <button data-testid="files-new-folder" title="New folder" on:click=move |_| state.new_entry(EntryKind::Dir)>
                    "New folder"
                </button>
                <button
                    data-testid="files-upload"
                    title="Upload files from this computer into the current folder"
                    on:click=move |_| {
                        if let Some(input) = upload_input.get() {
                            input.click();
                        }
                    }
                >
                    "Upload"
                </button>
                <span class="files-toolbar-gap"></span>
                <button data-testid="files-open" disabled=move || !has_selection() on:click=move |_| {
                    if let Some(path) = state.selected.get_untracked() {
                        state.open(path);
                    }
                }>
                    "Open"
                </button>
                <button
                    data-testid="files-edit"
                    title="Open the file in the Editor"
                    disabled=move || !state.selected.get().and_then(|p| state.entry(&p)).is_some_and(|e| e.kind == EntryKind::File)
                    on:click=move |_| {
                        if let (Some(path), Some(wm)) = (state.selected.get_untracked(), wm) {
                            crate::apps::editor::open_in_editor(&wm, &path);
                        }
                    }
                >
                    "Edit"
                </button>
                <button data-testid="files-rename" title="Rename (F2)" disabled=move || !has_selection() on:click=move |_| {
                    state.renaming.set(state.selected.get_untracked());
                }>
                    "Rename"
                </button>
                <button data-testid="files-delete" title="Delete (Del)" disabled=move || !has_selection() on:click=move |_| {
                    state.confirming.set(state.selected.get_untracked());
                }>
                    "Delete"
                </button>
                <button data-testid="files-download" disabled=move || !selected_is_file() on:click=move |_| {
                    if let Some(path) = state.selected.get_untracked() {
                        state.download(path);
                    }
                }>
                    "Download"
                </button>
                <span class="files-toolbar-gap"></span>
                <button data-testid="files-export" title="Download every file as a .zip" on:click=move |_| state.export()>
                    "Export"
                </button>
                <button
                    data-testid="files-import"
                    title="Add the files of a .zip (files with the same path are replaced)"
                    on:click=move |_| {
                        if let Some(input) = import_input.get() {
                            input.click();
                        }
                    }
                >
                    "Import"
                </button>
                <input
                    type="file"
                    multiple
                    hidden
                    data-testid="files-upload-input"
                    node_ref=upload_input
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        state.upload(input.files(), state.cwd.get_untracked());
                        input.set_value("");
                    }
                />
                <input
                    type="file"
                    accept=".zip,application/zip"
                    hidden
                    data-testid="files-import-input"
                    node_ref=import_input
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        state.import(input.files());
                        input.set_value("");
                    }
                />
            </div>
            <nav class="files-crumbs" data-testid="files-cwd" data-path=move || state.cwd.get()>
                {crumb_view}
            </nav>
            <div class="files-body">
                <FolderTree state />
                <EntryList state />
                <Viewer state />
            </div>
            <Show when=move || state.confirming.with(Option::is_some)>
                <div class="files-confirm" data-testid="confirm-delete" role="alertdialog" aria-label="Confirm delete">
                    <p>
                        "Delete "
                        <strong>{move || state.confirming.get().unwrap_or_default()}</strong>
                        {move || {
                            let folder = state
                                .confirming
                                .get()
                                .and_then(|p| state.entry(&p))
                                .is_some_and(|e| e.kind == EntryKind::Dir);
                            if folder { " and everything in it?" } else { "?" }
                        }}
                    </p>
                    <div class="files-confirm-actions">
                        <button data-testid="confirm-delete-no" on:click=move |_| state.confirming.set(None)>
                            "Cancel"
                        </button>
                        <button
                            class="danger"
                            data-testid="confirm-delete-yes"
                            on:click=move |_| {
                                if let Some(path) = state.confirming.get_untracked() {
                                    state.delete(path);
                                }
                            }
                        >
                            "Delete"
                        </button>
                    </div>
                </div>
            </Show>
            <p class="files-status" data-testid="files-status" role="status">
                {move || state.status.get().unwrap_or_default()}
            </p>
        </div>
    }
}
