//! The node driver: the deterministic heart of the node runtime.
//!
//! This crate has no sockets, clocks, files, threads or async runtime: the node's runtime
//! (`netwright-node`) and the simulator (`netwright-sim`) both run this very code, one over
//! real I/O and one over a seeded simulated network.
//!
//! It composes the consensus machine (`netwright-consensus`), the ledger (`netwright-ledger`)
//! and the mempool into one state machine. The runtime feeds it [`Input`]s (peer messages, transactions, timers, synced blocks, storage
//! acknowledgements), each with the current time, and carries out the returned [`Command`]s in
//! order: persist WAL records, broadcast, gossip, schedule timers, commit blocks atomically,
//! request block sync. The contract is in `docs/driver.md`.
//!
//! Modules:
//! - [`io`]: inputs, verdicts, commands, commits, events, restore data;
//! - [`core`]: the [`Driver`] itself;
//! - [`app`]: block execution for proposals, validation and commits (state root placement);
//! - [`mempool`]: the bounded, nonce-ordered transaction pool (generic over the transaction);
//! - [`pool`]: the ledger's transactions in the generic [`mempool`];
//! - [`sync`]: when to ask peers for blocks, and blocks received ahead of time;
//! - [`codec`]: size-limited decoding of untrusted bytes;
//! - [`config`], [`error`], [`status`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod codec;
pub mod config;
pub mod core;
pub mod error;
pub mod io;
pub mod mempool;
pub mod pool;
pub mod status;
pub mod sync;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
#[cfg(test)]
mod tests;

pub use config::DriverConfig;
pub use core::Driver;
pub use error::DriverError;
pub use io::{
    Command, Commit, CommittedState, Event, Ignored, Input, Reaction, Restore, Timer, TxOrigin,
    Verdict,
};
pub use pool::{prepare_hashed_txs, prepare_txs, PreparedTx};
pub use status::{OwnValidator, Status};
