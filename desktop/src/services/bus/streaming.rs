//! Requests answered by a stream: [`BusClient::stream`] sends one and hands each typed event of
//! its stream to a callback; [`BusClient::tap`] hears the streams of this page whoever opened
//! them (the Terminal showing a program the Console started).
//!
//! The events are decoded by the request's own [`BusStream`] decoder from `aether_shared`, so no
//! app reads a stream's JSON. A stream is registered under its request id (minted here, like
//! every id) and unregistered by its terminal event, by [`StreamHandle::close`], or when its
//! handle is dropped; if the connection drops first, its reader gets a `backend_unavailable`
//! failure as its last event (see `streams`).

use std::rc::{Rc, Weak};

use aether_shared::{BusStream, Envelope};

use super::client::{BusClient, Callback};
use super::connection::{self, Shared};
use super::error::BusError;
use super::listeners::{Hears, SubscriptionHandle, namespace_pattern};
use super::options::StreamOptions;
use super::streams::{OpenStream, event_of};

/// An open stream. Dropping it (or [`StreamHandle::close`]) stops its events; it does not stop
/// the work on the kernel (send `vm.kill`, `ai.cancel` or `task.cancel` for that).
#[must_use = "dropping a stream's handle stops its events"]
pub struct StreamHandle {
    shared: Weak<Shared>,
    request_id: String,
}

impl StreamHandle {
    /// The `_request_id` every message of the stream carries (what `ai.cancel` names).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// True until the stream ended or was closed.
    pub fn is_open(&self) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|shared| shared.inner.borrow().streams.contains(&self.request_id))
    }

    /// Stops the stream's events (the same as dropping the handle).
    pub fn close(self) {}
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        // Dropped after the borrow ends: the route may own values with drops of their own.
        let removed = shared.inner.borrow_mut().streams.remove(&self.request_id);
        drop(removed);
    }
}

impl BusClient {
    /// Sends `request` and calls `on_event` with each event of its stream, in order: the reply
    /// (`Spawned`, `Started`), what follows, and exactly one terminal event (`Exited`/`Done`, or
    /// `Failed` for an error on any error topic, an unreadable error, or the connection
    /// dropping). Nothing is called after the terminal event or once the handle is dropped.
    ///
    /// `options.silent` keeps the stream's errors out of the toasts. Errors with
    /// `backend_unavailable` when not connected (nothing was sent, `on_event` is never called).
    pub fn stream<R: BusStream + 'static>(
        &self,
        request: &R,
        options: StreamOptions,
        on_event: impl Fn(R::Event) + 'static,
    ) -> Result<StreamHandle, BusError> {
        let not_connected = || BusError::NotConnected {
            topic: R::TOPIC.to_owned(),
        };
        if !self.state_untracked().is_connected() {
            return Err(not_connected());
        }
        let request_id = self.next_request_id();
        let route: Callback = Rc::new(move |envelope: &Envelope| {
            if let Some(event) = event_of::<R>(envelope) {
                on_event(event);
            }
        });
        self.shared().inner.borrow_mut().streams.insert(
            request_id.clone(),
            OpenStream {
                route,
                topic: R::TOPIC,
                ends: <R as BusStream>::ends_stream,
                silent: options.silent,
            },
        );
        let handle = StreamHandle {
            shared: Rc::downgrade(self.shared()),
            request_id,
        };
        if !connection::send(
            self.shared(),
            Envelope::request(request, &handle.request_id),
        ) {
            return Err(not_connected());
        }
        Ok(handle)
    }

    /// Calls `on_event` with every event of an `R` stream that reaches this page, whoever
    /// opened it (streams of requests sent by the Console, the devtools hook, …), but not the
    /// replies and errors of plain requests (a refused `vm.stdin` is not a program's end).
    /// Local only; removed with [`BusClient::off`].
    pub fn tap<R: BusStream + 'static>(
        &self,
        on_event: impl Fn(R::Event) + 'static,
    ) -> SubscriptionHandle {
        let pattern = namespace_pattern(R::reply_topic().namespace());
        let route: Callback = Rc::new(move |envelope: &Envelope| {
            if let Some(event) = R::decode(envelope) {
                on_event(event);
            }
        });
        self.add_filtered(pattern, Hears::StreamEvents, route)
    }

    /// How many streams are open (0 once every stream ended or was closed).
    pub fn open_streams(&self) -> usize {
        self.shared().inner.borrow().streams.len()
    }
}
