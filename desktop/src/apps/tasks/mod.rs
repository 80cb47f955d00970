//! The Tasks app: write or load a task definition (YAML or JSON, from the VFS), run it on the
//! kernel's task engine, and watch its graph: each node coloured by its state as `task.event`s
//! arrive, with its output and time. Cancel a run, run it again, and open any past run from the
//! history the kernel keeps across restarts.
//!
//! Files: `board` is the shown run (pure, moved by events), `layout` places the graph (pure),
//! `graph`, `details` and `history` render. This module holds the window's signals and talks to
//! the bus and the VFS. The kernel reads the text (`task.parse`), so the desktop carries no YAML
//! parser.
//!
//! A run's events are addressed to this page, so one `task.*` listener (no subscription) feeds
//! the board; events that arrive before the window learns its run id (the `task.run:ack` and the
//! first events can land in the same turn) are kept briefly and replayed.
//!
//! DOM contract: `[data-testid=tasks-path|tasks-load|tasks-save|tasks-source|tasks-run|
//! tasks-rerun|tasks-cancel|tasks-status]`, `[data-testid=tasks-run-state][data-state]`, and
//! those of `graph`, `details` and `history`.

mod board;
mod details;
mod graph;
mod history;
mod layout;

use aether_shared::task::{
    Cancel, Define, Done, Event, List, Parse, Run, RunSummary, SAMPLE_YAML, Started, Status,
};
use aether_shared::{Envelope, ErrorPayload, Pattern};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::AppMeta;
use crate::services::bus::{BusClient, DEFAULT_TIMEOUT_MS};
use crate::services::vfs::{VfsProxy, as_text};
use crate::shell::geometry::Size;
use board::{Board, run_word};
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
    render,
};

fn render() -> AnyView {
    view! { <Tasks /> }.into_any()
}

/// Events kept for a run this window has not learned the id of yet.
const UNCLAIMED_KEPT: usize = 512;

/// The window's state (cheap to clone; clones share the signals).
#[derive(Clone)]
struct App {
    bus: BusClient,
    vfs: VfsProxy,
    source: RwSignal<String>,
    path: RwSignal<String>,
    board: RwSignal<Option<Board>>,
    selected: RwSignal<Option<String>>,
    history: RwSignal<Vec<RunSummary>>,
    status: RwSignal<Option<String>>,
    unclaimed: RwSignal<Vec<Event>>,
}

impl App {
    fn say(&self, text: impl Into<String>) {
        self.status.set(Some(text.into()));
    }

    /// Reads the text (the kernel parses YAML and JSON) and shows its graph, not run yet.
    async fn preview(&self) -> Option<Define> {
        let text = self.source.get_untracked();
        match self.bus.send_request(&Parse { text }, DEFAULT_TIMEOUT_MS).await {
            Ok(define) => {
                self.board.set(Some(Board::planned(&define)));
                self.selected.set(None);
                Some(define)
            }
            Err(e) => {
                self.say(e.to_string());
                None
            }
        }
    }

    /// Defines the text's task and runs it.
    fn run(&self) {
        self.status.set(None);
        let app = self.clone();
        spawn_local(async move {
            let Some(define) = app.preview().await else {
                return;
            };
            match app.bus.send_request::<Define>(&define, DEFAULT_TIMEOUT_MS).await {
                Ok(defined) => app.start(defined.task_id).await,
                Err(e) => app.say(format!("Not defined: {e}")),
            }
        });
    }

    /// Runs the shown task again.
    fn rerun(&self) {
        let Some(task_id) = self.board.with_untracked(|b| b.as_ref()?.task_id.clone()) else {
            return self.say("Run a task first; its id is what runs again.");
        };
        let app = self.clone();
        spawn_local(async move { app.start(task_id).await });
    }

    async fn start(&self, task_id: String) {
        let request = Run {
            task_id: task_id.clone(),
        };
        match self.bus.send_request::<Run>(&request, DEFAULT_TIMEOUT_MS).await {
            Ok(Started { run_id }) => {
                self.board.update(|b| {
                    if let Some(b) = b {
                        b.started(task_id, run_id.clone());
                    }
                });
                let early: Vec<Event> = self
                    .unclaimed
                    .try_update(|u| {
                        let (mine, rest) = std::mem::take(u)
                            .into_iter()
                            .partition(|e| e.run_id == run_id);
                        *u = rest;
                        mine
                    })
                    .unwrap_or_default();
                self.board.update(|b| {
                    if let Some(b) = b {
                        for event in &early {
                            b.apply(event);
                        }
                    }
                });
                self.refresh_history();
            }
            Err(e) => self.say(format!("Not started: {e}")),
        }
    }

