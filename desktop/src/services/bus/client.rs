//! [`BusClient`]: the desktop's one handle on the message bus.
//!
//! A cheap clonable handle (an `Rc` inside: wasm is single-threaded) that apps use to send typed
//! requests, open streams, listen to topics and publish events. It owns the request, stream and
//! listener tables; this file holds the handle, its state and its listeners, `requests` the
//! requests answered by one reply, `streaming` the requests answered by a stream, and
//! `connection` the socket's life (connect, hello, drop, backoff). It never renders anything:
//! the shell reads its state through the tracked getters below.
//!
//! The handle is `Send + Sync` only so Leptos can hold it in context and in reactive closures:
//! the `Rc` is wrapped in a `SendWrapper`, which panics if touched from another thread, which
//! cannot happen in the browser's single-threaded wasm.

use std::rc::Rc;

use aether_shared::bus::{Subscribe, Unsubscribe};
use aether_shared::catalog::error_topics;
use aether_shared::kernel::Hello;
use aether_shared::{BusRequest, Envelope, Pattern};
use futures_channel::oneshot;
use gloo_timers::callback::Timeout;
use leptos::prelude::{Get, GetUntracked, With};
use send_wrapper::SendWrapper;

use super::connection::{self, Shared};
use super::error::BusError;
use super::listeners::{Hears, SubscriptionHandle};
use super::page_token;
use super::state::BusState;
use super::url::{PageLocation, ws_url};

/// How long a request waits for its answer unless told otherwise, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// A local listener.
pub(super) type Callback = Rc<dyn Fn(&Envelope)>;

/// A request in flight: who to tell, and the timer that gives up on it.
pub(super) struct InFlight {
    pub tx: oneshot::Sender<Result<Envelope, BusError>>,
    pub topic: String,
    pub timer: Timeout,
    /// Sent with the `silent` option: its error is not toasted.
    pub silent: bool,
}

/// The handle on the bus. Clone it freely; every clone talks over the same connection.
#[derive(Clone)]
pub struct BusClient {
    shared: SendWrapper<Rc<Shared>>,
}

impl BusClient {
    /// Connects to the hub at `url` and keeps reconnecting (see `connection`) for the life of
    /// the page.
    pub fn connect(url: String) -> BusClient {
        let shared = Shared::new(url);
        connection::start(&shared);
        BusClient::from_shared(shared)
    }

    /// Connects to the hub of the kernel that served this page (`ws(s)://<host>/ws`), or to
    /// the build-time `AETHER_WS_URL` when set (for `trunk serve`), presenting the tab's token
    /// (see `page_token`) on every connection.
    pub fn connect_from_page() -> BusClient {
        let page = web_sys::window()
            .map(|window| {
                let location = window.location();
                PageLocation {
                    protocol: location.protocol().unwrap_or_default(),
                    host: location.host().unwrap_or_default(),
                }
            })
            .unwrap_or_default();
        let token = page_token::tab_token();
        BusClient::connect(ws_url(
            &page,
            option_env!("AETHER_WS_URL"),
            token.as_deref(),
        ))
    }

    pub(super) fn from_shared(shared: Rc<Shared>) -> BusClient {
        BusClient {
            shared: SendWrapper::new(shared),
        }
    }

