//! The grants an outside agent acts by: in memory only (they die with the kernel), each owned by
//! the client that made it. A grant is live until its `ttl_ms`, its revocation by that client, or
//! that client's disconnection. A token is 256 random bits; only its SHA-256 is kept, so a token
//! is found by its hash and never compared or stored in the clear. Tokens are never logged.
//!
//! Each grant keeps what its calls did: how many there were, the tools the user let run without
//! asking, and the first before-state of every path its calls wrote (what `mcp.undo` puts back),
//! at most `max_undo_bytes` of them. An ended grant (revoked or expired) loses its token but stays
//! listed with that state, so its writes can still be undone: at most [`MAX_ENDED_PER_CLIENT`]
//! per client (the oldest is dropped), and none once the owner has left.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aether_shared::mcp::{Approval, GrantInfo, GrantState};
use sha2::{Digest, Sha256};

use crate::guard::Principal;
use crate::services::agent::checkpoint::{Before, Checkpoints};

/// The longest a grant may live.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Most ended grants kept per client for undo; past it the oldest ended one is forgotten.
pub const MAX_ENDED_PER_CLIENT: usize = 32;

/// Most bytes of before-states (as base64) one grant keeps for undo: a write that would keep
/// more is refused, so an outside agent cannot make the kernel hold a tab's files without bound.
pub const MAX_UNDO_BYTES_PER_GRANT: usize = 32 * 1024 * 1024;

/// One grant, as a call sees it (a snapshot: the table holds the truth).
#[derive(Clone, Debug)]
pub struct GrantRecord {
    pub grant_id: String,
    pub tools: Vec<String>,
    pub approval: Approval,
    /// The client that made the grant: calls act for it, on its own tab.
    pub owner: String,
    pub principal: Principal,
    pub expires: Instant,
    /// The owner disconnected: calls fail until the grant expires.
    pub owner_gone: bool,
    /// Tools of an `ask` grant the user let run without asking (`allow_tool_for_grant`).
    pub allowed: BTreeSet<String>,
}

/// A grant and what its calls did.
struct Entry {
    record: GrantRecord,
    state: GrantState,
    hash: [u8; 32],
    /// Order of making, for listing.
    seq: u64,
    calls: u64,
    undo: Checkpoints,
    undo_bytes: usize,
}

#[derive(Default)]
struct Table {
    /// Token hash → grant id, for live grants only.
    live: HashMap<[u8; 32], String>,
    grants: HashMap<String, Entry>,
    /// Owner → its ended grants' ids, oldest first.
    ended: HashMap<String, VecDeque<String>>,
    next_seq: u64,
}

/// Every grant, live or ended.
pub struct GrantTable {
    table: Mutex<Table>,
    max_undo_bytes: usize,
}

impl Default for GrantTable {
    fn default() -> GrantTable {
        GrantTable::new(MAX_UNDO_BYTES_PER_GRANT)
    }
}

impl GrantTable {
    /// A table whose grants keep at most `max_undo_bytes` of before-states each.
    pub fn new(max_undo_bytes: usize) -> GrantTable {
        GrantTable {
            table: Mutex::default(),
            max_undo_bytes,
        }
    }

    /// Keeps a new grant and returns its token (64 hex digits), which is not kept.
    pub fn insert(&self, record: GrantRecord) -> String {
        let token: [u8; 32] = rand::random();
        let token = hex(&token);
        let hash = hash(&token);
        let mut table = self.lock();
        table.next_seq += 1;
        let seq = table.next_seq;
        table.live.insert(hash, record.grant_id.clone());
        table.grants.insert(
            record.grant_id.clone(),
            Entry {
                record,
                state: GrantState::Live,
                hash,
                seq,
                calls: 0,
                undo: Checkpoints::default(),
                undo_bytes: 0,
            },
        );
        token
    }

    /// The live grant a token stands for, if any.
    pub fn find(&self, token: &str) -> Option<GrantRecord> {
        let table = self.swept();
        let id = table.live.get(&hash(token))?;
        table.grants.get(id).map(|e| e.record.clone())
    }

    /// The live grant with this id, if any.
    pub fn by_id(&self, grant_id: &str) -> Option<GrantRecord> {
        match self.lookup(grant_id) {
            Some((record, GrantState::Live)) => Some(record),
            _ => None,
        }
    }

    /// The grant with this id, live or ended, and how it stands.
    pub fn lookup(&self, grant_id: &str) -> Option<(GrantRecord, GrantState)> {
        let table = self.swept();
        let entry = table.grants.get(grant_id)?;
        Some((entry.record.clone(), entry.state))
    }

    /// Every grant `owner` made that it can still see (live, or ended and kept), in the order
    /// they were made.
    pub fn of(&self, owner: &str) -> Vec<GrantInfo> {
        let now = Instant::now();
        let table = self.swept();
        let mut mine: Vec<&Entry> = table
            .grants
            .values()
            .filter(|e| e.record.owner == owner && !e.record.owner_gone)
            .collect();
        mine.sort_by_key(|e| e.seq);
        mine.into_iter()
            .map(|e| GrantInfo {
                grant_id: e.record.grant_id.clone(),
                tools: e.record.tools.clone(),
                approval: e.record.approval,
                state: e.state,
                expires_in_ms: match e.state {
                    GrantState::Live => {
                        e.record.expires.saturating_duration_since(now).as_millis() as u64
                    }
                    _ => 0,
                },
                calls: e.calls,
                written: e.undo.paths(),
            })
            .collect()
    }

