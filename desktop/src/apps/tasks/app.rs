//! [`App`]: one Tasks window's state (cheap to clone; clones share the signals) and all it says
//! to the kernel and the VFS: parse, define, run, cancel, status, list, load and save. It never
//! renders; `super` draws it.
//!
//! A run is sent as a typed stream (`BusClient::stream::<Run>`), which hands the window its
//! `:ack` (the run id) or its refusal. The run's `task.event`s, `task.done` and `task.error`
//! carry the `task.run` request id too (the stream ends itself on the last); the board hears them
//! through `BusClient::tap::<Run>` (the same shared `RunEvent` decoder), matched by run id in
//! [`App::on_run_event`]; the `:ack` is routed before any later envelope, so the board knows its
//! run before its first event. Nothing is decoded by hand here. The window keeps the stream of
//! its latest run until that run ends; a run shown from the history is not moved by it.

use aether_shared::task::run::RunEvent;
use aether_shared::task::{Cancel, Define, List, Parse, Run, RunSummary, Status};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::board::{Board, run_of};
use super::problem::ParseProblem;
use crate::services::bus::{BusClient, BusError, DEFAULT_TIMEOUT_MS, StreamHandle, StreamOptions};
use crate::services::vfs::{VfsProxy, as_text};

/// The window's state.
#[derive(Clone)]
pub(super) struct App {
    pub(super) bus: BusClient,
    pub(super) vfs: VfsProxy,
    /// The definition's text, as the text box or the Monaco editor holds it.
    pub(super) source: RwSignal<String>,
    pub(super) path: RwSignal<String>,
    pub(super) board: RwSignal<Option<Board>>,
    pub(super) selected: RwSignal<Option<String>>,
    pub(super) history: RwSignal<Vec<RunSummary>>,
    pub(super) status: RwSignal<Option<String>>,
    /// Where the kernel last found the text unreadable (`None` once it parses).
    pub(super) problem: RwSignal<Option<ParseProblem>>,
    /// The stream of the latest run (replacing it stops the previous run's events).
    stream: StoredValue<Option<StreamHandle>, LocalStorage>,
}

impl App {
    /// A window's state, showing `source` and `path` first.
    pub(super) fn new(bus: BusClient, vfs: VfsProxy, source: &str, path: &str) -> App {
        App {
            bus,
            vfs,
            source: RwSignal::new(source.to_owned()),
            path: RwSignal::new(path.to_owned()),
            board: RwSignal::new(None),
            selected: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            status: RwSignal::new(None),
            problem: RwSignal::new(None),
            stream: StoredValue::new_local(None),
        }
    }

    fn say(&self, text: impl Into<String>) {
        self.status.set(Some(text.into()));
    }

    /// Reads the text (the kernel parses YAML and JSON) and shows its graph, not run yet.
    pub(super) async fn preview(&self) -> Option<Define> {
        let text = self.source.get_untracked();
        match self.bus.send_request(&Parse { text }, DEFAULT_TIMEOUT_MS).await {
            Ok(define) => {
                self.problem.set(None);
                self.board.set(Some(Board::planned(&define)));
                self.selected.set(None);
                Some(define)
            }
            Err(e) => {
                self.problem.set(ParseProblem::of(&e));
                self.say(e.to_string());
                None
            }
        }
    }

    /// Asks the kernel whether the text parses, only to place (or clear) [`App::problem`]; the
    /// shown run and the status stay. An answer for a text edited since is dropped.
    pub(super) async fn check(&self) {
        let Some(text) = self.source.try_get_untracked() else {
            return; // The window has closed.
        };
        let answer = self
            .bus
            .send_request(&Parse { text: text.clone() }, DEFAULT_TIMEOUT_MS)
            .await;
        if self.source.try_with_untracked(|now| *now == text) != Some(true) {
            return;
        }
        let problem = match answer {
            Ok(_) => None,
            Err(BusError::Remote(error)) => ParseProblem::from_error(&error),
            // No answer (not connected, timed out): what is shown stays.
            Err(_) => return,
        };
        self.problem.try_set(problem);
    }

