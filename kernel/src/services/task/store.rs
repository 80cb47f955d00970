//! Task definitions and run history on disk (`<data_dir>/tasks.redb`), so both survive restarts.
//!
//! Each record is one JSON value under its id; ids start with the time they were made, so key
//! order is age order. A run is written when it starts and when it ends; a run still marked
//! running when the store opens was in flight when the kernel stopped, and is rewritten as
//! `interrupted`. Only the newest [`RUNS_KEPT`] runs are kept, and the newest `keep`
//! definitions of each owner ([`Store::put_task`]); a side table of task owners lets definitions
//! be counted and trimmed without reading them.

use std::path::Path;

use aether_shared::task::{Node, NodeRecord, NodeState, RunRecord, RunState, TaskSummary};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use super::error::TaskError;
use crate::services::request::ServiceError as _;

const TASKS: TableDefinition<&str, &str> = TableDefinition::new("tasks");
const RUNS: TableDefinition<&str, &str> = TableDefinition::new("runs");
/// Task id → owner, for counting an owner's definitions without reading them.
const TASK_OWNERS: TableDefinition<&str, &str> = TableDefinition::new("task_owners");

/// How many runs the history keeps.
pub const RUNS_KEPT: u64 = 500;

/// A task as defined, with who defined it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredTask {
    pub task_id: String,
    pub name: String,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Runs go on after their caller leaves.
    #[serde(default)]
    pub keep_on_disconnect: bool,
    /// The principal that defined it: only it (and admin) may run or read it.
    pub owner: String,
    pub defined: String,
}

impl StoredTask {
    pub fn summary(&self) -> TaskSummary {
        TaskSummary {
            task_id: self.task_id.clone(),
            name: self.name.clone(),
            nodes: self.nodes.len(),
            defined: self.defined.clone(),
        }
    }
}

/// A run as kept, with who started it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRun {
    pub owner: String,
    pub record: RunRecord,
}

pub use crate::services::db::StoreError;

