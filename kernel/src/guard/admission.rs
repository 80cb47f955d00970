//! The one admission path: may `principal` send this envelope now? [`Guards::admit`] asks, in
//! order, the contract's catalog (an unknown topic is refused before it can make a rate bucket),
//! the permission rules, then the principal's rate buckets (admin bypasses the last two). Every
//! sender goes through it: the hub for what a client sends, the task engine for every node a run
//! sends on its caller's behalf (both through [`Bus::submit`](crate::bus::Bus::submit)), so a rule
//! holds however a request arrives. [`Guards::admissible`] asks the same rules without taking a
//! rate token, for requests that will be sent later (a task's nodes at `task.define`).
//!
//! An alias is judged as the topic it stands for (`wasm.run` as `vm.spawn`, see
//! [`aether_shared::catalog::aliases`]): a `deny vm.spawn` rule denies `wasm.run`, and both draw
//! from `vm.spawn`'s rate buckets. A rule naming the alias itself still applies to it.
//!
//! This module decides and words refusals; it never answers them (the caller does, on the
//! request's error topic) and never routes.

use std::borrow::Cow;

use aether_shared::catalog::{TopicKind, canonical, classify};
use aether_shared::{Envelope, ErrorCode, ErrorPayload, Topic};

use super::audit::{self, Reason};
use super::{Guards, Principal};
use crate::bus::BusStats;

/// Why an envelope was not admitted. Its sentence says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "`{topic}` is not a topic of the Aether contract; see SPEC §5 for the topics of `{}`.",
        topic.namespace()
    )]
    UnknownTopic { topic: Topic },
    #[error(
        "The kernel's permission rules do not allow `{topic}`{}; ask its operator to allow it in `permissions`.",
        judged_as(.judged)
    )]
    PermissionDenied {
        topic: Topic,
        /// The topic an alias was judged as.
        judged: Option<Topic>,
    },
    #[error("Too many `{topic}` requests{}; retry in {retry_after_ms} ms.", judged_as(.judged))]
    RateLimited {
        topic: Topic,
        judged: Option<Topic>,
        retry_after_ms: u64,
    },
}

impl Refusal {
    /// The SPEC §4 code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::UnknownTopic { .. } => ErrorCode::UnknownTopic,
            Refusal::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Refusal::RateLimited { .. } => ErrorCode::RateLimited,
        }
    }

    /// The audit trail's reason; `None` for an unknown topic, which is counted by its code but
    /// not logged (it is a client's mistake, not an attempt past a rule).
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Refusal::UnknownTopic { .. } => None,
            Refusal::PermissionDenied { .. } => Some(Reason::PermissionDenied),
            Refusal::RateLimited { .. } => Some(Reason::RateLimited),
        }
    }

    /// The wire error: code, sentence, and `retry_after_ms` for a rate limit.
    pub fn to_payload(&self) -> ErrorPayload {
        let error = ErrorPayload::new(self.code(), self.to_string());
        match self {
            Refusal::RateLimited { retry_after_ms, .. } => {
                error.with_detail("retry_after_ms", *retry_after_ms)
            }
            _ => error,
        }
    }

    /// Records the refusal once: counted in `kernel.stats` and, for a rule, logged in the audit
    /// trail with who sent what. The answer (if any) must then not count it again.
    pub fn record(&self, stats: &BusStats, client_id: &str, principal: Principal) {
        let topic = match self {
            Refusal::UnknownTopic { topic }
            | Refusal::PermissionDenied { topic, .. }
            | Refusal::RateLimited { topic, .. } => topic,
        };
        match self.reason() {
            Some(reason) => audit::refused(
                stats,
                reason,
                Some(client_id),
                principal.as_str(),
                Some(topic.as_str()),
                &self.to_string(),
            ),
            None => {
                tracing::debug!(code = %self.code(), "refused: {self}");
                stats.count_refusal(self.code().as_str());
            }
        }
    }
}

impl From<Refusal> for ErrorPayload {
    fn from(refusal: Refusal) -> ErrorPayload {
        refusal.to_payload()
    }
}

