//! The grants an outside agent acts by: in memory only (they die with the kernel), each owned by
//! the client that made it, living until its `ttl_ms`, its revocation by that client, or that
//! client's disconnection. A token is 256 random bits; only its SHA-256 is kept, so a token is
//! found by its hash and never compared or stored in the clear. Tokens are never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aether_shared::mcp::{Approval, GrantInfo};
use sha2::{Digest, Sha256};

use crate::guard::Principal;

/// One live grant.
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
}

/// Every live grant, by the hash of its token.
#[derive(Default)]
pub struct GrantTable {
    by_hash: Mutex<HashMap<[u8; 32], GrantRecord>>,
}

impl GrantTable {
    /// Keeps a new grant and returns its token (64 hex digits), which is not kept.
    pub fn insert(&self, record: GrantRecord) -> String {
        let token: [u8; 32] = rand::random();
        let token = hex(&token);
        self.lock().insert(hash(&token), record);
        token
    }

    /// The live grant a token stands for, if any (expired grants are dropped here).
    pub fn find(&self, token: &str) -> Option<GrantRecord> {
        let mut table = self.lock();
        let now = Instant::now();
        table.retain(|_, g| g.expires > now);
        table.get(&hash(token)).cloned()
    }

    /// The live grant with this id, if any.
    pub fn by_id(&self, grant_id: &str) -> Option<GrantRecord> {
        let now = Instant::now();
        self.lock()
            .values()
            .find(|g| g.grant_id == grant_id && g.expires > now)
            .cloned()
    }

    /// The live grants `owner` made.
    pub fn of(&self, owner: &str) -> Vec<GrantInfo> {
        let now = Instant::now();
        let mut grants: Vec<GrantInfo> = self
            .lock()
            .values()
            .filter(|g| g.owner == owner && !g.owner_gone && g.expires > now)
            .map(|g| GrantInfo {
                grant_id: g.grant_id.clone(),
                tools: g.tools.clone(),
                approval: g.approval,
                state: aether_shared::mcp::GrantState::Live,
                calls: 0,
                written: Vec::new(),
                expires_in_ms: g.expires.saturating_duration_since(now).as_millis() as u64,
            })
            .collect();
        grants.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
        grants
    }

    /// Ends `owner`'s grant `grant_id`; false when it has no such grant.
    pub fn revoke(&self, owner: &str, grant_id: &str) -> bool {
        let mut table = self.lock();
        let before = table.len();
        table.retain(|_, g| !(g.owner == owner && g.grant_id == grant_id));
        table.len() != before
    }

    /// Marks `owner`'s grants as orphaned: their calls fail, saying to reopen the tab.
    pub fn owner_gone(&self, owner: &str) {
        for g in self.lock().values_mut().filter(|g| g.owner == owner) {
            g.owner_gone = true;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], GrantRecord>> {
        self.by_hash.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The longest a grant may live.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: &str, ttl: Duration) -> GrantRecord {
        GrantRecord {
            grant_id: "g1".into(),
            tools: vec!["read_file".into()],
            approval: Approval::Allow,
            owner: owner.into(),
            principal: Principal::Local,
            expires: Instant::now() + ttl,
            owner_gone: false,
        }
    }

    #[test]
    fn a_token_finds_its_grant_until_revoked_by_its_owner() {
        let table = GrantTable::default();
        let token = table.insert(record("c1", Duration::from_secs(60)));
        assert_eq!(token.len(), 64);
        assert!(table.find(&token).is_some());
        assert!(table.find("nope").is_none());
        assert!(!table.revoke("c2", "g1"));
        assert!(table.revoke("c1", "g1"));
        assert!(table.find(&token).is_none());
    }

    #[test]
    fn an_expired_grant_is_gone() {
        let table = GrantTable::default();
        let token = table.insert(record("c1", Duration::ZERO));
        assert!(table.find(&token).is_none());
    }
}