    /// How many live grants `owner` holds.
    pub fn live_count(&self, owner: &str) -> usize {
        self.swept()
            .grants
            .values()
            .filter(|e| e.record.owner == owner && e.state == GrantState::Live)
            .count()
    }

    /// Ends `owner`'s live grant `grant_id` (its token stops working); false when it has no
    /// such live grant.
    pub fn revoke(&self, owner: &str, grant_id: &str) -> bool {
        let mut table = self.swept();
        let live = table
            .grants
            .get(grant_id)
            .is_some_and(|e| e.record.owner == owner && e.state == GrantState::Live);
        if live {
            end(&mut table, grant_id, GrantState::Revoked);
        }
        live
    }

    /// `owner` left: its live grants' calls fail, saying to reopen the tab, until they expire;
    /// what they kept for undo, and its ended grants, are dropped (nobody can undo them now).
    pub fn owner_gone(&self, owner: &str) {
        let mut table = self.lock();
        if let Some(ended) = table.ended.remove(owner) {
            for id in ended {
                table.grants.remove(&id);
            }
        }
        for e in table
            .grants
            .values_mut()
            .filter(|e| e.record.owner == owner)
        {
            e.record.owner_gone = true;
            e.undo = Checkpoints::default();
            e.undo_bytes = 0;
        }
    }

    /// The user let `tool` run without asking for the rest of this grant's life.
    pub fn allow_tool(&self, grant_id: &str, tool: &str) {
        if let Some(e) = self.lock().grants.get_mut(grant_id) {
            e.record.allowed.insert(tool.to_owned());
        }
    }

    /// Counts one call made with the grant.
    pub fn count_call(&self, grant_id: &str) {
        if let Some(e) = self.lock().grants.get_mut(grant_id) {
            e.calls += 1;
        }
    }

    /// Keeps the state of `path` before the grant's first write to it (a later write of the
    /// same path keeps the first). `Err` carries the limit when keeping it would pass
    /// `max_undo_bytes`: the write must not run.
    pub fn keep_before(&self, grant_id: &str, path: &str, before: Before) -> Result<(), usize> {
        let mut table = self.lock();
        let Some(e) = table.grants.get_mut(grant_id) else {
            return Ok(());
        };
        if e.undo.has(path) || e.record.owner_gone {
            return Ok(());
        }
        let cost = match &before {
            Before::Absent => 0,
            Before::Bytes { base64 } => base64.len(),
        } + path.len();
        if e.undo_bytes + cost > self.max_undo_bytes {
            return Err(self.max_undo_bytes);
        }
        e.undo_bytes += cost;
        e.undo.record(path, before);
        Ok(())
    }

    /// Takes what `owner`'s grant `grant_id` keeps for undo (it keeps nothing after); `None`
    /// when `owner` has no such grant.
    pub fn take_undo(&self, owner: &str, grant_id: &str) -> Option<Checkpoints> {
        let mut table = self.swept();
        let e = table
            .grants
            .get_mut(grant_id)
            .filter(|e| e.record.owner == owner && !e.record.owner_gone)?;
        e.undo_bytes = 0;
        Some(std::mem::take(&mut e.undo))
    }

    /// Gives back what [`GrantTable::take_undo`] took (an undo that failed): those states win
    /// over any a call kept meanwhile, being older.
    pub fn give_back_undo(&self, grant_id: &str, taken: Checkpoints) {
        let mut table = self.lock();
        let Some(e) = table.grants.get_mut(grant_id) else {
            return;
        };
        let mut merged = taken;
        for (path, before) in e.undo.iter() {
            merged.record(path, before.clone());
        }
        e.undo_bytes = merged
            .iter()
            .map(|(path, before)| match before {
                Before::Absent => path.len(),
                Before::Bytes { base64 } => base64.len() + path.len(),
            })
            .sum();
        e.undo = merged;
    }

