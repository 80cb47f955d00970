//! The per-principal connection cap: a count per principal and a permit that gives the slot back
//! when the connection ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Principal;

/// Open connections per principal.
#[derive(Default, Clone)]
pub struct Connections {
    counts: Arc<Mutex<HashMap<Principal, usize>>>,
}

/// One open connection's slot; dropping it frees the slot.
pub struct ConnectionPermit {
    counts: Arc<Mutex<HashMap<Principal, usize>>>,
    principal: Principal,
}

impl Connections {
    /// Takes a slot for `principal`, or `None` when it already has `max` connections.
    pub fn acquire(&self, principal: Principal, max: usize) -> Option<ConnectionPermit> {
        let mut counts = self.counts.lock().expect("connections lock");
        let count = counts.entry(principal).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnectionPermit {
            counts: Arc::clone(&self.counts),
            principal,
        })
    }

    /// Open connections of `principal`.
    pub fn count(&self, principal: Principal) -> usize {
        self.counts
            .lock()
            .expect("connections lock")
            .get(&principal)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().expect("connections lock");
        if let Some(count) = counts.get_mut(&self.principal) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.principal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back() {
        let c = Connections::default();
        let a = c.acquire(Principal::Local, 2).unwrap();
        let _b = c.acquire(Principal::Local, 2).unwrap();
        assert!(c.acquire(Principal::Local, 2).is_none());
        assert!(c.acquire(Principal::Admin, 2).is_some());
        drop(a);
        assert_eq!(c.count(Principal::Local), 1);
        assert!(c.acquire(Principal::Local, 2).is_some());
    }
}
