//! The life of the connection: open, greet, drop, back off, open again.
//!
//! Frames in are text or, once the kernel agreed to binary frames, binary (an envelope and the
//! bytes it carries, decoded by `aether_shared::frame`); both become one [`Envelope`]. Frames out
//! are text, except an envelope carrying bytes on a connection whose `kernel.hello` says
//! `binary`; without that it goes in its text form, so a kernel that did not agree never gets a
//! binary frame.
//!
//! On `kernel.hello` the client is connected: the state and hello signals are set, the backoff
//! resets and every held subscription is re-sent. On a drop, every request in flight is rejected
//! at once with `timeout` (its outcome is unknown), and a retry is scheduled with exponential
//! backoff and full jitter (see `backoff`). The browser's `online` event cuts a pending wait
//! short. Each socket carries a generation number, so events from a replaced socket are ignored.
//!
//! Borrow rule: the `RefCell` is never held while a callback, a signal write or a resolver runs.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use aether_shared::bus::Subscribe;
use aether_shared::kernel::HELLO;
use aether_shared::kernel::Hello;
use aether_shared::{Envelope, KERNEL_ADDRESS, Namespace, frame};
use gloo_timers::callback::Timeout;
use leptos::prelude::{ArcRwSignal, Set, WithUntracked};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::backoff;
use super::client::{BusClient, Callback, DEFAULT_TIMEOUT_MS, InFlight};
use super::error::BusError;
use super::listeners::{Delivery, KernelPatterns, Listeners};
use super::pending::{Pending, Settled};
use super::request_id::RequestIds;
use super::socket::{Socket, SocketEvent};
use super::state::BusState;
use super::streams::{self, OpenStreams};

/// Everything behind a [`BusClient`].
pub(super) struct Shared {
    pub inner: RefCell<Inner>,
    pub state: ArcRwSignal<BusState>,
    pub hello: ArcRwSignal<Option<Hello>>,
}

/// The mutable part of the client.
pub(super) struct Inner {
    url: String,
    socket: Option<Socket>,
    /// Bumped for every socket; events of older sockets are ignored.
    generation: u64,
    /// Retries since the last `kernel.hello` (0 while connected).
    attempt: u32,
    retry: Option<Timeout>,
    online: Option<Closure<dyn FnMut()>>,
    pub ids: RequestIds,
    pub pending: Pending<InFlight>,
    pub streams: OpenStreams<Callback>,
    pub listeners: Listeners<Callback>,
    pub kernel_patterns: KernelPatterns,
}

