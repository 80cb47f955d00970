//! The app registry: every app the desktop can open, with what the shell needs to show it.
//!
//! An app is one Leptos component plus an [`AppMeta`], in its own folder (`apps/<id>/mod.rs`
//! exporting `pub const META: AppMeta`). The one [`registry!`] line below declares the module
//! and puts the app in the dock, the launcher and the saved layout; its `commands` (one
//! [`AppCommand`] line each) go to the command palette. The registry only
//! describes apps; the shell decides where and when they are shown. See the README, "Add an app".
//! Heavy apps write their `render` with [`on_demand::on_demand!`]: their code then loads when
//! their first window opens, not with the page.

use leptos::prelude::AnyView;

use crate::shell::geometry::Size;
pub use command::AppCommand;

pub mod command;
pub mod on_demand;

/// What the shell knows about an app.
#[derive(Clone, Copy, Debug)]
pub struct AppMeta {
    /// Stable id: `data-app` in the DOM, the key of saved layouts, tests and launchers.
    /// Lowercase ASCII letters and `-`.
    pub id: &'static str,
    /// Window title, dock label and launcher entry.
    pub title: &'static str,
    /// The icon: SVG path data for a 24×24 view box, stroked in the theme's accent colour.
    pub icon: &'static str,
    /// The size a new window opens at, in CSS pixels.
    pub default_size: Size,
    /// The smallest a window may be resized to, in CSS pixels.
    pub min_size: Size,
    /// True when the app may have several windows at once; otherwise opening it again focuses
    /// its window.
    pub multi_instance: bool,
    /// What the app offers the command palette, one line each; the app carries a command out
    /// when its window receives `Intent::Command(id)`.
    pub commands: &'static [AppCommand],
    /// Builds the app's view inside its window. The window's [`crate::shell::windows::WindowId`]
    /// is in context while it runs.
    pub render: fn() -> AnyView,
}

/// Declares each app's module and lists it in [`APPS`], in dock order: one line per app.
macro_rules! registry {
    ($($app:ident),+ $(,)?) => {
        $(pub mod $app;)+

        /// Every app, in dock order.
        pub static APPS: &[AppMeta] = &[$($app::META),+];
    };
}

registry! {
    about,
    notes,
    console,
    files,
    tasks,
    editor,
    agent,
    terminal,
    settings,
}

/// Apps opened when the desktop starts without a saved layout.
pub const START_APPS: &[&str] = &[about::META.id];

/// The app with id `id`.
pub fn find(id: &str) -> Option<&'static AppMeta> {
    APPS.iter().find(|app| app.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn app_ids_are_unique_and_start_apps_exist() {
        let ids: HashSet<&str> = APPS.iter().map(|app| app.id).collect();
        assert_eq!(ids.len(), APPS.len());
        for id in START_APPS {
            assert!(find(id).is_some(), "{id}");
        }
        assert!(find("nope").is_none());
    }

    #[test]
    fn every_app_has_a_usable_window_size_a_title_and_an_icon() {
        for app in APPS {
            let (min, size) = (app.min_size, app.default_size);
            assert!(min.width >= 160.0 && min.height >= 100.0, "{}", app.id);
            assert!(
                size.width >= min.width && size.height >= min.height,
                "{}",
                app.id
            );
            assert!(!app.title.is_empty() && !app.icon.is_empty());
            assert!(app.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
    }

    #[test]
    fn every_app_command_has_a_unique_id_a_title_and_well_formed_keys() {
        for app in APPS {
            let ids: HashSet<&str> = app.commands.iter().map(|c| c.id).collect();
            assert_eq!(ids.len(), app.commands.len(), "{}", app.id);
            for command in app.commands {
                let what = format!("{}.{}", app.id, command.id);
                assert!(!command.id.is_empty(), "{what}");
                assert!(
                    command
                        .id
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-'),
                    "{what}"
                );
                assert!(!command.title.is_empty(), "{what}");
                if let Some(keys) = command.keys {
                    assert!(
                        crate::shell::chord::Chord::parse(keys).is_some(),
                        "{what}: {keys}"
                    );
                }
            }
        }
    }
}
