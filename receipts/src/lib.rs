//! Receipts: chained, dual-hashed, signed records of every reconciliation and gate check.
//!
//! A receipt is an in-toto Statement v1 in a DSSE envelope signed with ed25519. Its
//! statement bytes are RFC 8785 canonical JSON; the next receipt links to it by both
//! SHA-256 and BLAKE3. Receipts live one per line in an append-only log with a single
//! writer, covered by an RFC 9162 Merkle tree and signed checkpoints. The format is
//! specified in `docs/receipts.md`.

#![forbid(unsafe_code)]

mod batch;
pub mod checkpoint;
pub mod digest;
mod digest_map;
pub mod envelope;
pub mod jcs;
pub mod keys;
pub mod log;
pub mod merkle;
pub mod parallel;
pub mod scan;
pub mod signature;
pub mod statement;
pub mod stop;
pub mod time;
pub mod verify;

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
