//! Why a program must stop, decided once: the first reason recorded wins. Shared by the
//! watchdog, the epoch callback, the output pipes and the memory limiter of one program.
//!
//! Recording a reason also wakes [`Watch::stopped`]: the run awaits it beside the guest, so a
//! guest blocked in a host call (a sleep, a read) is dropped at once rather than waiting for its
//! next WebAssembly instruction, which is all the epoch callback can stop.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

/// A reason to stop a program that is not its own doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Killed,
    WallTimeout {
        limit_ms: u64,
    },
    IdleTimeout {
        limit_ms: u64,
    },
    Memory {
        limit_bytes: u64,
    },
    Output {
        limit_bytes: u64,
    },
    /// The requester disconnected: nobody is left to read the output.
    Abandoned,
}

/// The stop switch and activity clock of one program.
pub struct Watch {
    started: Instant,
    /// Milliseconds since start of the last output or input.
    last_activity_ms: AtomicU64,
    reason: Mutex<Option<Stop>>,
    /// Cancelled when the first reason is recorded.
    stopping: CancellationToken,
}

impl Watch {
    pub fn new() -> Watch {
        Watch {
            started: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            reason: Mutex::new(None),
            stopping: CancellationToken::new(),
        }
    }

    /// Records a reason to stop, unless one is already recorded.
    pub fn stop(&self, why: Stop) {
        self.reason.lock().expect("watch lock").get_or_insert(why);
        self.stopping.cancel();
    }

    /// Resolves once a reason to stop is recorded (at once if one already is).
    pub async fn stopped(&self) {
        self.stopping.cancelled().await;
    }

    /// The recorded reason, if any.
    pub fn reason(&self) -> Option<Stop> {
        *self.reason.lock().expect("watch lock")
    }

    /// Notes output or input now.
    pub fn touch(&self) {
        self.last_activity_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Milliseconds since the last output or input.
    pub fn idle_ms(&self) -> u64 {
        self.elapsed_ms()
            .saturating_sub(self.last_activity_ms.load(Ordering::Relaxed))
    }

    /// Checks the time limits; records and returns a reason when one is passed.
    pub fn check_time(&self, wall_timeout_ms: u64, idle_timeout_ms: u64) -> Option<Stop> {
        if self.elapsed_ms() >= wall_timeout_ms {
            self.stop(Stop::WallTimeout {
                limit_ms: wall_timeout_ms,
            });
        } else if self.idle_ms() >= idle_timeout_ms {
            self.stop(Stop::IdleTimeout {
                limit_ms: idle_timeout_ms,
            });
        }
        self.reason()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins() {
        let watch = Watch::new();
        assert_eq!(watch.reason(), None);
        watch.stop(Stop::Killed);
        watch.stop(Stop::Memory { limit_bytes: 1 });
        assert_eq!(watch.reason(), Some(Stop::Killed));
    }

    #[tokio::test]
    async fn a_recorded_reason_wakes_whoever_awaits_the_stop() {
        let watch = std::sync::Arc::new(Watch::new());
        let waiter = tokio::spawn({
            let watch = std::sync::Arc::clone(&watch);
            async move { watch.stopped().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!(
            watch.check_time(0, 60_000),
            Some(Stop::WallTimeout { limit_ms: 0 })
        );
        waiter.await.unwrap();
    }

    #[test]
    fn time_limits_are_reported_once_passed() {
        let watch = Watch::new();
        assert_eq!(watch.check_time(60_000, 60_000), None);
        assert_eq!(
            watch.check_time(0, 60_000),
            Some(Stop::WallTimeout { limit_ms: 0 })
        );
    }
}
