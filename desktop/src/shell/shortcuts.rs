//! The desktop's keyboard shortcuts: which key press means which [`Command`], and the table the
//! help overlay shows ([`SHORTCUTS`]).
//!
//! Chords use `Alt` (or `Ctrl`/`⌘` for the launcher), matched on the physical key (`code`), so
//! they work on any layout and with macOS's Option characters. Chords the browser or the OS keep
//! for themselves (`Alt+Tab`, `Ctrl+W`, `Alt+←`) are avoided. A plain key (`?`) is a shortcut
//! only when focus is not in a text field, and `Escape` only while an overlay is open, so typing
//! in an editor is never swallowed. Pure: `keyboard` feeds it browser events.

/// Something the desktop does on a shortcut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Bring the next window to the front.
    NextWindow,
    /// Send the front window to the back.
    PreviousWindow,
    CloseWindow,
    MinimizeWindow,
    /// Maximize the front window, or restore it.
    ToggleMaximize,
    /// Open (or close) the launcher.
    ToggleLauncher,
    /// Open (or close) the shortcut help.
    ToggleHelp,
    /// Open (or close) search in files.
    FindInFiles,
    /// Switch between the light and the dark theme (and remember it).
    ToggleTheme,
    /// Open (or close) the command palette (the launcher with `>`).
    TogglePalette,
    /// Close the open overlay.
    CloseOverlay,
}

/// One key press, as much of it as the mapping needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyPress<'a> {
    /// `KeyboardEvent.key`: the character or key name (`?`, `F1`, `Escape`).
    pub key: &'a str,
    /// `KeyboardEvent.code`: the physical key (`KeyJ`, `ArrowUp`, `Space`).
    pub code: &'a str,
    pub alt: bool,
    pub ctrl: bool,
    pub shift: bool,
    pub meta: bool,
    /// Focus is in an input, a text area, a select or something `contenteditable`.
    pub in_text_field: bool,
    /// The launcher or the help overlay is open.
    pub overlay_open: bool,
}

/// The shortcut table shown in the help overlay: keys, then what they do.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Alt+J  ·  Alt+Shift+→", "Switch to the next window"),
    (
        "Alt+Shift+J  ·  Alt+Shift+←",
        "Send the front window to the back",
    ),
    ("Alt+W", "Close the front window"),
    ("Alt+M", "Minimize the front window to the dock"),
    ("Alt+↑", "Maximize or restore the front window"),
    ("Alt+Shift+T", "Switch between the light and dark themes"),
    (
        "Ctrl+K  ·  Alt+Space",
        "Open the launcher: type to filter, Enter opens",
    ),
    (
        "Ctrl+Shift+P",
        "Open the command palette (or type > in the launcher): every command, with its keys",
    ),
    (
        "Ctrl+Shift+F",
        "Search in files: ↑/↓, Enter opens the line in the Editor; Alt+R regex, Alt+C case",
    ),
    (
        "?  ·  F1",
        "Show these shortcuts (? only outside text fields)",
    ),
    ("Escape", "Close the launcher or this help"),
    (
        "Shift+click on a dock item",
        "Open another window of that app",
    ),
    ("Double-click a title bar", "Maximize or restore the window"),
];

