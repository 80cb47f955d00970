//! Where windows may be: sizes, rectangles, the work area, and the rules that keep a window in it.
//!
//! Pure arithmetic in CSS pixels, shared by the window manager, the window frame and the saved
//! layout, and unit tested natively. The **work area** is the viewport minus the top bar and the
//! strip kept for the dock. A window always lies wholly inside the work area when it fits; when
//! it does not, it is shrunk, but never below its app's minimum size (then its title bar stays
//! at the top-left of the work area, reachable). This module never reads the DOM.

use serde::{Deserialize, Serialize};

/// Height of the top bar; windows never go above it. Matches `--top-bar-height` in the CSS.
pub const TOP_BAR_PX: f64 = 32.0;

/// Height of a window's title bar. Matches `--titlebar-height` in the CSS.
pub const TITLEBAR_PX: f64 = 34.0;

/// The strip at the bottom kept free for the dock. Matches `--dock-reserved` in the CSS.
pub const DOCK_PX: f64 = 72.0;

/// Offset between cascaded windows.
const CASCADE_STEP_PX: f64 = 28.0;

/// Where the first window opens, relative to the work area's top-left corner.
const CASCADE_ORIGIN: (f64, f64) = (72.0, 40.0);

/// A width and height.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// A window's place on the desktop: top-left corner and size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    /// The x of the right edge.
    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    /// The y of the bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }
}

/// An edge or corner of a window, each with its resize handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
}

impl Edge {
    /// Every handle, edges first.
    pub const ALL: [Edge; 8] = [
        Edge::North,
        Edge::South,
        Edge::East,
        Edge::West,
        Edge::NorthEast,
        Edge::NorthWest,
        Edge::SouthEast,
        Edge::SouthWest,
    ];

    /// The compass name used as `data-edge` in the DOM: `n`, `se`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Edge::North => "n",
            Edge::South => "s",
            Edge::East => "e",
            Edge::West => "w",
            Edge::NorthEast => "ne",
            Edge::NorthWest => "nw",
            Edge::SouthEast => "se",
            Edge::SouthWest => "sw",
        }
    }

    fn moves_left(self) -> bool {
        matches!(self, Edge::West | Edge::NorthWest | Edge::SouthWest)
    }

    fn moves_right(self) -> bool {
        matches!(self, Edge::East | Edge::NorthEast | Edge::SouthEast)
    }

    fn moves_top(self) -> bool {
        matches!(self, Edge::North | Edge::NorthEast | Edge::NorthWest)
    }

    fn moves_bottom(self) -> bool {
        matches!(self, Edge::South | Edge::SouthEast | Edge::SouthWest)
    }
}

/// The part of `viewport` windows live in: below the top bar, above the dock. A maximized window
/// fills it exactly.
pub fn work_area(viewport: Size) -> Rect {
    Rect {
        x: 0.0,
        y: TOP_BAR_PX,
        width: viewport.width.max(0.0),
        height: (viewport.height - TOP_BAR_PX - DOCK_PX).max(TITLEBAR_PX),
    }
}

/// The place of the `index`-th window opened (0-based), stepping down and right and wrapping
/// back to the origin before it would leave the work area.
pub fn cascade(index: usize, size: Size, min: Size, viewport: Size) -> Rect {
    let area = work_area(viewport);
    let room_x = (area.width - size.width - CASCADE_ORIGIN.0).max(0.0);
    let room_y = (area.height - size.height - CASCADE_ORIGIN.1).max(0.0);
    let steps = (room_x.min(room_y) / CASCADE_STEP_PX).floor().max(0.0) as usize + 1;
    let offset = (index % steps) as f64 * CASCADE_STEP_PX;
    clamp(
        Rect {
            x: area.x + CASCADE_ORIGIN.0 + offset,
            y: area.y + CASCADE_ORIGIN.1 + offset,
            width: size.width,
            height: size.height,
        },
        min,
        viewport,
    )
}

