//! [`WindowManager`]: which app windows are open, where they are, which are minimized or
//! maximized, and their stacking order.
//!
//! The list of windows changes only when one opens or closes; each window's place and state are
//! signals of their own, so dragging one re-renders nothing else. The stacking order is one list
//! of window ids, bottom to top; a window's `z-index` is its place in it. Minimizing hides a
//! window without closing it: its app stays mounted and keeps its state. Every placement goes
//! through `geometry`, so a window is always inside the work area of the current viewport.
//! Apps ask each other for things through [`WindowManager::open_with`], which posts an
//! [`Intent`] to the target window's inbox (see `intents`).
//! The manager never renders and never touches the DOM; `window_frame` and the shell do.

use leptos::prelude::*;

use super::geometry::{self, Rect, Size};
use super::intents::{Inbox, Intent};
use super::layout::{PlannedWindow, SavedLayout, SavedWindow};
use crate::apps::AppMeta;

/// The id of a window, unique for the life of the page (and kept across reloads by the saved
/// layout). Apps find their own in context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WindowId(pub u32);

/// One open window.
#[derive(Clone, Debug)]
pub struct OpenWindow {
    pub id: u32,
    pub app: &'static AppMeta,
    /// The window's normal place (kept while maximized, so restoring returns to it).
    pub rect: RwSignal<Rect>,
    pub minimized: RwSignal<bool>,
    pub maximized: RwSignal<bool>,
    /// Intents posted to the window's app, not taken yet.
    pub inbox: Inbox,
}

/// How many windows an app has, for the dock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCount {
    pub open: usize,
    pub minimized: usize,
}

/// How [`WindowManager::bring_forward`] put an app in front of the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BroughtForward {
    /// One of its windows had the focus already: nothing moved.
    AlreadyFocused(u32),
    /// Its frontmost window was raised, and restored if it was minimized.
    Raised(u32),
    /// It had no window: one was opened.
    Opened(u32),
}

/// The desktop's windows. `Copy`: pass it around or take it from context.
#[derive(Clone, Copy, Debug)]
pub struct WindowManager {
    windows: RwSignal<Vec<OpenWindow>>,
    /// Window ids, bottom to top.
    stack: RwSignal<Vec<u32>>,
    viewport: RwSignal<Size>,
    focused: Memo<Option<u32>>,
    last_id: StoredValue<u32>,
}

impl WindowManager {
    /// An empty desktop in `viewport`.
    pub fn new(viewport: Size) -> Self {
        let windows = RwSignal::new(Vec::<OpenWindow>::new());
        let stack = RwSignal::new(Vec::<u32>::new());
        let focused = Memo::new(move |_| {
            let visible =
                |id: &u32| windows.with(|ws| ws.iter().any(|w| w.id == *id && !w.minimized.get()));
            stack.with(|s| s.iter().rev().copied().find(visible))
        });
        WindowManager {
            windows,
            stack,
            viewport: RwSignal::new(viewport),
            focused,
            last_id: StoredValue::new(0),
        }
    }

    /// The open windows in opening order (tracked).
    pub fn windows(&self) -> Vec<OpenWindow> {
        self.windows.get()
    }

    /// The viewport the windows are laid out in (tracked).
    pub fn viewport(&self) -> Size {
        self.viewport.get()
    }

    /// The viewport the windows are laid out in, without tracking.
    pub fn viewport_untracked(&self) -> Size {
        self.viewport.get_untracked()
    }

    /// The frontmost window that is not minimized (tracked).
    pub fn focused(&self) -> Option<u32> {
        self.focused.get()
    }

    /// The frontmost window that is not minimized, without tracking.
    pub fn focused_untracked(&self) -> Option<u32> {
        self.focused.get_untracked()
    }

    /// Window `id`'s CSS `z-index`: 1 for the bottom window (tracked).
    pub fn z_index(&self, id: u32) -> usize {
        self.stack
            .with(|s| s.iter().position(|&w| w == id).map_or(0, |i| i + 1))
    }

    /// True when `app_id` has a window (tracked).
    pub fn is_open(&self, app_id: &str) -> bool {
        self.count(app_id).open > 0
    }

