//! [`Session`]: one Agent window's state (`Copy`: signals and stored handles) and all it
//! says to the kernel: start a run as a typed stream (`stream::<agent::Start>`), approve or deny
//! its calls, stop it, undo it, list past runs and open one. It never renders; `mod.rs`, `card`
//! and `history` draw it.
//!
//! The window keeps the stream of its latest run (the **live** transcript, whose calls can be
//! decided); a past run opened from the history is shown instead of it (the **record**) until
//! the user goes back. Errors of the run and of this window's own requests are written into the
//! transcript they belong to, besides the toasts.

use aether_shared::agent::{
    Approve, Cancel, Decision, List, RunSummary, Start, Status, Undo, Undone,
};
use aether_shared::{BusStream, ErrorPayload};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::transcript::Transcript;
use crate::apps::editor;
use crate::services::bus::{BusClient, BusError, DEFAULT_TIMEOUT_MS, StreamHandle, StreamOptions};
use crate::shell::intents::Intent;
use crate::shell::windows::WindowManager;

/// The window's state.
#[derive(Clone, Copy)]
pub(super) struct Session {
    bus: StoredValue<BusClient, LocalStorage>,
    wm: WindowManager,
    /// The run this window started last, as it streams.
    pub(super) live: RwSignal<Option<Transcript>>,
    /// A past run opened from the history, shown instead of the live one.
    pub(super) record: RwSignal<Option<Transcript>>,
    pub(super) history: RwSignal<Vec<RunSummary>>,
    /// The stream of the live run (replacing it stops the previous run's events).
    stream: StoredValue<Option<StreamHandle>, LocalStorage>,
}

impl Session {
    pub(super) fn new(bus: BusClient, wm: WindowManager) -> Session {
        Session {
            bus: StoredValue::new_local(bus),
            wm,
            live: RwSignal::new(None),
            record: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            stream: StoredValue::new_local(None),
        }
    }

    /// Reads the transcript shown (the record, else the live run), tracked.
    pub(super) fn shown<T>(&self, f: impl FnOnce(Option<&Transcript>) -> T) -> T {
        let record = self.record;
        let live = self.live;
        record.with(|r| match r {
            Some(t) => f(Some(t)),
            None => live.with(|l| f(l.as_ref())),
        })
    }

    /// Starts a run of `request`; its events fill the live transcript.
    pub(super) fn start(&self, request: Start) {
        let limits = request.budget.clone().unwrap_or_default();
        let Some(bus) = self.bus() else { return };
        self.live
            .set(Some(Transcript::starting(&request.goal, limits)));
        self.record.set(None);
        let reader = *self;
        let opened = bus
            .stream(&request, StreamOptions::default(), move |event| {
                let last = Start::is_terminal(&event);
                reader.live.try_update(|t| {
                    if let Some(t) = t {
                        t.apply(event);
                    }
                });
                if last {
                    reader.refresh_history();
                }
            });
        match opened {
            Ok(stream) => self.stream.set_value(Some(stream)),
            Err(e) => self.live.update(|t| {
                if let Some(t) = t {
                    t.apply(aether_shared::agent::AgentEvent::Failed(payload(&e)));
                }
            }),
        }
    }

    /// Sends the user's `decision` on call `call_id` of the live run; the card's buttons are
    /// disabled at once and enabled again only if the decision could not be delivered.
    pub(super) fn decide(&self, call_id: String, decision: Decision) {
        let Some(run_id) = self.live_run_id() else {
            return;
        };
        self.live.update(|t| {
            if let Some(t) = t {
                t.decide(&call_id, Some(decision));
            }
        });
        let (session, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        spawn_local(async move {
            let request = Approve {
                run_id,
                call_id: call_id.clone(),
                decision,
            };
            if let Err(e) = bus.send_request(&request, DEFAULT_TIMEOUT_MS).await {
                session.live.try_update(|t| {
                    if let Some(t) = t {
                        t.decide(&call_id, None);
                        t.note_error(payload(&e));
                    }
                });
            }
        });
    }

    /// Stops the live run (it ends with `cancelled`).
    pub(super) fn stop(&self) {
        let Some(run_id) = self.live_run_id() else {
            return;
        };
        let (session, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        spawn_local(async move {
            if let Err(e) = bus.send_request(&Cancel { run_id }, DEFAULT_TIMEOUT_MS).await {
                session.note_live(payload(&e));
            }
        });
    }

    /// The window is closing: a run still going is cancelled (nobody is left to approve its
    /// calls), without waiting for the answer.
    pub(super) fn abandon(&self) {
        let going = self
            .live
            .try_with_untracked(|t| {
                t.as_ref()
                    .filter(|t| !t.phase.is_over())
                    .and_then(|t| t.run_id.clone())
            })
            .flatten();
        if let (Some(run_id), Some(bus)) = (going, self.bus()) {
            let _ = bus.post(&Cancel { run_id });
        }
    }

    /// Puts back every file the shown run wrote.
    pub(super) fn undo(&self) {
        let Some(run_id) = self.shown(|t| t.and_then(|t| t.run_id.clone())) else {
            return;
        };
        let (session, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        spawn_local(async move {
            let answer = bus
                .send_request(
                    &Undo {
                        run_id: run_id.clone(),
                    },
                    DEFAULT_TIMEOUT_MS,
                )
                .await;
            let apply = |t: &mut Option<Transcript>| {
                if let Some(t) = t.as_mut().filter(|t| t.run_id.as_deref() == Some(&run_id)) {
                    match &answer {
                        Ok(Undone { restored }) => t.restored = Some(restored.clone()),
                        Err(e) => t.note_error(payload(e)),
                    }
                }
            };
            session.live.try_update(apply);
            session.record.try_update(apply);
            session.refresh_history();
        });
    }

    /// Reads the kernel's list of this user's runs.
    pub(super) fn refresh_history(&self) {
        let (session, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        spawn_local(async move {
            if let Ok(list) = bus.send_request(&List {}, DEFAULT_TIMEOUT_MS).await {
                session.history.try_set(list.runs);
            }
        });
    }

    /// Shows run `run_id` as the kernel recorded it (a snapshot, even of the live run).
    pub(super) fn open_run(&self, run_id: String) {
        let (session, Some(bus)) = (*self, self.bus()) else {
            return;
        };
        spawn_local(async move {
            match bus.send_request(&Status { run_id }, DEFAULT_TIMEOUT_MS).await {
                Ok(record) => {
                    session.record.try_set(Some(Transcript::recorded(&record)));
                }
                Err(e) => session.note_live(payload(&e)),
            }
        });
    }

    /// Shows the live run again.
    pub(super) fn back_to_live(&self) {
        self.record.set(None);
    }

    /// Opens `path` in the Editor.
    pub(super) fn open_file(&self, path: String) {
        self.wm.open_with(&editor::META, Intent::OpenFile { path });
    }

    /// The bus, while the window is open.
    fn bus(&self) -> Option<BusClient> {
        self.bus.try_get_value()
    }

    fn live_run_id(&self) -> Option<String> {
        self.live
            .with_untracked(|t| t.as_ref().and_then(|t| t.run_id.clone()))
    }

    fn note_live(&self, error: ErrorPayload) {
        self.live.try_update(|t| {
            if let Some(t) = t {
                t.note_error(error);
            }
        });
    }
}

/// A bus failure as the error payload shown in a transcript.
fn payload(error: &BusError) -> ErrorPayload {
    error.to_payload(None)
}
