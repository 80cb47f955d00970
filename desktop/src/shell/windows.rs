//! [`WindowManager`]: which app windows are open, where they are and which is on top.
//!
//! The list of windows changes only when one opens or closes; each window's place and stacking
//! order are signals of their own, so dragging one re-renders nothing else. Apps are
//! single-instance for now: opening an open app focuses its window. The manager never renders;
//! `window_frame` and the shell's surface do.

use leptos::prelude::*;

use super::geometry::{self, Rect, Size};
use crate::apps::AppMeta;

/// One open window.
#[derive(Clone, Debug)]
pub struct OpenWindow {
    /// Unique for the life of the page.
    pub id: u32,
    pub app: &'static AppMeta,
    pub rect: RwSignal<Rect>,
    /// CSS `z-index`; the focused window has the highest.
    pub z: RwSignal<u32>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    last_id: u32,
    top_z: u32,
}

/// The desktop's windows. `Copy`: pass it around or take it from context.
#[derive(Clone, Copy, Debug)]
pub struct WindowManager {
    windows: RwSignal<Vec<OpenWindow>>,
    counters: StoredValue<Counters>,
}

impl Default for WindowManager {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowManager {
    /// An empty desktop.
    pub fn new() -> Self {
        WindowManager {
            windows: RwSignal::new(Vec::new()),
            counters: StoredValue::new(Counters::default()),
        }
    }

    /// The open windows in opening order (tracked).
    pub fn windows(&self) -> Vec<OpenWindow> {
        self.windows.get()
    }

    /// True when `app_id` has a window (tracked).
    pub fn is_open(&self, app_id: &str) -> bool {
        self.windows
            .with(|ws| ws.iter().any(|w| w.app.id == app_id))
    }

    /// Opens `app` at the next cascade position in `viewport`, or focuses its window if it is
    /// already open. Returns the window id.
    pub fn open(&self, app: &'static AppMeta, viewport: Size) -> u32 {
        let existing = self
            .windows
            .with_untracked(|ws| ws.iter().find(|w| w.app.id == app.id).map(|w| w.id));
        if let Some(id) = existing {
            self.focus(id);
            return id;
        }
        let (id, z) = self.counters.with_value(|c| (c.last_id + 1, c.top_z + 1));
        self.counters.update_value(|c| {
            c.last_id = id;
            c.top_z = z;
        });
        let index = self.windows.with_untracked(Vec::len);
        let window = OpenWindow {
            id,
            app,
            rect: RwSignal::new(geometry::cascade(index, app.default_size, viewport)),
            z: RwSignal::new(z),
        };
        self.windows.update(|ws| ws.push(window));
        id
    }

    /// Brings window `id` to the front (no-op when it already is, or is not open).
    pub fn focus(&self, id: u32) {
        let Some(window) = self.find(id) else { return };
        let top = self.counters.with_value(|c| c.top_z);
        if window.z.get_untracked() == top {
            return;
        }
        self.counters.update_value(|c| c.top_z += 1);
        window.z.set(top + 1);
    }

    /// Closes window `id`; its app's view is disposed with it.
    pub fn close(&self, id: u32) {
        self.windows.update(|ws| ws.retain(|w| w.id != id));
    }

    /// The id of the frontmost window, if any (tracked).
    pub fn focused(&self) -> Option<u32> {
        self.windows
            .with(|ws| ws.iter().max_by_key(|w| w.z.get()).map(|w| w.id))
    }

    fn find(&self, id: u32) -> Option<OpenWindow> {
        self.windows
            .with_untracked(|ws| ws.iter().find(|w| w.id == id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps;

    const SCREEN: Size = Size {
        width: 1280.0,
        height: 800.0,
    };

    fn about() -> &'static AppMeta {
        apps::find("about").unwrap()
    }

    #[test]
    fn opening_an_open_app_focuses_its_window_instead_of_duplicating_it() {
        let wm = WindowManager::new();
        let first = wm.open(about(), SCREEN);
        assert_eq!(wm.open(about(), SCREEN), first);
        assert_eq!(wm.windows().len(), 1);
        assert!(wm.is_open("about"));
    }

    #[test]
    fn focus_raises_a_window_above_the_others_and_close_removes_it() {
        static OTHER: AppMeta = AppMeta {
            id: "other",
            ..apps::about::META
        };
        let wm = WindowManager::new();
        let a = wm.open(about(), SCREEN);
        let b = wm.open(&OTHER, SCREEN);
        assert_eq!(wm.focused(), Some(b));
        wm.focus(a);
        assert_eq!(wm.focused(), Some(a));
        wm.close(a);
        assert_eq!(wm.focused(), Some(b));
        assert!(!wm.is_open("about"));
        wm.close(a);
        assert_eq!(wm.windows().len(), 1);
    }
}
