//! Durable node storage on redb: blocks, commit certificates, application state, the consensus
//! write-ahead log and metadata, in one database file under `<home>/data/node.redb`.
//!
//! Every method that writes runs one redb write transaction with immediate durability: when it
//! returns `Ok`, the data is on disk and survives `kill -9` or power loss. A block, its
//! certificate, the state changes it produces and the new metadata are committed in one
//! transaction, so a crash leaves either all of them or none. redb checksums its pages and
//! repairs (rolls back to the last good commit) on open after an unclean shutdown.
//!
//! The database file must stay where it was opened. A file deleted (or replaced) under a
//! running node keeps accepting writes through the open descriptor, and every one of them is
//! lost: for a validator that includes the consensus WAL, its protection against signing
//! twice after a restart. So the device and inode of the file are recorded when it is opened,
//! and every WAL append, WAL prune and block commit checks them before and after its write
//! transaction ([`Storage::check_present`], also called on a timer by the runtime): a file that
//! is gone or is another file fails the write with [`StorageError::Gone`], and the write counts
//! as not done.
//!
//! The methods block on disk I/O; async callers should use `spawn_blocking`.

use std::fs::{Metadata, OpenOptions};
use std::path::{Path, PathBuf};

use crate::driver::{Commit, CommittedState, Restore};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "node.redb";
/// Layout version written in the metadata; a database with another version is refused.
pub const SCHEMA_VERSION: u64 = 1;

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const CERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("certs");
const HASHES: TableDefinition<&[u8], u64> = TableDefinition::new("block_hashes");
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
const WAL: TableDefinition<u64, &[u8]> = TableDefinition::new("wal");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// WAL sequence number -> the consensus height the record belongs to (for pruning by height).
const WAL_HEIGHTS: TableDefinition<u64, u64> = TableDefinition::new("wal_heights");

const META_SCHEMA: &str = "schema_version";
const META_HEIGHT: &str = "last_height";
const META_BLOCK_HASH: &str = "last_block_hash";
const META_APP_HASH: &str = "last_app_hash";
const META_WAL_NEXT: &str = "wal_next_seq";
const META_NEXT_CONTEXT: &str = "next_context";

/// Errors from the node database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database engine failed (I/O, corruption, lock held by another process).
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// The data directory could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: std::path::PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// A block was committed out of order.
    #[error("block height {got} does not follow the last committed height {last}")]
    HeightGap {
        /// Last committed height.
        last: u64,
        /// Height that was offered.
        got: u64,
    },
    /// A block hash is already stored for another height.
    #[error("block hash {hash} is already stored at height {height}")]
    DuplicateHash {
        /// The hash, hex encoded.
        hash: String,
        /// The height it is stored at.
        height: u64,
    },
    /// The file holds something this version cannot read, or a stored record is malformed.
    #[error("database: {0}")]
    Corrupt(String),
    /// The database file the node opened is no longer at its path: deleted, or replaced by
    /// another file. Writes to it would be lost, so none is acknowledged.
    #[error("database file {path} {how} while the node had it open; nothing written since is durable, so the node stops")]
    Gone {
        /// Path of the database file.
        path: PathBuf,
        /// What happened to it.
        how: GoneHow,
    },
}

/// How a database file went away under a running node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoneHow {
    /// Nothing is at the path any more (the file or its directory was deleted).
    Deleted,
    /// Another file is at the path (same name, different device or inode).
    Replaced,
}

impl std::fmt::Display for GoneHow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GoneHow::Deleted => "was deleted",
            GoneHow::Replaced => "was replaced by another file",
        })
    }
}

/// Which file a path names: device and inode on Unix (elsewhere only presence is checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self {
                device: meta.dev(),
                inode: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Self {
                device: 0,
                inode: 0,
            }
        }
    }
}

fn db_err<E: Into<redb::Error>>(e: E) -> StorageError {
    StorageError::Db(e.into())
}

/// A decided block as the storage layer sees it: opaque bytes plus the identifiers it indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCommit<'a> {
    /// Height of the block.
    pub height: u64,
    /// The block's canonical hash (computed by the consensus layer).
    pub hash: [u8; 32],
    /// The encoded block.
    pub block: &'a [u8],
    /// The encoded commit certificate that finalised it.
    pub cert: &'a [u8],
    /// The application state root after executing the block.
    pub app_hash: [u8; 32],
}

