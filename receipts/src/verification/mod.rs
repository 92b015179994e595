//! Verification: reading a whole log back and reporting every problem with its location.
//!
//! - [`verify`]: the verifier ([`verify::verify_bytes`]), its options and report;
//! - `findings`: the problems it reports ([`Finding`](verify::Finding)), one per line at fault;
//! - [`parallel`]: the scoped-thread maps over chunks of lines that reading, signing and
//!   verifying share;
//! - `digest_map`: hash maps keyed by digests that a log's writer cannot make collide;
//! - [`stop`]: the StopRule hook, a failed verification as a typed reason to halt.

mod digest_map;
mod findings;
pub mod parallel;
pub mod stop;
pub mod verify;
