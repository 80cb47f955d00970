//! The `kernel.*` namespace: the greeting on connect, liveness and statistics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

crate::contract! {
    namespace: Kernel, error: ERROR = "kernel.error";
    requests {
        PING = "kernel.ping": Ping => Resp(Pong);
        STATS = "kernel.stats": Stats => Resp(StatsReport);
    }
    aliases {}
    events {
        /// The first message on every connection ([`Hello`]).
        HELLO = "kernel.hello";
    }
}

/// `kernel.hello`: the first message on every connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The id the kernel gave this connection; it is the `from` of everything the client sends.
    pub client_id: String,
    /// The kernel's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The limits this client is held to.
    pub limits: ClientLimits,
    /// True when this connection negotiated binary frames (the `aether.binary` subprotocol, see
    /// [`crate::frame`]): the kernel takes them from it and sends it envelopes that carry bytes as
    /// binary frames. Absent (false) for a text-only connection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
}

/// The per-client limits announced in `kernel.hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientLimits {
    /// Largest frame the kernel accepts, in bytes (a text frame, or a binary frame's header and
    /// bytes together).
    pub max_frame_bytes: u64,
    /// Envelopes that may wait for this client before it is disconnected as too slow.
    pub outbound_queue_len: u64,
    /// Most subscription patterns one client may hold.
    pub max_subscriptions: u64,
}

/// `kernel.ping` → `kernel.ping:resp` ([`Pong`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {}

/// The answer to [`Ping`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// Milliseconds since the kernel started.
    pub uptime_ms: u64,
}

/// `kernel.stats` → `kernel.stats:resp` ([`StatsReport`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {}

/// Counters of the running kernel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub version: String,
    pub uptime_ms: u64,
    /// Connected clients now.
    pub clients: u64,
    /// Envelopes accepted from clients since start.
    pub envelopes_in: u64,
    /// Envelopes queued to clients since start.
    pub envelopes_out: u64,
    /// Clients disconnected because their outbound queue was full.
    pub slow_clients_disconnected: u64,
    /// Live rate-limit buckets: one per (principal, rule, topic) in use. Bounded by the rules
    /// and the catalog's topics, however many clients come and go.
    #[serde(default)]
    pub rate_buckets: u64,
    /// Bytes waiting in the outbound queues of all clients now.
    #[serde(default)]
    pub queued_bytes: u64,
    /// Refusals since start, by reason (`bad_request`, `unknown_topic`, `permission_denied`, …).
    #[serde(default)]
    pub refusals: BTreeMap<String, u64>,
    /// This kernel's part in a cluster; absent when it runs alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterReport>,
}

/// A clustered kernel's link to the others (over NATS).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// This kernel's name in the cluster.
    pub kernel_id: String,
    /// What it does there: `gateway`, `runner`, or both.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Whether it is connected to NATS now.
    pub connected: bool,
    /// The other kernels it hears beat now, by name.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Events sent to the other kernels since start.
    pub events_sent: u64,
    /// Events received from the other kernels since start.
    pub events_received: u64,
    /// Events not sent because the link was down or behind (its queue full), since start.
    pub events_dropped: u64,
    /// Programs of this kernel's clients running on other kernels now.
    #[serde(default)]
    pub remote_programs: u64,
    /// Clients of other kernels this kernel runs programs for now.
    #[serde(default)]
    pub stand_ins: u64,
    /// Clients and sessions of other kernels this kernel can address now (the cluster's
    /// address book, as this kernel last read it).
    #[serde(default)]
    pub remote_addresses: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Correlated;
    use serde_json::json;

    #[test]
    fn hello_has_the_spec_fields() {
        let hello = Hello {
            client_id: "c-1".into(),
            version: "0.1.0".into(),
            limits: ClientLimits {
                max_frame_bytes: 1024,
                outbound_queue_len: 256,
                max_subscriptions: 64,
            },
            binary: false,
        };
        assert_eq!(
            serde_json::to_value(&hello).unwrap(),
            json!({"client_id": "c-1", "version": "0.1.0", "limits": {
                "max_frame_bytes": 1024, "outbound_queue_len": 256, "max_subscriptions": 64}})
        );
        let binary = Hello {
            binary: true,
            ..hello
        };
        assert_eq!(serde_json::to_value(&binary).unwrap()["binary"], true);
    }

    #[test]
    fn a_correlated_ping_is_just_the_request_id() {
        let ping = Correlated {
            request_id: Some("r-1".to_string()),
            body: Ping {},
        };
        assert_eq!(
            serde_json::to_value(&ping).unwrap(),
            json!({"_request_id": "r-1"})
        );
        let back: Correlated<Ping> = serde_json::from_value(json!({"_request_id": "r-2"})).unwrap();
        assert_eq!(back.request_id.as_deref(), Some("r-2"));
    }
}