/// The command for `press`, if it is a shortcut.
pub fn command_for(press: &KeyPress<'_>) -> Option<Command> {
    let KeyPress {
        key,
        code,
        alt,
        ctrl,
        shift,
        meta,
        in_text_field,
        overlay_open,
    } = *press;
    if alt && !ctrl && !meta {
        return match (code, shift) {
            ("KeyJ", false) | ("ArrowRight", true) => Some(Command::NextWindow),
            ("KeyJ", true) | ("ArrowLeft", true) => Some(Command::PreviousWindow),
            ("KeyW", false) => Some(Command::CloseWindow),
            ("KeyM", false) => Some(Command::MinimizeWindow),
            ("ArrowUp", false) => Some(Command::ToggleMaximize),
            ("Space", false) => Some(Command::ToggleLauncher),
            ("KeyT", true) => Some(Command::ToggleTheme),
            _ => None,
        };
    }
    if (ctrl || meta) && !alt && shift && code == "KeyF" {
        return Some(Command::FindInFiles);
    }
    if (ctrl || meta) && !alt && shift && code == "KeyP" {
        return Some(Command::TogglePalette);
    }
    if (ctrl || meta) && !alt && !shift && code == "KeyK" {
        return Some(Command::ToggleLauncher);
    }
    if alt || ctrl || meta {
        return None;
    }
    match key {
        "F1" => Some(Command::ToggleHelp),
        "?" if !in_text_field => Some(Command::ToggleHelp),
        "Escape" if overlay_open => Some(Command::CloseOverlay),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alt(code: &str) -> KeyPress<'_> {
        KeyPress {
            code,
            alt: true,
            ..KeyPress::default()
        }
    }

    fn typed(key: &str, in_text_field: bool) -> KeyPress<'_> {
        KeyPress {
            key,
            in_text_field,
            ..KeyPress::default()
        }
    }

    #[test]
    fn alt_chords_drive_the_front_window_even_from_a_text_field() {
        let cases = [
            ("KeyJ", false, Command::NextWindow),
            ("KeyJ", true, Command::PreviousWindow),
            ("ArrowRight", true, Command::NextWindow),
            ("ArrowLeft", true, Command::PreviousWindow),
            ("KeyW", false, Command::CloseWindow),
            ("KeyM", false, Command::MinimizeWindow),
            ("ArrowUp", false, Command::ToggleMaximize),
            ("Space", false, Command::ToggleLauncher),
            ("KeyT", true, Command::ToggleTheme),
        ];
        for (code, shift, command) in cases {
            let press = KeyPress {
                shift,
                in_text_field: true,
                // macOS Option+J types "∆": the physical key decides.
                key: "∆",
                ..alt(code)
            };
            assert_eq!(command_for(&press), Some(command), "{code} shift={shift}");
        }
    }

    #[test]
    fn browser_chords_are_left_to_the_browser() {
        // Alt+← is "back", Alt+Tab belongs to the OS, Ctrl+Alt combinations to the OS or AltGr.
        assert_eq!(command_for(&alt("ArrowLeft")), None);
        assert_eq!(command_for(&alt("Tab")), None);
        let alt_gr = KeyPress {
            ctrl: true,
            ..alt("KeyJ")
        };
        assert_eq!(command_for(&alt_gr), None);
        let ctrl_w = KeyPress {
            code: "KeyW",
            ctrl: true,
            ..KeyPress::default()
        };
        assert_eq!(command_for(&ctrl_w), None);
    }

    #[test]
    fn the_launcher_opens_with_ctrl_k_or_cmd_k() {
        for (ctrl, meta) in [(true, false), (false, true)] {
            let press = KeyPress {
                code: "KeyK",
                ctrl,
                meta,
                in_text_field: true,
                ..KeyPress::default()
            };
            assert_eq!(command_for(&press), Some(Command::ToggleLauncher));
        }
    }

    #[test]
    fn search_in_files_opens_with_ctrl_shift_f_even_from_a_text_field() {
        for (ctrl, meta) in [(true, false), (false, true)] {
            let press = KeyPress {
                key: "F",
                code: "KeyF",
                ctrl,
                meta,
                shift: true,
                in_text_field: true,
                ..KeyPress::default()
            };
            assert_eq!(command_for(&press), Some(Command::FindInFiles));
        }
        // Ctrl+F stays the browser's (find in page).
        let ctrl_f = KeyPress {
            code: "KeyF",
            ctrl: true,
            ..KeyPress::default()
        };
        assert_eq!(command_for(&ctrl_f), None);
    }

    #[test]
    fn the_palette_opens_with_ctrl_shift_p_even_from_a_text_field() {
        for (ctrl, meta) in [(true, false), (false, true)] {
            let press = KeyPress {
                key: "P",
                code: "KeyP",
                ctrl,
                meta,
                shift: true,
                in_text_field: true,
                ..KeyPress::default()
            };
            assert_eq!(command_for(&press), Some(Command::TogglePalette));
        }
        // Ctrl+P (print, or the Editor's quick open) is not the palette.
        let ctrl_p = KeyPress {
            code: "KeyP",
            ctrl: true,
            ..KeyPress::default()
        };
        assert_eq!(command_for(&ctrl_p), None);
    }

    #[test]
    fn typing_in_a_text_field_is_never_swallowed() {
        for key in ["?", "j", "w", "Escape", " "] {
            assert_eq!(command_for(&typed(key, true)), None, "{key}");
        }
        assert_eq!(command_for(&typed("?", false)), Some(Command::ToggleHelp));
        assert_eq!(command_for(&typed("F1", true)), Some(Command::ToggleHelp));
        assert_eq!(command_for(&typed("Escape", false)), None);
        let closing = KeyPress {
            overlay_open: true,
            ..typed("Escape", true)
        };
        assert_eq!(command_for(&closing), Some(Command::CloseOverlay));
    }
}
