//! The Files app: this tab's VFS as a folder tree and a list, with create, rename (F2), delete
//! (with confirmation), drag-and-drop moves, uploads (button or files dropped on the window),
//! downloads, a read-only viewer for Open, and export/import of the whole tree as a `.zip`.
//!
//! It calls the [`VfsProxy`] directly and re-reads the tree whenever the proxy's revision moves
//! (a change here, in another window, or through the bus). Failures show in the status line
//! with the VFS's own sentence. The state and its actions live in `state`, pure helpers in
//! `format`, browser glue in `transfer`, the
//! toolbar in `toolbar` (Edit and Run task hand the file to the Editor and Tasks apps as
//! intents), the panes in `tree`, `list` and `viewer`. The palette's "Export files" reaches the
//! window in front as `Intent::Command`.
//!
//! DOM contract for tests: entries `[data-testid=vfs-entry][data-path][data-kind]` (the list),
//! `[data-testid=vfs-tree-entry][data-path]` (the tree), buttons `files-new-file`,
//! `files-new-folder`, `files-upload`, `files-export`, `files-import`, `files-open`,
//! `files-edit` (opens the file in the Editor), `files-run-task` (runs a `.task.yaml|yml|json`
//! in Tasks), `files-rename`, `files-delete`, `files-download`; `[data-testid=files-rename-input]`,
//! `[data-testid=confirm-delete]` with `confirm-delete-yes|no`, `[data-testid=files-viewer]`
//! with `files-viewer-text`, `[data-testid=files-status]`, `[data-testid=files-cwd]`.

pub(crate) mod format;
mod list;
mod state;
mod toolbar;
mod transfer;
mod tree;
mod viewer;

use aether_shared::vfs::EntryKind;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{AppCommand, AppMeta};
use crate::services::vfs::{VfsError, VfsProxy};
use crate::shell::geometry::Size;
use crate::shell::intents::{Intent, receive_intents};
use format::crumbs;
use list::EntryList;
use state::{DRAG_TYPE, FilesState, allow_drop};
use toolbar::Toolbar;
use tree::FolderTree;
use viewer::Viewer;

/// The palette command that downloads every file as a `.zip` (as the Export button).
const EXPORT: &str = "export";

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
    commands: &[AppCommand::new(EXPORT, "Export files (.zip)")],
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(files, view! { <Files /> });

/// The Files window's content.
#[component]
pub fn Files() -> impl IntoView {
    let vfs = expect_context::<VfsProxy>();
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
    // The palette's commands, in the window in front.
    receive_intents(
        || true,
        move |intent| {
            if intent == Intent::Command(EXPORT) {
                state.export();
            }
        },
    );
    // A folder that disappeared (deleted elsewhere) sends the list back to the root.
    Effect::new(move |_| {
        let cwd = state.cwd.get();
        let gone = cwd != "/" && state.all.with(|all| !all.iter().any(|e| e.path == cwd));
        if gone && state.vfs().is_ready() && !state.all.with(Vec::is_empty) {
            state.cwd.set("/".to_owned());
        }
    });

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
            <Toolbar state />
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
