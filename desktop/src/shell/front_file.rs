//! [`FrontFile`]: the file in front of the Editor and the text selected in it, for other apps to
//! offer as context (the Agent's goal box). The Editor writes it while its window is open and
//! clears it when the window closes; every other app only reads. `Copy`, provided by the shell
//! as context. It holds what is shown, never file contents: readers go to the VFS for those.

use leptos::prelude::*;

/// What the Editor has in front (tracked reads).
#[derive(Clone, Copy, Debug)]
pub struct FrontFile {
    path: RwSignal<Option<String>>,
    selection: RwSignal<Option<String>>,
}

impl FrontFile {
    pub fn new() -> FrontFile {
        FrontFile {
            path: RwSignal::new(None),
            selection: RwSignal::new(None),
        }
    }

    /// The path of the Editor's active tab, if an Editor window is open (tracked).
    pub fn path(self) -> Option<String> {
        self.path.get()
    }

    /// The text selected in the active tab, if any (tracked).
    pub fn selection(self) -> Option<String> {
        self.selection.get()
    }

    /// The Editor shows `path` now (its selection starts empty).
    pub fn show(self, path: Option<String>) {
        if self.path.try_get_untracked().flatten() != path {
            self.path.try_set(path);
            self.selection.try_set(None);
        }
    }

    /// The Editor's selection changed (`None`: nothing selected).
    pub fn select(self, selection: Option<String>) {
        if self.selection.try_get_untracked().flatten() != selection {
            self.selection.try_set(selection);
        }
    }

    /// The Editor window closed.
    pub fn clear(self) {
        self.show(None);
    }
}

impl Default for FrontFile {
    fn default() -> Self {
        FrontFile::new()
    }
}
