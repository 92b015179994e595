//! Receipts: chained, dual-hashed, signed records of every reconciliation and gate check.
//!
//! A receipt is an in-toto Statement v1 in a DSSE envelope signed with ed25519. Its
//! statement bytes are RFC 8785 canonical JSON; the next receipt links to it by both
//! SHA-256 and BLAKE3. Receipts live one per line in an append-only log with a single
//! writer, covered by an RFC 9162 Merkle tree and signed checkpoints. The format is
//! specified in `docs/receipts.md`.
//!
//! The crate is grouped by concern:
//! - [`format`](mod@format): the statement, canonical JSON, envelopes, digests, timestamps, keys and the
//!   signature rule; what a receipt is, byte for byte;
//! - [`log`]: the append-only log, its single-writer lock and torn tails;
//! - [`proofs`]: the Merkle tree, inclusion and consistency proofs, signed checkpoints;
//! - [`verification`]: the verifier, its findings, the parallel chunking it shares with the
//!   writer, and the StopRule hook.

#![forbid(unsafe_code)]

pub mod format;
pub mod log;
pub mod proofs;
pub mod verification;

// Every module is also reachable from the crate root (`netwright_receipts::merkle`, ...).
pub use format::{digest, envelope, jcs, keys, scan, signature, statement, time};
pub use proofs::{checkpoint, merkle};
pub use verification::{parallel, stop, verify};

pub use checkpoint::{Checkpoint, CheckpointError};
pub use digest::{Algorithm, DigestSet};
pub use envelope::{open_line, seal, FormatError, SignedReceipt};
pub use keys::{KeyId, Signer, TrustedKeys};
pub use log::{repair_torn_tail, Appended, LogError, LogOptions, LogWriter, TornTail};
pub use merkle::{ConsistencyProof, InclusionProof};
pub use statement::{Draft, Kind, Parent, Receipt, Subject};
pub use stop::{stop_reason, StopReason, StopRule};
pub use time::Timestamp;
pub use verify::{verify_bytes, Finding, Report, VerifyOptions};
