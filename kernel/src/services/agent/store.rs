//! Agent runs on disk (`<data_dir>/agent.redb`): each run's summary, transcript, error and undo
//! checkpoints, so `ai.agent.list`, `ai.agent.status` and `ai.agent.undo` work after a restart.
//!
//! Run ids start with the time they were made, so key order is age order; only the newest
//! `runs_kept` are kept. A run still marked running when the store opens was going when the
//! kernel stopped and is rewritten as `interrupted` (its checkpoints stay: it can be undone).

use std::path::Path;

use aether_shared::ErrorPayload;
use aether_shared::agent::{Event, RunRecord, RunState, RunSummary};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use super::checkpoint::Checkpoints;

const RUNS: TableDefinition<&str, &str> = TableDefinition::new("agent_runs");

/// A run as kept: who started it, what it did, and what undo would put back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredRun {
    /// The principal that started it: only it (and admin) may read or undo it.
    pub owner: String,
    pub summary: RunSummary,
    pub transcript: Vec<Event>,
    #[serde(default)]
    pub error: Option<ErrorPayload>,
    #[serde(default)]
    pub checkpoints: Checkpoints,
}

impl StoredRun {
    /// The record `ai.agent.status` answers with.
    pub fn record(&self) -> RunRecord {
        RunRecord {
            summary: self.summary.clone(),
            transcript: self.transcript.clone(),
            error: self.error.clone(),
        }
    }
}

pub use crate::services::db::StoreError;

/// The open database.
pub struct Store {
    db: Database,
    keep: usize,
}

impl Store {
    /// Opens (or creates) the database in `dir`, keeping the newest `keep` runs, and marks runs
    /// left running as interrupted.
    pub fn open(dir: &Path, keep: usize) -> Result<Store, StoreError> {
        let db = crate::services::db::open(dir, "agent.redb")?;
        let store = Store { db, keep };
        store.init()?;
        let interrupted = store.interrupt_leftovers()?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "agent runs were going when the kernel last stopped; marked interrupted"
            );
        }
        Ok(store)
    }

    /// A store in memory only (no data dir configured).
    pub fn in_memory(keep: usize) -> Result<Store, StoreError> {
        let db = crate::services::db::in_memory()?;
        let store = Store { db, keep };
        store.init()?;
        Ok(store)
    }

    fn init(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(RUNS)?;
        txn.commit()?;
        Ok(())
    }

    fn interrupt_leftovers(&self) -> Result<usize, StoreError> {
        let left: Vec<StoredRun> = self
            .all()?
            .into_iter()
            .filter(|run| is_going(run.summary.state))
            .collect();
        for mut run in left.iter().cloned() {
            run.summary.state = RunState::Interrupted;
            self.put(&run)?;
        }
        Ok(left.len())
    }

    /// Writes a run, then drops the oldest beyond the newest `keep`.
    pub fn put(&self, run: &StoredRun) -> Result<(), StoreError> {
        let json = serde_json::to_string(run)?;
        let txn = self.db.begin_write()?;
        {
            let mut runs = txn.open_table(RUNS)?;
            runs.insert(run.summary.run_id.as_str(), json.as_str())?;
            let excess = (runs.len()? as usize).saturating_sub(self.keep);
            if excess > 0 {
                let oldest: Vec<String> = runs
                    .iter()?
                    .take(excess)
                    .map(|entry| entry.map(|(id, _)| id.value().to_owned()))
                    .collect::<Result<_, _>>()?;
                for id in oldest {
                    runs.remove(id.as_str())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// One run.
    pub fn get(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(RUNS)?;
        match runs.get(run_id)? {
            Some(value) => Ok(Some(serde_json::from_str(value.value())?)),
            None => Ok(None),
        }
    }

    /// The runs `owner` may see (every run for `None`, the admin), newest first.
    pub fn list(&self, owner: Option<&str>) -> Result<Vec<RunSummary>, StoreError> {
        let mut runs: Vec<RunSummary> = self
            .all()?
            .into_iter()
            .filter(|run| owner.is_none_or(|o| run.owner == o))
            .map(|run| run.summary)
            .collect();
        runs.reverse();
        Ok(runs)
    }

    fn all(&self) -> Result<Vec<StoredRun>, StoreError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(RUNS)?;
        let mut out = Vec::new();
        for entry in runs.iter()? {
            let (_, value) = entry?;
            out.push(serde_json::from_str(value.value())?);
        }
        Ok(out)
    }
}

fn is_going(state: RunState) -> bool {
    matches!(state, RunState::Running | RunState::WaitingForApproval)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aether_shared::agent::EventKind;
    use aether_shared::ai::Usage;

    /// A one-event run record of `owner`, for tests.
    pub(crate) fn run_record(id: &str, owner: &str, state: RunState) -> StoredRun {
        StoredRun {
            owner: owner.into(),
            summary: RunSummary {
                run_id: id.into(),
                goal: "fix it".into(),
                state,
                started: "2026-12-06T00:00:00.000Z".into(),
                finished: None,
                usage: Usage::default(),
                turns: 1,
                tool_calls: 0,
                changed: vec![],
                undone: false,
            },
            transcript: vec![Event {
                run_id: id.into(),
                seq: 0,
                kind: EventKind::Message { delta: "hi".into() },
            }],
            error: None,
            checkpoints: Checkpoints::default(),
        }
    }

    #[test]
    fn runs_round_trip_and_each_owner_lists_its_own_newest_first() {
        let store = Store::in_memory(10).unwrap();
        store
            .put(&run_record("a-1", "alice", RunState::Done))
            .unwrap();
        store
            .put(&run_record("a-2", "bob", RunState::Done))
            .unwrap();
        store
            .put(&run_record("a-3", "alice", RunState::Failed))
            .unwrap();
        assert_eq!(
            store.get("a-1").unwrap().unwrap(),
            run_record("a-1", "alice", RunState::Done)
        );
        let ids = |owner| -> Vec<String> {
            store
                .list(owner)
                .unwrap()
                .into_iter()
                .map(|r| r.run_id)
                .collect()
        };
        assert_eq!(ids(Some("alice")), ["a-3", "a-1"]);
        assert_eq!(ids(None), ["a-3", "a-2", "a-1"]);
        assert!(store.get("a-9").unwrap().is_none());
    }

    #[test]
    fn only_the_newest_runs_are_kept() {
        let store = Store::in_memory(2).unwrap();
        for id in ["a-1", "a-2", "a-3"] {
            store.put(&run_record(id, "alice", RunState::Done)).unwrap();
        }
        assert!(store.get("a-1").unwrap().is_none());
        assert_eq!(store.list(None).unwrap().len(), 2);
    }

    #[test]
    fn a_run_left_going_is_interrupted_on_reopen() {
        let dir = std::env::temp_dir().join(format!("aether-agent-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = Store::open(&dir, 10).unwrap();
            store
                .put(&run_record("a-1", "alice", RunState::WaitingForApproval))
                .unwrap();
            store
                .put(&run_record("a-2", "alice", RunState::Done))
                .unwrap();
        }
        let store = Store::open(&dir, 10).unwrap();
        assert_eq!(
            store.get("a-1").unwrap().unwrap().summary.state,
            RunState::Interrupted
        );
        assert_eq!(
            store.get("a-2").unwrap().unwrap().summary.state,
            RunState::Done
        );
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
