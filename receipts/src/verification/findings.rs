//! What the verifier reports: one [`Finding`] per problem, each naming its line and what is
//! wrong there.

use std::fmt;

use crate::format::digest::{Algorithm, DigestSet};
use crate::format::envelope::FormatError;
use crate::format::keys::KeyId;
use crate::proofs::merkle::Hash;

/// One problem found in a log. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The last line has no newline: an interrupted append.
    TornTail {
        /// Line number of the incomplete line.
        line: usize,
        /// Byte offset where it starts.
        offset: u64,
        /// Its length in bytes.
        len: usize,
    },
    /// A line is not a well-formed canonical receipt.
    Malformed {
        /// Line number.
        line: usize,
        /// Why.
        error: FormatError,
    },
    /// The signature's key id is not among the trusted keys.
    UnknownKey {
        /// Line number.
        line: usize,
        /// Sequence number claimed.
        seq: u64,
        /// The unknown key id.
        keyid: KeyId,
    },
    /// The signature does not verify: the statement or the signature was modified.
    BadSignature {
        /// Line number.
        line: usize,
        /// Sequence number claimed.
        seq: u64,
        /// The (trusted) key id the signature names.
        keyid: KeyId,
    },
    /// The statement's actor is not the key that signed it.
    ActorMismatch {
        /// Line number.
        line: usize,
        /// Sequence number claimed.
        seq: u64,
        /// The actor in the statement.
        actor: KeyId,
        /// The key id of the signature.
        keyid: KeyId,
    },
    /// A receipt names another network than the first receipt of the log.
    NetworkMismatch {
        /// Line number.
        line: usize,
        /// Sequence number claimed.
        seq: u64,
        /// Network of the first receipt.
        expected: String,
        /// Network of this receipt.
        found: String,
    },
    /// Sequence 0 without the genesis marker.
    NotGenesis {
        /// Line number.
        line: usize,
    },
    /// A receipt other than the first claims to be genesis.
    UnexpectedGenesis {
        /// Line number.
        line: usize,
        /// Sequence number claimed.
        seq: u64,
        /// Line of an earlier genesis receipt, if any.
        first_line: Option<usize>,
    },
    /// The parent link does not match the digests of the previous receipt.
    ParentMismatch {
        /// Line number of the receipt whose link is wrong.
        line: usize,
        /// Its sequence number.
        seq: u64,
        /// Line number of the previous receipt.
        prev_line: usize,
        /// Sequence number of the previous receipt.
        prev_seq: u64,
        /// Algorithms whose digests differ.
        algorithms: Vec<Algorithm>,
        /// Digests of the previous receipt as read.
        actual: DigestSet,
        /// Digests claimed by the parent link.
        claimed: DigestSet,
    },
    /// One or more receipts between two lines are absent.
    Missing {
        /// Line number of the receipt after the gap.
        line: usize,
        /// The sequence number that should have come here.
        expected_seq: u64,
        /// The sequence number found.
        found_seq: u64,
    },
    /// The chain is intact but the sequence number is not previous + 1.
    WrongSequence {
        /// Line number.
        line: usize,
        /// Expected sequence number.
        expected_seq: u64,
        /// Sequence number found.
        found_seq: u64,
    },
    /// A line repeats an earlier line byte for byte.
    Duplicate {
        /// Line number of the repeat.
        line: usize,
        /// Its sequence number.
        seq: u64,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A receipt sits elsewhere than right after its parent.
    Reordered {
        /// Line number.
        line: usize,
        /// Its sequence number.
        seq: u64,
        /// Line where its parent is.
        parent_line: usize,
    },
    /// Two different receipts claim the same parent.
    Fork {
        /// Line of the common parent, when present in the log.
        parent_line: Option<usize>,
        /// Line of the first child.
        first_line: usize,
        /// Line of the second child.
        second_line: usize,
    },
    /// The log is shorter than a trusted checkpoint.
    Truncated {
        /// Receipts covered by the checkpoint.
        checkpoint_size: u64,
        /// Receipts (complete lines) in the log.
        log_size: u64,
    },
    /// A receipt signed by a trusted key has a body nested deeper than the format
    /// allows. The statement is not read, so its chain link is not checked. (A
    /// line with such a body and no valid trusted signature is `Malformed`.)
    BodyTooDeep {
        /// Line number.
        line: usize,
        /// How deeply the body nests (the body object counting as 1).
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// The checkpoint names another log than this one in its origin.
    CheckpointOriginMismatch {
        /// The checkpoint's origin.
        origin: String,
        /// The origin of this log's checkpoints.
        expected: String,
    },
    /// The first `size` lines do not hash to the checkpoint's root.
    CheckpointRootMismatch {
        /// Checkpoint size.
        size: u64,
        /// Root in the checkpoint.
        expected: Hash,
        /// Root recomputed from the log.
        computed: Hash,
    },
}

fn algorithms_text(algorithms: &[Algorithm]) -> String {
    algorithms
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::TornTail { line, offset, len } => write!(
                f,
                "line {line}: torn tail: {len} bytes at byte offset {offset} without a final newline (interrupted append)"
            ),
            Finding::Malformed { line, error } => write!(f, "line {line}: malformed receipt: {error}"),
            Finding::UnknownKey { line, seq, keyid } => {
                write!(f, "line {line} (seq {seq}): signed by unknown key {keyid}")
            }
            Finding::BadSignature { line, seq, keyid } => write!(
                f,
                "line {line} (seq {seq}): signature by key {keyid} does not verify: statement or signature bytes were modified"
            ),
            Finding::ActorMismatch { line, seq, actor, keyid } => write!(
                f,
                "line {line} (seq {seq}): actor {actor} is not the signing key {keyid}"
            ),
            Finding::NetworkMismatch { line, seq, expected, found } => write!(
                f,
                "line {line} (seq {seq}): network {found:?} differs from the log's network {expected:?}"
            ),
            Finding::NotGenesis { line } => {
                write!(f, "line {line} (seq 0): seq 0 must have parent \"genesis\"")
            }
            Finding::UnexpectedGenesis { line, seq, first_line } => match first_line {
                Some(first) => write!(
                    f,
                    "line {line} (seq {seq}): second genesis receipt (first at line {first})"
                ),
                None => write!(f, "line {line} (seq {seq}): only seq 0 may have parent \"genesis\""),
            },
            Finding::ParentMismatch {
                line,
                seq,
                prev_line,
                prev_seq,
                algorithms,
                actual,
                claimed,
            } => {
                let verb = if algorithms.len() > 1 { "do" } else { "does" };
                write!(
                    f,
                    "line {line} (seq {seq}): parent {} {verb} not match line {prev_line} (seq {prev_seq}):",
                    algorithms_text(algorithms)
                )?;
                for a in algorithms {
                    write!(
                        f,
                        " {a} claimed {} but line {prev_line} hashes to {};",
                        hex::encode(claimed.get(*a)),
                        hex::encode(actual.get(*a))
                    )?;
                }
                write!(f, " receipt at line {prev_line} was modified or replaced")
            }
            Finding::Missing { line, expected_seq, found_seq } => {
                if found_seq.saturating_sub(*expected_seq) <= 1 {
                    write!(
                        f,
                        "line {line} (seq {found_seq}): receipt seq {expected_seq} is missing before it"
                    )
                } else {
                    write!(
                        f,
                        "line {line} (seq {found_seq}): receipts seq {expected_seq}..={} are missing before it",
                        found_seq - 1
                    )
                }
            }
            Finding::WrongSequence { line, expected_seq, found_seq } => write!(
                f,
                "line {line}: wrong sequence number {found_seq}, expected {expected_seq} (chain link intact)"
            ),
            Finding::Duplicate { line, seq, first_line } => write!(
                f,
                "line {line} (seq {seq}): duplicate of line {first_line}"
            ),
            Finding::Reordered { line, seq, parent_line } => write!(
                f,
                "line {line} (seq {seq}): out of order: its parent is at line {parent_line}"
            ),
            Finding::Fork { parent_line, first_line, second_line } => match parent_line {
                Some(p) => write!(
                    f,
                    "fork: lines {first_line} and {second_line} both claim line {p} as parent"
                ),
                None => write!(
                    f,
                    "fork: lines {first_line} and {second_line} claim the same parent"
                ),
            },
            Finding::Truncated { checkpoint_size, log_size } => write!(
                f,
                "log truncated: checkpoint covers {checkpoint_size} receipts but the log has {log_size}; lines {}..={checkpoint_size} are missing",
                log_size + 1
            ),
            Finding::BodyTooDeep { line, depth, limit } => write!(
                f,
                "line {line}: body nested {depth} deep, limit {limit}: a signed receipt outside the format (its chain link is not checked)"
            ),
            Finding::CheckpointOriginMismatch { origin, expected } => write!(
                f,
                "checkpoint origin {origin:?} is not this log's {expected:?}: the checkpoint belongs to another log"
            ),
            Finding::CheckpointRootMismatch { size, expected, computed } => write!(
                f,
                "first {size} lines hash to root {} but the checkpoint says {}: history was rewritten",
                hex::encode(computed),
                hex::encode(expected)
            ),
        }
    }
}
