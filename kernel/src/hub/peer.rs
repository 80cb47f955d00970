//! A [`Peer`]: one attached client as the hub sees it — its bus handle, its principal and its
//! connection slot. Dropping a peer gives everything back. (Rate-limit buckets belong to the
//! principal, not the peer: see `guard::rate`.)

use std::sync::Arc;

use tokio::sync::mpsc;

use super::client_id;
use crate::app::Kernel;
use crate::bus::{ClientHandle, Queued};
use crate::guard::audit;
use crate::guard::{ConnectionPermit, Principal};

/// One attached client.
pub struct Peer {
    pub handle: Arc<ClientHandle>,
    pub principal: Principal,
    /// The connection's slot under the principal's cap (touched on activity, may be evicted).
    pub permit: ConnectionPermit,
}

impl Peer {
    /// Attaches a new client with a fresh id to the bus; `binary` when its connection negotiated
    /// binary frames. Returns the peer and the receiving end of its outbound queue.
    pub fn attach(
        kernel: &Kernel,
        principal: Principal,
        permit: ConnectionPermit,
        binary: bool,
    ) -> (Peer, mpsc::Receiver<Queued>) {
        let limits = &kernel.config.limits;
        let queue_len = limits.outbound_queue_len.get();
        loop {
            let (handle, rx) = ClientHandle::new(client_id::fresh(), principal, queue_len);
            let handle = handle
                .with_max_queue_bytes(limits.max_queue_bytes.get())
                .with_binary_frames(binary);
            let handle = Arc::new(handle);
            if kernel.bus.attach(Arc::clone(&handle)) {
                let peer = Peer {
                    handle,
                    principal,
                    permit,
                };
                return (peer, rx);
            }
        }
    }

    /// The client id.
    pub fn id(&self) -> &str {
        self.handle.id()
    }

    /// True when the connection negotiated binary frames.
    pub fn binary(&self) -> bool {
        self.handle.takes_binary()
    }

    /// Detaches the client from the bus and releases what it held in services.
    pub fn detach(self, kernel: &Kernel) {
        kernel.bus.detach(self.handle.id());
        kernel.bus.release(self.handle.id());
        kernel.services.client_gone(self.handle.id());
        audit::forget(self.handle.id());
    }
}
