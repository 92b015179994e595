//! The node driver: the deterministic heart of the node runtime.
//!
//! It composes the consensus machine (`netwright-consensus`), the ledger (`netwright-ledger`)
//! and the mempool into one state machine with no sockets, clocks, files or threads. The async
//! runtime feeds it [`Input`]s (peer messages, transactions, timers, synced blocks, storage
//! acknowledgements), each with the current time, and carries out the returned [`Command`]s in
//! order: persist WAL records, broadcast, gossip, schedule timers, commit blocks atomically,
//! request block sync. The contract is in `docs/driver.md`.
//!
//! Modules:
//! - [`io`]: inputs, verdicts, commands, commits, events, restore data;
//! - [`core`]: the [`Driver`] itself;
//! - [`app`]: block execution for proposals, validation and commits (state root placement);
//! - [`pool`]: the ledger's transactions in the generic [`crate::mempool`];
//! - [`sync`]: when to ask peers for blocks, and blocks received ahead of time;
//! - [`codec`]: size-limited decoding of untrusted bytes;
//! - [`config`], [`error`], [`status`].

pub mod app;
pub mod codec;
pub mod config;
pub mod core;
pub mod error;
pub mod io;
pub mod pool;
pub mod status;
pub mod sync;

#[cfg(test)]
pub(crate) mod testkit;
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
