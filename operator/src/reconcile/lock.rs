//! The reconciliation lock: one reconciliation (or supervision pass) of a network at a time.
//!
//! The lock is an advisory exclusive lock on `<network dir>/reconcile.lock`, released when
//! the [`ReconcileLock`] is dropped (explicitly unlocked, see its `Drop`) or its process dies
//! (so a crash never leaves it held).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// File name of the lock inside a network's directory.
pub const LOCK_FILE: &str = "reconcile.lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another reconciliation of this network is running (lock {path} is held); wait for it \
         to finish"
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("{path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A held reconciliation lock.
#[derive(Debug)]
pub struct ReconcileLock {
    file: File,
    path: PathBuf,
}

impl Drop for ReconcileLock {
    /// Unlocks explicitly before the file is closed: the lock belongs to the open file
    /// description, which a child forked by another thread of this process shares until it
    /// executes its program; closing our descriptor alone would leave the lock held for that
    /// instant, and a reconciliation right after this one would find the network busy.
    fn drop(&mut self) {
        // Closing the file releases the lock anyway once no duplicate is left.
        let _ = self.file.unlock();
    }
}

impl ReconcileLock {
    /// Takes the lock of the network whose directory is `dir` (created if missing), or
    /// fails at once with [`LockError::Busy`] when another process holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { file, path }),
            Err(TryLockError::WouldBlock) => Err(LockError::Busy { path }),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }

    /// Takes the lock like [`ReconcileLock::acquire`], retrying every 200 ms while another
    /// process holds it, for at most `wait`; then [`LockError::Busy`].
    pub async fn acquire_within(dir: &Path, wait: std::time::Duration) -> Result<Self, LockError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match Self::acquire(dir) {
                Err(LockError::Busy { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod drop_tests {
    use super::*;

    #[test]
    fn a_dropped_lock_is_free_even_while_a_duplicate_descriptor_lives() {
        // A child forked by another thread holds a duplicate of the descriptor until it
        // executes its program; a duplicate made here stands in for it.
        let dir = tempfile::tempdir().unwrap();
        let lock = ReconcileLock::acquire(dir.path()).unwrap();
        let duplicate = lock.file.try_clone().unwrap();
        drop(lock);
        let again = ReconcileLock::acquire(dir.path());
        assert!(again.is_ok(), "{:?}", again.err());
        drop(duplicate);
    }

    #[test]
    fn a_held_lock_is_waited_for_until_the_limit_then_busy() {
        let dir = tempfile::tempdir().unwrap();
        let held = ReconcileLock::acquire(dir.path()).unwrap();
        let wait = std::time::Duration::from_secs(3);
        let busy = crate::testkit::block_on(ReconcileLock::acquire_within(dir.path(), wait));
        assert!(matches!(busy, Err(LockError::Busy { .. })), "{busy:?}");
        drop(held);
        let free = crate::testkit::block_on(ReconcileLock::acquire_within(dir.path(), wait));
        assert!(free.is_ok(), "{:?}", free.err());
    }
}