/// The open database.
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database in `dir` and marks runs left running as interrupted.
    /// Another kernel closing the same file is waited for a little.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = crate::services::db::open(dir, "tasks.redb")?;
        let store = Store { db };
        store.init()?;
        let interrupted = store.interrupt_leftovers()?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "task runs were in flight when the kernel last stopped; marked interrupted"
            );
        }
        Ok(store)
    }

    /// A store that lives in memory only (no data dir configured).
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = crate::services::db::in_memory()?;
        let store = Store { db };
        store.init()?;
        Ok(store)
    }

    fn init(&self) -> Result<(), StoreError> {
        #[derive(Deserialize)]
        struct Owner {
            owner: String,
        }
        let txn = self.db.begin_write()?;
        {
            let tasks = txn.open_table(TASKS)?;
            txn.open_table(RUNS)?;
            let mut owners = txn.open_table(TASK_OWNERS)?;
            // Definitions stored by a kernel without the owners table are entered once.
            if owners.len()? < tasks.len()? {
                for entry in tasks.iter()? {
                    let (id, value) = entry?;
                    let owner: Owner = serde_json::from_str(value.value())?;
                    owners.insert(id.value(), owner.owner.as_str())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn interrupt_leftovers(&self) -> Result<usize, StoreError> {
        let mut left: Vec<StoredRun> = Vec::new();
        {
            let txn = self.db.begin_read()?;
            let runs = txn.open_table(RUNS)?;
            for entry in runs.iter()? {
                let (_, value) = entry?;
                let run: StoredRun = serde_json::from_str(value.value())?;
                if run.record.state == RunState::Running {
                    left.push(run);
                }
            }
        }
        let count = left.len();
        for mut run in left {
            interrupt(&mut run.record);
            self.put_run(&run)?;
        }
        Ok(count)
    }

    /// Writes a definition, then drops its owner's oldest beyond the newest `keep`.
    pub fn put_task(&self, task: &StoredTask, keep: usize) -> Result<(), StoreError> {
        let json = serde_json::to_string(task)?;
        let txn = self.db.begin_write()?;
        {
            let mut tasks = txn.open_table(TASKS)?;
            let mut owners = txn.open_table(TASK_OWNERS)?;
            tasks.insert(task.task_id.as_str(), json.as_str())?;
            owners.insert(task.task_id.as_str(), task.owner.as_str())?;
            let mut mine = Vec::new();
            for entry in owners.iter()? {
                let (id, owner) = entry?;
                if owner.value() == task.owner {
                    mine.push(id.value().to_owned());
                }
            }
            let excess = mine.len().saturating_sub(keep);
            for id in &mine[..excess] {
                tasks.remove(id.as_str())?;
                owners.remove(id.as_str())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    pub fn task(&self, task_id: &str) -> Result<Option<StoredTask>, StoreError> {
        let txn = self.db.begin_read()?;
        let tasks = txn.open_table(TASKS)?;
        let Some(value) = tasks.get(task_id)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_str(value.value())?))
    }

    /// Writes a run, dropping the oldest runs beyond [`RUNS_KEPT`].
    pub fn put_run(&self, run: &StoredRun) -> Result<(), StoreError> {
        let json = serde_json::to_string(run)?;
        let txn = self.db.begin_write()?;
        {
            let mut runs = txn.open_table(RUNS)?;
            runs.insert(run.record.run_id.as_str(), json.as_str())?;
            let excess = runs.len()?.saturating_sub(RUNS_KEPT);
            for _ in 0..excess {
                runs.pop_first()?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    pub fn run(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(RUNS)?;
        let Some(value) = runs.get(run_id)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_str(value.value())?))
    }

    /// The tasks and the newest `limit` runs that `owner` may see (`None`: every owner's).
    pub fn list(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<StoredTask>, Vec<StoredRun>), StoreError> {
        let txn = self.db.begin_read()?;
        let mine = |o: &str| owner.is_none_or(|owner| owner == o);
        let mut tasks = Vec::new();
        for entry in txn.open_table(TASKS)?.iter()?.rev() {
            let task: StoredTask = serde_json::from_str(entry?.1.value())?;
            if mine(&task.owner) {
                tasks.push(task);
            }
        }
        let mut runs = Vec::new();
        for entry in txn.open_table(RUNS)?.iter()?.rev() {
            if runs.len() == limit {
                break;
            }
            let run: StoredRun = serde_json::from_str(entry?.1.value())?;
            if mine(&run.owner) {
                runs.push(run);
            }
        }
        Ok((tasks, runs))
    }
}

/// Marks a run, and its unsettled nodes, as interrupted by a kernel stop.
pub fn interrupt(record: &mut RunRecord) {
    record.state = RunState::Interrupted;
    for node in &mut record.nodes {
        if !node.state.is_settled() {
            node.state = NodeState::Interrupted;
        }
    }
    record.error = Some(
        TaskError::StoppedInFlight
            .to_payload()
            .with_detail("run_id", record.run_id.as_str()),
    );
}

/// The record of a run that starts now: every node pending.
pub fn fresh_record(run_id: &str, task: &StoredTask, started: String) -> RunRecord {
    RunRecord {
        run_id: run_id.to_owned(),
        task_id: task.task_id.clone(),
        name: task.name.clone(),
        state: RunState::Running,
        started,
        ended: None,
        duration_ms: None,
        nodes: task.nodes.iter().map(NodeRecord::pending).collect(),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::Topic;

    fn task(id: &str) -> StoredTask {
        StoredTask {
            task_id: id.into(),
            name: "t".into(),
            nodes: vec![Node {
                id: "a".into(),
                topic: Topic::from_static("kernel.ping"),
                payload: Default::default(),
                after: vec![],
                timeout_ms: None,
            }],
            timeout_ms: None,
            keep_on_disconnect: false,
            owner: "local".into(),
            defined: "2026-11-24T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_run_left_running_reopens_as_interrupted() {
        let dir = std::env::temp_dir().join(format!("aether-store-{}", rand::random::<u64>()));
        {
            let store = Store::open(&dir).unwrap();
            let t = task("t-1");
            store.put_task(&t, 10).unwrap();
            let mut record = fresh_record("r-1", &t, "now".into());
            record.nodes[0].state = NodeState::Running;
            store
                .put_run(&StoredRun {
                    owner: "local".into(),
                    record,
                })
                .unwrap();
        }
        let store = Store::open(&dir).unwrap();
        let run = store.run("r-1").unwrap().unwrap().record;
        assert_eq!(run.state, RunState::Interrupted);
        assert_eq!(run.nodes[0].state, NodeState::Interrupted);
        assert_eq!(store.task("t-1").unwrap().unwrap().name, "t");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn each_owner_keeps_only_its_newest_definitions() {
        let store = Store::in_memory().unwrap();
        let mine = |id: &str, owner: &str| {
            let mut t = task(id);
            t.owner = owner.into();
            store.put_task(&t, 2).unwrap();
        };
        mine("t-1", "local");
        mine("t-2", "admin");
        mine("t-3", "local");
        mine("t-4", "local");
        assert!(
            store.task("t-1").unwrap().is_none(),
            "the oldest is dropped"
        );
        for kept in ["t-2", "t-3", "t-4"] {
            assert!(store.task(kept).unwrap().is_some(), "{kept}");
        }
        let (tasks, _) = store.list(Some("local"), 10).unwrap();
        assert_eq!(tasks.len(), 2);
    }

    #[test]
    fn only_the_newest_runs_are_kept_and_listed_newest_first() {
        let store = Store::in_memory().unwrap();
        let t = task("t-1");
        for i in 0..RUNS_KEPT + 3 {
            let mut record = fresh_record(&format!("r-{i:06}"), &t, "now".into());
            record.state = RunState::Succeeded;
            store
                .put_run(&StoredRun {
                    owner: "local".into(),
                    record,
                })
                .unwrap();
        }
        assert!(store.run("r-000002").unwrap().is_none());
        assert!(store.run("r-000003").unwrap().is_some());
        let (_, runs) = store.list(Some("local"), 2).unwrap();
        assert_eq!(runs[0].record.run_id, format!("r-{:06}", RUNS_KEPT + 2));
        assert_eq!(runs.len(), 2);
        let (_, others) = store.list(Some("admin"), 10).unwrap();
        assert!(others.is_empty());
    }
}
