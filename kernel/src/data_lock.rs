//! One kernel per data folder: an exclusive lock on `<data_dir>/kernel.lock`, held for the
//! kernel's life. A second kernel on the same folder would find the task store locked and
//! answer every `task.*` with `backend_unavailable`; it refuses to start instead, saying which
//! folder is taken and how to pick another. The lock is the operating system's (`flock`), so a
//! kernel that crashed leaves nothing to clean up.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why the data folder cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "another Aether kernel is using the data folder {0}; stop it, or give this kernel a folder of its own with --data-dir PATH (or AETHER_DATA_DIR)"
    )]
    Taken(PathBuf),
    #[error(
        "cannot use the data folder {0}: {1}; pick another with --data-dir PATH (or AETHER_DATA_DIR)"
    )]
    Io(PathBuf, std::io::Error),
}

/// The held lock; dropping it frees the folder.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Creates `dir` if needed and takes its lock, without waiting.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, DataDirError> {
        let io = |e| DataDirError::Io(dir.to_owned(), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("kernel.lock"))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(DataDirError::Taken(dir.to_owned())),
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // For people looking at the folder: which process holds it.
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("aether-lock-{:x}", rand::random::<u64>()));
        let first = DataDirLock::acquire(&dir).unwrap();
        let err = DataDirLock::acquire(&dir).unwrap_err();
        assert!(matches!(err, DataDirError::Taken(_)), "{err}");
        assert!(err.to_string().contains("--data-dir"), "{err}");
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        drop(first);
        let again = DataDirLock::acquire(&dir).unwrap();
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
