//! Which kernels are up: each kernel says so on its heartbeat subject every [`BEAT`], and a
//! kernel not heard from for [`LAPSE`] is taken for gone. A gateway ends the programs a gone
//! runner held (`vm.error backend_unavailable`), a runner stops those a gone gateway's tabs ran;
//! so a crash anywhere ends in bounded time, never a hang.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a kernel says it is up.
pub const BEAT: Duration = Duration::from_millis(250);
/// Silence after which a kernel is taken for gone: six beats, so a busy moment is not a death,
/// and a program on a dead runner ends within `LAPSE` + one beat (under 2 s).
pub const LAPSE: Duration = Duration::from_millis(1_500);
/// Silence after which a runner takes a gateway for gone and stops what it ran for its clients:
/// longer than [`LAPSE`], since stopping a live gateway's programs (on a loaded machine whose
/// beats came late) is worse than running a dead one's a few seconds more.
pub const GATEWAY_LAPSE: Duration = Duration::from_secs(5);

/// When each other kernel was last heard from.
#[derive(Default)]
pub struct Peers {
    seen: Mutex<HashMap<String, Instant>>,
}

impl Peers {
    /// `kernel` is up now.
    pub fn saw(&self, kernel: &str) {
        let mut seen = self.seen.lock().expect("peers lock");
        match seen.get_mut(kernel) {
            Some(at) => *at = Instant::now(),
            None => {
                seen.insert(kernel.to_owned(), Instant::now());
            }
        }
    }

    /// True when `kernel` was heard from within [`LAPSE`].
    pub fn alive(&self, kernel: &str) -> bool {
        self.heard_within(kernel, LAPSE)
    }

    /// True when `kernel` was heard from within `lapse`.
    pub fn heard_within(&self, kernel: &str, lapse: Duration) -> bool {
        self.seen
            .lock()
            .expect("peers lock")
            .get(kernel)
            .is_some_and(|at| at.elapsed() < lapse)
    }

    /// The kernels heard from within [`LAPSE`], by name.
    pub fn up(&self) -> Vec<String> {
        let mut up: Vec<String> = self
            .seen
            .lock()
            .expect("peers lock")
            .iter()
            .filter(|(_, at)| at.elapsed() < LAPSE)
            .map(|(id, _)| id.clone())
            .collect();
        up.sort();
        up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_is_alive_once_heard_and_only_then() {
        let peers = Peers::default();
        assert!(!peers.alive("runner-1"));
        peers.saw("runner-1");
        assert!(peers.alive("runner-1"));
        assert_eq!(peers.up(), vec!["runner-1".to_owned()]);
        peers
            .seen
            .lock()
            .unwrap()
            .insert("old".into(), Instant::now() - LAPSE);
        assert!(!peers.alive("old"));
        assert_eq!(peers.up(), vec!["runner-1".to_owned()]);
    }
}