    /// The table, with every grant whose `ttl_ms` passed ended as expired.
    fn swept(&self) -> std::sync::MutexGuard<'_, Table> {
        let mut table = self.lock();
        let now = Instant::now();
        let expired: Vec<String> = table
            .grants
            .values()
            .filter(|e| e.state == GrantState::Live && e.record.expires <= now)
            .map(|e| e.record.grant_id.clone())
            .collect();
        for id in expired {
            end(&mut table, &id, GrantState::Expired);
        }
        table
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a live grant: its token is forgotten; it is kept for undo among its owner's ended
/// grants (the oldest past [`MAX_ENDED_PER_CLIENT`] is dropped), or dropped if the owner left.
fn end(table: &mut Table, grant_id: &str, state: GrantState) {
    let Some(e) = table.grants.get_mut(grant_id) else {
        return;
    };
    e.state = state;
    let (hash, owner, gone) = (e.hash, e.record.owner.clone(), e.record.owner_gone);
    table.live.remove(&hash);
    if gone {
        table.grants.remove(grant_id);
        return;
    }
    let ended = table.ended.entry(owner).or_default();
    ended.push_back(grant_id.to_owned());
    while ended.len() > MAX_ENDED_PER_CLIENT {
        if let Some(oldest) = ended.pop_front() {
            table.grants.remove(&oldest);
        }
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, owner: &str, ttl: Duration) -> GrantRecord {
        GrantRecord {
            grant_id: id.into(),
            tools: vec!["read_file".into()],
            approval: Approval::Allow,
            owner: owner.into(),
            principal: Principal::Local,
            expires: Instant::now() + ttl,
            owner_gone: false,
            allowed: BTreeSet::new(),
        }
    }

    fn bytes(n: usize) -> Before {
        Before::Bytes {
            base64: "A".repeat(n),
        }
    }

    #[test]
    fn a_token_finds_its_grant_until_revoked_by_its_owner() {
        let table = GrantTable::default();
        let token = table.insert(record("g1", "c1", Duration::from_secs(60)));
        assert_eq!(token.len(), 64);
        assert!(table.find(&token).is_some());
        assert!(table.find("nope").is_none());
        assert!(!table.revoke("c2", "g1"));
        assert!(table.revoke("c1", "g1"));
        assert!(table.find(&token).is_none());
        assert!(
            !table.revoke("c1", "g1"),
            "an ended grant cannot be revoked"
        );
        assert_eq!(table.of("c1")[0].state, GrantState::Revoked);
    }

    #[test]
    fn an_expired_grant_loses_its_token_but_stays_listed_for_undo() {
        let table = GrantTable::default();
        let token = table.insert(record("g1", "c1", Duration::ZERO));
        assert!(table.find(&token).is_none());
        assert!(table.by_id("g1").is_none());
        let listed = table.of("c1");
        assert_eq!(listed[0].state, GrantState::Expired);
        assert_eq!(listed[0].expires_in_ms, 0);
        assert_eq!(table.live_count("c1"), 0);
    }

    #[test]
    fn only_the_newest_ended_grants_are_kept_per_client() {
        let table = GrantTable::default();
        for i in 0..MAX_ENDED_PER_CLIENT + 3 {
            table.insert(record(&format!("g{i}"), "c1", Duration::from_secs(60)));
            assert!(table.revoke("c1", &format!("g{i}")));
        }
        let kept: Vec<String> = table.of("c1").into_iter().map(|g| g.grant_id).collect();
        assert_eq!(kept.len(), MAX_ENDED_PER_CLIENT);
        assert_eq!(kept[0], "g3", "the oldest three were dropped");
        assert!(table.lookup("g0").is_none());
    }

    #[test]
    fn the_first_before_state_is_kept_and_undo_takes_it_once() {
        let table = GrantTable::default();
        table.insert(record("g1", "c1", Duration::from_secs(60)));
        table.keep_before("g1", "/a", bytes(4)).unwrap();
        table.keep_before("g1", "/a", Before::Absent).unwrap();
        table.keep_before("g1", "/b", Before::Absent).unwrap();
        assert_eq!(table.of("c1")[0].written, ["/a", "/b"]);
        assert!(table.take_undo("c2", "g1").is_none(), "not the owner's");
        let taken = table.take_undo("c1", "g1").unwrap();
        assert_eq!(taken.iter().next().unwrap().1, &bytes(4));
        assert!(table.take_undo("c1", "g1").unwrap().is_empty());
        table.give_back_undo("g1", taken);
        assert_eq!(table.of("c1")[0].written, ["/a", "/b"]);
    }

    #[test]
    fn a_write_past_the_undo_budget_is_refused() {
        let table = GrantTable::new(100);
        table.insert(record("g1", "c1", Duration::from_secs(60)));
        table.keep_before("g1", "/a", bytes(60)).unwrap();
        assert_eq!(table.keep_before("g1", "/b", bytes(60)), Err(100));
        assert_eq!(table.of("c1")[0].written, ["/a"]);
        table.keep_before("g1", "/a", bytes(60)).unwrap();
        table.take_undo("c1", "g1").unwrap();
        table.keep_before("g1", "/b", bytes(60)).unwrap();
    }

    #[test]
    fn an_owner_that_left_sees_nothing_and_keeps_nothing() {
        let table = GrantTable::default();
        table.insert(record("g1", "c1", Duration::from_secs(60)));
        table.insert(record("g2", "c1", Duration::from_secs(60)));
        table.keep_before("g1", "/a", Before::Absent).unwrap();
        table.revoke("c1", "g2");
        table.owner_gone("c1");
        assert!(table.lookup("g2").is_none());
        assert!(table.lookup("g1").unwrap().0.owner_gone);
        assert!(table.of("c1").is_empty());
        assert!(table.take_undo("c1", "g1").is_none());
    }
}