    /// How many windows `app_id` has, and how many of them are minimized (tracked).
    pub fn count(&self, app_id: &str) -> WindowCount {
        self.windows.with(|ws| {
            ws.iter()
                .filter(|w| w.app.id == app_id)
                .fold(WindowCount::default(), |mut count, w| {
                    count.open += 1;
                    count.minimized += usize::from(w.minimized.get());
                    count
                })
        })
    }

    /// Opens a window of `app` at the next cascade position and brings it to the front; for a
    /// single-instance app that already has one, focuses (and restores) that one instead.
    /// Returns the window id.
    pub fn open(&self, app: &'static AppMeta) -> u32 {
        if !app.multi_instance
            && let Some(id) = self.topmost_of(app.id)
        {
            self.focus(id);
            return id;
        }
        let index = self.windows.with_untracked(Vec::len);
        let rect = geometry::cascade(
            index,
            app.default_size,
            app.min_size,
            self.viewport.get_untracked(),
        );
        let id = self.last_id.get_value() + 1;
        self.add(PlannedWindow {
            id,
            app,
            rect,
            minimized: false,
            maximized: false,
        });
        id
    }

    /// Opens `app` as [`WindowManager::open`] does and hands it `intent`: a single-instance app
    /// that is already open is brought forward (restored if minimized) and receives it there; a
    /// multi-instance app receives it in a new window. Returns the window id.
    pub fn open_with(&self, app: &'static AppMeta, intent: Intent) -> u32 {
        let id = self.open(app);
        if let Some(window) = self.find(id) {
            window.inbox.post(intent);
        }
        id
    }

    /// Hands `intent` to `app`'s frontmost window, brought forward (restored if minimized), or
    /// to a new window when it has none; unlike [`WindowManager::open_with`], a multi-instance
    /// app gets no extra window (a palette command acts on the window in front). Returns the
    /// window id.
    pub fn send(&self, app: &'static AppMeta, intent: Intent) -> u32 {
        let id = match self.bring_forward(app) {
            BroughtForward::AlreadyFocused(id)
            | BroughtForward::Raised(id)
            | BroughtForward::Opened(id) => id,
        };
        if let Some(window) = self.find(id) {
            window.inbox.post(intent);
        }
        id
    }

    /// Puts `app` in front of the user, unlike the dock's click never moving on to another of
    /// its windows: nothing when one of its windows has the focus; otherwise its frontmost
    /// window is brought forward (restored if minimized), or one is opened when it has none.
    pub fn bring_forward(&self, app: &'static AppMeta) -> BroughtForward {
        let focused = self
            .focused_untracked()
            .filter(|&id| self.find(id).is_some_and(|w| w.app.id == app.id));
        if let Some(id) = focused {
            return BroughtForward::AlreadyFocused(id);
        }
        match self.topmost_of(app.id) {
            Some(id) => {
                self.focus(id);
                BroughtForward::Raised(id)
            }
            None => BroughtForward::Opened(self.open(app)),
        }
    }

    /// The dock's click: brings `app`'s frontmost window forward (restoring it if minimized),
    /// or, when that one is already focused, the app's next window; opens one when it has none.
    pub fn launch(&self, app: &'static AppMeta) -> u32 {
        let mine = self.stack_of(app.id);
        match (mine.last(), mine.first()) {
            (Some(&top), Some(&bottom)) => {
                let next = if self.focused_untracked() == Some(top) {
                    bottom
                } else {
                    top
                };
                self.focus(next);
                next
            }
            _ => self.open(app),
        }
    }

    /// Brings window `id` to the front and restores it if minimized (no-op when not open).
    pub fn focus(&self, id: u32) {
        let Some(window) = self.find(id) else { return };
        if window.minimized.get_untracked() {
            window.minimized.set(false);
        }
        let on_top = self.stack.with_untracked(|s| s.last() == Some(&id));
        if !on_top {
            self.stack.update(|s| {
                s.retain(|&w| w != id);
                s.push(id);
            });
        }
    }

    /// Hides window `id` in the dock; its app stays mounted. The next window gets the focus.
    pub fn minimize(&self, id: u32) {
        if let Some(window) = self.find(id) {
            window.minimized.set(true);
        }
    }

