//! The `bus.*` service: a client's subscription patterns, capped at `limits.max_subscriptions`.

use std::convert::Infallible;
use std::sync::Arc;

use aether_shared::bus::{SUBSCRIBE, Subscribe, Subscriptions, UNSUBSCRIBE, Unsubscribe};
use aether_shared::{Envelope, ErrorCode, ErrorPayload};

use super::request::{ServiceError, serve, unknown};
use crate::bus::{Bus, ClientHandle};

/// Why a `bus.*` request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error(
        "A client may hold {max} subscription patterns and this would make {wanted}; unsubscribe some or use a wider pattern such as `vm.*`."
    )]
    TooMany { max: usize, wanted: usize },
}

impl ServiceError for SubscriptionError {
    fn code(&self) -> ErrorCode {
        match self {
            SubscriptionError::TooMany { .. } => ErrorCode::ResourceExceeded,
        }
    }

    fn details(&self, error: ErrorPayload) -> ErrorPayload {
        match self {
            SubscriptionError::TooMany { max, .. } => error
                .with_detail("limit", "max_subscriptions")
                .with_detail("value", *max as u64),
        }
    }
}

/// Handles a `bus.*` request of `client`, which may hold `max_subscriptions` patterns.
pub(super) fn handle(
    bus: &Bus,
    client: &Arc<ClientHandle>,
    max_subscriptions: usize,
    env: Envelope,
) {
    match env.topic.as_str() {
        SUBSCRIBE => serve(bus, env, |req: Subscribe, _| {
            client
                .subscribe(&req.patterns, max_subscriptions)
                .map(|patterns| Subscriptions { patterns })
                .map_err(|wanted| SubscriptionError::TooMany {
                    max: max_subscriptions,
                    wanted,
                })
        }),
        UNSUBSCRIBE => serve(bus, env, |req: Unsubscribe, _| {
            let patterns = client.unsubscribe(&req.patterns);
            Ok::<_, Infallible>(Subscriptions { patterns })
        }),
        _ => unknown(bus, &env),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_patterns_names_the_limit_and_its_value() {
        let error = SubscriptionError::TooMany { max: 2, wanted: 3 }.to_payload();
        assert_eq!(error.code, ErrorCode::ResourceExceeded);
        assert_eq!(
            error.error,
            "A client may hold 2 subscription patterns and this would make 3; unsubscribe some or use a wider pattern such as `vm.*`."
        );
        let details = error.details.unwrap();
        assert_eq!(details["limit"], "max_subscriptions");
        assert_eq!(details["value"], 2);
    }
}
