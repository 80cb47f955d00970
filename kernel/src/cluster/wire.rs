//! What kernels say to each other besides events: typed messages on a kernel's own subject
//! ([`super::subject::kernel_subject`]) or on the runners' queue group
//! ([`super::subject::RUNNERS`]), as JSON. Envelopes inside them travel in their text form
//! (bytes as base64): NATS carries text and bytes alike, but one form keeps one parser.

use aether_shared::{Envelope, frame};
use serde::{Deserialize, Serialize};

use crate::guard::Principal;

/// Who an envelope from another kernel is for or from: a client of the kernel that sent it, with
/// its principal and the client it acts for, so the receiving kernel applies the same access
/// rules (`Bus::reach`) as the sending one did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// The kernel the client is connected to.
    pub kernel: String,
    /// Its client id.
    pub client: String,
    pub principal: Principal,
    /// The client whose sessions it may use (itself for a tab).
    pub acting_for: String,
}

/// One message from one kernel to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relay {
    /// An envelope for an address of the receiving kernel, sent by the kernel that holds a
    /// program of `party` (its output, its relayed `vfs:read`), which may reach only `party`'s
    /// own addresses.
    Deliver { party: Party, env: Envelope },
    /// A tab's answer (from client `from`) to a request the receiving kernel sent it.
    Answer { from: String, env: Envelope },
    /// A request of `party` for a service of the receiving kernel (a spawn on the runners'
    /// queue group, a kill or keys for a program it holds), already admitted by `party`'s
    /// kernel; `sessions` are the file sessions `party`'s tab serves.
    Serve {
        party: Party,
        sessions: Vec<String>,
        env: Envelope,
    },
    /// Client `client` of the sending kernel left: what it ran here stops.
    Gone { client: String },
}

/// A [`Relay`] as it travels: signed with the name of the kernel that sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Letter {
    pub from: String,
    pub relay: Relay,
}

impl Letter {
    /// The message as NATS carries it.
    pub fn to_bytes(&self) -> bytes::Bytes {
        serde_json::to_vec(self)
            .expect("a letter always serializes")
            .into()
    }

    /// A message another kernel sent, if it is one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Letter> {
        serde_json::from_slice(bytes).ok()
    }
}

/// An envelope ready to travel to another kernel: its bytes, if any, as base64 in its payload.
pub fn portable(env: &Envelope) -> Envelope {
    frame::into_text(env.clone())
}

/// A runner's answer to [`Relay::Serve`]: it took the request (and will answer it on the bus).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    /// The kernel that took it.
    pub kernel: String,
}

/// What a kernel's link sends: an event to every kernel, or a message to one.
#[derive(Debug)]
pub enum Outgoing {
    Event(Envelope),
    To { kernel: String, relay: Relay },
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::Topic;

    #[test]
    fn a_relay_round_trips_and_junk_reads_as_none() {
        let party = Party {
            kernel: "gw-a".into(),
            client: "c-1".into(),
            principal: Principal::TokenHolder,
            acting_for: "c-1".into(),
        };
        let relay = Relay::Deliver {
            party,
            env: Envelope::new(Topic::from_static("vm.stdout")).to("c-1"),
        };
        let letter = Letter {
            from: "runner-1".into(),
            relay,
        };
        assert_eq!(Letter::from_bytes(&letter.to_bytes()), Some(letter));
        let unknown = br#"{"from":"x","relay":{"kind":"nope"}}"#;
        assert_eq!(Letter::from_bytes(unknown), None);
        assert_eq!(Letter::from_bytes(&[0xff]), None);
    }
}
