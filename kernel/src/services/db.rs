//! The services' redb files in the data dir (`tasks.redb`, `agent.redb`): opening one (or one in
//! memory, when the kernel has no data dir), and the one error type of the stores built on them.

use std::path::Path;
use std::time::Duration;

use redb::Database;

/// Why a store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database: {0}")]
    Db(#[from] redb::Error),
    #[error("a stored record does not parse: {0}")]
    Corrupt(#[from] serde_json::Error),
}

macro_rules! from_redb {
    ($($t:ty),+) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError {
                StoreError::Db(e.into())
            }
        }
    )+};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Opens (or creates) `dir/file`. Another kernel closing the same file is waited for a little
/// (one kernel per data dir is enforced at start-up; this covers a restart in quick succession).
pub fn open(dir: &Path, file: &str) -> Result<Database, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(redb::Error::Io(e)))?;
    let path = dir.join(file);
    let mut tries = 0;
    loop {
        match Database::create(&path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return Ok(other?),
        }
    }
}

/// A database that lives in memory only.
pub fn in_memory() -> Result<Database, StoreError> {
    Ok(Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?)
}
