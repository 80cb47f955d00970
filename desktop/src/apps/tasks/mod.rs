//! The Tasks app: write or load a task definition (YAML or JSON, from the VFS), run it on the
//! kernel's task engine, and watch its graph: each node coloured by its state as `task.event`s
//! arrive, with its output and time. Cancel a run, run it again, and open any past run from the
//! history the kernel keeps across restarts.
//!
//! Files: `app` is the window's state and its talk with the bus and the VFS; `board` is the shown
//! run (pure, moved by events), `layout` places the graph (pure); `definition` is the text's
//! editor (a text box, then Monaco through `source_editor`, parse errors placed by `problem`);
//! `graph`, `details` and `history` render. This module lays the window out. The kernel reads the
//! text (`task.parse`), so the desktop carries no YAML parser.
//!
//! DOM contract: `[data-testid=tasks-path|tasks-load|tasks-save|tasks-run|tasks-rerun|
//! tasks-cancel|tasks-status]`, `[data-testid=tasks-run-state][data-state]`, and those of
//! `definition`, `graph`, `details` and `history`.

mod app;
mod board;
mod definition;
mod details;
mod graph;
mod history;
mod layout;
mod problem;
mod source_editor;

use aether_shared::task::{Run, SAMPLE_YAML};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::AppMeta;
use crate::services::bus::BusClient;
use crate::services::vfs::VfsProxy;
use crate::shell::geometry::Size;
use crate::shell::intents::{Intent, receive_intents};
use app::App;
use board::{Board, run_word};
use definition::Definition;
use details::Details;
use graph::Graph;
use history::History;

/// The registry entry.
pub const META: AppMeta = AppMeta {
    id: "tasks",
    title: "Tasks",
    icon: "M4 5h5v4H4Z M15 5h5v4h-5Z M9.5 15h5v4h-5Z M6.5 9v3h11V9 M12 12v3",
    default_size: Size {
        width: 960.0,
        height: 560.0,
    },
    min_size: Size {
        width: 520.0,
        height: 320.0,
    },
    multi_instance: true,
    commands: &[],
    render,
};

// Loaded on demand: the app's code is its own wasm chunk, fetched when its first window opens.
super::on_demand::on_demand!(tasks, view! { <Tasks /> });

/// The Tasks window's content.
#[component]
pub fn Tasks() -> impl IntoView {
    let app = App::new(
        expect_context::<BusClient>(),
        expect_context::<VfsProxy>(),
        SAMPLE_YAML,
        "/welcome/pipeline.task.yaml",
    );
    // The events of this page's task runs, matched to the board by run id (see `app`).
    let tap = {
        let app = app.clone();
        app.bus
            .clone()
            .tap::<Run>(move |event| app.on_run_event(event))
    };
    {
        let bus = app.bus.clone();
        on_cleanup(move || {
            bus.off(tap);
        });
    }
    // Once connected (and again after a reconnect): the history, and the graph of the text
    // when nothing is shown yet.
    {
        let app = app.clone();
        Effect::new(move |_| {
            if app.bus.state().is_connected() {
                app.refresh_history();
                if app.board.with_untracked(Option::is_none) {
                    let app = app.clone();
                    spawn_local(async move {
                        app.preview().await;
                    });
                }
            }
        });
    }

    // A definition another app asks to run (Files' Run task).
    {
        let app = app.clone();
        receive_intents(
            || true,
            move |intent| {
                if let Intent::RunTask { path } = intent {
                    app.run_file(path);
                }
            },
        );
    }

    let board: Signal<Option<Board>> = app.board.into();
    let running = move || board.with(|b| b.as_ref().is_some_and(Board::is_running));
    let has_task = move || board.with(|b| b.as_ref().is_some_and(|b| b.task_id.is_some()));
    let run_state = move || {
        board.with(|b| {
            b.as_ref()
                .and_then(|b| b.state)
                .map_or("not run", run_word)
        })
    };
    let headline = move || {
        board.with(|b| {
            b.as_ref().map(|b| {
                let time = b
                    .duration_ms
                    .map(|ms| format!(" in {ms} ms"))
                    .unwrap_or_default();
                (b.name.clone(), time, b.error.clone())
            })
        })
    };
    let (a_run, a_rerun, a_cancel, a_load, a_save, a_open) = (
        app.clone(),
        app.clone(),
        app.clone(),
        app.clone(),
        app.clone(),
        app.clone(),
    );
    let (path, status, selected, history) = (app.path, app.status, app.selected, app.history);

    view! {
        <div class="tasks side-by-side">
            <section class="tasks-editor side-pane">
                <div class="tasks-file">
                    <input
                        type="text"
                        data-testid="tasks-path"
                        aria-label="VFS path of the definition"
                        prop:value=move || path.get()
                        on:input=move |ev| path.set(event_target_value(&ev))
                    />
                    <button data-testid="tasks-load" on:click=move |_| a_load.load()>"Load"</button>
                    <button data-testid="tasks-save" on:click=move |_| a_save.save()>"Save"</button>
                </div>
                <Definition app=app.clone() />
                <div class="tasks-actions">
                    <button data-testid="tasks-run" class="primary" disabled=running on:click=move |_| a_run.run()>
                        "Run"
                    </button>
                    <button
                        data-testid="tasks-rerun"
                        disabled=move || running() || !has_task()
                        on:click=move |_| a_rerun.rerun()
                    >
                        "Run again"
                    </button>
                    <button
                        data-testid="tasks-cancel"
                        disabled=move || !running()
                        on:click=move |_| a_cancel.cancel()
                    >
                        "Cancel"
                    </button>
                </div>
                <p class="tasks-status" data-testid="tasks-status" role="status">
                    {move || status.get()}
                </p>
            </section>
            <section class="tasks-run">
                <header class="tasks-headline">
                    {move || headline().map(|(name, time, error)| view! {
                        <strong>{name}</strong>
                        <span
                            class=format!("task-badge task-{}", run_state())
                            data-testid="tasks-run-state"
                            data-state=run_state
                        >
                            {run_state}
                        </span>
                        <span class="task-history-time">{time}</span>
                        {error.map(|e| view! { <p class="task-error">{e}</p> })}
                    })}
                </header>
                <div class="tasks-canvas">
                    <Graph board selected />
                </div>
                <Details board selected />
                <History runs=history open=move |id| a_open.open_run(id) />
            </section>
        </div>
    }
}
