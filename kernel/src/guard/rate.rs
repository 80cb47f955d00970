//! Rate limits: a token bucket per (principal, rule, topic), on `governor`.
//!
//! Buckets belong to the principal, not to a connection ([`RateLimits`]): reconnecting does not
//! refill them, and everything a principal's clients send counts, including what a task run
//! sends on its caller's behalf. Buckets are made only for topics of the catalog (the hub checks
//! that first), so their number is bounded by principals × rules × topics however many clients
//! come and go. The live bucket count is shared for `kernel.stats` and tests.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aether_shared::{Pattern, Topic};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};

use super::Principal;
use crate::config::RateRule;

type Instant = <DefaultClock as Clock>::Instant;

/// The bucket(s) of one rule: one bucket for an exact topic (lock-free, no lookup), or one per
/// topic for a pattern, keyed by a 64-bit hash of the topic (no allocation per check).
enum TopicLimiter {
    Exact(RateLimiter<NotKeyed, InMemoryState, DefaultClock, NoOpMiddleware<Instant>>),
    PerTopic(RateLimiter<u64, HashMapStateStore<u64>, DefaultClock, NoOpMiddleware<Instant>>),
}

impl TopicLimiter {
    fn new(rule: &RateRule) -> TopicLimiter {
        let quota = Quota::with_period(rule.replenish_interval())
            .expect("a non-zero interval")
            .allow_burst(rule.burst);
        match rule.topic {
            Pattern::Exact(_) => TopicLimiter::Exact(RateLimiter::direct(quota)),
            Pattern::Prefix(_) => TopicLimiter::PerTopic(RateLimiter::hashmap(quota)),
        }
    }

    fn len(&self) -> usize {
        match self {
            TopicLimiter::Exact(_) => 1,
            TopicLimiter::PerTopic(l) => l.len(),
        }
    }

    fn check(&self, topic: &Topic) -> Result<(), NotUntil<Instant>> {
        match self {
            TopicLimiter::Exact(l) => l.check(),
            TopicLimiter::PerTopic(l) => {
                let key = BuildHasherDefault::<DefaultHasher>::default().hash_one(topic.as_str());
                l.check_key(&key)
            }
        }
    }
}

/// The buckets of every principal, made on first use and kept for the kernel's life.
pub struct RateLimits {
    rules: Arc<[RateRule]>,
    live_buckets: Arc<AtomicI64>,
    /// One set per principal, indexed by [`slot`].
    by_principal: [OnceLock<Mutex<RateGuard>>; 3],
}

/// The index of a principal's buckets.
fn slot(principal: Principal) -> usize {
    match principal {
        Principal::Admin => 0,
        Principal::TokenHolder => 1,
        Principal::Local => 2,
    }
}

impl RateLimits {
    pub fn new(rules: Arc<[RateRule]>, live_buckets: Arc<AtomicI64>) -> RateLimits {
        RateLimits {
            rules,
            live_buckets,
            by_principal: Default::default(),
        }
    }

    /// Takes a token for `topic` from `principal`'s buckets, or says how long to wait.
    pub fn check(&self, principal: Principal, topic: &Topic) -> Result<(), Duration> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let guard = self.by_principal[slot(principal)].get_or_init(|| {
            Mutex::new(RateGuard::new(
                Arc::clone(&self.rules),
                Arc::clone(&self.live_buckets),
            ))
        });
        guard.lock().expect("rate lock").check(topic)
    }
}

/// One principal's buckets.
pub struct RateGuard {
    rules: Arc<[RateRule]>,
    limiters: Vec<Option<TopicLimiter>>,
    live_buckets: Arc<AtomicI64>,
    mine: i64,
    clock: DefaultClock,
}

impl RateGuard {
    pub fn new(rules: Arc<[RateRule]>, live_buckets: Arc<AtomicI64>) -> RateGuard {
        RateGuard {
            limiters: (0..rules.len()).map(|_| None).collect(),
            rules,
            live_buckets,
            mine: 0,
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token for `topic` from every matching rule's bucket, or says how long to wait.
    pub fn check(&mut self, topic: &Topic) -> Result<(), Duration> {
        for (rule, slot) in self.rules.iter().zip(self.limiters.iter_mut()) {
            if !rule.topic.matches(topic) {
                continue;
            }
            let before = slot.as_ref().map_or(0, TopicLimiter::len);
            let limiter = slot.get_or_insert_with(|| TopicLimiter::new(rule));
            let outcome = limiter.check(topic);
            let added = limiter.len() as i64 - before as i64;
            if added != 0 {
                self.mine += added;
                self.live_buckets.fetch_add(added, Ordering::Relaxed);
            }
            if let Err(not_until) = outcome {
                return Err(not_until.wait_time_from(self.clock.now()));
            }
        }
        Ok(())
    }
}

impl Drop for RateGuard {
    fn drop(&mut self) {
        self.live_buckets.fetch_sub(self.mine, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::{NonZeroU32, NonZeroU64};

    fn rule(topic: &str, limit: u32, burst: u32, window_ms: u64) -> RateRule {
        RateRule {
            topic: topic.parse().unwrap(),
            limit: NonZeroU32::new(limit).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
            window_ms: NonZeroU64::new(window_ms).unwrap(),
        }
    }

    #[test]
    fn a_burst_past_the_bucket_is_refused_with_a_wait() {
        let live = Arc::new(AtomicI64::new(0));
        let mut guard = RateGuard::new(vec![rule("vm.spawn", 5, 2, 60_000)].into(), live.clone());
        let spawn = Topic::parse("vm.spawn").unwrap();
        assert!(guard.check(&spawn).is_ok());
        assert!(guard.check(&spawn).is_ok());
        let wait = guard.check(&spawn).unwrap_err();
        // One token comes back every 60 s / 5 = 12 s.
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        // Other topics are not limited by that rule.
        assert!(guard.check(&Topic::parse("vm.kill").unwrap()).is_ok());
    }

    #[test]
    fn buckets_belong_to_the_principal_not_the_connection() {
        let live = Arc::new(AtomicI64::new(0));
        let limits = RateLimits::new(vec![rule("vm.spawn", 5, 2, 60_000)].into(), live.clone());
        let spawn = Topic::parse("vm.spawn").unwrap();
        assert!(limits.check(Principal::Local, &spawn).is_ok());
        assert!(limits.check(Principal::Local, &spawn).is_ok());
        assert!(limits.check(Principal::Local, &spawn).is_err());
        // Another principal has buckets of its own.
        assert!(limits.check(Principal::TokenHolder, &spawn).is_ok());
        assert_eq!(live.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_pattern_rule_keeps_one_bucket_per_topic_and_drops_them_with_the_client() {
        let live = Arc::new(AtomicI64::new(0));
        let mut guard = RateGuard::new(vec![rule("vm.*", 1, 1, 60_000)].into(), live.clone());
        assert!(guard.check(&Topic::parse("vm.spawn").unwrap()).is_ok());
        assert!(guard.check(&Topic::parse("vm.kill").unwrap()).is_ok());
        assert!(guard.check(&Topic::parse("vm.kill").unwrap()).is_err());
        assert_eq!(live.load(Ordering::Relaxed), 2);
        drop(guard);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }
}
