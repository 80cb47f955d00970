//! What an Agent window keeps of the outside agents' calls, as plain values: the calls waiting
//! for the user (each kept once, whether heard as `mcp.ask` or read from `mcp.grants`'s
//! `pending`, with the decision sent and not yet settled), the calls made
//! (newest first, the last [`MAX_ACTIVITY`]), and what an undo put back. Pure and unit tested
//! natively; `link` moves it on the bus's events, `asks` and `grants` draw it.

use aether_shared::mcp::{Ask, Called, Decision};

/// Most calls the activity list keeps (newest first).
pub(super) const MAX_ACTIVITY: usize = 50;

/// A call of an outside agent waiting for this tab's decision.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PendingAsk {
    pub ask: Ask,
    /// What was decided here, while the kernel has not settled the wait yet.
    pub decision: Option<Decision>,
}

impl PendingAsk {
    /// The word for the DOM (`data-state`): `waiting`, `allowed` or `denied`.
    pub(super) fn state_word(&self) -> &'static str {
        match self.decision {
            None => "waiting",
            Some(Decision::Deny) => "denied",
            Some(_) => "allowed",
        }
    }
}

/// What `mcp.undo` put back for one grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UndoneGrant {
    pub grant_id: String,
    pub restored: Vec<String>,
}

/// Adds a call that asks (once, however often it is heard).
pub(super) fn add_ask(asks: &mut Vec<PendingAsk>, ask: Ask) {
    if !asks.iter().any(|a| a.ask.ask_id == ask.ask_id) {
        asks.push(PendingAsk {
            ask,
            decision: None,
        });
    }
}

/// Adds the calls `mcp.grants` says wait (those asked before the window listened), each once:
/// a call already kept keeps its card and the decision sent on it.
pub(super) fn add_pending(asks: &mut Vec<PendingAsk>, pending: Vec<Ask>) {
    for ask in pending {
        add_ask(asks, ask);
    }
}

/// Notes (or, with `None`, takes back) the decision on `ask_id`.
pub(super) fn mark(asks: &mut [PendingAsk], ask_id: &str, decision: Option<Decision>) {
    if let Some(a) = asks.iter_mut().find(|a| a.ask.ask_id == ask_id) {
        a.decision = decision;
    }
}

/// Puts a call first in the activity list, which keeps the newest [`MAX_ACTIVITY`].
pub(super) fn add_call(list: &mut Vec<Called>, called: Called) {
    list.insert(0, called);
    list.truncate(MAX_ACTIVITY);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ask(id: &str) -> Ask {
        Ask {
            ask_id: id.into(),
            grant_id: "grant-1".into(),
            tool: "write_file".into(),
            arguments: json!({"path": "/a.txt", "content": "x"}),
            write: None,
            timeout_ms: 60_000,
        }
    }

    #[test]
    fn an_ask_is_listed_once_and_its_decision_can_be_taken_back() {
        let mut asks = Vec::new();
        add_ask(&mut asks, ask("a1"));
        add_ask(&mut asks, ask("a1"));
        add_ask(&mut asks, ask("a2"));
        assert_eq!(asks.len(), 2);
        assert_eq!(asks[0].state_word(), "waiting");
        mark(&mut asks, "a1", Some(Decision::AllowToolForGrant));
        assert_eq!(asks[0].state_word(), "allowed");
        mark(&mut asks, "a2", Some(Decision::Deny));
        assert_eq!(asks[1].state_word(), "denied");
        mark(&mut asks, "a2", None);
        assert_eq!(asks[1].state_word(), "waiting");
    }

    #[test]
    fn pending_calls_merge_by_ask_id_keeping_a_decision_sent() {
        let mut asks = Vec::new();
        add_ask(&mut asks, ask("a1"));
        mark(&mut asks, "a1", Some(Decision::Allow));
        let mut later = ask("a1");
        later.timeout_ms = 1_000;
        add_pending(&mut asks, vec![later, ask("a2")]);
        let ids: Vec<&str> = asks.iter().map(|a| a.ask.ask_id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2"]);
        assert_eq!(asks[0].state_word(), "allowed");
        assert_eq!(asks[0].ask.timeout_ms, 60_000);
        assert_eq!(asks[1].state_word(), "waiting");
    }

    #[test]
    fn the_activity_keeps_the_newest_calls_first() {
        let mut list = Vec::new();
        for i in 0..(MAX_ACTIVITY + 5) {
            add_call(
                &mut list,
                Called {
                    grant_id: "grant-1".into(),
                    tool: format!("t{i}"),
                    arguments: json!({}),
                    ok: true,
                    error: None,
                },
            );
        }
        assert_eq!(list.len(), MAX_ACTIVITY);
        assert_eq!(list[0].tool, format!("t{}", MAX_ACTIVITY + 4));
    }
}