impl Guards {
    /// Admits `env` from `principal` now, or says why not: [`Guards::admissible`], then a token
    /// from the principal's rate buckets (admin takes none). Returns what the topic is.
    pub fn admit(&self, principal: Principal, env: &Envelope) -> Result<TopicKind, Refusal> {
        let topic = &env.topic;
        let (kind, judged) = self.judge(principal, topic)?;
        if principal.is_admin() {
            return Ok(kind);
        }
        if let Err(wait) = self.rates.check(principal, &judged) {
            return Err(Refusal::RateLimited {
                topic: topic.clone(),
                judged: alias_target(topic, &judged),
                retry_after_ms: wait.as_millis().max(1) as u64,
            });
        }
        Ok(kind)
    }

    /// Whether `principal` may send `topic` at all: the catalog and the permission rules, the
    /// same as [`Guards::admit`] without taking a rate token (for a request that will be sent
    /// later, like a task's nodes at `task.define`).
    pub fn admissible(&self, principal: Principal, topic: &Topic) -> Result<TopicKind, Refusal> {
        self.judge(principal, topic).map(|(kind, _)| kind)
    }

    /// The catalog and permission half of admission: what `topic` is, and the topic it is
    /// judged (and rate limited) as.
    fn judge<'t>(
        &self,
        principal: Principal,
        topic: &'t Topic,
    ) -> Result<(TopicKind, Cow<'t, Topic>), Refusal> {
        let Some(kind) = classify(topic) else {
            return Err(Refusal::UnknownTopic {
                topic: topic.clone(),
            });
        };
        if principal.is_admin() {
            return Ok((kind, Cow::Borrowed(topic)));
        }
        let judged = canonical(topic);
        let allowed = self.permissions.allows(&judged)
            && (matches!(judged, Cow::Borrowed(_)) || self.permissions.allows(topic));
        if !allowed {
            return Err(Refusal::PermissionDenied {
                topic: topic.clone(),
                judged: alias_target(topic, &judged),
            });
        }
        Ok((kind, judged))
    }
}

/// The topic an alias stands for, when `topic` is one.
fn alias_target(topic: &Topic, judged: &Topic) -> Option<Topic> {
    (topic != judged).then(|| judged.clone())
}