/// One change to the application state: `Some(value)` sets, `None` deletes.
pub type StateWrite = (Vec<u8>, Option<Vec<u8>>);

/// The last committed point, as recorded in the metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Last committed height.
    pub height: u64,
    /// Hash of the block at that height.
    pub block_hash: [u8; 32],
    /// State root after that block.
    pub app_hash: [u8; 32],
}

/// A stored block with its certificate, as read back by [`Storage::blocks_range`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlock {
    /// Height of the block.
    pub height: u64,
    /// The encoded block.
    pub block: Vec<u8>,
    /// The encoded commit certificate.
    pub cert: Vec<u8>,
}

/// The node database.
pub struct Storage {
    db: Database,
    /// Path of the database file.
    path: PathBuf,
    /// The file that was opened, to tell whether the path still names it.
    identity: FileIdentity,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens (or creates) the database in `data_dir`, creating the directory if needed.
    pub fn open(data_dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StorageError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let io_err = |source| StorageError::Io {
            path: path.clone(),
            source,
        };
        // Opened here rather than by redb so that the identity is read from the very file the
        // database uses, not from whatever the path names a moment later.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let identity = FileIdentity::of(&file.metadata().map_err(io_err)?);
        let db = Database::builder().create_file(file).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        {
            txn.open_table(BLOCKS).map_err(db_err)?;
            txn.open_table(CERTS).map_err(db_err)?;
            txn.open_table(HASHES).map_err(db_err)?;
            txn.open_table(STATE).map_err(db_err)?;
            txn.open_table(WAL).map_err(db_err)?;
            txn.open_table(WAL_HEIGHTS).map_err(db_err)?;
            let mut meta = txn.open_table(META).map_err(db_err)?;
            let stored = meta
                .get(META_SCHEMA)
                .map_err(db_err)?
                .map(|v| decode_u64(v.value(), META_SCHEMA))
                .transpose()?;
            match stored {
                None => {
                    meta.insert(META_SCHEMA, SCHEMA_VERSION.to_le_bytes().as_slice())
                        .map_err(db_err)?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(other) => {
                    return Err(StorageError::Corrupt(format!(
                        "schema version {other} is not supported (this node reads {SCHEMA_VERSION})"
                    )))
                }
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(Self { db, path, identity })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the database file opened is still at its path: `Err(StorageError::Gone)` if
    /// it was deleted (alone or with its directory) or replaced by another file, `Err(Io)` if
    /// the path cannot be examined.
    pub fn check_present(&self) -> Result<(), StorageError> {
        let gone = |how| StorageError::Gone {
            path: self.path.clone(),
            how,
        };
        match std::fs::metadata(&self.path) {
            Ok(meta) if FileIdentity::of(&meta) == self.identity => Ok(()),
            Ok(_) => Err(gone(GoneHow::Replaced)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(gone(GoneHow::Deleted)),
            Err(source) => Err(StorageError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Runs one write transaction between two presence checks: a file gone before it is never
    /// written, and a file gone by the time it committed turns its success into
    /// [`StorageError::Gone`], since the write is not where a restart would look for it.
    fn guarded_write<T>(
        &self,
        write: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.check_present()?;
        let out = write()?;
        self.check_present()?;
        Ok(out)
    }

    /// Commits a decided block, its certificate, the state changes it produced and the new tip,
    /// all in one durable transaction. Heights must follow each other without gaps (the first
    /// block stored may have any height).
    pub fn commit_block(
        &self,
        commit: &BlockCommit<'_>,
        state_writes: &[StateWrite],
    ) -> Result<(), StorageError> {
        self.commit_inner(commit, state_writes, None)
    }

    /// Like [`Storage::commit_block`], and also records `next_context` (the encoded consensus
    /// context of the next height) in the same transaction, so that a restart finds the block,
    /// its state and the context that follows it together or not at all.
    pub fn commit_block_with_context(
        &self,
        commit: &BlockCommit<'_>,
        state_writes: &[StateWrite],
        next_context: &[u8],
    ) -> Result<(), StorageError> {
        self.commit_inner(commit, state_writes, Some(next_context))
    }

    /// Stores a driver [`Commit`] atomically: block, certificate, write set, state root, next
    /// context and tip in one durable transaction.
    pub fn commit_driver(&self, commit: &Commit) -> Result<(), StorageError> {
        let block = BlockCommit {
            height: commit.height,
            hash: commit.block_hash,
            block: &commit.block,
            cert: &commit.certificate,
            app_hash: commit.state_root,
        };
        self.commit_inner(
            &block,
            &commit.write_set.entries,
            Some(&commit.next_context),
        )
    }

    fn commit_inner(
        &self,
        commit: &BlockCommit<'_>,
        state_writes: &[StateWrite],
        next_context: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        self.guarded_write(|| self.commit_txn(commit, state_writes, next_context))
    }

    fn commit_txn(
        &self,
        commit: &BlockCommit<'_>,
        state_writes: &[StateWrite],
        next_context: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut meta = txn.open_table(META).map_err(db_err)?;
            let last = meta
                .get(META_HEIGHT)
                .map_err(db_err)?
                .map(|v| decode_u64(v.value(), META_HEIGHT))
                .transpose()?;
            if let Some(last) = last {
                if last.checked_add(1) != Some(commit.height) {
                    return Err(StorageError::HeightGap {
                        last,
                        got: commit.height,
                    });
                }
            }
            let mut hashes = txn.open_table(HASHES).map_err(db_err)?;
            if let Some(height) = hashes.get(commit.hash.as_slice()).map_err(db_err)? {
                return Err(StorageError::DuplicateHash {
                    hash: hex::encode(commit.hash),
                    height: height.value(),
                });
            }
            hashes
                .insert(commit.hash.as_slice(), commit.height)
                .map_err(db_err)?;
            txn.open_table(BLOCKS)
                .map_err(db_err)?
                .insert(commit.height, commit.block)
                .map_err(db_err)?;
            txn.open_table(CERTS)
                .map_err(db_err)?
                .insert(commit.height, commit.cert)
                .map_err(db_err)?;
            let mut state = txn.open_table(STATE).map_err(db_err)?;
            for (key, value) in state_writes {
                match value {
                    Some(value) => {
                        state
                            .insert(key.as_slice(), value.as_slice())
                            .map_err(db_err)?;
                    }
                    None => {
                        state.remove(key.as_slice()).map_err(db_err)?;
                    }
                }
            }
            meta.insert(META_HEIGHT, commit.height.to_le_bytes().as_slice())
                .map_err(db_err)?;
            meta.insert(META_BLOCK_HASH, commit.hash.as_slice())
                .map_err(db_err)?;
            meta.insert(META_APP_HASH, commit.app_hash.as_slice())
                .map_err(db_err)?;
            match next_context {
                Some(ctx) => {
                    meta.insert(META_NEXT_CONTEXT, ctx).map_err(db_err)?;
                }
                None => {
                    meta.remove(META_NEXT_CONTEXT).map_err(db_err)?;
                }
            }
        }
        txn.commit().map_err(db_err)
    }

    /// The consensus context of the height after the tip, as stored with the last commit.
    pub fn next_context(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let meta = txn.open_table(META).map_err(db_err)?;
        Ok(meta
            .get(META_NEXT_CONTEXT)
            .map_err(db_err)?
            .map(|v| v.value().to_vec()))
    }

    /// What the driver needs to resume: the last commit (state, root, hash, next context) and
    /// every WAL record still stored. An empty database gives `Restore::default()` plus its
    /// WAL. A tip stored without a next context (by [`Storage::commit_block`]) is refused.
    pub fn restore(&self) -> Result<Restore, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let tip = self.tip()?;
        let committed = match tip {
            None => None,
            Some(tip) => {
                let next_context = self.next_context()?.ok_or_else(|| {
                    StorageError::Corrupt(format!(
                        "metadata `{META_NEXT_CONTEXT}` is missing for height {}",
                        tip.height
                    ))
                })?;
                let table = txn.open_table(STATE).map_err(db_err)?;
                let mut state = Vec::new();
                for entry in table.iter().map_err(db_err)? {
                    let (k, v) = entry.map_err(db_err)?;
                    state.push((k.value().to_vec(), v.value().to_vec()));
                }
                Some(CommittedState {
                    state,
                    state_root: tip.app_hash,
                    block_hash: tip.block_hash,
                    next_context,
                })
            }
        };
        let wal = txn.open_table(WAL).map_err(db_err)?;
        let mut records = Vec::new();
        for entry in wal.iter().map_err(db_err)? {
            let (_, v) = entry.map_err(db_err)?;
            records.push(v.value().to_vec());
        }
        Ok(Restore {
            committed,
            wal: records,
        })
    }

    /// The last committed height, block hash and state root, or `None` for an empty database.
    pub fn tip(&self) -> Result<Option<Tip>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let meta = txn.open_table(META).map_err(db_err)?;
        let Some(height) = meta.get(META_HEIGHT).map_err(db_err)? else {
            return Ok(None);
        };
        let height = decode_u64(height.value(), META_HEIGHT)?;
        let hash_of = |key: &str| -> Result<[u8; 32], StorageError> {
            let value = meta
                .get(key)
                .map_err(db_err)?
                .ok_or_else(|| StorageError::Corrupt(format!("metadata `{key}` is missing")))?;
            <[u8; 32]>::try_from(value.value())
                .map_err(|_| StorageError::Corrupt(format!("metadata `{key}` is not 32 bytes")))
        };
        Ok(Some(Tip {
            height,
            block_hash: hash_of(META_BLOCK_HASH)?,
            app_hash: hash_of(META_APP_HASH)?,
        }))
    }

    /// The last committed height, or `None` for an empty database.
    pub fn latest_height(&self) -> Result<Option<u64>, StorageError> {
        Ok(self.tip()?.map(|t| t.height))
    }

    /// The encoded block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.get_u64(BLOCKS, height)
    }

    /// The encoded commit certificate of the block at `height`.
    pub fn cert(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.get_u64(CERTS, height)
    }

    /// The height of the block with `hash`.
    pub fn height_of(&self, hash: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(HASHES).map_err(db_err)?;
        Ok(table
            .get(hash.as_slice())
            .map_err(db_err)?
            .map(|v| v.value()))
    }

    /// Blocks with their certificates for `from..=to`, stopping at the first missing height or
    /// once `max_bytes` would be exceeded (at least one block is returned if present).
    pub fn blocks_range(
        &self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<StoredBlock>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let blocks = txn.open_table(BLOCKS).map_err(db_err)?;
        let certs = txn.open_table(CERTS).map_err(db_err)?;
        let mut out = Vec::new();
        let mut total = 0usize;
        for height in from..=to {
            let (Some(block), Some(cert)) = (
                blocks.get(height).map_err(db_err)?,
                certs.get(height).map_err(db_err)?,
            ) else {
                break;
            };
            let size = block.value().len() + cert.value().len();
            if !out.is_empty() && total + size > max_bytes {
                break;
            }
            total += size;
            out.push(StoredBlock {
                height,
                block: block.value().to_vec(),
                cert: cert.value().to_vec(),
            });
        }
        Ok(out)
    }

    /// One application state value.
    pub fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(STATE).map_err(db_err)?;
        Ok(table.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }

    /// Iterates over the whole application state in key order, from one consistent snapshot.
    pub fn load_state(&self) -> Result<StateIter, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(STATE).map_err(db_err)?;
        let inner = table.range_owned::<&[u8]>(..).map_err(db_err)?;
        Ok(StateIter { inner })
    }

    /// Number of application state entries.
    pub fn state_len(&self) -> Result<u64, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(STATE).map_err(db_err)?;
        table.len().map_err(db_err)
    }

    /// Appends a consensus write-ahead record; it is on disk when this returns. Returns the
    /// record's sequence number (1 for the first record ever).
    pub fn append_wal(&self, record: &[u8]) -> Result<u64, StorageError> {
        self.append_wal_inner(None, record)
    }

    /// Appends a consensus write-ahead record of consensus height `height`, durable when this
    /// returns; [`Storage::prune_wal_below`] removes it once `height` is no longer needed.
    pub fn append_wal_at(&self, height: u64, record: &[u8]) -> Result<u64, StorageError> {
        self.append_wal_inner(Some(height), record)
    }

    fn append_wal_inner(&self, height: Option<u64>, record: &[u8]) -> Result<u64, StorageError> {
        self.guarded_write(|| self.append_wal_txn(height, record))
    }

    fn append_wal_txn(&self, height: Option<u64>, record: &[u8]) -> Result<u64, StorageError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let seq;
        {
            let mut meta = txn.open_table(META).map_err(db_err)?;
            seq = meta
                .get(META_WAL_NEXT)
                .map_err(db_err)?
                .map(|v| decode_u64(v.value(), META_WAL_NEXT))
                .transpose()?
                .unwrap_or(1);
            meta.insert(META_WAL_NEXT, (seq + 1).to_le_bytes().as_slice())
                .map_err(db_err)?;
            txn.open_table(WAL)
                .map_err(db_err)?
                .insert(seq, record)
                .map_err(db_err)?;
            if let Some(height) = height {
                txn.open_table(WAL_HEIGHTS)
                    .map_err(db_err)?
                    .insert(seq, height)
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(seq)
    }

    /// All write-ahead records still held, in append order.
    pub fn wal_records(&self) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let wal = txn.open_table(WAL).map_err(db_err)?;
        let mut out = Vec::new();
        for entry in wal.iter().map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Deletes write-ahead records with sequence numbers up to and including `through`
    /// (records of heights that are committed are no longer needed). Sequence numbers are never
    /// reused. Returns how many records were removed.
    pub fn prune_wal(&self, through: u64) -> Result<u64, StorageError> {
        self.guarded_write(|| self.prune_wal_txn(through))
    }

    fn prune_wal_txn(&self, through: u64) -> Result<u64, StorageError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let removed;
        {
            let mut wal = txn.open_table(WAL).map_err(db_err)?;
            let before = wal.len().map_err(db_err)?;
            wal.retain_in(..=through, |_, _| false).map_err(db_err)?;
            removed = before - wal.len().map_err(db_err)?;
            txn.open_table(WAL_HEIGHTS)
                .map_err(db_err)?
                .retain_in(..=through, |_, _| false)
                .map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(removed)
    }

    /// Deletes the write-ahead records appended with [`Storage::append_wal_at`] for heights
    /// below `below_height`. Returns how many records were removed.
    pub fn prune_wal_below(&self, below_height: u64) -> Result<u64, StorageError> {
        self.guarded_write(|| self.prune_wal_below_txn(below_height))
    }

    fn prune_wal_below_txn(&self, below_height: u64) -> Result<u64, StorageError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let mut removed = 0;
        {
            let mut heights = txn.open_table(WAL_HEIGHTS).map_err(db_err)?;
            let mut wal = txn.open_table(WAL).map_err(db_err)?;
            let mut doomed = Vec::new();
            for entry in heights.iter().map_err(db_err)? {
                let (seq, height) = entry.map_err(db_err)?;
                if height.value() < below_height {
                    doomed.push(seq.value());
                }
            }
            for seq in doomed {
                heights.remove(seq).map_err(db_err)?;
                if wal.remove(seq).map_err(db_err)?.is_some() {
                    removed += 1;
                }
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(removed)
    }

    fn get_u64(
        &self,
        def: TableDefinition<u64, &[u8]>,
        key: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(def).map_err(db_err)?;
        Ok(table.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }
}

/// Iterator over the application state returned by [`Storage::load_state`].
pub struct StateIter {
    inner: redb::OwnedRange<&'static [u8], &'static [u8]>,
}

impl Iterator for StateIter {
    type Item = Result<(Vec<u8>, Vec<u8>), StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|entry| {
            entry
                .map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                .map_err(db_err)
        })
    }
}

fn decode_u64(bytes: &[u8], key: &str) -> Result<u64, StorageError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_le_bytes)
        .map_err(|_| StorageError::Corrupt(format!("metadata `{key}` is not an 8-byte integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit<'a>(height: u64, block: &'a [u8], cert: &'a [u8]) -> BlockCommit<'a> {
        BlockCommit {
            height,
            hash: *blake3::hash(block).as_bytes(),
            block,
            cert,
            app_hash: [height as u8; 32],
        }
    }

    fn set(k: &str, v: &str) -> StateWrite {
        (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()))
    }

    #[test]
    fn commit_then_reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Storage::open(dir.path()).unwrap();
            assert_eq!(s.latest_height().unwrap(), None);
            s.commit_block(&commit(1, b"b1", b"c1"), &[set("a", "1"), set("b", "2")])
                .unwrap();
            s.commit_block(
                &commit(2, b"b2", b"c2"),
                &[set("a", "3"), (b"b".to_vec(), None)],
            )
            .unwrap();
        }
        let s = Storage::open(dir.path()).unwrap();
        let tip = s.tip().unwrap().unwrap();
        assert_eq!(tip.height, 2);
        assert_eq!(tip.block_hash, *blake3::hash(b"b2").as_bytes());
        assert_eq!(tip.app_hash, [2u8; 32]);
        assert_eq!(s.block(1).unwrap().as_deref(), Some(&b"b1"[..]));
        assert_eq!(s.cert(2).unwrap().as_deref(), Some(&b"c2"[..]));
        assert_eq!(s.block(3).unwrap(), None);
        assert_eq!(
            s.height_of(blake3::hash(b"b1").as_bytes()).unwrap(),
            Some(1)
        );
        let state: Vec<_> = s.load_state().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(state, vec![(b"a".to_vec(), b"3".to_vec())]);
        assert_eq!(s.state_get(b"b").unwrap(), None);
    }

