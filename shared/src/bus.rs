//! The `bus.*` namespace: a client's subscriptions.

use serde::{Deserialize, Serialize};

use crate::pattern::Pattern;

crate::contract! {
    namespace: Bus, error: ERROR = "bus.error";
    requests {
        SUBSCRIBE = "bus.subscribe": Subscribe => Ack(Subscriptions);
        UNSUBSCRIBE = "bus.unsubscribe": Unsubscribe => Ack(Subscriptions);
    }
    aliases {}
    events {}
}

/// `bus.subscribe {patterns}` → `bus.subscribe:ack` ([`Subscriptions`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    pub patterns: Vec<Pattern>,
}

/// `bus.unsubscribe {patterns}` → `bus.unsubscribe:ack` ([`Subscriptions`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unsubscribe {
    pub patterns: Vec<Pattern>,
}

/// The client's whole subscription set after the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscriptions {
    pub patterns: Vec<Pattern>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{TopicKind, classify};
    use crate::kernel::{Ping, Stats};
    use crate::request::BusRequest;
    use serde_json::json;

    fn agrees_with_catalog<R: BusRequest>() {
        assert_eq!(
            classify(&R::topic()),
            Some(TopicKind::Request(R::REPLY)),
            "{}",
            R::TOPIC
        );
        assert_eq!(classify(&R::reply_topic()), Some(TopicKind::Reply));
    }

    #[test]
    fn every_typed_request_agrees_with_the_catalog() {
        agrees_with_catalog::<Subscribe>();
        agrees_with_catalog::<Unsubscribe>();
        agrees_with_catalog::<Ping>();
        agrees_with_catalog::<Stats>();
    }

    #[test]
    fn subscribe_round_trips_in_the_spec_shape() {
        let json = json!({"patterns": ["vm.*", "vfs:*", "*", "task.done"]});
        let sub: Subscribe = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(sub.patterns.len(), 4);
        assert_eq!(serde_json::to_value(&sub).unwrap(), json);
        assert!(serde_json::from_value::<Subscribe>(json!({"patterns": ["vm.*x"]})).is_err());
    }
}
