//! The Files app's state and actions: the tree as last read, the folder shown, the selection,
//! the entry being renamed, asked about or viewed, and the status line; and what the toolbar,
//! the panes and the keyboard do with them (create, rename, move, delete, open, download,
//! upload, export, import, drop). `Copy`; failures go to the status line with the VFS's own
//! sentence. Never renders.

use std::future::Future;

use aether_shared::vfs::path::{file_name, is_within, parent};
use aether_shared::vfs::{Entry, EntryKind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::format::{children, drop_target, fresh_name, join};
use super::transfer;
use super::viewer::Viewed;
use crate::services::vfs::{EXPORT_FILE_NAME, VfsError, VfsProxy, as_text};

/// The drag payload type of an entry dragged inside the app.
pub(super) const DRAG_TYPE: &str = "application/x-aether-path";

/// The app's state: plain signals, `Copy`, shared by the panes.
#[derive(Clone, Copy)]
pub(super) struct FilesState {
    pub(super) vfs: StoredValue<VfsProxy>,
    /// Every entry, in path order.
    pub(super) all: RwSignal<Vec<Entry>>,
    /// The folder the list shows.
    pub(super) cwd: RwSignal<String>,
    pub(super) selected: RwSignal<Option<String>>,
    pub(super) renaming: RwSignal<Option<String>>,
    pub(super) confirming: RwSignal<Option<String>>,
    pub(super) viewing: RwSignal<Option<Viewed>>,
    pub(super) status: RwSignal<Option<String>>,
}

impl FilesState {
    pub(super) fn vfs(self) -> VfsProxy {
        self.vfs.get_value()
    }

    /// Runs an action in the background; its failure goes to the status line.
    pub(super) fn run(self, action: impl Future<Output = Result<(), VfsError>> + 'static) {
        self.status.set(None);
        spawn_local(async move {
            if let Err(e) = action.await {
                let _ = self.status.try_set(Some(e.to_string()));
            }
        });
    }

    /// The names inside the current folder.
    pub(super) fn names_in_cwd(self) -> Vec<String> {
        let cwd = self.cwd.get_untracked();
        self.all
            .with_untracked(|all| children(all, &cwd).map(|e| e.name.clone()).collect())
    }

    pub(super) fn entry(self, path: &str) -> Option<Entry> {
        self.all
            .with_untracked(|all| all.iter().find(|e| e.path == path).cloned())
    }

    pub(super) fn new_entry(self, kind: EntryKind) {
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

    pub(super) fn commit_rename(self, path: String, name: String) {
        self.renaming.set(None);
        let name = name.trim().to_owned();
        if name.is_empty() || name == file_name(&path) {
            return;
        }
        let dir = parent(&path).unwrap_or("/").to_owned();
        let target = join(&dir, &name);
        self.move_entry(path, target);
    }

    pub(super) fn move_entry(self, from: String, to: String) {
        let vfs = self.vfs();
        self.run(async move {
            vfs.rename(&from, &to).await?;
            self.selected.set(Some(to.clone()));
            self.follow_move(&from, &to);
            Ok(())
        });
    }

    /// Keeps the current folder and the viewer pointing at what moved.
    pub(super) fn follow_move(self, from: &str, to: &str) {
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

    pub(super) fn drop_onto(self, path: String, dir: &str) {
        if let Some(target) = drop_target(&path, dir) {
            self.move_entry(path, target);
        }
    }

    pub(super) fn delete(self, path: String) {
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

    pub(super) fn open(self, path: String) {
        match self.entry(&path).map(|e| e.kind) {
            Some(EntryKind::Dir) => {
                self.cwd.set(path);
                self.selected.set(None);
            }
            Some(EntryKind::File) => {
                let vfs = self.vfs();
                self.run(async move {
                    let file = vfs.read(&path).await?;
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

    pub(super) fn download(self, path: String) {
        let vfs = self.vfs();
        self.run(async move {
            let file = vfs.read(&path).await?;
            transfer::download(&file.entry.name, &file.bytes, "application/octet-stream")
                .map_err(|e| VfsError::Store(format!("the download failed: {e:?}")))
        });
    }

    pub(super) fn upload(self, list: Option<web_sys::FileList>, dir: String) {
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

    pub(super) fn export(self) {
        let vfs = self.vfs();
        self.run(async move {
            let zip = vfs.export_zip().await?;
            transfer::download(EXPORT_FILE_NAME, &zip, "application/zip")
                .map_err(|e| VfsError::Store(format!("the download failed: {e:?}")))
        });
    }

    pub(super) fn import(self, list: Option<web_sys::FileList>) {
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
    pub(super) fn handle_drop(self, ev: &web_sys::DragEvent, dir: String) {
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
pub(super) fn allow_drop(ev: &web_sys::DragEvent) {
    ev.prevent_default();
}
