//! `netwright-node testnet`: homes for a local network of validators on loopback.
//!
//! Each node gets a home (`node<i>/`) with its own key, a `config.toml` listening on loopback
//! ports derived from a base port (p2p `base + 2i`, RPC `base + 2i + 1`) with every other node
//! as a persistent peer and consensus timeouts tuned for loopback ([`local_timeouts`]), and one
//! shared `genesis.json` in which the first `validators` nodes are funded, staked validators.
//! The `full_nodes` homes after them have keys that are not in genesis: they follow the chain.

use std::path::PathBuf;

use netwright_ledger::{
    Address, Genesis, GenesisAccount, GenesisValidator, Params, PublicKey, PublicKeyError,
};

use crate::config::Config;
use crate::home::{write_genesis, Home, HomeError};
use crate::keys::NodeKey;

/// Stake of every validator.
pub const VALIDATOR_STAKE: u64 = 1_000_000;
/// Spendable balance of every validator's account.
pub const VALIDATOR_BALANCE: u64 = 1_000_000_000_000;

/// What to create.
#[derive(Clone, Debug)]
pub struct TestnetSpec {
    /// Number of validators (at least 1).
    pub validators: usize,
    /// Number of full nodes after the validators (`node<validators>/`, ...): keys that are
    /// neither validators nor funded in genesis.
    pub full_nodes: usize,
    /// Directory that receives `node0/`, `node1/`, ...
    pub out: PathBuf,
    /// First port: node i listens on `base_port + 2i` (p2p) and `base_port + 2i + 1` (RPC).
    pub base_port: u16,
    /// Chain id of the network.
    pub chain_id: String,
    /// Genesis time, milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
}

/// One created node.
#[derive(Clone, Debug)]
pub struct TestnetNode {
    /// Its home directory.
    pub home: PathBuf,
    /// Its RPC address (`127.0.0.1:port`).
    pub rpc: String,
    /// Its libp2p peer id.
    pub peer_id: String,
}

/// Why the network could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    /// A bad argument.
    #[error("argument `{arg}`: value `{value}`: {reason}")]
    Invalid {
        /// The argument.
        arg: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// Writing a home failed.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// A generated key is not usable as a validator key.
    #[error("validator key: {0}")]
    Key(#[from] PublicKeyError),
}

/// Creates the homes and the shared genesis. Refuses to overwrite existing homes.
pub fn create(spec: &TestnetSpec) -> Result<Vec<TestnetNode>, TestnetError> {
    let n = spec.validators + spec.full_nodes;
    if spec.validators == 0 {
        return Err(TestnetError::Invalid {
            arg: "--validators",
            value: spec.validators.to_string(),
            reason: "at least one validator is needed".into(),
        });
    }
    let top = (spec.base_port as usize) + 2 * n;
    if top > usize::from(u16::MAX) {
        return Err(TestnetError::Invalid {
            arg: "--base-port",
            value: spec.base_port.to_string(),
            reason: format!("{n} nodes need ports up to {top}, above 65535"),
        });
    }
    let port = |i: usize, off: usize| spec.base_port as usize + 2 * i + off;
    let homes: Vec<Home> = (0..n)
        .map(|i| Home::new(spec.out.join(format!("node{i}"))))
        .collect();
    let mut keys = Vec::with_capacity(n);
    for (i, home) in homes.iter().enumerate() {
        keys.push(home.init(&node_config(i, Vec::new(), port(i, 0), port(i, 1)))?);
    }
    let mut nodes = Vec::with_capacity(n);
    for (i, home) in homes.iter().enumerate() {
        let peers = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                format!(
                    "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                    port(j, 0),
                    keys[j].peer_id()
                )
            })
            .collect();
        let config = node_config(i, peers, port(i, 0), port(i, 1));
        rewrite_config(home, &config)?;
        nodes.push(TestnetNode {
            home: home.root().to_path_buf(),
            rpc: config.rpc.listen.clone(),
            peer_id: keys[i].peer_id().to_string(),
        });
    }
    let genesis = genesis(spec, &keys[..spec.validators])?;
    for home in &homes {
        write_genesis(&home.genesis_path(), &genesis)?;
    }
    Ok(nodes)
}

fn node_config(i: usize, peers: Vec<String>, p2p: usize, rpc: usize) -> Config {
    let mut c = Config {
        moniker: format!("node{i}"),
        ..Config::default()
    };
    c.p2p.listen = format!("/ip4/127.0.0.1/tcp/{p2p}");
    c.p2p.persistent_peers = peers;
    c.p2p.redial_initial_ms = 200;
    c.p2p.redial_max_ms = 2_000;
    c.rpc.listen = format!("127.0.0.1:{rpc}");
    local_timeouts(&mut c);
    c
}

