//! Calls of `ask` grants waiting for the granting tab's decision.
//!
//! A waiting call tells its tab `mcp.ask` (the call's full arguments, and for a write the file's
//! text before and after) and waits for that tab's `mcp.decide`: only the client that made the
//! grant may decide (any other client, the same principal's other tabs included, is told there
//! is no such ask). The wait ends on a decision, after `approval_timeout_ms`, when the grant
//! expires or is revoked, when the tab leaves, or when the outside agent hangs up (the waiting
//! future is dropped); however it ends, the tab gets `mcp.settled` once, so its card goes away.
//! While it waits, the ask is also listed to that tab alone by `mcp.grants` ([`Asks::pending`]),
//! so a view opened after the `mcp.ask` went out still shows it. This module never runs a call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aether_shared::agent::WritePreview;
use aether_shared::mcp::{ASK, Ask, AskOutcome, Decision, SETTLED, Settled};
use serde_json::Value;
use tokio::sync::oneshot;

use super::McpService;
use super::call::usable;
use super::error::CallRefusal;
use super::events::tell;
use super::grants::GrantRecord;
use crate::bus::Bus;

/// How a wait was ended from outside the waiting call.
#[derive(Debug)]
enum Ending {
    Decided(Decision),
    /// The grant was revoked.
    GrantEnded,
    /// The granting tab left.
    TabClosed,
}

struct Waiter {
    owner: String,
    /// The ask as the tab was told it.
    ask: Ask,
    /// When the wait times out.
    deadline: Instant,
    /// Order of opening, for listing.
    seq: u64,
    wake: oneshot::Sender<Ending>,
}

/// Every waiting call, by ask id.
#[derive(Default)]
pub struct Asks {
    waiting: Mutex<HashMap<String, Waiter>>,
    next_id: AtomicU64,
}

impl Asks {
    /// Hands `decision` to the ask `ask_id` if `client_id` is the tab it waits for; false
    /// otherwise (no such ask, already settled, or another client's).
    pub fn decide(&self, client_id: &str, ask_id: &str, decision: Decision) -> bool {
        let mut waiting = self.lock();
        if waiting.get(ask_id).is_none_or(|w| w.owner != client_id) {
            return false;
        }
        let waiter = waiting.remove(ask_id).expect("checked above");
        waiter.wake.send(Ending::Decided(decision)).is_ok()
    }

    /// The calls waiting for `owner`'s decision, oldest first, each with `timeout_ms` the time
    /// it still waits.
    pub fn pending(&self, owner: &str) -> Vec<Ask> {
        let now = Instant::now();
        let waiting = self.lock();
        let mut mine: Vec<&Waiter> = waiting.values().filter(|w| w.owner == owner).collect();
        mine.sort_by_key(|w| w.seq);
        mine.into_iter()
            .map(|w| Ask {
                timeout_ms: w.deadline.saturating_duration_since(now).as_millis() as u64,
                ..w.ask.clone()
            })
            .collect()
    }

    /// Ends every wait of grant `grant_id` (it was revoked).
    pub fn grant_ended(&self, grant_id: &str) {
        self.wake_all(|w| w.ask.grant_id == grant_id, || Ending::GrantEnded);
    }

    /// Ends every wait for tab `owner` (it left).
    pub fn owner_gone(&self, owner: &str) {
        self.wake_all(|w| w.owner == owner, || Ending::TabClosed);
    }

    fn wake_all(&self, which: impl Fn(&Waiter) -> bool, ending: impl Fn() -> Ending) {
        let mut waiting = self.lock();
        let ids: Vec<String> = waiting
            .iter()
            .filter(|(_, w)| which(w))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(w) = waiting.remove(&id) {
                let _ = w.wake.send(ending());
            }
        }
    }

    /// Opens a wait for `owner`'s decision on `ask` (its `ask_id` is given here), timing out
    /// after its `timeout_ms`; returns the ask as numbered.
    fn open(&self, owner: &str, mut ask: Ask) -> (Ask, oneshot::Receiver<Ending>) {
        let seq = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        ask.ask_id = format!("ask-{seq}");
        let deadline = Instant::now() + Duration::from_millis(ask.timeout_ms);
        let (wake, woken) = oneshot::channel();
        self.lock().insert(
            ask.ask_id.clone(),
            Waiter {
                owner: owner.to_owned(),
                ask: ask.clone(),
                deadline,
                seq,
                wake,
            },
        );
        (ask, woken)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One open ask: forgotten, and settled to the tab, when dropped (also when the outside agent
/// hangs up and the call's future is dropped mid-wait).
struct Open<'a> {
    asks: &'a Asks,
    bus: &'a Bus,
    owner: String,
    settled: Settled,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.asks.lock().remove(&self.settled.ask_id);
        tell(self.bus, &self.owner, SETTLED, &self.settled);
        tracing::info!(
            ask_id = self.settled.ask_id,
            grant_id = self.settled.grant_id,
            outcome = ?self.settled.outcome,
            "mcp ask settled"
        );
    }
}

