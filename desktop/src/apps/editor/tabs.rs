//! The open files of an Editor window: one tab per path, which one is in front, what each held
//! when last saved (so a tab knows it is dirty). Pure state, unit tested; the Monaco models are
//! kept beside it by the window.

/// One open file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tab {
    pub path: String,
    /// Monaco language id.
    pub language: &'static str,
    /// The text last read from or written to the VFS.
    pub saved: String,
    /// True when the buffer differs from `saved`.
    pub dirty: bool,
    /// A binary file shown as a note (a `.wasm` to Run): never edited, never saved.
    pub read_only: bool,
}

/// The tabs of one window, in opening order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tabs {
    pub tabs: Vec<Tab>,
    pub active: Option<String>,
}

impl Tabs {
    /// The tab of `path`.
    pub fn get(&self, path: &str) -> Option<&Tab> {
        self.tabs.iter().find(|t| t.path == path)
    }

    /// Adds a tab (or keeps the existing one) and brings it to the front.
    pub fn open(&mut self, path: &str, saved: String, buffer: &str) {
        if self.get(path).is_none() {
            self.tabs.push(Tab {
                path: path.to_owned(),
                language: super::language::of_path(path),
                dirty: buffer != saved,
                saved,
                read_only: false,
            });
        }
        self.active = Some(path.to_owned());
    }

    /// Adds a read-only tab showing `note` (a binary file) and brings it to the front.
    pub fn open_read_only(&mut self, path: &str, note: String) {
        self.open(path, note.clone(), &note);
        if let Some(tab) = self.tabs.iter_mut().find(|t| t.path == path) {
            tab.read_only = true;
        }
    }

    /// Notes the buffer of `path` now holds `buffer`.
    pub fn edited(&mut self, path: &str, buffer: &str) {
        if let Some(tab) = self.tabs.iter_mut().find(|t| t.path == path) {
            tab.dirty = tab.saved != buffer;
        }
    }

    /// Notes `path` was saved with `text`.
    pub fn saved(&mut self, path: &str, text: String) {
        if let Some(tab) = self.tabs.iter_mut().find(|t| t.path == path) {
            tab.dirty = false;
            tab.saved = text;
        }
    }

    /// Closes `path`'s tab; the neighbour to its right (else left) comes to the front.
    pub fn close(&mut self, path: &str) {
        let Some(index) = self.tabs.iter().position(|t| t.path == path) else {
            return;
        };
        self.tabs.remove(index);
        if self.active.as_deref() == Some(path) {
            self.active = self
                .tabs
                .get(index)
                .or_else(|| self.tabs.last())
                .map(|t| t.path.clone());
        }
    }

    /// True when any tab has unsaved changes.
    pub fn any_dirty(&self) -> bool {
        self.tabs.iter().any(|t| t.dirty)
    }

    /// The paths of the open tabs.
    pub fn paths(&self) -> Vec<String> {
        self.tabs.iter().map(|t| t.path.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_open_once_track_dirtiness_and_hand_the_front_on_close() {
        let mut tabs = Tabs::default();
        tabs.open("/a.rs", "fn a() {}".into(), "fn a() {}");
        tabs.open("/b.wat", "(module)".into(), "(module)");
        tabs.open("/a.rs", "ignored".into(), "ignored");
        assert_eq!(tabs.paths(), ["/a.rs", "/b.wat"]);
        assert_eq!(tabs.active.as_deref(), Some("/a.rs"));
        assert_eq!(tabs.get("/b.wat").unwrap().language, "wat");

        tabs.edited("/a.rs", "fn a() { 1 }");
        assert!(tabs.any_dirty());
        tabs.edited("/a.rs", "fn a() {}");
        assert!(!tabs.any_dirty(), "typing back the saved text is clean");
        tabs.edited("/a.rs", "fn a() { 2 }");
        tabs.saved("/a.rs", "fn a() { 2 }".into());
        assert!(!tabs.get("/a.rs").unwrap().dirty);

        tabs.open_read_only("/w.wasm", "binary".into());
        assert!(tabs.get("/w.wasm").unwrap().read_only && !tabs.get("/w.wasm").unwrap().dirty);
        tabs.close("/w.wasm");
        tabs.open("/c.md", String::new(), "draft");
        assert!(tabs.get("/c.md").unwrap().dirty, "a restored draft is dirty");
        tabs.active = Some("/b.wat".into());
        tabs.close("/b.wat");
        assert_eq!(tabs.active.as_deref(), Some("/c.md"));
        tabs.close("/c.md");
        assert_eq!(tabs.active.as_deref(), Some("/a.rs"));
        tabs.close("/a.rs");
        assert_eq!(tabs.active, None);
    }
}
