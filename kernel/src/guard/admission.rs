//! The one admission path: may `principal` send `topic` now? Permissions first, then rate
//! limits. The hub asks it for every envelope a client sends, the task engine for every node a
//! run sends on its caller's behalf, so a rule holds however a request arrives.
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
    /// Admits `topic` from `principal`, or says why not. Admin bypasses both checks.
    pub fn admit(&self, principal: Principal, topic: &Topic) -> Result<(), Refusal> {
        if principal.is_admin() {
            return Ok(());
        }
        let judged = canonical(topic);
        let is_alias = matches!(judged, Cow::Owned(_));
        let as_what = if is_alias {
            format!(" (judged as `{judged}`, the topic it stands for)")
        } else {
            String::new()
        };
        if !self.permissions.allows(&judged) || (is_alias && !self.permissions.allows(topic)) {
            return Err(Refusal {
                reason: Reason::PermissionDenied,
                error: ErrorPayload::new(
                    ErrorCode::PermissionDenied,
                    format!(
                        "The kernel's permission rules do not allow `{topic}`{as_what}; ask its operator to allow it in `permissions`."
                    ),
                ),
            });
        }
        if let Err(wait) = self.rates.check(principal, &judged) {
            let retry_after_ms = wait.as_millis().max(1) as u64;
            return Err(Refusal {
                reason: Reason::RateLimited,
                error: ErrorPayload::new(
                    ErrorCode::RateLimited,
                    format!("Too many `{topic}` requests{as_what}; retry in {retry_after_ms} ms."),
                )
                .with_detail("retry_after_ms", retry_after_ms),
            });
        }
        Ok(())
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
}
