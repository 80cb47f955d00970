//! Rate limits: a token bucket per (principal, rule, topic), on `governor`.
//!
//! Buckets belong to the principal, not to a connection ([`RateLimits`]): reconnecting does not
//! refill them, and everything a principal's clients send counts, including what a task run
//! sends on its caller's behalf. Buckets are made only for topics of the catalog (admission
//! checks that first), so their number is bounded by principals × rules × topics however many clients
//! come and go; `kernel.stats` reports it.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::{Arc, OnceLock};
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

/// The buckets of every principal, made on first use and kept for the kernel's life. Checking
/// takes no lock of its own: the limiters are `governor`'s, safe to share.
pub struct RateLimits {
    rules: Arc<[RateRule]>,
    /// One set per principal, indexed by [`slot`].
    by_principal: [OnceLock<RateGuard>; 3],
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
    pub fn new(rules: Arc<[RateRule]>) -> RateLimits {
        RateLimits {
            rules,
            by_principal: Default::default(),
        }
    }

    /// Takes a token for `topic` from `principal`'s buckets, or says how long to wait.
    pub fn check(&self, principal: Principal, topic: &Topic) -> Result<(), Duration> {
        if self.rules.is_empty() {
            return Ok(());
        }
        self.by_principal[slot(principal)]
            .get_or_init(|| RateGuard::new(Arc::clone(&self.rules)))
            .check(topic)
    }

    /// Live buckets of all principals (for `kernel.stats`).
    pub fn bucket_count(&self) -> usize {
        self.by_principal
            .iter()
            .filter_map(OnceLock::get)
            .map(RateGuard::bucket_count)
            .sum()
    }
}

/// One principal's buckets: one limiter per rule, made when a topic first matches it.
pub struct RateGuard {
    rules: Arc<[RateRule]>,
    limiters: Vec<OnceLock<TopicLimiter>>,
    clock: DefaultClock,
}

impl RateGuard {
    pub fn new(rules: Arc<[RateRule]>) -> RateGuard {
        RateGuard {
            limiters: (0..rules.len()).map(|_| OnceLock::new()).collect(),
            rules,
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token for `topic` from every matching rule's bucket, or says how long to wait.
    pub fn check(&self, topic: &Topic) -> Result<(), Duration> {
        for (rule, slot) in self.rules.iter().zip(&self.limiters) {
            if !rule.topic.matches(topic) {
                continue;
            }
            let limiter = slot.get_or_init(|| TopicLimiter::new(rule));
            if let Err(not_until) = limiter.check(topic) {
                return Err(not_until.wait_time_from(self.clock.now()));
            }
        }
        Ok(())
    }

    /// Buckets made so far.
    pub fn bucket_count(&self) -> usize {
        self.limiters
            .iter()
            .filter_map(OnceLock::get)
            .map(TopicLimiter::len)
            .sum()
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
        let guard = RateGuard::new(vec![rule("vm.spawn", 5, 2, 60_000)].into());
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
        let limits = RateLimits::new(vec![rule("vm.spawn", 5, 2, 60_000)].into());
        let spawn = Topic::parse("vm.spawn").unwrap();
        assert!(limits.check(Principal::Local, &spawn).is_ok());
        assert!(limits.check(Principal::Local, &spawn).is_ok());
        assert!(limits.check(Principal::Local, &spawn).is_err());
        // Another principal has buckets of its own.
        assert!(limits.check(Principal::TokenHolder, &spawn).is_ok());
        assert_eq!(limits.bucket_count(), 2);
    }

    #[test]
    fn a_pattern_rule_keeps_one_bucket_per_topic() {
        let guard = RateGuard::new(vec![rule("vm.*", 1, 1, 60_000)].into());
        assert_eq!(guard.bucket_count(), 0);
        assert!(guard.check(&Topic::parse("vm.spawn").unwrap()).is_ok());
        assert!(guard.check(&Topic::parse("vm.kill").unwrap()).is_ok());
        assert!(guard.check(&Topic::parse("vm.kill").unwrap()).is_err());
        assert_eq!(guard.bucket_count(), 2);
    }
}
