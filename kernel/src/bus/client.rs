//! One connected client as the bus sees it: an id, a bounded outbound queue, its subscription
//! patterns and a kick switch that ends its connection.
//!
//! The queue holds serialized frames and is bounded twice: in frames (`outbound_queue_len`) and
//! in bytes (`max_queue_bytes`). Each queued frame carries a [`Charge`] of its bytes, given back
//! when the frame is written or dropped, so a client that is cut off frees its whole queue. The
//! handle never waits: a full queue is reported to the bus, which disconnects the client.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use aether_shared::{Pattern, Topic};
use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::guard::Principal;

/// What happened to a frame handed to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// The queue is full: the client is too slow and must be disconnected.
    QueueFull,
    /// The connection is already gone.
    Closed,
}

/// One serialized frame in a client's outbound queue.
pub struct Queued {
    text: Utf8Bytes,
    _charge: Charge,
}

impl Queued {
    /// The frame's text; its bytes stay charged to the queue until `self` is dropped.
    pub fn text(&self) -> &Utf8Bytes {
        &self.text
    }
}

impl std::ops::Deref for Queued {
    type Target = str;
    fn deref(&self) -> &str {
        self.text.as_str()
    }
}

/// Bytes waiting in one client's queue, and in every client's queue together.
#[derive(Default)]
struct QueueMeter {
    bytes: AtomicUsize,
    /// The bus-wide gauge (`kernel.stats`), set when the client is attached.
    total: OnceLock<Arc<AtomicU64>>,
}

/// The bytes of one queued frame, counted until it is dropped.
struct Charge {
    meter: Arc<QueueMeter>,
    bytes: usize,
}

impl Charge {
    fn new(meter: &Arc<QueueMeter>, bytes: usize) -> Charge {
        meter.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(total) = meter.total.get() {
            total.fetch_add(bytes as u64, Ordering::Relaxed);
        }
        Charge {
            meter: Arc::clone(meter),
            bytes,
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.meter.bytes.fetch_sub(self.bytes, Ordering::Relaxed);
        if let Some(total) = self.meter.total.get() {
            total.fetch_sub(self.bytes as u64, Ordering::Relaxed);
        }
    }
}

/// The bus's view of one client.
pub struct ClientHandle {
    id: String,
    principal: Principal,
    /// The client this one acts for: a task run's agent acts for the client that started the
    /// run (its VFS session is the one a `{path}` module is read from).
    acting_for: Option<String>,
    tx: mpsc::Sender<Queued>,
    meter: Arc<QueueMeter>,
    max_queue_bytes: usize,
    subscriptions: RwLock<Vec<Pattern>>,
    kicked: CancellationToken,
    kick_reason: RwLock<Option<&'static str>>,
}

impl ClientHandle {
    /// A handle and the receiving end of its outbound queue of `queue_len` frames (and no byte
    /// cap: see [`ClientHandle::with_max_queue_bytes`]).
    pub fn new(
        id: String,
        principal: Principal,
        queue_len: usize,
    ) -> (ClientHandle, mpsc::Receiver<Queued>) {
        let (tx, rx) = mpsc::channel(queue_len.max(1));
        let handle = ClientHandle {
            id,
            principal,
            acting_for: None,
            tx,
            meter: Arc::default(),
            max_queue_bytes: usize::MAX,
            subscriptions: RwLock::new(Vec::new()),
            kicked: CancellationToken::new(),
            kick_reason: RwLock::new(None),
        };
        (handle, rx)
    }

    /// A kernel-made client that sends requests on behalf of `caller` (with its principal).
    pub fn agent(
        id: String,
        principal: Principal,
        caller: String,
        queue_len: usize,
    ) -> (ClientHandle, mpsc::Receiver<Queued>) {
        let (mut handle, rx) = ClientHandle::new(id, principal, queue_len);
        handle.acting_for = Some(caller);
        (handle, rx)
    }

    /// Caps the bytes waiting in the queue: a frame that would pass `max` is refused as
    /// [`Delivery::QueueFull`] (one frame is always accepted into an empty queue).
    pub fn with_max_queue_bytes(mut self, max: usize) -> ClientHandle {
        self.max_queue_bytes = max;
        self
    }

    /// Counts this client's queued bytes in the bus-wide `total` too (done once, on attach).
    pub(super) fn meter_into(&self, total: &Arc<AtomicU64>) {
        let _ = self.meter.total.set(Arc::clone(total));
    }

    /// Bytes waiting in the queue now.
    pub fn queued_bytes(&self) -> usize {
        self.meter.bytes.load(Ordering::Relaxed)
    }

    /// The client id (the `from` of everything it sends).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client whose sessions this one uses: the caller for an agent, else itself.
    pub fn acting_for(&self) -> &str {
        self.acting_for.as_deref().unwrap_or(&self.id)
    }

    /// Who the client acts as.
    pub fn principal(&self) -> Principal {
        self.principal
    }

    /// Queues a frame without waiting.
    pub fn try_deliver(&self, frame: Utf8Bytes) -> Delivery {
        let queued = self.queued_bytes();
        if queued > 0 && queued.saturating_add(frame.len()) > self.max_queue_bytes {
            return if self.tx.is_closed() {
                Delivery::Closed
            } else {
                Delivery::QueueFull
            };
        }
        let charge = Charge::new(&self.meter, frame.len());
        let queued = Queued {
            text: frame,
            _charge: charge,
        };
        match self.tx.try_send(queued) {
            Ok(()) => Delivery::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Delivery::QueueFull,
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Closed,
        }
    }

    /// True when one of the client's patterns matches `topic`.
    pub fn is_subscribed(&self, topic: &Topic) -> bool {
        self.subscriptions
            .read()
            .expect("subscriptions lock")
            .iter()
            .any(|p| p.matches(topic))
    }

    /// Adds patterns (ignoring ones already held) unless the total would pass `max`.
    /// Returns the whole set after the change, or the number the client would have had.
    pub fn subscribe(&self, patterns: &[Pattern], max: usize) -> Result<Vec<Pattern>, usize> {
        let mut subs = self.subscriptions.write().expect("subscriptions lock");
        let new: Vec<&Pattern> = patterns.iter().filter(|p| !subs.contains(p)).collect();
        let wanted = subs.len() + new.len();
        if wanted > max {
            return Err(wanted);
        }
        for p in new {
            if !subs.contains(p) {
                subs.push(p.clone());
            }
        }
        Ok(subs.clone())
    }

    /// Removes patterns; returns the whole set after the change.
    pub fn unsubscribe(&self, patterns: &[Pattern]) -> Vec<Pattern> {
        let mut subs = self.subscriptions.write().expect("subscriptions lock");
        subs.retain(|p| !patterns.contains(p));
        subs.clone()
    }

    /// Number of patterns held.
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.read().expect("subscriptions lock").len()
    }

    /// Asks the connection to close with `reason`.
    pub fn kick(&self, reason: &'static str) {
        *self.kick_reason.write().expect("kick lock") = Some(reason);
        self.kicked.cancel();
    }

    /// Resolves when the client has been kicked.
    pub fn kicked(&self) -> &CancellationToken {
        &self.kicked
    }

    /// Why the client was kicked, if it was.
    pub fn kick_reason(&self) -> Option<&'static str> {
        *self.kick_reason.read().expect("kick lock")
    }
}
