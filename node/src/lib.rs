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
//!
//! # Example
//!
//! Lay out the homes of a four-validator network (keys, `config.toml`, one shared genesis),
//! as `netwright-node testnet` does; each home is then run with `netwright-node run --home`.
//!
//! ```
//! use netwright_node::testnet::{create, TestnetSpec};
//!
//! let out = tempfile::tempdir()?;
//! let nodes = create(&TestnetSpec {
//!     validators: 4,
//!     full_nodes: 0,
//!     out: out.path().to_owned(),
//!     base_port: 26_000,
//!     chain_id: "netwright-demo-1".into(),
//!     genesis_time_ms: 1_700_000_000_000,
//! })?;
//! assert_eq!(nodes.len(), 4);
//! let (config, _) = netwright_node::config::load(&nodes[0].home.join("config.toml"))?;
//! assert_eq!(config.rpc.listen, "127.0.0.1:26001");
//! // Every node names the other three as its peers.
//! assert_eq!(config.p2p.persistent_peers.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
