//! The keys typed into one x86 machine (`vm.stdin` for a v86 pid): queued in order and sent to
//! the tab one request at a time, each `vm.stdin` acknowledged once the tab took it.
//!
//! What waits is bounded by `compute.max_pending_stdin_bytes`: each queued or in-flight request
//! counts its data plus [`REQUEST_BYTES`] (its envelope) until the tab answers it; a `vm.stdin`
//! past the bound is refused at once, so a tab that never takes its keys cannot make the kernel
//! hold more.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aether_shared::Envelope;
use aether_shared::compute;
use aether_shared::vm::{Accepted, Stdin};
use tokio::sync::mpsc;

use crate::bus::Bus;
use crate::services::request::Answer;
use crate::services::vm::error::VmError;

/// What one waiting `vm.stdin` counts against the bound besides its data.
pub const REQUEST_BYTES: usize = 256;

/// The key queue of one machine. Dropping it ends its forwarder once the queue is drained.
pub struct Keys {
    queue: mpsc::UnboundedSender<(Envelope, Stdin)>,
    /// Bytes queued or in flight (see [`cost`]); the bound on what the queue holds.
    pending: Arc<AtomicUsize>,
    max_pending_bytes: usize,
}

impl Keys {
    /// Starts forwarding keys of machine `pid` to the tab serving `session`.
    pub fn start(
        bus: Bus,
        session: String,
        pid: u64,
        max_pending_bytes: usize,
        tab_timeout: Duration,
    ) -> Keys {
        let (queue, typed) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(forward(
            bus,
            session,
            pid,
            typed,
            Arc::clone(&pending),
            tab_timeout,
        ));
        Keys {
            queue,
            pending,
            max_pending_bytes,
        }
    }

    /// Takes `req`'s bytes under the bound and queues it with its envelope (the forwarder
    /// answers it once the tab took the keys), or refuses it at once when it would pass the
    /// bound (`resource_exceeded`).
    pub fn type_in(&self, req: Stdin) -> Result<Answer<Accepted>, VmError> {
        let cost = cost(&req);
        let max = self.max_pending_bytes;
        let taken = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| {
                (pending + cost <= max).then_some(pending + cost)
            });
        if let Err(pending) = taken {
            return Err(VmError::KeysFull {
                pid: req.pid,
                pending,
                max,
            });
        }
        let (queue, pending) = (self.queue.clone(), Arc::clone(&self.pending));
        Ok(Answer::Later(Box::new(move |env| {
            if queue.send((env, req)).is_err() {
                pending.fetch_sub(cost, Ordering::AcqRel);
            }
        })))
    }
}

/// What a waiting `vm.stdin` counts against `max_pending_stdin_bytes`.
fn cost(req: &Stdin) -> usize {
    req.data.len() + REQUEST_BYTES
}

/// Sends the keys to the tab in order, releasing each request's bytes once the tab answered.
async fn forward(
    bus: Bus,
    session: String,
    pid: u64,
    mut typed: mpsc::UnboundedReceiver<(Envelope, Stdin)>,
    pending: Arc<AtomicUsize>,
    tab_timeout: Duration,
) {
    while let Some((env, req)) = typed.recv().await {
        let cost = cost(&req);
        let keys = compute::Stdin {
            pid,
            data: req.data,
        };
        let sent = bus.request(&session, &keys, tab_timeout).await;
        pending.fetch_sub(cost, Ordering::AcqRel);
        match sent {
            Ok(_) => bus.reply::<Stdin>(&env, &Accepted {}),
            Err(e) => {
                let failed = VmError::tab_failed(e, "type into the machine");
                bus.emit_error(&env, failed.of_program(pid));
            }
        }
    }
}
