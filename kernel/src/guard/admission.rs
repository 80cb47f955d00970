//! The one admission path: may `principal` send `topic` now? Permissions first, then rate
//! limits. The hub asks it for every envelope a client sends, the task engine for every node a
//! run sends on its caller's behalf, so a rule holds however a request arrives. `task.define`
//! asks the permission half alone ([`Guards::permits`]) for nodes that will be sent later.
//!
//! An alias is judged as the topic it stands for (`wasm.run` as `vm.spawn`, see
//! [`aether_shared::catalog::ALIASES`]): a `deny vm.spawn` rule denies `wasm.run`, and both draw
//! from `vm.spawn`'s rate buckets. A rule naming the alias itself still applies to it.

use std::borrow::Cow;

use aether_shared::catalog::canonical;
use aether_shared::{ErrorCode, ErrorPayload, Topic};

use super::audit::Reason;
use super::{Guards, Principal};

/// Why a request was not admitted: the audit reason and the error to answer with.
#[derive(Debug)]
pub struct Refusal {
    pub reason: Reason,
    pub error: ErrorPayload,
}

impl Guards {
    /// Admits `topic` from `principal` now, or says why not: [`Guards::permits`], then a token
    /// from the principal's rate buckets. Admin bypasses both.
    pub fn admit(&self, principal: Principal, topic: &Topic) -> Result<(), Refusal> {
        if principal.is_admin() {
            return Ok(());
        }
        let judged = self.permits(principal, topic)?;
        if let Err(wait) = self.rates.check(principal, &judged) {
            let retry_after_ms = wait.as_millis().max(1) as u64;
            return Err(Refusal {
                reason: Reason::RateLimited,
                error: ErrorPayload::new(
                    ErrorCode::RateLimited,
                    format!(
                        "Too many `{topic}` requests{}; retry in {retry_after_ms} ms.",
                        judged_as(topic, &judged)
                    ),
                )
                .with_detail("retry_after_ms", retry_after_ms),
            });
        }
        Ok(())
    }

    /// Whether the permission rules let `principal` send `topic` (no rate token is taken: for
    /// checking a request that will be sent later, like a task's nodes at `task.define`).
    /// Returns the topic it is judged as: itself, or the one an alias stands for.
    pub fn permits<'t>(
        &self,
        principal: Principal,
        topic: &'t Topic,
    ) -> Result<Cow<'t, Topic>, Refusal> {
        let judged = canonical(topic);
        let allowed = principal.is_admin()
            || (self.permissions.allows(&judged)
                && (matches!(judged, Cow::Borrowed(_)) || self.permissions.allows(topic)));
        if allowed {
            return Ok(judged);
        }
        Err(Refusal {
            reason: Reason::PermissionDenied,
            error: ErrorPayload::new(
                ErrorCode::PermissionDenied,
                format!(
                    "The kernel's permission rules do not allow `{topic}`{}; ask its operator to allow it in `permissions`.",
                    judged_as(topic, &judged)
                ),
            ),
        })
    }
}

/// Words for a refusal of an alias: which topic it was judged as (empty for any other topic).
fn judged_as(topic: &Topic, judged: &Topic) -> String {
    if topic == judged {
        String::new()
    } else {
        format!(" (judged as `{judged}`, the topic it stands for)")
    }
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use super::*;
    use crate::config::{Action, Config, PermissionRule, RateRule, TopicPrefix};

    fn t(s: &str) -> Topic {
        Topic::parse(s).unwrap()
    }

    fn deny(prefix: &str) -> PermissionRule {
        PermissionRule {
            topic_prefix: TopicPrefix::parse(prefix).unwrap(),
            action: Action::Deny,
        }
    }

    fn allow_all() -> PermissionRule {
        PermissionRule {
            topic_prefix: TopicPrefix::parse("").unwrap(),
            action: Action::Allow,
        }
    }

    #[test]
    fn an_alias_is_denied_by_the_rule_of_the_topic_it_stands_for() {
        let config = Config {
            permissions: vec![deny("vm.spawn"), allow_all()],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        let refusal = guards.admit(Principal::Local, &t("wasm.run")).unwrap_err();
        assert_eq!(refusal.reason, Reason::PermissionDenied);
        assert!(
            refusal.error.error.contains("vm.spawn"),
            "{}",
            refusal.error.error
        );
        assert!(guards.admit(Principal::Local, &t("vm.kill")).is_ok());
        assert!(guards.admit(Principal::Admin, &t("wasm.run")).is_ok());
    }

    #[test]
    fn an_alias_draws_from_the_buckets_of_the_topic_it_stands_for() {
        let config = Config {
            rate_limits: vec![RateRule {
                topic: "vm.spawn".parse().unwrap(),
                limit: NonZeroU32::new(2).unwrap(),
                burst: NonZeroU32::new(2).unwrap(),
                window_ms: NonZeroU64::new(60_000).unwrap(),
            }],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        assert!(guards.admit(Principal::Local, &t("vm.spawn")).is_ok());
        assert!(guards.admit(Principal::Local, &t("wasm.run")).is_ok());
        let refusal = guards.admit(Principal::Local, &t("wasm.run")).unwrap_err();
        assert_eq!(refusal.reason, Reason::RateLimited);
        assert!(guards.admit(Principal::Local, &t("vm.spawn")).is_err());
    }

    #[test]
    fn permits_judges_an_alias_as_its_topic_and_takes_no_rate_token() {
        let config = Config {
            permissions: vec![deny("vm.spawn"), allow_all()],
            rate_limits: vec![RateRule {
                topic: "kernel.ping".parse().unwrap(),
                limit: NonZeroU32::new(1).unwrap(),
                burst: NonZeroU32::new(1).unwrap(),
                window_ms: NonZeroU64::new(60_000).unwrap(),
            }],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        let refusal = guards
            .permits(Principal::Local, &t("wasm.run"))
            .unwrap_err();
        assert_eq!(refusal.reason, Reason::PermissionDenied);
        assert!(guards.permits(Principal::Admin, &t("wasm.run")).is_ok());
        for _ in 0..3 {
            assert!(guards.permits(Principal::Local, &t("kernel.ping")).is_ok());
        }
        // The one token is still there for the request itself.
        assert!(guards.admit(Principal::Local, &t("kernel.ping")).is_ok());
        assert!(guards.admit(Principal::Local, &t("kernel.ping")).is_err());
    }
}