    fn cancel(&self) {
        let Some(run_id) = self.board.with_untracked(|b| b.as_ref()?.run_id.clone()) else {
            return;
        };
        let app = self.clone();
        spawn_local(async move {
            if let Err(e) = app.bus.send_request(&Cancel { run_id }, DEFAULT_TIMEOUT_MS).await {
                app.say(format!("Not cancelled: {e}"));
            }
        });
    }

    fn load(&self) {
        let (app, path) = (self.clone(), self.path.get_untracked());
        spawn_local(async move {
            match app.vfs.read(&path).await {
                Ok(file) => match as_text(&file.bytes) {
                    Some(text) => {
                        app.source.set(text.to_owned());
                        if app.preview().await.is_some() {
                            app.say(format!("Loaded {path}."));
                        }
                    }
                    None => app.say(format!("{path} is not text.")),
                },
                Err(e) => app.say(e.to_string()),
            }
        });
    }

    fn save(&self) {
        let (app, path) = (self.clone(), self.path.get_untracked());
        let text = self.source.get_untracked();
        spawn_local(async move {
            match app.vfs.write(&path, text.as_bytes()).await {
                Ok(_) => app.say(format!("Saved {path}.")),
                Err(e) => app.say(e.to_string()),
            }
        });
    }

    fn refresh_history(&self) {
        let app = self.clone();
        spawn_local(async move {
            if let Ok(list) = app.bus.send_request(&List {}, DEFAULT_TIMEOUT_MS).await {
                app.history.set(list.runs);
            }
        });
    }

    fn open_run(&self, run_id: String) {
        let app = self.clone();
        spawn_local(async move {
            match app.bus.send_request(&Status { run_id }, DEFAULT_TIMEOUT_MS).await {
                Ok(record) => {
                    app.board.set(Some(Board::recorded(&record)));
                    app.selected.set(None);
                }
                Err(e) => app.say(e.to_string()),
            }
        });
    }

    /// Routes one `task.*` envelope addressed to this page.
    fn on_envelope(&self, envelope: &Envelope) {
        match envelope.topic.as_str() {
            "task.event" => {
                let Ok(event) = envelope.decode::<Event>() else {
                    return;
                };
                let applied = self
                    .board
                    .try_update(|b| b.as_mut().is_some_and(|b| b.apply(&event)))
                    .unwrap_or(false);
                if !applied {
                    self.unclaimed.try_update(|u| {
                        if u.len() == UNCLAIMED_KEPT {
                            u.remove(0);
                        }
                        u.push(event);
                    });
                }
            }
            "task.done" => {
                if let Ok(done) = envelope.decode::<Done>()
                    && self
                        .board
                        .try_update(|b| b.as_mut().is_some_and(|b| b.done(&done)))
                        .unwrap_or(false)
                {
                    self.refresh_history();
                }
            }
            "task.error" => {
                if let Ok(error) = envelope.decode::<ErrorPayload>()
                    && self
                        .board
                        .try_update(|b| b.as_mut().is_some_and(|b| b.failed(&error)))
                        .unwrap_or(false)
                {
                    self.refresh_history();
                }
            }
            _ => {}
        }
    }
}

/// The Tasks window's content.
#[component]
pub fn Tasks() -> impl IntoView {
    let app = App {
        bus: expect_context::<BusClient>(),
        vfs: expect_context::<VfsProxy>(),
        source: RwSignal::new(SAMPLE_YAML.to_owned()),
        path: RwSignal::new("/welcome/pipeline.task.yaml".to_owned()),
        board: RwSignal::new(None),
        selected: RwSignal::new(None),
        history: RwSignal::new(Vec::new()),
        status: RwSignal::new(None),
        unclaimed: RwSignal::new(Vec::new()),
    };
    let handle = {
        let app = app.clone();
        let pattern = Pattern::parse("task.*").expect("`task.*` is a valid pattern");
        app.bus.clone().on(pattern, move |env| app.on_envelope(env))
    };
    {
        let bus = app.bus.clone();
        on_cleanup(move || {
            bus.off(handle);
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
    let (source, path, status, selected, history) =
        (app.source, app.path, app.status, app.selected, app.history);

    view! {
        <div class="tasks">
            <section class="tasks-editor">
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
                <textarea
                    data-testid="tasks-source"
                    spellcheck="false"
                    aria-label="Task definition (YAML or JSON)"
                    prop:value=move || source.get()
                    on:input=move |ev| source.set(event_target_value(&ev))
                ></textarea>
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
