//! Intents: what one app asks another to do (open this file, attach to that program, run this
//! task), carried by the window manager instead of globals.
//!
//! [`WindowManager::open_with`](super::windows::WindowManager::open_with) opens the target app
//! the way `open` does (a single-instance app's window is brought forward, restored if
//! minimized; a multi-instance app gets a new window) and posts the [`Intent`] to that window's
//! [`Inbox`]. The app takes its intents with [`receive_intents`], whether its window was just
//! opened or has been open for a while. An intent is delivered once, to one window; an app that
//! does not understand it ignores it.

use leptos::prelude::*;

/// Something an app is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Open the file at `path` of this tab's files (the Editor).
    OpenFile { path: String },
    /// Open the file at `path` with the caret at `line` and `column` (1-based, in characters),
    /// that line in view (the Editor; search results).
    OpenFileAt {
        path: String,
        line: u32,
        column: u32,
    },
    /// Show program `pid` of this tab and type into it (the Terminal).
    AttachProgram { pid: u64 },
    /// Load the task definition at `path` of this tab's files and run it (Tasks).
    RunTask { path: String },
    /// Carry out the app's palette command `id` (one of its `AppMeta::commands`).
    Command(&'static str),
}

/// A window's intents not taken yet. `Copy`; the window frame provides it as context.
#[derive(Clone, Copy, Debug)]
pub struct Inbox(RwSignal<Vec<Intent>>);

impl Inbox {
    pub fn new() -> Inbox {
        Inbox(RwSignal::new(Vec::new()))
    }

    /// Posts `intent` for the window's app.
    pub fn post(self, intent: Intent) {
        self.0.update(|mail| mail.push(intent));
    }

    /// True while intents wait (tracked).
    pub fn has_mail(self) -> bool {
        self.0.with(|mail| !mail.is_empty())
    }

    /// Takes every waiting intent, oldest first.
    pub fn take(self) -> Vec<Intent> {
        self.0
            .try_update_untracked(std::mem::take)
            .unwrap_or_default()
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

/// Calls `handle` with each intent posted to the current window, oldest first, as soon as
/// `ready()` (tracked) is true: at once for an app that can act right away (`|| true`), or once
/// it has loaded what it needs. Call it in the app's component; outside a window it does nothing.
pub fn receive_intents(ready: impl Fn() -> bool + 'static, handle: impl Fn(Intent) + 'static) {
    let Some(inbox) = use_context::<Inbox>() else {
        return;
    };
    Effect::new(move |_| {
        let (ready, mail) = (ready(), inbox.has_mail());
        if ready && mail {
            for intent in inbox.take() {
                handle(intent);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_hands_out_each_intent_once_in_order() {
        let inbox = Inbox::new();
        assert!(!inbox.has_mail());
        inbox.post(Intent::OpenFile { path: "/a".into() });
        inbox.post(Intent::AttachProgram { pid: 3 });
        assert!(inbox.has_mail());
        assert_eq!(
            inbox.take(),
            [
                Intent::OpenFile { path: "/a".into() },
                Intent::AttachProgram { pid: 3 }
            ]
        );
        assert!(!inbox.has_mail());
        assert!(inbox.take().is_empty());
    }
}