    /// Maximizes window `id`, or restores it to its normal place; focuses it either way.
    pub fn toggle_maximize(&self, id: u32) {
        if let Some(window) = self.find(id) {
            window.maximized.update(|m| *m = !*m);
            self.focus(id);
        }
    }

    /// Ends the maximized state of window `id` without moving its normal place.
    pub fn unmaximize(&self, id: u32) {
        if let Some(window) = self.find(id) {
            window.maximized.set(false);
        }
    }

    /// Closes window `id`; its app's view is disposed with it.
    pub fn close(&self, id: u32) {
        self.windows.update(|ws| ws.retain(|w| w.id != id));
        self.stack.update(|s| s.retain(|&w| w != id));
    }

    /// Switches to another window: `forward` brings the bottom visible window to the front
    /// (repeat to visit them all); backward sends the front one to the bottom. With every window
    /// minimized, restores the most recent. Returns the newly focused window.
    pub fn cycle(&self, forward: bool) -> Option<u32> {
        let visible: Vec<u32> = self.stack.with_untracked(|s| {
            s.iter()
                .copied()
                .filter(|&id| self.find(id).is_some_and(|w| !w.minimized.get_untracked()))
                .collect()
        });
        let (Some(&bottom), Some(&top)) = (visible.first(), visible.last()) else {
            let latest = self.stack.with_untracked(|s| s.last().copied())?;
            self.focus(latest);
            return Some(latest);
        };
        if forward {
            self.focus(bottom);
        } else {
            self.stack.update(|s| {
                s.retain(|&w| w != top);
                s.insert(0, top);
            });
        }
        self.focused_untracked()
    }

    /// Lays every window out again for a new viewport (the browser window was resized).
    pub fn fit_to(&self, viewport: Size) {
        self.viewport.set(viewport);
        self.windows.with_untracked(|ws| {
            for w in ws {
                let rect = w.rect.get_untracked();
                let fitted = geometry::clamp(rect, w.app.min_size, viewport);
                if fitted != rect {
                    w.rect.set(fitted);
                }
            }
        });
    }

    /// The layout to save: every window, bottom to top (tracked: an effect that calls it runs
    /// again whenever a window opens, closes, moves, or changes state).
    pub fn snapshot(&self) -> SavedLayout {
        let windows = self.stack.with(|stack| {
            self.windows.with(|ws| {
                stack
                    .iter()
                    .filter_map(|id| ws.iter().find(|w| w.id == *id))
                    .map(|w| SavedWindow {
                        id: w.id,
                        app: w.app.id.to_owned(),
                        rect: w.rect.get(),
                        minimized: w.minimized.get(),
                        maximized: w.maximized.get(),
                    })
                    .collect()
            })
        });
        SavedLayout::new(windows)
    }

    /// Opens the windows of a restored layout (see `layout::plan`), bottom to top.
    pub fn restore(&self, planned: Vec<PlannedWindow>) {
        for window in planned {
            self.add(window);
        }
    }

    fn add(&self, planned: PlannedWindow) {
        let PlannedWindow {
            id,
            app,
            rect,
            minimized,
            maximized,
        } = planned;
        self.last_id.update_value(|last| *last = (*last).max(id));
        let window = OpenWindow {
            id,
            app,
            rect: RwSignal::new(rect),
            minimized: RwSignal::new(minimized),
            maximized: RwSignal::new(maximized),
            inbox: Inbox::new(),
        };
        self.windows.update(|ws| ws.push(window));
        self.stack.update(|s| s.push(id));
    }

    /// `app_id`'s windows, bottom to top.
    fn stack_of(&self, app_id: &str) -> Vec<u32> {
        self.stack.with_untracked(|s| {
            s.iter()
                .copied()
                .filter(|&id| self.find(id).is_some_and(|w| w.app.id == app_id))
                .collect()
        })
    }

    fn topmost_of(&self, app_id: &str) -> Option<u32> {
        self.stack_of(app_id).last().copied()
    }

    fn find(&self, id: u32) -> Option<OpenWindow> {
        self.windows
            .with_untracked(|ws| ws.iter().find(|w| w.id == id).cloned())
    }
}

#[cfg(test)]
mod tests;