    #[test]
    fn gaps_and_duplicate_hashes_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        s.commit_block(&commit(5, b"b5", b"c5"), &[]).unwrap();
        let err = s
            .commit_block(&commit(7, b"b7", b"c7"), &[set("x", "y")])
            .unwrap_err();
        assert!(
            matches!(err, StorageError::HeightGap { last: 5, got: 7 }),
            "{err}"
        );
        let mut dup = commit(6, b"b5", b"c6");
        dup.app_hash = [9; 32];
        let err = s.commit_block(&dup, &[set("x", "y")]).unwrap_err();
        assert!(
            matches!(err, StorageError::DuplicateHash { height: 5, .. }),
            "{err}"
        );
        assert_eq!(s.latest_height().unwrap(), Some(5));
        assert_eq!(s.state_get(b"x").unwrap(), None);
        assert_eq!(s.block(6).unwrap(), None);
    }

    #[test]
    fn wal_appends_in_order_survives_reopen_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Storage::open(dir.path()).unwrap();
            assert_eq!(s.append_wal(b"r1").unwrap(), 1);
            assert_eq!(s.append_wal(b"r2").unwrap(), 2);
            assert_eq!(s.append_wal(b"r3").unwrap(), 3);
        }
        let s = Storage::open(dir.path()).unwrap();
        let records = s.wal_records().unwrap();
        assert_eq!(
            records,
            vec![
                (1, b"r1".to_vec()),
                (2, b"r2".to_vec()),
                (3, b"r3".to_vec())
            ]
        );
        assert_eq!(s.prune_wal(2).unwrap(), 2);
        assert_eq!(s.wal_records().unwrap(), vec![(3, b"r3".to_vec())]);
        assert_eq!(s.append_wal(b"r4").unwrap(), 4);
        assert_eq!(s.prune_wal(10).unwrap(), 2);
        assert_eq!(
            s.append_wal(b"r5").unwrap(),
            5,
            "sequence numbers are never reused"
        );
    }

    #[test]
    fn blocks_range_respects_byte_budget_and_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        for h in 1..=5u64 {
            let block = vec![h as u8; 100];
            s.commit_block(&commit(h, &block, b"cc"), &[]).unwrap();
        }
        let got = s.blocks_range(2, 10, 250).unwrap();
        assert_eq!(got.iter().map(|b| b.height).collect::<Vec<_>>(), vec![2, 3]);
        let got = s.blocks_range(4, 10, 1 << 20).unwrap();
        assert_eq!(got.iter().map(|b| b.height).collect::<Vec<_>>(), vec![4, 5]);
        let got = s.blocks_range(1, 1, 1).unwrap();
        assert_eq!(got.len(), 1, "one block is always served even over budget");
    }

    #[test]
    fn second_open_of_same_database_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let _s = Storage::open(dir.path()).unwrap();
        let err = Storage::open(dir.path()).unwrap_err();
        assert!(matches!(err, StorageError::Db(_)), "{err}");
    }

    #[test]
    fn wal_prunes_by_height_and_keeps_later_heights() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        s.append_wal_at(1, b"h1a").unwrap();
        s.append_wal_at(2, b"h2").unwrap();
        s.append_wal_at(1, b"h1b").unwrap();
        s.append_wal_at(3, b"h3").unwrap();
        assert_eq!(s.prune_wal_below(3).unwrap(), 3);
        let left: Vec<Vec<u8>> = s.wal_records().unwrap().into_iter().map(|r| r.1).collect();
        assert_eq!(left, vec![b"h3".to_vec()]);
        assert_eq!(s.restore().unwrap().wal, vec![b"h3".to_vec()]);
        assert!(s.restore().unwrap().committed.is_none());
    }

    #[test]
    fn writes_to_a_deleted_database_are_refused_and_name_the_file() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data");
        let s = Storage::open(&data).unwrap();
        s.append_wal_at(1, b"before").unwrap();
        s.check_present().unwrap();
        std::fs::remove_dir_all(&data).unwrap();

        let err = s.append_wal_at(1, b"after").unwrap_err();
        assert!(
            matches!(&err, StorageError::Gone { how: GoneHow::Deleted, path } if *path == data.join(DB_FILE)),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&data.join(DB_FILE).display().to_string()),
            "{text}"
        );
        assert!(text.contains("was deleted"), "{text}");
        let err = s
            .commit_block(&commit(1, b"b1", b"c1"), &[set("a", "1")])
            .unwrap_err();
        assert!(matches!(err, StorageError::Gone { .. }), "{err}");
        assert!(matches!(
            s.prune_wal_below(5),
            Err(StorageError::Gone { .. })
        ));
        assert!(
            !data.exists(),
            "a refused write recreates nothing at the path"
        );
    }

    #[test]
    fn a_database_file_replaced_under_the_node_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        let path = dir.path().join(DB_FILE);
        std::fs::rename(&path, dir.path().join("moved.redb")).unwrap();
        std::fs::write(&path, b"").unwrap();
        let err = s.check_present().unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::Gone {
                    how: GoneHow::Replaced,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            s.append_wal(b"r"),
            Err(StorageError::Gone {
                how: GoneHow::Replaced,
                ..
            })
        ));
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn restore_without_stored_context_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        s.commit_block(&commit(1, b"b1", b"c1"), &[]).unwrap();
        let err = s.restore().unwrap_err().to_string();
        assert!(err.contains("next_context"), "{err}");
    }

    /// Drives a lone validator, storing every command in a real database, then restarts from
    /// `restore()`: the restarted driver is at the stored tip and decides the next block
    /// exactly as the uninterrupted one does.
    #[test]
    fn driver_commits_survive_reopen_and_restore_resumes() {
        use crate::driver::testkit;
        use crate::driver::{Command, Driver, DriverConfig, Input, Reaction};

        fn carry(s: &Storage, r: &Reaction) -> Option<u64> {
            let mut committed = None;
            for c in &r.commands {
                match c {
                    Command::PersistWal { height, record } => {
                        s.append_wal_at(*height, record).unwrap();
                    }
                    Command::PruneWal { below_height } => {
                        s.prune_wal_below(*below_height).unwrap();
                    }
                    Command::Commit(c) => {
                        s.commit_driver(c).unwrap();
                        committed = Some(c.height);
                    }
                    _ => {}
                }
            }
            committed
        }

        let dir = tempfile::tempdir().unwrap();
        let g = testkit::genesis(&[1], &[(9, 10_000)]);
        let mut now = 1_700_000_000_001;
        let mut a = Driver::new(
            &g,
            Some([1; 32]),
            Restore::default(),
            DriverConfig::default(),
        )
        .unwrap();
        let s = Storage::open(dir.path()).unwrap();
        let mut r = a.start(now).unwrap();
        let next = loop {
            let h = carry(&s, &r).expect("a lone validator decides in one reaction");
            now += 10;
            r = a.handle(now, Input::Committed { height: h }).unwrap();
            if h == 3 {
                let Some(Command::Commit(c4)) = r.commands.last() else {
                    panic!("height 4 decided: {:?}", r.commands)
                };
                break c4.clone();
            }
        };
        drop(s);
        let s = Storage::open(dir.path()).unwrap();
        let restore = s.restore().unwrap();
        let committed = restore.committed.clone().unwrap();
        assert_eq!(committed.block_hash, s.tip().unwrap().unwrap().block_hash);
        let mut b = Driver::new(&g, Some([1; 32]), restore, DriverConfig::default()).unwrap();
        assert_eq!(b.height(), 3);
        assert_eq!(b.status().state_root, hex::encode(committed.state_root));
        let rb = b.start(now).unwrap();
        let Some(Command::Commit(b4)) = rb.commands.last() else {
            panic!("restarted driver decides height 4: {:?}", rb.commands)
        };
        assert_eq!(b4.block_hash, next.block_hash);
        assert_eq!(b4.next_context, next.next_context);
        s.commit_driver(b4).unwrap();
        assert_eq!(s.next_context().unwrap(), Some(b4.next_context.clone()));
        assert_eq!(s.tip().unwrap().unwrap().height, 4);
    }
}