impl Shared {
    pub fn new(url: String) -> Rc<Shared> {
        Rc::new(Shared {
            inner: RefCell::new(Inner {
                url,
                socket: None,
                generation: 0,
                attempt: 0,
                retry: None,
                online: None,
                ids: RequestIds::default(),
                pending: Pending::default(),
                streams: OpenStreams::default(),
                listeners: Listeners::default(),
                kernel_patterns: KernelPatterns::default(),
            }),
            state: ArcRwSignal::new(BusState::Connecting),
            hello: ArcRwSignal::new(None),
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        if let (Some(online), Some(window)) = (inner.online.take(), web_sys::window()) {
            let _ = window
                .remove_event_listener_with_callback("online", online.as_ref().unchecked_ref());
        }
    }
}

/// Opens the first connection and listens for the browser coming back online.
pub(super) fn start(shared: &Rc<Shared>) {
    let weak = Rc::downgrade(shared);
    let online = Closure::<dyn FnMut()>::new(move || {
        let Some(shared) = weak.upgrade() else { return };
        let waiting = shared.inner.borrow().retry.is_some();
        if waiting {
            open(&shared);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
    }
    shared.inner.borrow_mut().online = Some(online);
    open(shared);
}

/// Replaces the current socket (if any) with a new one.
fn open(shared: &Rc<Shared>) {
    let weak = Rc::downgrade(shared);
    let mut inner = shared.inner.borrow_mut();
    inner.generation += 1;
    let generation = inner.generation;
    if let Some(timer) = inner.retry.take() {
        retire(timer);
    }
    if let Some(old) = inner.socket.take() {
        retire(old);
    }
    let opened = Socket::open(&inner.url, move |event| {
        if let Some(shared) = weak.upgrade() {
            on_event(&shared, generation, event);
        }
    });
    match opened {
        Ok(socket) => inner.socket = Some(socket),
        Err(why) => {
            drop(inner);
            warn(&format!("cannot open the bus socket: {why}"));
            on_closed(shared, generation);
        }
    }
}

fn on_event(shared: &Rc<Shared>, generation: u64, event: SocketEvent) {
    if shared.inner.borrow().generation != generation {
        return;
    }
    match event {
        SocketEvent::Text(text) => match Envelope::from_json(&text) {
            Ok(envelope) => on_envelope(shared, envelope),
            Err(e) => warn(&format!("ignored a frame from the kernel: {e}")),
        },
        SocketEvent::Binary(bytes) => match frame::decode(bytes.into()) {
            Ok(envelope) => on_envelope(shared, envelope),
            Err(e) => warn(&format!("ignored a binary frame from the kernel: {e}")),
        },
        SocketEvent::Closed { code, reason } => {
            // Log the drop once, not every failed retry (the browser logs those itself).
            let was_up = shared.inner.borrow().attempt == 0;
            if was_up {
                warn(&format!(
                    "bus connection closed ({code} {reason}); reconnecting"
                ));
            }
            on_closed(shared, generation);
        }
    }
}

/// One envelope in: greet, settle its request or route it to its stream, call its listeners —
/// in that order.
fn on_envelope(shared: &Rc<Shared>, envelope: Envelope) {
    if envelope.topic.as_str() == HELLO
        && envelope.from.as_deref().is_none_or(|f| f == KERNEL_ADDRESS)
    {
        on_hello(shared, &envelope);
    }
    let (settled, stream, callbacks) = {
        let mut inner = shared.inner.borrow_mut();
        let silent = envelope.request_id().is_some_and(|id| {
            inner.pending.get(id).is_some_and(|flight| flight.silent) || inner.streams.is_silent(id)
        });
        let settled = inner.pending.settle(&envelope);
        let stream = match settled {
            Some(_) => None,
            None => inner.streams.route(&envelope),
        };
        let delivery = Delivery {
            silent,
            settled_request: settled.is_some(),
        };
        let callbacks = inner.listeners.matching(&envelope.topic, delivery);
        (settled, stream, callbacks)
    };
    if let Some((flight, outcome)) = settled {
        let result = match outcome {
            Settled::Reply(reply) => Ok(reply),
            Settled::Failed(payload) => Err(BusError::Remote(payload)),
        };
        drop(flight.timer);
        let _ = flight.tx.send(result);
    }
    if let Some(route) = stream {
        route(&envelope);
    }
    for callback in callbacks {
        callback(&envelope);
    }
}

fn on_hello(shared: &Rc<Shared>, envelope: &Envelope) {
    let hello: Hello = match envelope.decode() {
        Ok(hello) => hello,
        Err(e) => return warn(&format!("unreadable kernel.hello: {e}")),
    };
    let patterns = {
        let mut inner = shared.inner.borrow_mut();
        inner.attempt = 0;
        inner.kernel_patterns.all()
    };
    shared.state.set(BusState::Connected {
        client_id: hello.client_id.clone(),
    });
    shared.hello.set(Some(hello));
    if !patterns.is_empty() {
        let client = BusClient::from_shared(Rc::clone(shared));
        wasm_bindgen_futures::spawn_local(async move {
            let resubscribe = Subscribe { patterns };
            if let Err(e) = client.send_request(&resubscribe, DEFAULT_TIMEOUT_MS).await {
                warn(&format!("re-subscribing after reconnect failed: {e}"));
            }
        });
    }
}

/// The socket is gone: reject what is in flight, end the open streams, then schedule the next
/// attempt.
fn on_closed(shared: &Rc<Shared>, generation: u64) {
    let weak = Rc::downgrade(shared);
    let (flights, cut, attempt, delay_ms) = {
        let mut inner = shared.inner.borrow_mut();
        if inner.generation != generation {
            return;
        }
        if let Some(old) = inner.socket.take() {
            retire(old);
        }
        inner.attempt = inner.attempt.saturating_add(1);
        let attempt = inner.attempt;
        let delay_ms = backoff::delay_ms(attempt, js_sys::Math::random());
        inner.retry = Some(Timeout::new(delay_ms, move || {
            if let Some(shared) = weak.upgrade() {
                open(&shared);
            }
        }));
        (
            inner.pending.drain(),
            inner.streams.drain(),
            attempt,
            delay_ms,
        )
    };
    let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
    shared.state.set(if online {
        BusState::Reconnecting {
            attempt,
            next_retry_ms: delay_ms,
        }
    } else {
        BusState::Offline
    });
    for flight in flights {
        drop(flight.timer);
        let _ = flight.tx.send(Err(BusError::Dropped {
            topic: flight.topic,
        }));
    }
    for (request_id, topic, route) in cut {
        let error = streams::cut_off(topic, &request_id);
        route(&Envelope::new(Namespace::Kernel.error_topic()).with_payload(&error));
    }
}

/// Stamps and sends one envelope (carrying bytes: as a binary frame when the kernel agreed to
/// them, else in its text form); false when there is no open socket.
pub(super) fn send(shared: &Shared, mut envelope: Envelope) -> bool {
    envelope.time = now_rfc3339();
    let binary = envelope.bytes.is_some() && binary_frames(shared);
    let inner = shared.inner.borrow();
    let Some(socket) = inner.socket.as_ref() else {
        return false;
    };
    if binary {
        socket.send_binary(&frame::encode(&envelope))
    } else {
        socket.send(&frame::into_text(envelope).to_json())
    }
}

/// True when this connection's `kernel.hello` says the kernel takes and sends binary frames.
pub(super) fn binary_frames(shared: &Shared) -> bool {
    shared
        .hello
        .with_untracked(|h| h.as_ref().is_some_and(|h| h.binary))
}

/// A timer that rejects request `request_id` with `timeout` after `timeout_ms`.
pub(super) fn expiry_timer(shared: &Rc<Shared>, request_id: String, timeout_ms: u32) -> Timeout {
    let weak: Weak<Shared> = Rc::downgrade(shared);
    Timeout::new(timeout_ms, move || {
        let Some(shared) = weak.upgrade() else { return };
        let flight = shared.inner.borrow_mut().pending.remove(&request_id);
        if let Some(InFlight {
            tx, topic, timer, ..
        }) = flight
        {
            // This closure belongs to `timer`: let it finish before the timer is dropped.
            retire(timer);
            let _ = tx.send(Err(BusError::TimedOut { topic, timeout_ms }));
        }
    })
}

/// Drops `value` on a later turn of the event loop. Used for sockets and timers whose own JS
/// callback may be running right now.
fn retire<T: 'static>(value: T) {
    wasm_bindgen_futures::spawn_local(async move { drop(value) });
}

/// The current time as RFC 3339 UTC with milliseconds (SPEC §1 `time`).
fn now_rfc3339() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}

/// Logs a warning to the browser console.
pub(super) fn warn(message: &str) {
    web_sys::console::warn_1(&format!("aether bus: {message}").into());
}