/// Words for a refusal of an alias: which topic it was judged as (empty for any other topic).
fn judged_as(judged: &Option<Topic>) -> String {
    match judged {
        Some(judged) => format!(" (judged as `{judged}`, the topic it stands for)"),
        None => String::new(),
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

    fn env(s: &str) -> Envelope {
        Envelope::new(t(s))
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

    fn one_per_minute(topic: &str) -> RateRule {
        RateRule {
            topic: topic.parse().unwrap(),
            limit: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(1).unwrap(),
            window_ms: NonZeroU64::new(60_000).unwrap(),
        }
    }

    #[test]
    fn admit_refuses_an_unknown_topic_first_even_for_admin_and_makes_no_bucket() {
        let config = Config {
            rate_limits: vec![RateRule {
                topic: "vm.*".parse().unwrap(),
                ..one_per_minute("vm.spawn")
            }],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        for principal in [Principal::Local, Principal::Admin] {
            let refusal = guards.admit(principal, &env("vm.nope")).unwrap_err();
            assert_eq!(refusal.code(), ErrorCode::UnknownTopic);
            assert_eq!(refusal.reason(), None);
            assert!(refusal.to_string().contains("SPEC §5"), "{refusal}");
        }
        assert_eq!(guards.rates.bucket_count(), 0);
        assert_eq!(
            guards.admit(Principal::Local, &env("vm.spawn")),
            Ok(TopicKind::Request(aether_shared::ReplyKind::Ack))
        );
        assert_eq!(
            guards.admit(Principal::Local, &env("vm.stdout")),
            Ok(TopicKind::Event)
        );
    }

    #[test]
    fn admit_refuses_what_the_permission_rules_deny_before_taking_a_token() {
        let config = Config {
            permissions: vec![deny("vm.kill"), allow_all()],
            rate_limits: vec![one_per_minute("vm.kill")],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        let refusal = guards.admit(Principal::Local, &env("vm.kill")).unwrap_err();
        assert_eq!(refusal.reason(), Some(Reason::PermissionDenied));
        let payload = refusal.to_payload();
        assert_eq!(payload.code, ErrorCode::PermissionDenied);
        assert!(payload.error.contains("`permissions`"), "{}", payload.error);
        assert_eq!(guards.rates.bucket_count(), 0, "no token was taken");
        assert!(guards.admit(Principal::Admin, &env("vm.kill")).is_ok());
    }

    #[test]
    fn admit_refuses_past_the_rate_with_the_wait_in_its_details() {
        let config = Config {
            rate_limits: vec![one_per_minute("kernel.ping")],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        assert!(guards.admit(Principal::Local, &env("kernel.ping")).is_ok());
        let refusal = guards
            .admit(Principal::Local, &env("kernel.ping"))
            .unwrap_err();
        assert_eq!(refusal.reason(), Some(Reason::RateLimited));
        let payload = refusal.to_payload();
        assert_eq!(payload.code, ErrorCode::RateLimited);
        let wait = payload.details.unwrap()["retry_after_ms"].as_u64().unwrap();
        assert!(wait > 50_000 && wait <= 60_000, "{wait}");
        // Admin draws no token; another principal has buckets of its own.
        assert!(guards.admit(Principal::Admin, &env("kernel.ping")).is_ok());
        assert!(
            guards
                .admit(Principal::TokenHolder, &env("kernel.ping"))
                .is_ok()
        );
    }

    #[test]
    fn a_refusal_is_counted_once_under_its_code() {
        let stats = BusStats::default();
        let unknown = Refusal::UnknownTopic {
            topic: t("vm.nope"),
        };
        unknown.record(&stats, "c-1", Principal::Local);
        let denied = Refusal::PermissionDenied {
            topic: t("vm.kill"),
            judged: None,
        };
        denied.record(&stats, "c-1", Principal::Local);
        let refusals = stats.refusals();
        assert_eq!(refusals[ErrorCode::UnknownTopic.as_str()], 1);
        assert_eq!(refusals[ErrorCode::PermissionDenied.as_str()], 1);
    }

    #[test]
    fn an_alias_is_denied_by_the_rule_of_the_topic_it_stands_for() {
        let config = Config {
            permissions: vec![deny("vm.spawn"), allow_all()],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        let refusal = guards
            .admit(Principal::Local, &env("wasm.run"))
            .unwrap_err();
        assert_eq!(refusal.reason(), Some(Reason::PermissionDenied));
        assert!(refusal.to_string().contains("vm.spawn"), "{refusal}");
        assert!(guards.admit(Principal::Local, &env("vm.kill")).is_ok());
        assert!(guards.admit(Principal::Admin, &env("wasm.run")).is_ok());
    }

    #[test]
    fn an_alias_draws_from_the_buckets_of_the_topic_it_stands_for() {
        let config = Config {
            rate_limits: vec![RateRule {
                limit: NonZeroU32::new(2).unwrap(),
                burst: NonZeroU32::new(2).unwrap(),
                ..one_per_minute("vm.spawn")
            }],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        assert!(guards.admit(Principal::Local, &env("vm.spawn")).is_ok());
        assert!(guards.admit(Principal::Local, &env("wasm.run")).is_ok());
        let refusal = guards
            .admit(Principal::Local, &env("wasm.run"))
            .unwrap_err();
        assert_eq!(refusal.reason(), Some(Reason::RateLimited));
        assert!(guards.admit(Principal::Local, &env("vm.spawn")).is_err());
    }

    #[test]
    fn admissible_judges_an_alias_as_its_topic_and_takes_no_rate_token() {
        let config = Config {
            permissions: vec![deny("vm.spawn"), allow_all()],
            rate_limits: vec![one_per_minute("kernel.ping")],
            ..Config::default()
        };
        let guards = Guards::new(&config);
        let refusal = guards
            .admissible(Principal::Local, &t("wasm.run"))
            .unwrap_err();
        assert_eq!(refusal.reason(), Some(Reason::PermissionDenied));
        assert!(guards.admissible(Principal::Admin, &t("wasm.run")).is_ok());
        for _ in 0..3 {
            assert!(
                guards
                    .admissible(Principal::Local, &t("kernel.ping"))
                    .is_ok()
            );
        }
        // The one token is still there for the request itself.
        assert!(guards.admit(Principal::Local, &env("kernel.ping")).is_ok());
        assert!(guards.admit(Principal::Local, &env("kernel.ping")).is_err());
    }
}
