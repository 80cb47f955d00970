//! [`Runs`]: the Console window's handle on its programs. It sends `vm.spawn`, `vm.stdin` and
//! `vm.kill`, and feeds what comes back into the window's [`RunBook`].
//!
//! A spawn is sent with a request id of our own (`console-<window>-<run>-<random>`) through
//! [`BusClient::publish`] rather than `send_request`: its answer is not one reply but a stream
//! (`:ack`, output, then `vm.exit` or `vm.error`), all carrying that id, and one `vm.*` listener
//! routes each to its run by that id. `vm.stdin` and `vm.kill` are plain typed requests. This
//! module never renders; it owns no state besides the book's signal.

use aether_shared::vm::{Kill, Stdin};
use aether_shared::{Envelope, ErrorCode, Pattern};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::events::{self, VmEvent};
use super::loader;
use super::module;
use super::request::Options;
use super::run::{RunBook, RunId};
use super::transcript::Stream;
use crate::services::bus::{BusClient, DEFAULT_TIMEOUT_MS, SubscriptionHandle};

/// The status of runs that were live when the connection dropped (the kernel stops the
/// programs of a client that leaves).
const CONNECTION_LOST: &str = "The connection to the kernel dropped, which stopped this program; run it again once connected.";

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
    /// Prefix of this window's spawn request ids.
    prefix: String,
}

impl Runs {
    /// An empty book for window `window`.
    pub fn new(bus: BusClient, window: u32) -> Runs {
        Runs {
            book: RwSignal::new(RunBook::default()),
            bus,
            prefix: format!("console-{window}-"),
        }
    }

    /// Starts routing `vm.*` envelopes to the runs; give the handle to [`Runs::stop`].
    ///
    /// The kernel addresses a spawn's messages to this page, so no subscription is needed. An
    /// `:ack` for a run whose tab was closed before it arrived kills that program at once.
    pub fn listen(&self) -> SubscriptionHandle {
        let pattern = Pattern::parse("vm.*").expect("`vm.*` is a valid pattern");
        let runs = self.clone();
        self.bus.on(pattern, move |envelope| {
            let Some((request_id, event)) = events::decode(envelope) else {
                return;
            };
            let pid = match event {
                VmEvent::Spawned(pid) => Some(pid),
                _ => None,
            };
            let routed = runs.book.try_update(|b| b.apply(&request_id, event));
            if let (Some(false), Some(pid)) = (routed, pid)
                && request_id.starts_with(&runs.prefix)
            {
                runs.send_kill(pid, None);
            }
        })
    }

    /// Stops listening and kills the programs still running (the window is closing).
    pub fn stop(&self, handle: SubscriptionHandle) {
        self.bus.off(handle);
        let pids = self
            .book
            .try_with_untracked(RunBook::running_pids)
            .unwrap_or_default();
        for pid in pids {
            self.send_kill(pid, None);
        }
    }

    /// Ends the live runs when the connection drops; call it from an effect on the bus state.
    pub fn on_connection_lost(&self) {
        self.book
            .try_update(|b| b.fail_live(ErrorCode::BackendUnavailable, CONNECTION_LOST));
    }

    /// Opens a tab titled `label` and runs `module` with `options` in it.
    pub fn start(&self, label: String, module: Pending, options: Options) {
        let entropy = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
        let next = self.book.with_untracked(RunBook::next_id);
        let request_id = format!("{}{next}-{entropy:x}", self.prefix);
        let Some(id) = self.book.try_update(|b| b.open(label, request_id.clone())) else {
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
            let envelope = Envelope::request(&options.spawn(module), &request_id);
            if let Err(e) = runs.bus.publish(envelope) {
                runs.fail(id, e.code(), e.to_string());
            }
        });
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
