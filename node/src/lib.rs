//! The node runtime: wires the consensus and ledger cores to networking, storage and RPC.
//!
//! Modules, each usable and tested on its own:
//! - [`config`] and [`home`]: the node home (`config.toml`, `genesis.json`, node key, data);
//! - [`keys`]: the ed25519 node identity;
//! - [`p2p`]: libp2p networking (gossip, block sync, peer discipline);
//! - [`storage`]: the durable redb database;
//! - [`rpc`]: the HTTP/JSON API and Prometheus metrics;
//! - [`loadgen`]: the load generator (`netwright-node loadgen`);
//! - [`testnet`]: homes for a local network of validators;
//! - [`runtime`]: what `netwright-node run` starts.
//!
//! The deterministic core the runtime drives (consensus, ledger, mempool, evidence, block
//! sync) is the `netwright-driver` crate, re-exported here as [`driver`].

#![warn(missing_docs)]

pub mod config;
pub mod home;
pub mod keys;
pub mod loadgen;
pub mod p2p;
pub mod rpc;
pub mod runtime;
pub mod storage;
pub mod testnet;

pub use netwright_driver as driver;
pub use netwright_driver::mempool;
