//! The receipt format, byte for byte: what a receipt says, how it is encoded and signed.
//!
//! - [`statement`]: the in-toto Statement v1 and its netwright predicate;
//! - [`jcs`]: RFC 8785 canonical JSON, as receipts use it;
//! - [`envelope`]: DSSE envelopes, one per log line, and the reference line reader;
//! - [`scan`]: the fast line reader, which accepts a subset of what the reference accepts;
//! - [`digest`]: the dual SHA-256 and BLAKE3 digest that names a receipt;
//! - [`time`]: RFC 3339 UTC timestamps;
//! - [`keys`], [`signature`]: ed25519 keys, key ids, key files and the ZIP-215 signature rule.

pub mod digest;
pub mod envelope;
pub mod jcs;
pub mod keys;
pub mod scan;
pub mod signature;
pub mod statement;
pub mod time;
