//! [`AppCommand`]: something an app offers the command palette (`Ctrl+Shift+P`, or `>` in the
//! launcher), declared in one line of its `AppMeta::commands`.
//!
//! Picking a command brings the app forward (opening a window when it has none) and posts
//! `Intent::Command(id)` to that window; the app carries it out where it takes its other
//! intents. The declaration is plain data, so the palette lists every app's commands without
//! loading any app's code.

/// One command of an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppCommand {
    /// Unique within the app: lowercase ASCII letters and `-` (the palette's id is
    /// `<app id>.<id>`).
    pub id: &'static str,
    /// What the palette shows after the app's title (`Editor: Save all`).
    pub title: &'static str,
    /// The app's own shortcut for it, written as `shell::chord` reads it (`Ctrl+Enter`), if any.
    pub keys: Option<&'static str>,
}

impl AppCommand {
    /// A command without a shortcut.
    pub const fn new(id: &'static str, title: &'static str) -> AppCommand {
        AppCommand {
            id,
            title,
            keys: None,
        }
    }

    /// The same command with its shortcut shown.
    pub const fn keys(self, keys: &'static str) -> AppCommand {
        AppCommand {
            keys: Some(keys),
            ..self
        }
    }
}
