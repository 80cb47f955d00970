//! One connected client as the bus sees it: an id, a bounded outbound queue, its subscription
//! patterns and a kick switch that ends its connection.
//!
//! A connection's queue holds serialized frames and is bounded twice: in frames
//! (`outbound_queue_len`) and in bytes (`max_queue_bytes`). Each queued frame carries a [`Charge`]
//! of its bytes (a binary frame's header and bytes together), given back when the frame is written
//! or dropped, so a client that is cut off frees its whole queue. A connection that negotiated
//! binary frames gets an envelope that carries bytes as a binary frame; any other receiver gets it
//! in its text form (see `wire`). A kernel-made client (a task run's agent) has a queue of
//! envelopes instead: what the kernel sends it is handed over as values (in the text form, like
//! every kernel service sees them), never serialized and parsed back. The handle never waits: a
//! full queue is reported to the bus, which disconnects the client.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use aether_shared::{Envelope, Pattern, Topic, frame};
use axum::extract::ws::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::wire::{Frames, Wire};
use crate::cluster::wire::{Outgoing, Party, Relay, portable};
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
    wire: Wire,
    _charge: Charge,
}

impl Queued {
    /// The frame as a WebSocket message; its bytes stay charged to the queue until `self` is
    /// dropped.
    pub fn message(&self) -> Message {
        self.wire.message()
    }

    /// The frame.
    pub fn wire(&self) -> &Wire {
        &self.wire
    }
}

