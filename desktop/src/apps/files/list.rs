//! The list of the current folder: name, size and modified time per entry. Click selects,
//! double-click opens (a folder shows it, a file opens the viewer), entries drag onto folders,
//! and the row being renamed turns into the rename input (Enter keeps, Escape cancels).

use aether_shared::vfs::{Entry, EntryKind};
use leptos::prelude::*;

use super::format::{children, human_size};
use super::{DRAG_TYPE, FilesState, allow_drop};

/// The list pane.
#[component]
pub(super) fn EntryList(state: FilesState) -> impl IntoView {
    let rows = move || {
        let cwd = state.cwd.get();
        let mut rows: Vec<Entry> = state.all.with(|all| children(all, &cwd).cloned().collect());
        rows.sort_by(|a, b| {
            (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name))
        });
        rows
    };
    view! {
        <div class="files-list" role="grid" aria-label="Entries">
            <div class="files-row files-row-head" role="row">
                <span class="files-name">"Name"</span>
                <span class="files-size">"Size"</span>
                <span class="files-mtime">"Modified"</span>
            </div>
            <For each=rows key=|e| (e.path.clone(), e.size, e.mtime) let:entry>
                <Row state entry />
            </For>
            <Show when=move || rows().is_empty()>
                <p class="files-empty">"This folder is empty. Drop files here to upload them."</p>
            </Show>
        </div>
    }
}

#[component]
fn Row(state: FilesState, entry: Entry) -> impl IntoView {
    let path = StoredValue::new(entry.path.clone());
    let is_dir = entry.kind == EntryKind::Dir;
    let kind = if is_dir { "dir" } else { "file" };
    let size = if is_dir {
        String::new()
    } else {
        human_size(entry.size)
    };
    let mtime = format_mtime(entry.mtime);
    let selected = move || {
        state
            .selected
            .with(|s| s.as_deref() == Some(path.get_value().as_str()))
    };
    let renaming = move || {
        state
            .renaming
            .with(|r| r.as_deref() == Some(path.get_value().as_str()))
    };
    let name = entry.name.clone();
    let name_view = move || {
        if renaming() {
            let input = NodeRef::<leptos::html::Input>::new();
            input.on_load(|el| {
                let _ = el.focus();
                el.select();
            });
            view! {
                <input
                    class="files-rename"
                    data-testid="files-rename-input"
                    aria-label="New name"
                    node_ref=input
                    prop:value=name.clone()
                    on:click=|ev| ev.stop_propagation()
                    on:dblclick=|ev| ev.stop_propagation()
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        ev.stop_propagation();
                        match ev.key().as_str() {
                            "Enter" => state.commit_rename(path.get_value(), event_target_value(&ev)),
                            "Escape" => state.renaming.set(None),
                            _ => {}
                        }
                    }
                    on:blur=move |ev| {
                        if state.renaming.with_untracked(|r| r.as_deref() == Some(path.get_value().as_str())) {
                            state.commit_rename(path.get_value(), event_target_value(&ev));
                        }
                    }
                />
            }
            .into_any()
        } else {
            view! { <span class="files-name-text">{name.clone()}</span> }.into_any()
        }
    };
    view! {
        <div
            class="files-row"
            class:selected=selected
            role="row"
            data-testid="vfs-entry"
            data-path=entry.path.clone()
            data-kind=kind
            draggable="true"
            on:click=move |_| state.selected.set(Some(path.get_value()))
            on:dblclick=move |_| state.open(path.get_value())
            on:dragstart=move |ev: web_sys::DragEvent| {
                if let Some(data) = ev.data_transfer() {
                    let _ = data.set_data(DRAG_TYPE, &path.get_value());
                    data.set_effect_allowed("move");
                }
            }
            on:dragover=move |ev| {
                if is_dir {
                    allow_drop(&ev);
                }
            }
            on:drop=move |ev| {
                if is_dir {
                    state.handle_drop(&ev, path.get_value());
                }
            }
        >
            <span class="files-name">
                <span class=if is_dir { "files-icon dir" } else { "files-icon file" } aria-hidden="true"></span>
                {name_view}
            </span>
            <span class="files-size">{size}</span>
            <span class="files-mtime">{mtime}</span>
        </div>
    }
}

/// A modification time in local time, `2026-11-24 10:00` (`—` for none).
fn format_mtime(mtime: u64) -> String {
    if mtime == 0 {
        return "—".to_owned();
    }
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(mtime as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}
