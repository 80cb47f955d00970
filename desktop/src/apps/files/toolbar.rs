//! The Files app's toolbar: new file and folder, upload, the actions on the selected entry
//! (open, Edit, Run task, rename, delete, download) and export/import of the whole tree.
//!
//! Edit and Run task hand the selected file to another app as an intent through the window
//! manager (`open_with`): the Editor opens it, Tasks loads and runs it. Renders and forwards;
//! what each action does lives in [`FilesState`].

use aether_shared::vfs::EntryKind;
use leptos::prelude::*;

use super::FilesState;
use super::format::is_task_definition;
use crate::apps::{AppMeta, editor, tasks};
use crate::shell::intents::Intent;
use crate::shell::windows::WindowManager;

/// The toolbar above the panes.
#[component]
pub(super) fn Toolbar(state: FilesState) -> impl IntoView {
    let wm = use_context::<WindowManager>();
    let upload_input = NodeRef::<leptos::html::Input>::new();
    let import_input = NodeRef::<leptos::html::Input>::new();
    let has_selection = move || state.selected.with(Option::is_some);
    let selected_file = move || {
        state
            .selected
            .get()
            .filter(|p| state.entry(p).is_some_and(|e| e.kind == EntryKind::File))
    };
    let selected_is_file = move || selected_file().is_some();
    let selected_is_task = move || selected_file().is_some_and(|p| is_task_definition(&p));
    // Opens `app` (or brings it forward) with the selected file as its intent.
    let hand_over = move |app: &'static AppMeta, intent: fn(String) -> Intent| {
        if let (Some(path), Some(wm)) = (state.selected.get_untracked(), wm) {
            wm.open_with(app, intent(path));
        }
    };

    view! {
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
                disabled=move || !selected_is_file()
                on:click=move |_| hand_over(&editor::META, |path| Intent::OpenFile { path })
            >
                "Edit"
            </button>
            <Show when=selected_is_task>
                <button
                    data-testid="files-run-task"
                    title="Run this task definition in the Tasks app"
                    on:click=move |_| hand_over(&tasks::META, |path| Intent::RunTask { path })
                >
                    "Run task"
                </button>
            </Show>
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
    }
}
