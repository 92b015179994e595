//! The single-writer lock: `<log>.lock`, held with an exclusive OS advisory lock.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::{io, LogError};

/// The lock file of a log: `<log>.lock`.
pub fn lock_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the writer lock of `log` without waiting: [`LogError::Locked`] when another writer
/// holds it.
pub(super) fn acquire_lock(log: &Path) -> Result<File, LogError> {
    let lock = lock_path(log);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io(&lock))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::Locked { lock }),
        Err(std::fs::TryLockError::Error(source)) => Err(LogError::Io { path: lock, source }),
    }
}
