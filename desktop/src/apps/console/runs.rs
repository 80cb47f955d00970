//! [`Runs`]: the Console window's handle on its programs. It sends `vm.spawn`, `vm.stdin` and
//! `vm.kill`, and feeds what comes back into the window's [`RunBook`].
//!
//! Each spawn is a typed stream (`BusClient::stream::<Spawn>`): the bus client hands this run
//! the events of its own spawn (`:ack`, output, then one `vm.exit` or `vm.error`, or a
//! `backend_unavailable` failure when the connection drops) and forgets the stream after its
//! end. `vm.stdin` and `vm.kill` are plain typed requests. This module never renders; it owns no
//! state besides the book's signal and the open streams.

use std::collections::HashMap;

use aether_shared::vm::{Kill, Spawn, SpawnEvent, Stdin};
use aether_shared::{BusStream, ErrorCode};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::loader;
use super::module;
use super::request::Options;
use super::run::{RunBook, RunId};
use super::transcript::Stream;
use crate::services::bus::{BusClient, DEFAULT_TIMEOUT_MS, StreamHandle, StreamOptions};

/// A module ready to send, or a sample still to fetch.
#[derive(Clone, Debug)]
pub enum Pending {
    Ready(aether_shared::vm::ModuleSource),
    /// A sample's URL.
    Fetch(&'static str),
}

/// The Console window's programs (cheap to clone; every clone shares the book).
#[derive(Clone)]
pub struct Runs {
    pub book: RwSignal<RunBook>,
    bus: BusClient,
    /// The spawn streams still open, by run (a closed tab's stays until its program ends).
    streams: StoredValue<HashMap<RunId, StreamHandle>, LocalStorage>,
}

impl Runs {
    /// An empty book.
    pub fn new(bus: BusClient) -> Runs {
        Runs {
            book: RwSignal::new(RunBook::default()),
            bus,
            streams: StoredValue::new_local(HashMap::new()),
        }
    }

    /// Closes the streams and kills the programs still running (the window is closing).
    pub fn stop(&self) {
        self.streams.try_update_value(HashMap::clear);
        let pids = self
            .book
            .try_with_untracked(RunBook::running_pids)
            .unwrap_or_default();
        for pid in pids {
            self.send_kill(pid, None);
        }
    }

    /// Opens a tab titled `label` and runs `module` with `options` in it.
    pub fn start(&self, label: String, module: Pending, options: Options) {
        let Some(id) = self.book.try_update(|b| b.open(label)) else {
            return;
        };
        let runs = self.clone();
        spawn_local(async move {
            let module = match module {
                Pending::Ready(module) => module,
                Pending::Fetch(url) => match loader::fetch_bytes(url).await {
                    Ok(bytes) => module::wasm(&bytes),
                    Err(e) => return runs.fail(id, e.code(), e.to_string()),
                },
            };
            let reader = runs.clone();
            let spawn = options.spawn(module);
            let opened = runs.bus.stream(&spawn, StreamOptions::default(), move |event| {
                reader.on_event(id, event)
            });
            match opened {
                Ok(stream) => {
                    runs.streams.try_update_value(|s| s.insert(id, stream));
                }
                Err(e) => runs.fail(id, e.code(), e.to_string()),
            }
        });
    }

    /// One event of run `id`'s spawn. A program whose tab was closed before its `:ack` arrived
    /// is killed at once; the stream is forgotten after its last event.
    fn on_event(&self, id: RunId, event: SpawnEvent) {
        let last = Spawn::is_terminal(&event);
        let pid = match &event {
            SpawnEvent::Spawned(spawned) => Some(spawned.pid),
            _ => None,
        };
        let routed = self.book.try_update(|b| b.apply(id, event));
        if let (Some(false), Some(pid)) = (routed, pid) {
            self.send_kill(pid, None);
        }
        if last {
            self.streams.try_update_value(|s| s.remove(&id));
        }
    }

    /// Sends `data` to run `id`'s stdin (and ends it when `eof`), echoing it in the transcript.
    pub fn stdin(&self, id: RunId, data: String, eof: bool) {
        let Some(pid) = self.pid(id) else { return };
        self.book.try_update(|b| {
            if let Some(run) = b.get_mut(id) {
                run.typed(&data, eof);
            }
        });
        let runs = self.clone();
        spawn_local(async move {
            let request = Stdin { pid, data, eof };
            if let Err(e) = runs.bus.send_request(&request, DEFAULT_TIMEOUT_MS).await {
                runs.note(id, &format!("[stdin not delivered: {e}]\n"));
            }
        });
    }

    /// Asks the kernel to stop run `id`; it then ends with `cancelled`.
    pub fn kill(&self, id: RunId) {
        if let Some(pid) = self.pid(id) {
            self.send_kill(pid, Some(id));
        }
    }

    /// Closes tab `id`, killing its program if it still runs.
    pub fn close(&self, id: RunId) {
        let closed = self.book.try_update(|b| b.close(id)).flatten();
        if let Some(pid) = closed.and_then(|run| run.pid()) {
            self.send_kill(pid, None);
        }
    }

    fn pid(&self, id: RunId) -> Option<u64> {
        self.book
            .try_with_untracked(|b| b.get(id).and_then(|r| r.pid()))
            .flatten()
    }

    /// Sends `vm.kill`; a refusal is noted in run `id`'s transcript when there is one.
    fn send_kill(&self, pid: u64, id: Option<RunId>) {
        let runs = self.clone();
        spawn_local(async move {
            let result = runs
                .bus
                .send_request(&Kill { pid }, DEFAULT_TIMEOUT_MS)
                .await;
            if let (Err(e), Some(id)) = (result, id) {
                runs.note(id, &format!("[kill failed: {e}]\n"));
            }
        });
    }

    fn fail(&self, id: RunId, code: ErrorCode, sentence: String) {
        self.book.try_update(|b| {
            if let Some(run) = b.get_mut(id) {
                run.fail(code, sentence);
            }
        });
    }

    fn note(&self, id: RunId, text: &str) {
        self.book.try_update(|b| {
            if let Some(run) = b.get_mut(id) {
                run.transcript.push_local(Stream::Note, text);
            }
        });
    }
}
