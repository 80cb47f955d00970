//! The connection state the shell shows and the devtools hook reports.
//!
//! A plain value: the client owns the signal that holds it. The wire names (`as_str`) are part
//! of the end-to-end test contract (`data-state` in the top bar, `window.aether.state()`).

/// Where the bus connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusState {
    /// The first connection is being opened, or the socket is open and `kernel.hello` has not
    /// arrived yet.
    Connecting,
    /// `kernel.hello` arrived: requests can be sent.
    Connected { client_id: String },
    /// The connection dropped; retry `attempt` (1-based) is due in `next_retry_ms`.
    Reconnecting { attempt: u32, next_retry_ms: u32 },
    /// The browser reports no network; a retry is still scheduled and the `online` event
    /// triggers one at once.
    Offline,
}

impl BusState {
    /// `connecting`, `connected`, `reconnecting` or `offline`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BusState::Connecting => "connecting",
            BusState::Connected { .. } => "connected",
            BusState::Reconnecting { .. } => "reconnecting",
            BusState::Offline => "offline",
        }
    }

    /// The text of the top bar: `Connected · c-1a2b`, `Reconnecting… (attempt 3)`, …
    pub fn label(&self) -> String {
        match self {
            BusState::Connecting => "Connecting…".to_owned(),
            BusState::Connected { client_id } => format!("Connected · {client_id}"),
            BusState::Reconnecting { attempt, .. } => format!("Reconnecting… (attempt {attempt})"),
            BusState::Offline => "Offline".to_owned(),
        }
    }

    /// The client id while connected.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            BusState::Connected { client_id } => Some(client_id),
            _ => None,
        }
    }

    /// True when requests can be sent.
    pub fn is_connected(&self) -> bool {
        matches!(self, BusState::Connected { .. })
    }

    /// True when the last attempt to reach the kernel failed (the connection dropped or never
    /// opened, or the browser is offline) and the client is waiting to try again.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, BusState::Reconnecting { .. } | BusState::Offline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_the_wire_names_and_labels_the_tests_read() {
        let connected = BusState::Connected {
            client_id: "c-1a2b".into(),
        };
        let cases = [
            (BusState::Connecting, "connecting", "Connecting…"),
            (connected.clone(), "connected", "Connected · c-1a2b"),
            (
                BusState::Reconnecting {
                    attempt: 3,
                    next_retry_ms: 900,
                },
                "reconnecting",
                "Reconnecting… (attempt 3)",
            ),
            (BusState::Offline, "offline", "Offline"),
        ];
        for (state, name, label) in cases {
            assert_eq!(state.as_str(), name);
            assert_eq!(state.label(), label);
        }
        assert_eq!(connected.client_id(), Some("c-1a2b"));
        assert!(connected.is_connected());
        assert_eq!(BusState::Offline.client_id(), None);
    }

    #[test]
    fn the_kernel_is_unreachable_only_after_an_attempt_failed() {
        let reconnecting = BusState::Reconnecting {
            attempt: 1,
            next_retry_ms: 250,
        };
        assert!(reconnecting.is_unreachable());
        assert!(BusState::Offline.is_unreachable());
        assert!(!BusState::Connecting.is_unreachable());
        let connected = BusState::Connected {
            client_id: "c-1".into(),
        };
        assert!(!connected.is_unreachable());
    }
}
