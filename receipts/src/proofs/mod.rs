//! Proofs over the log: the RFC 9162 Merkle tree with inclusion and consistency proofs, and
//! signed checkpoints of its size and root.
//!
//! - [`merkle`]: leaf and node hashes, roots, inclusion and consistency proofs;
//! - [`checkpoint`]: signed-note checkpoints and where the log keeps them.

pub mod checkpoint;
pub mod merkle;
