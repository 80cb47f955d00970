//! The saved layout: which windows were open, where, in which order and state, kept in
//! `localStorage` so a reload brings the desktop back as it was.
//!
//! [`SavedLayout`] is the stored JSON (versioned; windows listed bottom to top, so the list *is*
//! the z-order). [`plan`] turns a stored layout into windows to open in today's viewport: unknown
//! apps are dropped, a single-instance app keeps one window, duplicate ids are renumbered, and
//! every rectangle is clamped into the work area, so a layout saved on a bigger screen is never
//! lost off-screen. A layout that cannot be read is ignored (the desktop starts fresh), never
//! fatal. Pure except for [`load`] and [`save`], the only functions that touch storage.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::geometry::{self, Rect, Size};
use crate::apps::AppMeta;
use crate::services::web_storage::Area;

/// The `localStorage` key of the layout.
pub const STORAGE_KEY: &str = "aether.layout";

/// The version this desktop writes and reads; another version is ignored.
pub const LAYOUT_VERSION: u32 = 1;

/// At most this many windows are restored (a corrupt or hostile entry cannot flood the page).
pub const MAX_RESTORED_WINDOWS: usize = 32;

/// The stored layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedLayout {
    pub version: u32,
    /// Bottom to top.
    pub windows: Vec<SavedWindow>,
}

/// One stored window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedWindow {
    pub id: u32,
    /// The app's registry id.
    pub app: String,
    /// The window's normal place (its place before it was maximized, if it is).
    pub rect: Rect,
    #[serde(default)]
    pub minimized: bool,
    #[serde(default)]
    pub maximized: bool,
}

/// A window to open when restoring, ready for the window manager.
#[derive(Clone, Copy, Debug)]
pub struct PlannedWindow {
    pub id: u32,
    pub app: &'static AppMeta,
    pub rect: Rect,
    pub minimized: bool,
    pub maximized: bool,
}

/// Why a stored layout was not used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("the saved layout is not valid JSON ({0}); starting with a fresh desktop")]
    Unreadable(#[from] serde_json::Error),
    #[error(
        "the saved layout has version {0}, this desktop reads {LAYOUT_VERSION}; starting fresh"
    )]
    OtherVersion(u32),
}