/// Sets consensus timeouts for a network on one machine or one LAN: messages arrive within
/// milliseconds, so rounds can fail fast, and a 50 ms pause after each commit paces blocks.
pub fn local_timeouts(c: &mut Config) {
    let t = &mut c.consensus;
    t.timeout_propose_ms = 400;
    t.timeout_propose_delta_ms = 100;
    t.timeout_prevote_ms = 100;
    t.timeout_prevote_delta_ms = 50;
    t.timeout_precommit_ms = 100;
    t.timeout_precommit_delta_ms = 50;
    t.timeout_commit_ms = 50;
}

fn rewrite_config(home: &Home, config: &Config) -> Result<(), HomeError> {
    let path = home.config_path();
    let text = config.to_toml().map_err(|e| HomeError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, text).map_err(|source| HomeError::Io { path, source })
}

fn genesis(spec: &TestnetSpec, keys: &[NodeKey]) -> Result<Genesis, TestnetError> {
    let mut accounts = Vec::new();
    let mut validators = Vec::new();
    for key in keys {
        let public_key = PublicKey::from_bytes(key.public_bytes())?;
        accounts.push(GenesisAccount {
            address: Address::from_public_key(&public_key),
            balance: VALIDATOR_BALANCE,
        });
        validators.push(GenesisValidator {
            public_key,
            stake: VALIDATOR_STAKE,
        });
    }
    Ok(Genesis {
        chain_id: spec.chain_id.clone(),
        initial_height: 1,
        genesis_time_ms: spec.genesis_time_ms,
        params: Params {
            unbonding_period_blocks: 100,
            min_validator_stake: VALIDATOR_STAKE,
            max_txs_per_block: 10_000,
        },
        accounts,
        validators,
        economics: Default::default(),
        servicers: Vec::new(),
        applications: Vec::new(),
        fishermen: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(dir: &Path, n: usize) -> TestnetSpec {
        TestnetSpec {
            validators: n,
            full_nodes: 0,
            out: dir.to_path_buf(),
            base_port: 40_000,
            chain_id: "local-1".into(),
            genesis_time_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn creates_loadable_homes_that_peer_with_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let nodes = create(&spec(dir.path(), 3)).unwrap();
        assert_eq!(nodes.len(), 3);
        let loaded: Vec<_> = nodes
            .iter()
            .map(|n| Home::new(&n.home).load().unwrap())
            .collect();
        for (i, l) in loaded.iter().enumerate() {
            assert_eq!(l.genesis, loaded[0].genesis);
            assert_eq!(l.genesis.validators.len(), 3);
            assert_eq!(l.checked.persistent_peers.len(), 2);
            assert_eq!(l.config.rpc.listen, format!("127.0.0.1:{}", 40_001 + 2 * i));
            assert_eq!(l.key.peer_id().to_string(), nodes[i].peer_id);
            assert!(l
                .genesis
                .validators
                .iter()
                .any(|v| v.public_key.as_bytes() == &l.key.public_bytes()));
        }
        let err = create(&spec(dir.path(), 3)).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
    }

    #[test]
    fn full_nodes_peer_with_everyone_but_are_not_in_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), 2);
        s.full_nodes = 1;
        let nodes = create(&s).unwrap();
        assert_eq!(nodes.len(), 3);
        let loaded: Vec<_> = nodes
            .iter()
            .map(|n| Home::new(&n.home).load().unwrap())
            .collect();
        let full = &loaded[2];
        assert_eq!(full.genesis.validators.len(), 2);
        assert_eq!(full.genesis.accounts.len(), 2);
        assert!(!full
            .genesis
            .validators
            .iter()
            .any(|v| v.public_key.as_bytes() == &full.key.public_bytes()));
        for l in &loaded {
            assert_eq!(l.checked.persistent_peers.len(), 2);
            assert_eq!(l.config.consensus.timeout_commit_ms, 50);
        }
        assert!(nodes[2].home.ends_with("node2"));
        assert_eq!(full.config.rpc.listen, "127.0.0.1:40005");
    }

    #[test]
    fn refuses_zero_validators_and_ports_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut zero = spec(dir.path(), 0);
        zero.full_nodes = 2;
        let err = create(&zero).unwrap_err().to_string();
        assert!(err.contains("--validators"), "{err}");
        let mut s = spec(dir.path(), 4);
        s.base_port = 65_530;
        let err = create(&s).unwrap_err().to_string();
        assert!(
            err.contains("--base-port") && err.contains("65530"),
            "{err}"
        );
    }
}
