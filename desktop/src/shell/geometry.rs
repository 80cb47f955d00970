//! Where windows may be: sizes, rectangles, the cascade for new windows, and clamping.
//!
//! Pure arithmetic in CSS pixels, shared by the window manager and the window frame and unit
//! tested natively. A window may be dragged partly off screen, but its title bar always stays
//! reachable: below the top bar, and at least [`MIN_VISIBLE_PX`] of it inside the viewport.

/// Height of the top bar; windows never go above it.
pub const TOP_BAR_PX: f64 = 32.0;

/// Height of a window's title bar.
pub const TITLEBAR_PX: f64 = 34.0;

/// How much of a window's title bar stays inside the viewport horizontally.
pub const MIN_VISIBLE_PX: f64 = 80.0;

/// Offset between cascaded windows.
const CASCADE_STEP_PX: f64 = 28.0;

/// Where the first window opens.
const CASCADE_ORIGIN: (f64, f64) = (72.0, TOP_BAR_PX + 40.0);

/// A width and height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// A window's place on the desktop: top-left corner and size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// The place of the `index`-th window opened (0-based), stepping down and right and wrapping
/// back to the origin before it would leave `viewport`.
pub fn cascade(index: usize, size: Size, viewport: Size) -> Rect {
    let room_x = (viewport.width - size.width - CASCADE_ORIGIN.0).max(0.0);
    let room_y = (viewport.height - size.height - CASCADE_ORIGIN.1).max(0.0);
    let steps = (room_x.min(room_y) / CASCADE_STEP_PX).floor().max(0.0) as usize + 1;
    let offset = (index % steps) as f64 * CASCADE_STEP_PX;
    clamp(
        Rect {
            x: CASCADE_ORIGIN.0 + offset,
            y: CASCADE_ORIGIN.1 + offset,
            width: size.width,
            height: size.height,
        },
        viewport,
    )
}

/// `rect` moved so its title bar stays reachable in `viewport`.
pub fn clamp(rect: Rect, viewport: Size) -> Rect {
    let min_x = MIN_VISIBLE_PX - rect.width;
    let max_x = (viewport.width - MIN_VISIBLE_PX).max(min_x);
    let max_y = (viewport.height - TITLEBAR_PX).max(TOP_BAR_PX);
    Rect {
        x: rect.x.clamp(min_x, max_x),
        y: rect.y.clamp(TOP_BAR_PX, max_y),
        ..rect
    }
}

/// `origin` moved by a pointer delta, clamped.
pub fn dragged(origin: Rect, dx: f64, dy: f64, viewport: Size) -> Rect {
    clamp(
        Rect {
            x: origin.x + dx,
            y: origin.y + dy,
            ..origin
        },
        viewport,
    )
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

    #[test]
    fn new_windows_cascade_and_wrap_inside_the_viewport() {
        let first = cascade(0, WINDOW, SCREEN);
        let second = cascade(1, WINDOW, SCREEN);
        assert_eq!((second.x - first.x, second.y - first.y), (28.0, 28.0));
        for index in 0..100 {
            let rect = cascade(index, WINDOW, SCREEN);
            assert!(rect.x + rect.width <= SCREEN.width, "{index}: {rect:?}");
            assert!(rect.y + rect.height <= SCREEN.height, "{index}: {rect:?}");
            assert!(rect.y >= TOP_BAR_PX);
        }
    }

    #[test]
    fn a_tiny_viewport_still_gets_a_reachable_window() {
        let tiny = Size {
            width: 200.0,
            height: 100.0,
        };
        let rect = cascade(5, WINDOW, tiny);
        assert_eq!(rect, clamp(rect, tiny));
        assert!(rect.y >= TOP_BAR_PX && rect.x + rect.width >= MIN_VISIBLE_PX);
    }

    #[test]
    fn dragging_keeps_the_title_bar_on_screen() {
        let start = cascade(0, WINDOW, SCREEN);
        let up_left = dragged(start, -5_000.0, -5_000.0, SCREEN);
        assert_eq!(up_left.y, TOP_BAR_PX);
        assert_eq!(up_left.x + up_left.width, MIN_VISIBLE_PX);
        let down_right = dragged(start, 5_000.0, 5_000.0, SCREEN);
        assert_eq!(down_right.x, SCREEN.width - MIN_VISIBLE_PX);
        assert_eq!(down_right.y, SCREEN.height - TITLEBAR_PX);
        let small = dragged(start, 10.0, -3.0, SCREEN);
        assert_eq!((small.x, small.y), (start.x + 10.0, start.y - 3.0));
        assert_eq!((small.width, small.height), (WINDOW.width, WINDOW.height));
    }
}