impl McpService {
    /// Asks the granting tab about a call and waits for its decision; `Ok` when the call may
    /// run (and with `allow_tool_for_grant`, later calls of `tool` stop asking).
    pub(super) async fn ask_user(
        &self,
        grant: &GrantRecord,
        tool: &str,
        arguments: &Value,
        write: Option<WritePreview>,
    ) -> Result<(), CallRefusal> {
        let timeout_ms = self.approval_timeout.as_millis() as u64;
        let (ask, woken) = self.asks.open(
            &grant.owner,
            Ask {
                ask_id: String::new(),
                grant_id: grant.grant_id.clone(),
                tool: tool.to_owned(),
                arguments: arguments.clone(),
                write,
                timeout_ms,
            },
        );
        let ask_id = ask.ask_id.clone();
        // A revoke or a leaving tab that came before the ask was open woke nobody: look again.
        let told = match self.grants.lookup(&grant.grant_id) {
            None => Err(CallRefusal::GrantEnded),
            Some((now, state)) => usable(&now, state).and_then(|()| {
                tell(&self.seat.bus, &grant.owner, ASK, &ask)
                    .then_some(())
                    .ok_or(CallRefusal::TabClosed)
            }),
        };
        if let Err(refusal) = told {
            self.asks.lock().remove(&ask_id);
            return Err(refusal);
        }
        // From here on the tab has the ask: however the wait ends, it is settled.
        let mut open = Open {
            asks: &self.asks,
            bus: &self.seat.bus,
            owner: grant.owner.clone(),
            settled: Settled {
                ask_id,
                grant_id: grant.grant_id.clone(),
                outcome: AskOutcome::Abandoned,
            },
        };
        let expiry = tokio::time::Instant::from_std(grant.expires);
        let ending = tokio::select! {
            ending = woken => ending.unwrap_or(Ending::GrantEnded),
            () = tokio::time::sleep(Duration::from_millis(timeout_ms)) => {
                open.settled.outcome = AskOutcome::TimedOut;
                return Err(CallRefusal::Unanswered(timeout_ms));
            }
            () = tokio::time::sleep_until(expiry) => Ending::GrantEnded,
        };
        match ending {
            Ending::Decided(Decision::Deny) => {
                open.settled.outcome = AskOutcome::Denied;
                Err(CallRefusal::Declined(tool.to_owned()))
            }
            Ending::Decided(decision) => {
                if decision == Decision::AllowToolForGrant {
                    self.grants.allow_tool(&grant.grant_id, tool);
                }
                open.settled.outcome = AskOutcome::Allowed;
                Ok(())
            }
            Ending::GrantEnded => Err(CallRefusal::GrantEnded),
            Ending::TabClosed => Err(CallRefusal::TabClosed),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Opens an ask of grant `grant_id` waiting for `owner`.
    fn open(asks: &Asks, grant_id: &str, owner: &str) -> (String, oneshot::Receiver<Ending>) {
        let (ask, woken) = asks.open(
            owner,
            Ask {
                ask_id: String::new(),
                grant_id: grant_id.into(),
                tool: "read_file".into(),
                arguments: json!({"path": "/a.txt"}),
                write: None,
                timeout_ms: 60_000,
            },
        );
        (ask.ask_id, woken)
    }

    #[test]
    fn only_the_granting_tab_decides_and_only_once() {
        let asks = Asks::default();
        let (id, mut woken) = open(&asks, "g1", "c1");
        assert!(!asks.decide("c2", &id, Decision::Allow));
        assert!(!asks.decide("c1", "ask-nope", Decision::Allow));
        assert!(asks.decide("c1", &id, Decision::Deny));
        assert!(!asks.decide("c1", &id, Decision::Allow));
        assert!(matches!(
            woken.try_recv(),
            Ok(Ending::Decided(Decision::Deny))
        ));
    }

    #[test]
    fn a_revoked_grant_or_a_tab_that_left_ends_its_waits_only() {
        let asks = Asks::default();
        let (_, mut a) = open(&asks, "g1", "c1");
        let (_, mut b) = open(&asks, "g2", "c1");
        let (_, mut c) = open(&asks, "g3", "c2");
        asks.grant_ended("g1");
        assert!(matches!(a.try_recv(), Ok(Ending::GrantEnded)));
        assert!(b.try_recv().is_err());
        asks.owner_gone("c1");
        assert!(matches!(b.try_recv(), Ok(Ending::TabClosed)));
        assert!(c.try_recv().is_err());
    }

    #[test]
    fn pending_lists_only_the_owners_waits_oldest_first_with_the_time_left() {
        let asks = Asks::default();
        let (first, _a) = open(&asks, "g1", "c1");
        let (_, _b) = open(&asks, "g2", "c2");
        let (second, _c) = open(&asks, "g1", "c1");
        let mine = asks.pending("c1");
        let ids: Vec<&str> = mine.iter().map(|a| a.ask_id.as_str()).collect();
        assert_eq!(ids, [first.as_str(), second.as_str()]);
        assert_eq!(mine[0].arguments, json!({"path": "/a.txt"}));
        assert!(mine[0].timeout_ms <= 60_000 && mine[0].timeout_ms > 50_000);
        assert!(asks.pending("c3").is_empty());
        assert!(asks.decide("c1", &first, Decision::Allow));
        assert_eq!(
            asks.pending("c1").len(),
            1,
            "a decided ask is no longer pending"
        );
    }
}
