//! The folder tree: every folder, indented by depth, in tree order. A click shows the folder in
//! the list; entries (or files from the computer) dropped on a folder move (or upload) into it.

use aether_shared::vfs::EntryKind;
use leptos::prelude::*;

use super::{FilesState, allow_drop};

/// The tree pane.
#[component]
pub(super) fn FolderTree(state: FilesState) -> impl IntoView {
    // Tree order: by path segments, so `/a/c` comes right after `/a`, before `/a b`.
    let folders = move || {
        let mut dirs: Vec<(String, String, usize)> = state.all.with(|all| {
            all.iter()
                .filter(|e| e.kind == EntryKind::Dir)
                .map(|e| (e.path.clone(), e.name.clone(), e.path.matches('/').count()))
                .collect()
        });
        dirs.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
        dirs.insert(0, ("/".to_owned(), "/".to_owned(), 0));
        dirs
    };
    view! {
        <ul class="files-tree" role="tree" aria-label="Folders">
            <For each=folders key=|(path, _, _)| path.clone() let:((path, name, depth))>
                {
                    let (here, target, drop_dir) = (path.clone(), path.clone(), path.clone());
                    view! {
                        <li
                            class="files-tree-item"
                            role="treeitem"
                            data-testid="vfs-tree-entry"
                            data-path=path.clone()
                            class:current=move || state.cwd.with(|c| *c == here)
                            style=format!("padding-left: {}px", 8 + depth * 14)
                            on:click=move |_| {
                                state.cwd.set(target.clone());
                                state.selected.set(None);
                            }
                            on:dragover=move |ev| allow_drop(&ev)
                            on:drop=move |ev| state.handle_drop(&ev, drop_dir.clone())
                        >
                            {name}
                        </li>
                    }
                }
            </For>
        </ul>
    }
}
