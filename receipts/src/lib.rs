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
//!
//! # Example
//!
//! Append two receipts to a log, then verify it as a third party would, with only the
//! writer's public key:
//!
//! ```
//! use netwright_receipts::{
//!     verify_bytes, DigestSet, Draft, Kind, LogOptions, LogWriter, Signer, Subject, Timestamp,
//!     TrustedKeys, VerifyOptions,
//! };
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("receipts.log");
//! let signer = Signer::from_seed(&[7; 32]);
//! let mut trusted = TrustedKeys::new();
//! trusted.insert(signer.verifying_key());
//!
//! let options = LogOptions { network: "demo".into(), origin: None, checkpoint_every: None };
//! let mut log = LogWriter::open(&path, signer, options)?;
//! for (kind, seconds) in [(Kind::Reconcile, 1_735_689_600), (Kind::Gate, 1_735_689_660)] {
//!     let body = serde_json::json!({ "verdict": "pass" });
//!     log.append(Draft {
//!         kind,
//!         time: Timestamp::from_unix_seconds(seconds),
//!         subject: Subject { spec_digest: DigestSet::of(b"kind: Network\n"), git_commit: None },
//!         body: body.as_object().cloned().unwrap_or_default(),
//!     })?;
//! }
//! drop(log); // releases the single-writer lock
//!
//! let mut bytes = std::fs::read(&path)?;
//! let report = verify_bytes(&bytes, &VerifyOptions::new(&trusted));
//! assert!(report.is_ok(), "{:?}", report.findings);
//! assert_eq!((report.lines, report.head.map(|h| h.seq)), (2, Some(1)));
//!
//! // Any change to a signed byte is found.
//! let at = bytes.len() / 3;
//! bytes[at] ^= 1;
//! assert!(!verify_bytes(&bytes, &VerifyOptions::new(&trusted)).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