/// `rect` moved (and shrunk if it must, never below `min`) to lie inside the work area.
/// Non-finite coordinates become the work area's corner and `min`.
pub fn clamp(rect: Rect, min: Size, viewport: Size) -> Rect {
    let area = work_area(viewport);
    let finite = |value: f64, fallback: f64| if value.is_finite() { value } else { fallback };
    let width = finite(rect.width, min.width).min(area.width).max(min.width);
    let height = finite(rect.height, min.height)
        .min(area.height)
        .max(min.height);
    Rect {
        x: finite(rect.x, area.x).min(area.right() - width).max(area.x),
        y: finite(rect.y, area.y)
            .min(area.bottom() - height)
            .max(area.y),
        width,
        height,
    }
}

/// `origin` moved by a pointer delta, clamped.
pub fn dragged(origin: Rect, dx: f64, dy: f64, min: Size, viewport: Size) -> Rect {
    clamp(
        Rect {
            x: origin.x + dx,
            y: origin.y + dy,
            ..origin
        },
        min,
        viewport,
    )
}

/// `origin` resized by dragging `edge` by a pointer delta: the opposite edge stays put, the
/// size never goes below `min`, and the moved edge never leaves the work area.
pub fn resized(origin: Rect, edge: Edge, dx: f64, dy: f64, min: Size, viewport: Size) -> Rect {
    let area = work_area(viewport);
    let (mut left, mut top) = (origin.x, origin.y);
    let (mut right, mut bottom) = (origin.right(), origin.bottom());
    if edge.moves_left() {
        left = (left + dx).max(area.x).min(right - min.width);
    }
    if edge.moves_right() {
        right = (right + dx).min(area.right()).max(left + min.width);
    }
    if edge.moves_top() {
        top = (top + dy).max(area.y).min(bottom - min.height);
    }
    if edge.moves_bottom() {
        bottom = (bottom + dy).min(area.bottom()).max(top + min.height);
    }
    clamp(
        Rect {
            x: left,
            y: top,
            width: right - left,
            height: bottom - top,
        },
        min,
        viewport,
    )
}