    pub(super) fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }

    /// The connection state (tracked: a reactive closure that calls it re-runs on change).
    pub fn state(&self) -> BusState {
        self.shared.state.get()
    }

    /// The connection state, without tracking.
    pub fn state_untracked(&self) -> BusState {
        self.shared.state.get_untracked()
    }

    /// The last `kernel.hello`, without tracking.
    pub fn hello_untracked(&self) -> Option<Hello> {
        self.shared.hello.get_untracked()
    }

    /// This page's client id while connected (tracked).
    pub fn client_id(&self) -> Option<String> {
        self.shared.state.with(|s| s.client_id().map(str::to_owned))
    }

    /// The kernel's version from the last `kernel.hello` (tracked).
    pub fn kernel_version(&self) -> Option<String> {
        self.shared
            .hello
            .with(|h| h.as_ref().map(|h| h.version.clone()))
    }

    /// Calls `callback` for every envelope this page receives whose topic matches `pattern`.
    ///
    /// Local only: the kernel delivers addressed envelopes (replies, errors, streams of this
    /// page's requests) without a subscription; un-addressed events need [`BusClient::listen`].
    pub fn on(
        &self,
        pattern: Pattern,
        callback: impl Fn(&Envelope) + 'static,
    ) -> SubscriptionHandle {
        self.add_listener(pattern, Rc::new(callback), false)
    }

    /// Calls `callback` for every envelope that reaches this page on an error topic a user
    /// should hear about (`aether_shared::catalog::error_topics`), except the errors of requests
    /// and streams sent with the `silent` option. Local only, like [`BusClient::on`]; removed
    /// with [`BusClient::off`].
    pub fn on_errors(&self, callback: impl Fn(&Envelope) + 'static) -> SubscriptionHandle {
        let topics = error_topics();
        let every_topic = Pattern::Prefix(String::new());
        let heard = move |envelope: &Envelope| {
            if topics.contains(&envelope.topic) {
                callback(envelope);
            }
        };
        self.add_filtered(every_topic, Hears::LoudErrors, Rc::new(heard))
    }

    /// [`BusClient::on`] plus a kernel subscription for `pattern`, released by [`BusClient::off`].
    pub fn listen(
        &self,
        pattern: Pattern,
        callback: impl Fn(&Envelope) + 'static,
    ) -> SubscriptionHandle {
        let handle = self.add_listener(pattern.clone(), Rc::new(callback), true);
        self.subscribe(&pattern);
        handle
    }

    /// [`BusClient::listen`], resolved once the kernel acknowledged the subscription, so an
    /// event published after it is sure to arrive. On failure nothing stays registered.
    pub async fn listen_acked(
        &self,
        pattern: Pattern,
        callback: impl Fn(&Envelope) + 'static,
    ) -> Result<SubscriptionHandle, BusError> {
        let handle = self.add_listener(pattern.clone(), Rc::new(callback), true);
        self.shared
            .inner
            .borrow_mut()
            .kernel_patterns
            .acquire(&pattern);
        let subscribe = Subscribe {
            patterns: vec![pattern],
        };
        match self.send_request(&subscribe, DEFAULT_TIMEOUT_MS).await {
            Ok(_) => Ok(handle),
            Err(e) => {
                self.off(handle);
                Err(e)
            }
        }
    }

    /// Removes a listener (and its kernel subscription, if it held one). False for an unknown
    /// handle.
    pub fn off(&self, handle: SubscriptionHandle) -> bool {
        let removed = self.shared.inner.borrow_mut().listeners.remove(handle);
        match removed {
            Some((pattern, kernel)) => {
                if kernel {
                    self.unsubscribe(&pattern);
                }
                true
            }
            None => false,
        }
    }

    /// Asks the kernel for un-addressed envelopes matching `pattern` (reference-counted: only the
    /// first holder sends `bus.subscribe`). Held patterns are re-sent after every reconnect.
    pub fn subscribe(&self, pattern: &Pattern) {
        let first = self
            .shared
            .inner
            .borrow_mut()
            .kernel_patterns
            .acquire(pattern);
        if first && self.state_untracked().is_connected() {
            self.spawn_subscription(Subscribe {
                patterns: vec![pattern.clone()],
            });
        }
    }

    /// Releases one hold on `pattern`; the last one sends `bus.unsubscribe`.
    pub fn unsubscribe(&self, pattern: &Pattern) {
        let last = self
            .shared
            .inner
            .borrow_mut()
            .kernel_patterns
            .release(pattern);
        if last && self.state_untracked().is_connected() {
            self.spawn_subscription(Unsubscribe {
                patterns: vec![pattern.clone()],
            });
        }
    }

    /// Sends an envelope without waiting for anything (an event, or a reply to a relayed
    /// request). Errors with `backend_unavailable` when not connected.
    pub fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        let topic = envelope.topic.to_string();
        if !self.state_untracked().is_connected() {
            return Err(BusError::NotConnected { topic });
        }
        if connection::send(&self.shared, envelope) {
            Ok(())
        } else {
            Err(BusError::NotConnected { topic })
        }
    }

    /// How many requests are waiting for an answer.
    pub fn pending_requests(&self) -> usize {
        self.shared.inner.borrow().pending.len()
    }

    fn add_listener(
        &self,
        pattern: Pattern,
        callback: Callback,
        kernel: bool,
    ) -> SubscriptionHandle {
        self.shared
            .inner
            .borrow_mut()
            .listeners
            .add(pattern, callback, kernel)
    }

    /// A local listener that hears only what `hears` lets through (see `listeners`).
    pub(super) fn add_filtered(
        &self,
        pattern: Pattern,
        hears: Hears,
        callback: Callback,
    ) -> SubscriptionHandle {
        self.shared
            .inner
            .borrow_mut()
            .listeners
            .add_filtered(pattern, hears, callback, false)
    }

    /// A fresh request id: the one place this page mints them (see `request_id`).
    pub(super) fn next_request_id(&self) -> String {
        let entropy = (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
        self.shared.inner.borrow_mut().ids.next_id(entropy)
    }

    /// Sends a subscription change in the background; a refusal is logged, not fatal.
    fn spawn_subscription<R: BusRequest + 'static>(&self, change: R) {
        let client = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = client.send_request(&change, DEFAULT_TIMEOUT_MS).await {
                connection::warn(&format!("{} failed: {e}", R::TOPIC));
            }
        });
    }
}

impl PartialEq for BusClient {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

// Leptos context and reactive closures need `Send + Sync`; keep that a compile-time fact.
const _: () = {
    const fn context_safe<T: Send + Sync + Clone + 'static>() {}
    context_safe::<BusClient>();
};
