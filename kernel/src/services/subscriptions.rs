//! The `bus.*` service: a client's subscription patterns, capped at `limits.max_subscriptions`.

use std::sync::Arc;

use aether_shared::bus::{Subscribe, Subscriptions, Unsubscribe};
use aether_shared::{BusRequest as _, Envelope, ErrorCode, ErrorPayload};

use super::{decode, unknown};
use crate::bus::{Bus, ClientHandle};

pub(super) fn handle(
    bus: &Bus,
    client: &Arc<ClientHandle>,
    max_subscriptions: usize,
    env: Envelope,
) {
    match env.topic.as_str() {
        Subscribe::TOPIC => {
            let Some(req) = decode::<Subscribe>(bus, &env) else {
                return;
            };
            match client.subscribe(&req.patterns, max_subscriptions) {
                Ok(patterns) => bus.reply::<Subscribe>(&env, &Subscriptions { patterns }),
                Err(wanted) => bus.emit_error(
                    &env,
                    ErrorPayload::new(
                        ErrorCode::ResourceExceeded,
                        format!(
                            "A client may hold {max_subscriptions} subscription patterns and this would make {wanted}; unsubscribe some or use a wider pattern such as `vm.*`."
                        ),
                    )
                    .with_detail("limit", "max_subscriptions")
                    .with_detail("value", max_subscriptions as u64),
                ),
            }
        }
        Unsubscribe::TOPIC => {
            if let Some(req) = decode::<Unsubscribe>(bus, &env) {
                let patterns = client.unsubscribe(&req.patterns);
                bus.reply::<Unsubscribe>(&env, &Subscriptions { patterns });
            }
        }
        _ => unknown(bus, &env),
    }
}
