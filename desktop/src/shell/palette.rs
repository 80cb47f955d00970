//! The command palette's list: every command the desktop offers, from the shell (the theme, the
//! windows, the help: [`SHELL_COMMANDS`]), one "Open <app>" per app, and each app's own
//! commands (its `AppMeta::commands`), each with an id, a label and its shortcut, if any.
//!
//! [`entries`] builds the list from the registry; [`run`] carries one out: a shell command
//! through the same code as its shortcut (`keyboard::run`), an app opened as the launcher does,
//! an app's command posted as `Intent::Command` to the app's window in front (opened if it has
//! none; see `WindowManager::send`). The launcher shows and filters the list (`fuzzy`). Pure
//! except for [`run`].

use super::keyboard::{self, Controls};
use super::shortcuts::Command;
use super::window_frame::focus_contents;
use crate::apps::{AppCommand, AppMeta};
use crate::shell::intents::Intent;

/// The shell's commands in the palette: id (after `shell.`), label, shortcut, command.
pub const SHELL_COMMANDS: &[(&str, &str, &str, Command)] = &[
    (
        "toggle-theme",
        "Toggle theme (light / dark)",
        "Alt+Shift+T",
        Command::ToggleTheme,
    ),
    (
        "next-window",
        "Switch to the next window",
        "Alt+J",
        Command::NextWindow,
    ),
    (
        "previous-window",
        "Send the front window to the back",
        "Alt+Shift+J",
        Command::PreviousWindow,
    ),
    (
        "close-window",
        "Close the front window",
        "Alt+W",
        Command::CloseWindow,
    ),
    (
        "minimize-window",
        "Minimize the front window",
        "Alt+M",
        Command::MinimizeWindow,
    ),
    (
        "maximize-window",
        "Maximize or restore the front window",
        "Alt+↑",
        Command::ToggleMaximize,
    ),
    (
        "find-in-files",
        "Search in files",
        "Ctrl+Shift+F",
        Command::FindInFiles,
    ),
    (
        "show-shortcuts",
        "Show the keyboard shortcuts",
        "F1",
        Command::ToggleHelp,
    ),
];

/// What picking an entry does.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// A shell command, as its shortcut.
    Shell(Command),
    /// Open the app (a new window for a multi-instance app), as the launcher does.
    Open(&'static AppMeta),
    /// The app's command, in its window in front.
    App(&'static AppMeta, &'static AppCommand),
}

/// One line of the palette.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Unique: `shell.<id>`, `open.<app>` or `<app>.<command>` (`[data-testid=launcher-command-<id>]`).
    pub id: String,
    /// What the palette shows and the query is matched against.
    pub label: String,
    /// The shortcut, as `shell::chord` reads it.
    pub keys: Option<&'static str>,
    pub action: Action,
}

/// Every entry, in the palette's order for an empty query: the apps' commands, then the
/// shell's, then opening each app.
pub fn entries(apps: &'static [AppMeta]) -> Vec<Entry> {
    let app_commands = apps.iter().flat_map(|app| {
        app.commands.iter().map(move |command| Entry {
            id: format!("{}.{}", app.id, command.id),
            label: format!("{}: {}", app.title, command.title),
            keys: command.keys,
            action: Action::App(app, command),
        })
    });
    let shell = SHELL_COMMANDS
        .iter()
        .map(|&(id, label, keys, command)| Entry {
            id: format!("shell.{id}"),
            label: label.to_owned(),
            keys: Some(keys),
            action: Action::Shell(command),
        });
    let open = apps.iter().map(|app| Entry {
        id: format!("open.{}", app.id),
        label: format!("Open {}", app.title),
        keys: None,
        action: Action::Open(app),
    });
    app_commands.chain(shell).chain(open).collect()
}

/// Carries out `action` (the palette has closed already).
pub fn run(action: Action, controls: Controls) {
    match action {
        Action::Shell(command) => keyboard::run(command, controls),
        Action::Open(app) => focus_contents(controls.wm.open(app)),
        Action::App(app, command) => {
            focus_contents(controls.wm.send(app, Intent::Command(command.id)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::apps::APPS;
    use crate::shell::chord::Chord;
    use crate::shell::shortcuts::{KeyPress, SHORTCUTS, command_for};

    #[test]
    fn entry_ids_are_unique_and_every_app_and_command_is_listed() {
        let all = entries(APPS);
        let ids: HashSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), all.len(), "duplicate ids");
        for app in APPS {
            assert!(
                ids.contains(format!("open.{}", app.id).as_str()),
                "{}",
                app.id
            );
            for command in app.commands {
                assert!(ids.contains(format!("{}.{}", app.id, command.id).as_str()));
            }
        }
        // What the issue asks the palette for.
        for id in [
            "editor.new-file",
            "editor.save-all",
            "editor.run",
            "files.export",
            "agent.connect",
            "shell.toggle-theme",
            "open.terminal",
            "open.settings",
        ] {
            assert!(ids.contains(id), "{id}");
        }
    }

    #[test]
    fn every_shortcut_shown_is_well_formed() {
        for entry in entries(APPS) {
            if let Some(keys) = entry.keys {
                assert!(Chord::parse(keys).is_some(), "{}: {keys}", entry.id);
            }
        }
    }

    #[test]
    fn a_shell_commands_shortcut_is_the_key_that_runs_it() {
        for &(id, _, keys, command) in SHELL_COMMANDS {
            let chord = Chord::parse(keys).unwrap();
            let (key, code) = (chord.key_value(), chord.code());
            let press = KeyPress {
                key: &key,
                code: &code,
                ctrl: chord.ctrl,
                alt: chord.alt,
                shift: chord.shift,
                ..KeyPress::default()
            };
            assert_eq!(command_for(&press), Some(command), "{id}: {keys}");
        }
    }

    #[test]
    fn the_help_lists_every_shell_commands_shortcut_and_the_palettes_own() {
        let listed: Vec<&str> = SHORTCUTS
            .iter()
            .flat_map(|(keys, _)| keys.split('·').map(str::trim))
            .collect();
        for &(id, _, keys, _) in SHELL_COMMANDS {
            assert!(listed.contains(&keys), "{id}: {keys} is not in the help");
        }
        assert!(listed.contains(&"Ctrl+Shift+P"));
    }

    #[test]
    fn the_palette_names_the_app_of_each_app_command() {
        let all = entries(APPS);
        let new_file = all.iter().find(|e| e.id == "editor.new-file").unwrap();
        assert_eq!(new_file.label, "Editor: New file");
        let run = all.iter().find(|e| e.id == "editor.run").unwrap();
        assert_eq!(run.keys, Some("Ctrl+Enter"));
    }
}