/// Where a maximized window lands when a drag pulls it out of the maximized state: its normal
/// size `restore`, under the pointer at the same relative spot of the title bar.
pub fn unmaximized_under_pointer(restore: Rect, maximized: Rect, pointer_x: f64) -> Rect {
    let ratio = if maximized.width > 0.0 {
        ((pointer_x - maximized.x) / maximized.width).clamp(0.0, 1.0)
    } else {
        0.5
    };
    Rect {
        x: pointer_x - ratio * restore.width,
        y: maximized.y,
        ..restore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: Size = Size {
        width: 1280.0,
        height: 800.0,
    };
    const WINDOW: Size = Size {
        width: 400.0,
        height: 300.0,
    };
    const MIN: Size = Size {
        width: 200.0,
        height: 120.0,
    };

    fn inside(rect: Rect, viewport: Size) -> bool {
        let area = work_area(viewport);
        rect.x >= area.x
            && rect.y >= area.y
            && rect.right() <= area.right()
            && rect.bottom() <= area.bottom()
    }

    #[test]
    fn new_windows_cascade_and_wrap_inside_the_work_area() {
        let first = cascade(0, WINDOW, MIN, SCREEN);
        let second = cascade(1, WINDOW, MIN, SCREEN);
        assert_eq!((second.x - first.x, second.y - first.y), (28.0, 28.0));
        for index in 0..100 {
            let rect = cascade(index, WINDOW, MIN, SCREEN);
            assert!(inside(rect, SCREEN), "{index}: {rect:?}");
            assert_eq!((rect.width, rect.height), (WINDOW.width, WINDOW.height));
        }
    }

    #[test]
    fn a_shrinking_viewport_moves_then_shrinks_a_window_but_never_below_its_minimum() {
        let rect = Rect {
            x: 900.0,
            y: 500.0,
            width: 400.0,
            height: 300.0,
        };
        let laptop = Size {
            width: 1000.0,
            height: 700.0,
        };
        let moved = clamp(rect, MIN, laptop);
        assert!(inside(moved, laptop), "{moved:?}");
        assert_eq!((moved.width, moved.height), (400.0, 300.0));

        let phone = Size {
            width: 300.0,
            height: 400.0,
        };
        let shrunk = clamp(rect, MIN, phone);
        assert!(inside(shrunk, phone), "{shrunk:?}");
        assert_eq!(shrunk.width, 300.0);
        assert_eq!(shrunk.height, work_area(phone).height);

        let tiny = Size {
            width: 100.0,
            height: 100.0,
        };
        let pinned = clamp(rect, MIN, tiny);
        assert_eq!((pinned.x, pinned.y), (0.0, TOP_BAR_PX));
        assert_eq!((pinned.width, pinned.height), (MIN.width, MIN.height));
    }

    #[test]
    fn non_finite_coordinates_are_replaced_rather_than_kept() {
        let bad = Rect {
            x: f64::NAN,
            y: f64::INFINITY,
            width: f64::NAN,
            height: 250.0,
        };
        let fixed = clamp(bad, MIN, SCREEN);
        assert!(fixed.x.is_finite() && fixed.y.is_finite(), "{fixed:?}");
        assert!(inside(fixed, SCREEN), "{fixed:?}");
        assert_eq!(fixed.width, MIN.width);
    }

    #[test]
    fn dragging_keeps_the_whole_window_in_the_work_area() {
        let start = cascade(0, WINDOW, MIN, SCREEN);
        let up_left = dragged(start, -5_000.0, -5_000.0, MIN, SCREEN);
        assert_eq!((up_left.x, up_left.y), (0.0, TOP_BAR_PX));
        let down_right = dragged(start, 5_000.0, 5_000.0, MIN, SCREEN);
        assert_eq!(down_right.right(), SCREEN.width);
        assert_eq!(down_right.bottom(), SCREEN.height - DOCK_PX);
        let small = dragged(start, 10.0, -3.0, MIN, SCREEN);
        assert_eq!((small.x, small.y), (start.x + 10.0, start.y - 3.0));
        assert_eq!((small.width, small.height), (WINDOW.width, WINDOW.height));
    }

    #[test]
    fn resizing_moves_only_the_dragged_edges_and_keeps_the_minimum_size() {
        let start = Rect {
            x: 300.0,
            y: 200.0,
            width: 400.0,
            height: 300.0,
        };
        let east = resized(start, Edge::East, 50.0, 99.0, MIN, SCREEN);
        assert_eq!(
            east,
            Rect {
                width: 450.0,
                ..start
            }
        );
        let west = resized(start, Edge::West, 50.0, 0.0, MIN, SCREEN);
        assert_eq!((west.x, west.right()), (350.0, start.right()));
        let north = resized(start, Edge::North, 0.0, -40.0, MIN, SCREEN);
        assert_eq!((north.y, north.bottom()), (160.0, start.bottom()));
        let south_east = resized(start, Edge::SouthEast, 20.0, 30.0, MIN, SCREEN);
        assert_eq!((south_east.width, south_east.height), (420.0, 330.0));
        assert_eq!((south_east.x, south_east.y), (start.x, start.y));

        let crushed = resized(start, Edge::NorthWest, 1_000.0, 1_000.0, MIN, SCREEN);
        assert_eq!((crushed.width, crushed.height), (MIN.width, MIN.height));
        assert_eq!(
            (crushed.right(), crushed.bottom()),
            (start.right(), start.bottom())
        );

        let huge = resized(start, Edge::SouthEast, 5_000.0, 5_000.0, MIN, SCREEN);
        assert!(inside(huge, SCREEN), "{huge:?}");
        assert_eq!(huge.right(), SCREEN.width);
        let above = resized(start, Edge::North, 0.0, -5_000.0, MIN, SCREEN);
        assert_eq!(above.y, TOP_BAR_PX);
    }

    #[test]
    fn every_edge_has_a_distinct_dom_name() {
        let names: std::collections::HashSet<_> = Edge::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), Edge::ALL.len());
    }

    #[test]
    fn a_maximized_window_pulled_down_keeps_the_pointer_over_its_title_bar() {
        let restore = Rect {
            x: 500.0,
            y: 300.0,
            width: 400.0,
            height: 300.0,
        };
        let max = work_area(SCREEN);
        let placed = unmaximized_under_pointer(restore, max, 640.0);
        assert_eq!(placed.y, max.y);
        assert_eq!(placed.width, 400.0);
        assert!(placed.x <= 640.0 && placed.right() >= 640.0);
        assert_eq!(placed.x, 640.0 - 0.5 * 400.0);
    }
}
