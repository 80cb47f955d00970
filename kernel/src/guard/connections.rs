//! The per-principal connection cap: the open connections of each principal and a permit that
//! gives the slot back when the connection ends.
//!
//! A principal at its cap is not locked out by connections that sit idle: a newcomer takes the
//! slot of the connection that has sent nothing for longest, if that one has been quiet for at
//! least `min_idle` (`limits.evict_idle_after_ms`). The evicted connection is told through its
//! permit ([`ConnectionPermit::evicted`]) and closes with 1008. So a pile of idle sockets cannot
//! keep a real tab of the same principal out, while the number of connections stays capped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::Principal;

/// Open connections per principal.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    started: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<Principal, Vec<Slot>>>,
}

/// One open connection, as the cap sees it.
struct Slot {
    id: u64,
    activity: Arc<Activity>,
}

/// When a connection last sent something, and its eviction switch.
struct Activity {
    /// Milliseconds since the kernel started.
    last_ms: AtomicU64,
    evicted: CancellationToken,
}

/// One open connection's slot; dropping it frees the slot.
pub struct ConnectionPermit {
    inner: Arc<Inner>,
    principal: Principal,
    id: u64,
    activity: Arc<Activity>,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            inner: Arc::new(Inner {
                started: Instant::now(),
                next_id: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Connections {
    /// Takes a slot for `principal`. At `max`, evicts the connection idle longest if it has been
    /// idle for `min_idle`; else `None`.
    pub fn acquire(
        &self,
        principal: Principal,
        max: usize,
        min_idle: Duration,
    ) -> Option<ConnectionPermit> {
        let now = self.inner.now_ms();
        let mut open = self.inner.open.lock().expect("connections lock");
        let slots = open.entry(principal).or_default();
        if slots.len() >= max {
            let (oldest, last) = slots
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.activity.last_ms.load(Ordering::Relaxed)))
                .min_by_key(|&(_, last)| last)?;
            if now.saturating_sub(last) < min_idle.as_millis() as u64 {
                return None;
            }
            let evicted = slots.swap_remove(oldest);
            evicted.activity.evicted.cancel();
            tracing::info!(
                target: "aether::audit",
                principal = principal.as_str(),
                idle_ms = now.saturating_sub(last),
                "evicted the idlest connection to make room for a new one"
            );
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            last_ms: AtomicU64::new(now),
            evicted: CancellationToken::new(),
        });
        slots.push(Slot {
            id,
            activity: Arc::clone(&activity),
        });
        Some(ConnectionPermit {
            inner: Arc::clone(&self.inner),
            principal,
            id,
            activity,
        })
    }

    /// Open connections of `principal`.
    pub fn count(&self, principal: Principal) -> usize {
        self.inner
            .open
            .lock()
            .expect("connections lock")
            .get(&principal)
            .map_or(0, Vec::len)
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

impl ConnectionPermit {
    /// Notes that the connection sent something now.
    pub fn touch(&self) {
        self.activity
            .last_ms
            .store(self.inner.now_ms(), Ordering::Relaxed);
    }

    /// Cancelled when a newcomer took this connection's slot.
    pub fn evicted(&self) -> &CancellationToken {
        &self.activity.evicted
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.inner.open.lock().expect("connections lock");
        if let Some(slots) = open.get_mut(&self.principal) {
            slots.retain(|s| s.id != self.id);
            if slots.is_empty() {
                open.remove(&self.principal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEVER: Duration = Duration::from_secs(3600);

    #[test]
    fn slots_are_capped_and_given_back() {
        let c = Connections::default();
        let a = c.acquire(Principal::Local, 2, NEVER).unwrap();
        let _b = c.acquire(Principal::Local, 2, NEVER).unwrap();
        assert!(c.acquire(Principal::Local, 2, NEVER).is_none());
        assert!(c.acquire(Principal::Admin, 2, NEVER).is_some());
        drop(a);
        assert_eq!(c.count(Principal::Local), 1);
        assert!(c.acquire(Principal::Local, 2, NEVER).is_some());
    }

    #[test]
    fn at_the_cap_the_idlest_connection_makes_room() {
        let c = Connections::default();
        let old = c.acquire(Principal::Local, 2, Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let busy = c.acquire(Principal::Local, 2, Duration::ZERO).unwrap();
        busy.touch();
        let newcomer = c.acquire(Principal::Local, 2, Duration::ZERO).unwrap();
        assert!(old.evicted().is_cancelled());
        assert!(!busy.evicted().is_cancelled());
        assert!(!newcomer.evicted().is_cancelled());
        assert_eq!(c.count(Principal::Local), 2);
        // The evicted permit's drop frees nothing more.
        drop(old);
        assert_eq!(c.count(Principal::Local), 2);
    }
}
