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
//!
//! # Example
//!
//! A lone validator decides block 1 within one reaction. The runtime writes the WAL records
//! before it sends anything, stores the commit, and says so; only then is the block committed:
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use netwright_driver::{Command, Driver, DriverConfig, Input, Restore};
//! use netwright_ledger::{Genesis, GenesisValidator, Params, PublicKey};
//!
//! let seed = [1; 32];
//! let genesis = Genesis {
//!     chain_id: "demo-1".into(),
//!     initial_height: 1,
//!     genesis_time_ms: 1_000,
//!     params: Params {
//!         unbonding_period_blocks: 10,
//!         min_validator_stake: 100,
//!         max_txs_per_block: 1_000,
//!     },
//!     accounts: vec![],
//!     validators: vec![GenesisValidator {
//!         public_key: PublicKey::from(SigningKey::from_bytes(&seed).verifying_key()),
//!         stake: 1_000,
//!     }],
//!     economics: Default::default(),
//!     servicers: Vec::new(),
//!     applications: Vec::new(),
//!     fishermen: Vec::new(),
//! };
//! let mut driver =
//!     Driver::new(&genesis, Some(seed), Restore::default(), DriverConfig::default())?;
//!
//! let reaction = driver.start(2_000)?;
//! let position = |wanted: fn(&Command) -> bool| reaction.commands.iter().position(wanted);
//! let first_wal = position(|c| matches!(c, Command::PersistWal { .. }));
//! let first_send = position(|c| matches!(c, Command::Broadcast { .. }));
//! assert!(first_wal < first_send);
//! let Some(Command::Commit(commit)) = reaction.commands.last() else {
//!     panic!("a lone validator decides at once: {:?}", reaction.commands);
//! };
//! assert_eq!((commit.height, driver.height()), (1, 0)); // decided, not yet stored
//!
//! // ... the runtime stores `commit` atomically, then:
//! driver.handle(2_010, Input::Committed { height: 1 })?;
//! assert_eq!(driver.height(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
