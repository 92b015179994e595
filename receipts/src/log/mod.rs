//! The append-only receipt log: one canonical envelope per line, one writer at a time.
//!
//! Files: `<log>` (the receipts), `<log>.lock` (held with an exclusive OS advisory
//! lock by the single writer) and `<log>.checkpoints/` (signed checkpoint notes).
//!
//! - this module: the [`LogWriter`] (open, append, group commit, checkpoints) and [`LogError`];
//! - `batch`: chaining and signing a batch of statements into log lines;
//! - `lock`: the single-writer lock file;
//! - `torn`: splitting the log into lines, and the incomplete last line of a crash.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod batch;
mod lock;
mod torn;

pub use lock::lock_path;
pub use torn::{repair_torn_tail, split_lines, TornTail};

use crate::format::digest::DigestSet;
use crate::format::envelope::{open_line, FormatError};
use crate::format::jcs::CanonicalError;
use crate::format::keys::Signer;
use crate::format::statement::{
    check_draft, check_network, Draft, Parent, StatementError, StatementFields, StatementParts,
};
use crate::proofs::checkpoint::{
    check_origin, checkpoints_dir, latest_note, note_file_name, origin_for, Checkpoint,
};
use crate::proofs::merkle::{leaf_hash, root, Hash};
use crate::verification::parallel::{default_threads, map_chunks_dynamic};
use batch::{chain_and_sign, SignedBatch, SIGN_CHUNK};
use lock::acquire_lock;

/// A log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another writer holds the lock.
    #[error("{lock} is locked by another writer; only one writer may append to a log")]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },
    /// The last line is incomplete (a crash during an append).
    #[error("{path}: line {} at byte offset {} is incomplete ({} bytes without a final newline); run the explicit torn-tail repair to cut it", tail.line, tail.offset, tail.bytes.len())]
    TornTail {
        /// The log.
        path: PathBuf,
        /// The incomplete line.
        tail: TornTail,
    },
    /// The last receipt cannot be read, so the log cannot be extended.
    #[error("{path}: line {line}: {error}")]
    Malformed {
        /// The log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why it cannot be read.
        error: FormatError,
    },
    /// The log belongs to another network.
    #[error("{path}: log is for network {found:?}, not {expected:?}")]
    NetworkMismatch {
        /// The log.
        path: PathBuf,
        /// The network in the log.
        found: String,
        /// The network asked for.
        expected: String,
    },
    /// A draft or option is invalid.
    #[error("invalid receipt: {0}")]
    Invalid(String),
    /// An earlier write failed; the state on disk is unknown until the log is reopened.
    #[error("an earlier append failed; reopen the log to check its tail")]
    Poisoned,
}

impl From<StatementError> for LogError {
    fn from(e: StatementError) -> Self {
        LogError::Invalid(e.to_string())
    }
}

impl From<CanonicalError> for LogError {
    fn from(e: CanonicalError) -> Self {
        LogError::Invalid(e.to_string())
    }
}

pub(super) fn io(path: &Path) -> impl Fn(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Options of a log writer.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The network every receipt of this log belongs to.
    pub network: String,
    /// Checkpoint origin; defaults to `netwright/<network>`.
    pub origin: Option<String>,
    /// Write a signed checkpoint whenever the size passes a multiple of this number.
    pub checkpoint_every: Option<u64>,
}

/// What one append produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The receipt's sequence number.
    pub seq: u64,
    /// Digests of its statement bytes.
    pub digest: DigestSet,
    /// Its Merkle leaf hash.
    pub leaf: Hash,
}

/// The single writer of a log. Holds the lock until dropped.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    _lock: File,
    signer: Signer,
    network: String,
    origin: String,
    head: Option<(u64, DigestSet)>,
    leaves: Vec<Hash>,
    checkpoint_every: Option<u64>,
    last_checkpoint: u64,
    poisoned: bool,
}

