//! Run (Ctrl+Enter): the file in front through `vm.spawn` — a `.wat` buffer as WAT text (unsaved
//! edits included), a `.wasm` file by its VFS path — with its output in the panel and a compile
//! error as a marker on the line it names.
//!
//! The spawn goes out with a request id of our own (`editor-<window>-run-<n>`) and one local
//! `vm.*` listener feeds the answers that carry it into [`RunOutput`], like the Console does.

use aether_shared::vm::{self, Exit, ModuleSource, Output, Spawn};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, Pattern};
use leptos::prelude::*;

use super::EditorState;
use super::host::RUN_MARKERS;
use super::language::is_runnable;
use super::output::{RunOutput, RunState, error_position};
use crate::services::bus::SubscriptionHandle;
use crate::services::monaco::options::{Marker, SEVERITY_ERROR};

/// Starts routing `vm.*` answers to the output panel; give the handle to `bus.off`.
pub fn listen(state: EditorState) -> SubscriptionHandle {
    let pattern = Pattern::parse("vm.*").expect("`vm.*` is a valid pattern");
    state.bus().on(pattern, move |envelope| apply(state, envelope))
}

fn apply(state: EditorState, envelope: &Envelope) {
    let Some(id) = envelope.request_id() else { return };
    let mine = state
        .output
        .try_with_untracked(|o| o.as_ref().is_some_and(|o| o.request_id == id && o.state == RunState::Running))
        .unwrap_or(false);
    if !mine {
        return;
    }
    let mut failed = None;
    state.output.try_update(|output| {
        let Some(output) = output else { return };
        match envelope.topic.as_str() {
            vm::STDOUT | vm::STDERR => {
                if let Ok(out) = envelope.decode::<Output>() {
                    output.chunks.push((envelope.topic.as_str() == vm::STDERR, out.data));
                }
            }
            vm::EXIT => {
                if let Ok(exit) = envelope.decode::<Exit>() {
                    output.state = RunState::Exited(exit);
                }
            }
            "vm.error" => {
                let error = envelope.decode::<ErrorPayload>().unwrap_or_else(|e| {
                    ErrorPayload::new(ErrorCode::Internal, format!("an unreadable vm.error: {e}"))
                });
                failed = Some((output.path.clone(), error.clone()));
                output.state = RunState::Failed(error);
            }
            _ => {}
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
    let n = state.next_run();
    let entropy = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let request_id = format!("editor-{}-run-{n}-{entropy:x}", state.window);
    state
        .output
        .set(Some(RunOutput::new(path.clone(), request_id.clone())));
    let spawn = Spawn {
        backend: vm::Backend::Wasm,
        module: Some(module),
        args: Vec::new(),
        env: Default::default(),
        stdin: Some(String::new()),
        limits: None,
    };
    if let Err(e) = state.bus().publish(Envelope::request(&spawn, &request_id)) {
        state.output.update(|o| {
            if let Some(o) = o {
                o.state = RunState::Failed(ErrorPayload::new(e.code(), e.to_string()));
            }
        });
    }
}
