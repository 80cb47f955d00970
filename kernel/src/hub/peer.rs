//! A [`Peer`]: one attached client as the hub sees it — its bus handle, its principal, its own
//! rate-limit buckets and its connection slot. Dropping a peer gives everything back.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;

use super::client_id;
use crate::app::Kernel;
use crate::bus::ClientHandle;
use crate::guard::{ConnectionPermit, Principal, RateGuard};

/// One attached client.
pub struct Peer {
    pub handle: Arc<ClientHandle>,
    pub principal: Principal,
    pub rate: RateGuard,
    _permit: ConnectionPermit,
}

impl Peer {
    /// Attaches a new client with a fresh id to the bus. Returns the peer and the receiving end
    /// of its outbound queue.
    pub fn attach(
        kernel: &Kernel,
        principal: Principal,
        permit: ConnectionPermit,
    ) -> (Peer, mpsc::Receiver<Utf8Bytes>) {
        let queue_len = kernel.config.limits.outbound_queue_len.get();
        loop {
            let (handle, rx) = ClientHandle::new(client_id::fresh(), principal, queue_len);
            let handle = Arc::new(handle);
            if kernel.bus.attach(Arc::clone(&handle)) {
                let peer = Peer {
                    handle,
                    principal,
                    rate: kernel.guards.rate_guard(&kernel.config),
                    _permit: permit,
                };
                return (peer, rx);
            }
        }
    }

    /// The client id.
    pub fn id(&self) -> &str {
        self.handle.id()
    }

    /// Detaches the client from the bus and releases what it held in services.
    pub fn detach(self, kernel: &Kernel) {
        kernel.bus.detach(self.handle.id());
        kernel.bus.release(self.handle.id());
        kernel.services.client_gone(self.handle.id());
    }
}