impl SavedLayout {
    /// A layout of this version.
    pub fn new(windows: Vec<SavedWindow>) -> Self {
        SavedLayout {
            version: LAYOUT_VERSION,
            windows,
        }
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored layout.
    pub fn from_json(text: &str) -> Result<Self, LayoutError> {
        let layout: SavedLayout = serde_json::from_str(text)?;
        if layout.version != LAYOUT_VERSION {
            return Err(LayoutError::OtherVersion(layout.version));
        }
        Ok(layout)
    }
}

/// The windows to open for `saved` in `viewport`, bottom to top; `find` looks an app up by id.
pub fn plan(
    saved: &SavedLayout,
    viewport: Size,
    find: impl Fn(&str) -> Option<&'static AppMeta>,
) -> Vec<PlannedWindow> {
    // Keep the topmost window of a single-instance app: walk top to bottom, then reverse.
    let mut single_seen = HashSet::new();
    let mut kept: Vec<(&SavedWindow, &'static AppMeta)> = saved
        .windows
        .iter()
        .rev()
        .filter_map(|w| find(&w.app).map(|app| (w, app)))
        .filter(|(_, app)| app.multi_instance || single_seen.insert(app.id))
        .take(MAX_RESTORED_WINDOWS)
        .collect();
    kept.reverse();

    let mut ids = HashSet::new();
    let mut next_free = kept.iter().map(|(w, _)| w.id).max().unwrap_or(0);
    kept.into_iter()
        .map(|(w, app)| {
            let id = if w.id != 0 && ids.insert(w.id) {
                w.id
            } else {
                next_free += 1;
                ids.insert(next_free);
                next_free
            };
            PlannedWindow {
                id,
                app,
                rect: geometry::clamp(w.rect, app.min_size, viewport),
                minimized: w.minimized,
                maximized: w.maximized,
            }
        })
        .collect()
}

/// The layout saved in this browser, if there is a usable one.
pub fn load() -> Option<SavedLayout> {
    let text = Area::Local.get(STORAGE_KEY)?;
    SavedLayout::from_json(&text)
        .map_err(|e| web_sys::console::warn_1(&format!("aether: {e}").into()))
        .ok()
}

/// Saves `layout` for the next visit.
pub fn save(layout: &SavedLayout) {
    Area::Local.set(STORAGE_KEY, &layout.to_json());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps;

    const SCREEN: Size = Size {
        width: 1280.0,
        height: 800.0,
    };

    fn window(id: u32, app: &str, x: f64, y: f64) -> SavedWindow {
        SavedWindow {
            id,
            app: app.into(),
            rect: Rect {
                x,
                y,
                width: 420.0,
                height: 320.0,
            },
            minimized: false,
            maximized: false,
        }
    }

    #[test]
    fn a_layout_survives_the_round_trip_through_json() {
        let mut notes = window(4, "notes", 100.0, 120.0);
        notes.minimized = true;
        let mut about = window(2, "about", 300.0, 90.5);
        about.maximized = true;
        let layout = SavedLayout::new(vec![notes, about]);
        let text = layout.to_json();
        assert_eq!(SavedLayout::from_json(&text).unwrap(), layout);
        assert!(text.contains("\"version\":1"));
    }

    #[test]
    fn unreadable_or_foreign_layouts_are_refused_with_a_reason() {
        assert!(matches!(
            SavedLayout::from_json("{not json"),
            Err(LayoutError::Unreadable(_))
        ));
        assert!(matches!(
            SavedLayout::from_json(r#"{"version":9,"windows":[]}"#),
            Err(LayoutError::OtherVersion(9))
        ));
        // Missing flags default to a normal window.
        let old = r#"{"version":1,"windows":[{"id":1,"app":"notes","rect":{"x":1,"y":40,"width":300,"height":200}}]}"#;
        let layout = SavedLayout::from_json(old).unwrap();
        assert!(!layout.windows[0].minimized && !layout.windows[0].maximized);
    }

    #[test]
    fn a_layout_from_a_bigger_screen_is_clamped_into_the_current_one() {
        let big = SavedLayout::new(vec![
            window(1, "notes", 2_400.0, 1_300.0),
            window(2, "notes", -500.0, -80.0),
        ]);
        let small = Size {
            width: 800.0,
            height: 600.0,
        };
        let area = geometry::work_area(small);
        let planned = plan(&big, small, apps::find);
        assert_eq!(planned.len(), 2);
        for w in &planned {
            assert!(
                w.rect.x >= 0.0 && w.rect.right() <= small.width,
                "{:?}",
                w.rect
            );
            assert!(
                w.rect.y >= area.y && w.rect.bottom() <= area.bottom(),
                "{:?}",
                w.rect
            );
        }
        assert_eq!((planned[1].rect.x, planned[1].rect.y), (0.0, area.y));
    }

    #[test]
    fn restoring_keeps_z_order_and_state_and_drops_what_cannot_be_restored() {
        let mut minimized = window(3, "notes", 10.0, 50.0);
        minimized.minimized = true;
        let layout = SavedLayout::new(vec![
            window(1, "about", 0.0, 40.0),
            window(9, "gone-app", 0.0, 40.0),
            minimized,
            window(3, "notes", 20.0, 60.0),
            window(5, "about", 30.0, 70.0),
        ]);
        let planned = plan(&layout, SCREEN, apps::find);
        let summary: Vec<_> = planned
            .iter()
            .map(|w| (w.id, w.app.id, w.minimized))
            .collect();
        // One About (the topmost), both notes (the duplicate id renumbered), order kept.
        assert_eq!(
            summary,
            vec![(3, "notes", true), (6, "notes", false), (5, "about", false)]
        );
    }

    #[test]
    fn a_flood_of_saved_windows_is_capped() {
        let many = (1..=500).map(|i| window(i, "notes", 0.0, 40.0)).collect();
        let planned = plan(&SavedLayout::new(many), SCREEN, apps::find);
        assert_eq!(planned.len(), MAX_RESTORED_WINDOWS);
        // The topmost ones are kept.
        assert_eq!(planned.last().unwrap().id, 500);
    }
}