/// The frame's JSON: all of a text frame, the header of a binary one.
impl std::ops::Deref for Queued {
    type Target = str;
    fn deref(&self) -> &str {
        self.wire.json()
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

/// Where what is delivered to a client waits for it.
enum Outbox {
    /// A connection's frames, bounded in frames and in bytes.
    Frames {
        tx: mpsc::Sender<Queued>,
        meter: Arc<QueueMeter>,
        max_queue_bytes: usize,
        /// The connection negotiated binary frames (`aether_shared::frame::SUBPROTOCOL`).
        binary: bool,
    },
    /// A kernel-made client's envelopes, bounded in envelopes.
    Envelopes(mpsc::Sender<Envelope>),
    /// A client of another kernel of the cluster (a runner's view of a tab whose program it
    /// runs): its envelopes go to its kernel on the cluster link's bounded queue.
    Remote {
        party: Party,
        tx: mpsc::Sender<Outgoing>,
    },
}

/// The bus's view of one client.
pub struct ClientHandle {
    id: String,
    principal: Principal,
    /// The client this one acts for: a task run's agent acts for the client that started the
    /// run (its VFS session is the one a `{path}` module is read from).
    acting_for: Option<String>,
    outbox: Outbox,
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
        let outbox = Outbox::Frames {
            tx,
            meter: Arc::default(),
            max_queue_bytes: usize::MAX,
            binary: false,
        };
        (ClientHandle::with_outbox(id, principal, outbox), rx)
    }

    /// A kernel-made client that sends requests on behalf of `caller` (with its principal) and
    /// receives envelopes as values, at most `queue_len` waiting. Only the kernel may address it
    /// (see `bus::route`).
    pub fn agent(
        id: String,
        principal: Principal,
        caller: String,
        queue_len: usize,
    ) -> (ClientHandle, mpsc::Receiver<Envelope>) {
        let (tx, rx) = mpsc::channel(queue_len.max(1));
        let mut handle = ClientHandle::with_outbox(id, principal, Outbox::Envelopes(tx));
        handle.acting_for = Some(caller);
        (handle, rx)
    }

    /// A client of another kernel (`party`), as the kernel running its program sees it: what
    /// is delivered to it goes to `party`'s kernel through `tx` (the cluster link's queue).
    pub fn remote(party: Party, tx: mpsc::Sender<Outgoing>) -> ClientHandle {
        let (id, principal) = (party.client.clone(), party.principal);
        let acting_for = (party.acting_for != party.client).then(|| party.acting_for.clone());
        let mut handle = ClientHandle::with_outbox(id, principal, Outbox::Remote { party, tx });
        handle.acting_for = acting_for;
        handle
    }

    /// The client of another kernel this handle stands for, if it is one.
    pub fn party(&self) -> Option<&Party> {
        match &self.outbox {
            Outbox::Remote { party, .. } => Some(party),
            _ => None,
        }
    }

    fn with_outbox(id: String, principal: Principal, outbox: Outbox) -> ClientHandle {
        ClientHandle {
            id,
            principal,
            acting_for: None,
            outbox,
            subscriptions: RwLock::new(Vec::new()),
            kicked: CancellationToken::new(),
            kick_reason: RwLock::new(None),
        }
    }

    /// Caps the bytes waiting in a connection's queue: a frame that would pass `max` is refused
    /// as [`Delivery::QueueFull`] (one frame is always accepted into an empty queue).
    pub fn with_max_queue_bytes(mut self, max: usize) -> ClientHandle {
        if let Outbox::Frames {
            max_queue_bytes, ..
        } = &mut self.outbox
        {
            *max_queue_bytes = max;
        }
        self
    }

    /// Lets a connection that negotiated binary frames receive envelopes that carry bytes as
    /// binary frames (else they arrive in their text form).
    pub fn with_binary_frames(mut self, on: bool) -> ClientHandle {
        if let Outbox::Frames { binary, .. } = &mut self.outbox {
            *binary = on;
        }
        self
    }

    /// True for a connection that negotiated binary frames.
    pub fn takes_binary(&self) -> bool {
        matches!(self.outbox, Outbox::Frames { binary: true, .. })
    }

    /// Counts this client's queued bytes in the bus-wide `total` too (done once, on attach).
    pub(super) fn meter_into(&self, total: &Arc<AtomicU64>) {
        if let Outbox::Frames { meter, .. } = &self.outbox {
            let _ = meter.total.set(Arc::clone(total));
        }
    }

    /// Bytes waiting in the queue now (none for a kernel-made client: its envelopes are values).
    pub fn queued_bytes(&self) -> usize {
        match &self.outbox {
            Outbox::Frames { meter, .. } => meter.bytes.load(Ordering::Relaxed),
            Outbox::Envelopes(_) | Outbox::Remote { .. } => 0,
        }
    }

    /// True for a client the kernel made (a task run's agent): it hears only from the kernel.
    pub fn is_kernel_made(&self) -> bool {
        matches!(self.outbox, Outbox::Envelopes(_))
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

    /// Queues an envelope without waiting: as a value (in its text form) to a kernel-made client,
    /// else as the frame this connection takes (`frames` serializes each form once however many
    /// clients get it).
    pub fn try_deliver(&self, frames: &mut Frames<'_>) -> Delivery {
        let sent = match &self.outbox {
            Outbox::Envelopes(tx) => {
                let env = frames.envelope().clone();
                tx.try_send(frame::into_text(env)).map_err(refused)
            }
            Outbox::Remote { party, tx } => {
                let relay = Relay::Deliver {
                    party: party.clone(),
                    env: portable(frames.envelope()),
                };
                let kernel = party.kernel.clone();
                tx.try_send(Outgoing::To { kernel, relay }).map_err(refused)
            }
            Outbox::Frames {
                tx,
                meter,
                max_queue_bytes,
                binary,
            } => {
                let frame = frames.for_connection(*binary);
                let queued = self.queued_bytes();
                if queued > 0 && queued.saturating_add(frame.len()) > *max_queue_bytes {
                    return if tx.is_closed() {
                        Delivery::Closed
                    } else {
                        Delivery::QueueFull
                    };
                }
                let charge = Charge::new(meter, frame.len());
                let queued = Queued {
                    wire: frame,
                    _charge: charge,
                };
                tx.try_send(queued).map_err(refused)
            }
        };
        sent.map_or_else(|delivery| delivery, |()| Delivery::Queued)
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

/// What a refused `try_send` means for the client.
fn refused<T>(e: mpsc::error::TrySendError<T>) -> Delivery {
    match e {
        mpsc::error::TrySendError::Full(_) => Delivery::QueueFull,
        mpsc::error::TrySendError::Closed(_) => Delivery::Closed,
    }
}