impl LogWriter {
    /// Locks and opens (or creates) the log. Fails on a torn tail or an unreadable last line.
    pub fn open(path: &Path, signer: Signer, options: LogOptions) -> Result<Self, LogError> {
        check_network(&options.network).map_err(LogError::Invalid)?;
        let origin = options
            .origin
            .unwrap_or_else(|| origin_for(&options.network));
        check_origin(&origin).map_err(LogError::Invalid)?;
        let lock = acquire_lock(path)?;
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io(path))?;
        if !existed {
            sync_parent(path)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(path))?;
        let (lines, torn) = split_lines(&bytes);
        if let Some(tail) = torn {
            return Err(LogError::TornTail {
                path: path.to_owned(),
                tail,
            });
        }
        let leaves: Vec<Hash> = lines.iter().map(|r| leaf_hash(&bytes[r.clone()])).collect();
        let head = match lines.last() {
            None => None,
            Some(range) => {
                let last =
                    open_line(&bytes[range.clone()]).map_err(|error| LogError::Malformed {
                        path: path.to_owned(),
                        line: lines.len(),
                        error,
                    })?;
                if last.receipt.network != options.network {
                    return Err(LogError::NetworkMismatch {
                        path: path.to_owned(),
                        found: last.receipt.network,
                        expected: options.network,
                    });
                }
                Some((last.receipt.seq, last.digest))
            }
        };
        let dir = checkpoints_dir(path);
        let last_checkpoint = latest_note(&dir)
            .map_err(io(&dir))?
            .and_then(|(p, _)| {
                p.file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or(0);
        Ok(Self {
            path: path.to_owned(),
            file,
            _lock: lock,
            signer,
            network: options.network,
            origin,
            head,
            leaves,
            checkpoint_every: options.checkpoint_every.filter(|n| *n > 0),
            last_checkpoint,
            poisoned: false,
        })
    }

    /// Number of receipts in the log.
    pub fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Whether the log holds no receipt.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Merkle leaf hashes of all receipts, in order.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    /// The checkpoint origin of this log.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Appends one receipt, fsynced before returning.
    pub fn append(&mut self, draft: Draft) -> Result<Appended, LogError> {
        let mut out = self.append_batch(vec![draft])?;
        out.pop().ok_or(LogError::Poisoned)
    }

    /// Appends receipts as one group commit: one write and one fsync for the batch.
    ///
    /// Statements are serialized in parallel (everything but the parent link),
    /// then chained in order (the only sequential step: splice in the parent,
    /// hash) while the other threads sign the statements already chained.
    pub fn append_batch(&mut self, drafts: Vec<Draft>) -> Result<Vec<Appended>, LogError> {
        if self.poisoned {
            return Err(LogError::Poisoned);
        }
        let threads = default_threads();
        let first_seq = self.head.map_or(0, |(seq, _)| seq + 1);
        let actor = self.signer.id();
        let network = self.network.as_str();
        let parts: Vec<Result<StatementParts, LogError>> =
            map_chunks_dynamic(&drafts, threads, SIGN_CHUNK, |start, part| {
                part.iter()
                    .enumerate()
                    .map(|(k, draft)| {
                        check_draft(draft)?;
                        Ok(StatementParts::new(StatementFields {
                            seq: first_seq + (start + k) as u64,
                            kind: &draft.kind,
                            time: &draft.time,
                            network,
                            actor: &actor,
                            subject: &draft.subject,
                            body: &draft.body,
                        })?)
                    })
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect();
        let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
        let parent = match self.head {
            None => Parent::Genesis,
            Some((_, digest)) => Parent::Receipt(digest),
        };
        let SignedBatch { bytes, receipts } = chain_and_sign(&parts, parent, &self.signer, threads);
        drop(parts);
        let appended: Vec<Appended> = receipts
            .into_iter()
            .enumerate()
            .map(|(k, (digest, leaf))| Appended {
                seq: first_seq + k as u64,
                digest,
                leaf,
            })
            .collect();
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.poisoned = true;
            return Err(LogError::Io {
                path: self.path.clone(),
                source,
            });
        }
        if let Some(last) = appended.last() {
            self.head = Some((last.seq, last.digest));
        }
        self.leaves.extend(appended.iter().map(|a| a.leaf));
        if let Some(every) = self.checkpoint_every {
            if self.len() / every > self.last_checkpoint / every {
                self.checkpoint()?;
            }
        }
        Ok(appended)
    }

    /// Signs a checkpoint over the whole log and stores it in `<log>.checkpoints/`.
    pub fn checkpoint(&mut self) -> Result<(Checkpoint, PathBuf), LogError> {
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size: self.len(),
            root: root(&self.leaves),
        };
        let note = checkpoint.sign(&self.signer);
        let dir = checkpoints_dir(&self.path);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let name = note_file_name(checkpoint.size);
        let tmp = dir.join(format!(".{name}.tmp"));
        let target = dir.join(name);
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(note.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &target).map_err(io(&target))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))?;
        self.last_checkpoint = checkpoint.size;
        Ok((checkpoint, target))
    }
}

fn sync_parent(path: &Path) -> Result<(), LogError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io(parent))
}
