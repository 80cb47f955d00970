//! Run (Ctrl+Enter): the file in front through `vm.spawn` — a `.wat` buffer as WAT text (unsaved
//! edits included), a `.wasm` file by its VFS path — with its output in the panel and a compile
//! error as a marker on the line it names.
//!
//! The spawn is a typed stream (`BusClient::stream::<Spawn>`) whose events feed [`RunOutput`];
//! the window keeps the handle of its latest run only, so a run started again drops the events
//! of the one before.

use aether_shared::vm::{self, ModuleSource, Spawn, SpawnEvent};
use aether_shared::{ErrorCode, ErrorPayload};
use leptos::prelude::*;

use super::EditorState;
use super::host::RUN_MARKERS;
use super::language::is_runnable;
use super::output::{RunOutput, RunState, error_position};
use crate::services::bus::StreamOptions;
use crate::services::monaco::options::{Marker, SEVERITY_ERROR};

/// One event of the current run's spawn.
fn apply(state: EditorState, event: SpawnEvent) {
    let mut failed = None;
    state.output.try_update(|output| {
        let Some(output) = output else { return };
        if output.state != RunState::Running {
            return;
        }
        match event {
            SpawnEvent::Spawned(_) => {}
            SpawnEvent::Stdout(out) => output.chunks.push((false, out.data)),
            SpawnEvent::Stderr(out) => output.chunks.push((true, out.data)),
            SpawnEvent::Exited(exit) => output.state = RunState::Exited(exit),
            SpawnEvent::Failed(error) => {
                failed = Some((output.path.clone(), error.clone()));
                output.state = RunState::Failed(error);
            }
        }
    });
    if let Some((path, error)) = failed
        && error.code == ErrorCode::BadRequest
    {
        let (line, column) = error_position(&error.error).unwrap_or((1, 1));
        let marker = Marker {
            severity: SEVERITY_ERROR,
            message: error.error.clone(),
            source: "wat".into(),
            start_line_number: line,
            start_column: column,
            end_line_number: line,
            end_column: column + 1,
        };
        state.with_host(|host| host.set_markers(&path, RUN_MARKERS, &[marker]));
    }
}

/// Runs the file in front (a no-op with a note for files that cannot run).
pub fn run_active(state: EditorState) {
    let Some(path) = state.tabs.with_untracked(|t| t.active.clone()) else {
        return;
    };
    if !is_runnable(&path) {
        state.status.set(Some(format!(
            "Run works on .wat and .wasm files; {path} is neither."
        )));
        return;
    }
    let module = if path.to_ascii_lowercase().ends_with(".wat") {
        let Some(wat) = state.with_host(|h| h.value(&path)).flatten() else {
            return;
        };
        ModuleSource::Wat { wat }
    } else {
        ModuleSource::Path {
            path: path.clone(),
            session: None,
        }
    };
    state.with_host(|host| host.set_markers(&path, RUN_MARKERS, &[]));
    state.output.set(Some(RunOutput::new(path.clone())));
    let spawn = Spawn {
        backend: vm::Backend::Wasm,
        module: Some(module),
        args: Vec::new(),
        env: Default::default(),
        stdin: Some(String::new()),
        limits: None,
    };
    let opened = state
        .bus()
        .stream(&spawn, StreamOptions::default(), move |event| {
            apply(state, event)
        });
    match opened {
        Ok(stream) => state.keep_run(stream),
        Err(e) => apply(
            state,
            SpawnEvent::Failed(ErrorPayload::new(e.code(), e.to_string())),
        ),
    }
}
