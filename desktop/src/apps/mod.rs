//! The app registry: every app the desktop can open, with what the shell needs to show it.
//!
//! An app is a folder (`apps/<id>/mod.rs`) that exports a `META: AppMeta`; adding one to
//! [`APPS`] puts it in the dock. The registry only describes apps; the shell decides where and
//! when they are shown.

use leptos::prelude::AnyView;

use crate::shell::geometry::Size;

pub mod about;

/// What the shell knows about an app.
#[derive(Clone, Copy, Debug)]
pub struct AppMeta {
    /// Stable id: `data-app` in the DOM, and the key tests and launchers use.
    pub id: &'static str,
    /// Window title and dock label.
    pub title: &'static str,
    /// A short glyph shown in the dock and the title bar.
    pub icon: &'static str,
    /// The size a new window opens at, in CSS pixels.
    pub default_size: Size,
    /// Builds the app's view inside its window.
    pub render: fn() -> AnyView,
}

/// Every app, in dock order.
pub static APPS: &[AppMeta] = &[about::META];

/// Apps opened when the desktop starts.
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
    fn every_app_has_a_usable_window_size_and_a_title() {
        for app in APPS {
            assert!(app.default_size.width >= 200.0 && app.default_size.height >= 120.0);
            assert!(!app.title.is_empty() && !app.icon.is_empty());
            assert!(app.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
    }
}