    /// Defines the text's task and runs it.
    pub(super) fn run(&self) {
        self.status.set(None);
        let app = self.clone();
        spawn_local(async move {
            let Some(define) = app.preview().await else {
                return;
            };
            match app.bus.send_request::<Define>(&define, DEFAULT_TIMEOUT_MS).await {
                Ok(defined) => app.start(defined.task_id),
                Err(e) => app.say(format!("Not defined: {e}")),
            }
        });
    }

    /// Runs the shown task again.
    pub(super) fn rerun(&self) {
        let Some(task_id) = self.board.with_untracked(|b| b.as_ref()?.task_id.clone()) else {
            return self.say("Run a task first; its id is what runs again.");
        };
        self.start(task_id);
    }

    /// Runs task `task_id`; its `:ack` puts the run on the board (its events come through
    /// [`App::on_run_event`]).
    fn start(&self, task_id: String) {
        let request = Run {
            task_id: task_id.clone(),
        };
        let reader = self.clone();
        let opened = self
            .bus
            .stream(&request, StreamOptions::default(), move |event| match event {
                RunEvent::Started(started) => {
                    reader.board.try_update(|b| {
                        if let Some(b) = b {
                            b.started(task_id.clone(), started.run_id);
                        }
                    });
                    reader.refresh_history();
                }
                // Refused, or the connection dropped: no run of its own to end on the board.
                RunEvent::Failed(error) if run_of(&error).is_none() => {
                    reader.say(format!("Not run: {}", error.error));
                }
                // The run's own events: the tap moves the board (matched by run id).
                _ => {}
            });
        match opened {
            Ok(stream) => {
                self.stream.set_value(Some(stream));
            }
            Err(e) => self.say(format!("Not started: {e}")),
        }
    }

    /// One event of a task run of this page (`tap::<Run>`): moves the board when it is the run
    /// the board shows, and closes that run's stream when the run ends.
    pub(super) fn on_run_event(&self, event: RunEvent) {
        let ended = match event {
            RunEvent::Node(event) => {
                self.board.try_update(|b| {
                    if let Some(b) = b {
                        b.apply(&event);
                    }
                });
                false
            }
            RunEvent::Done(done) => self
                .board
                .try_update(|b| b.as_mut().is_some_and(|b| b.done(&done)))
                .unwrap_or(false),
            RunEvent::Failed(error) => {
                let Some(run_id) = run_of(&error) else {
                    return;
                };
                self.board
                    .try_update(|b| b.as_mut().is_some_and(|b| b.failed(run_id, &error)))
                    .unwrap_or(false)
            }
            RunEvent::Started(_) => false,
        };
        if ended {
            self.stream.try_set_value(None);
            self.refresh_history();
        }
    }

    pub(super) fn cancel(&self) {
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

    pub(super) fn load(&self) {
        let (app, path) = (self.clone(), self.path.get_untracked());
        spawn_local(async move {
            if app.read(&path).await && app.preview().await.is_some() {
                app.say(format!("Loaded {path}."));
            }
        });
    }

    /// Loads the definition at `path` and runs it (another app's `RunTask` intent).
    pub(super) fn run_file(&self, path: String) {
        self.path.set(path.clone());
        let app = self.clone();
        spawn_local(async move {
            if app.read(&path).await {
                app.run();
            }
        });
    }

    /// Puts the text of the file at `path` in the editor; false (and why, in the status) when
    /// it cannot be read.
    async fn read(&self, path: &str) -> bool {
        match self.vfs.read(path).await {
            Ok(file) => match as_text(&file.bytes) {
                Some(text) => {
                    self.source.set(text.to_owned());
                    true
                }
                None => {
                    self.say(format!("{path} is not text."));
                    false
                }
            },
            Err(e) => {
                self.say(e.to_string());
                false
            }
        }
    }

    pub(super) fn save(&self) {
        let (app, path) = (self.clone(), self.path.get_untracked());
        let text = self.source.get_untracked();
        spawn_local(async move {
            match app.vfs.write(&path, text.as_bytes()).await {
                Ok(_) => app.say(format!("Saved {path}.")),
                Err(e) => app.say(e.to_string()),
            }
        });
    }

    pub(super) fn refresh_history(&self) {
        let app = self.clone();
        spawn_local(async move {
            if let Ok(list) = app.bus.send_request(&List {}, DEFAULT_TIMEOUT_MS).await {
                app.history.set(list.runs);
            }
        });
    }

    pub(super) fn open_run(&self, run_id: String) {
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
}
