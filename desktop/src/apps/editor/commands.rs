//! The Editor's palette commands ([`COMMANDS`], listed in its `AppMeta`) and what each does when
//! the window receives it (`Intent::Command`): a new file, save, save all, run the file in
//! front, quick open. The shortcuts shown are the Editor's own (caught in its window).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::EditorState;
use super::runner;
use crate::apps::AppCommand;
use crate::apps::files::format::fresh_name;

/// The Editor's commands: one line each; [`EditorCommand::from_id`] says what each id does.
pub const COMMANDS: &[AppCommand] = &[
    AppCommand::new("new-file", "New file"),
    AppCommand::new("save", "Save").keys("Ctrl+S"),
    AppCommand::new("save-all", "Save all"),
    AppCommand::new("run", "Run current file").keys("Ctrl+Enter"),
    AppCommand::new("open", "Open a file…").keys("Ctrl+P"),
];

/// Where a new file goes, and the name it takes (with ` 2`, ` 3`… when taken).
const NEW_FILE_DIR: &str = "/";
const NEW_FILE_NAME: &str = "untitled.txt";

/// What a command id asks the Editor to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EditorCommand {
    NewFile,
    Save,
    SaveAll,
    Run,
    Open,
}

impl EditorCommand {
    fn from_id(id: &str) -> Option<EditorCommand> {
        Some(match id {
            "new-file" => EditorCommand::NewFile,
            "save" => EditorCommand::Save,
            "save-all" => EditorCommand::SaveAll,
            "run" => EditorCommand::Run,
            "open" => EditorCommand::Open,
            _ => return None,
        })
    }
}

/// Carries out the command `id` (an id the Editor does not have is ignored).
pub fn run(state: EditorState, id: &str) {
    match EditorCommand::from_id(id) {
        Some(EditorCommand::NewFile) => new_file(state),
        Some(EditorCommand::Save) => state.save_active(),
        Some(EditorCommand::SaveAll) => save_all(state),
        Some(EditorCommand::Run) => runner::run_active(state),
        Some(EditorCommand::Open) => state.quick_open.set(true),
        None => {}
    }
}

/// Creates an empty file under a free name in [`NEW_FILE_DIR`] of this tab's files and opens it.
fn new_file(state: EditorState) {
    let vfs = state.vfs();
    spawn_local(async move {
        let created = async {
            let names: Vec<String> = vfs
                .list(NEW_FILE_DIR)
                .await?
                .into_iter()
                .map(|entry| entry.name)
                .collect();
            let taken: Vec<&str> = names.iter().map(String::as_str).collect();
            let path = format!("{NEW_FILE_DIR}{}", fresh_name(&taken, NEW_FILE_NAME));
            vfs.write(&path, b"").await?;
            Ok::<_, crate::services::vfs::VfsError>(path)
        };
        match created.await {
            Ok(path) => state.open(path),
            Err(e) => {
                state.status.try_set(Some(format!("No new file: {e}")));
            }
        }
    });
}

/// Saves every tab with unsaved changes.
fn save_all(state: EditorState) {
    let dirty: Vec<String> = state.tabs.with_untracked(|t| {
        t.tabs
            .iter()
            .filter(|tab| tab.dirty && !tab.read_only)
            .map(|tab| tab.path.clone())
            .collect()
    });
    if dirty.is_empty() {
        state.status.set(Some("Nothing to save.".to_owned()));
    }
    for path in dirty {
        state.save(path, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_listed_is_one_the_editor_carries_out() {
        for command in COMMANDS {
            assert!(
                EditorCommand::from_id(command.id).is_some(),
                "{} is listed but not handled",
                command.id
            );
        }
        assert_eq!(EditorCommand::from_id("nope"), None);
    }
}
