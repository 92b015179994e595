//! From a node's declared [`NodeConfig`] and the ports and peers the backend chose to the files
//! in its home: `config.toml` (what `netwright-node run` reads) and `netwright.json` (the
//! declared configuration with managed relay chain endpoints filled in, and its digest).

use std::collections::BTreeMap;

use netwright_node_api::config::Config;
use serde::{Deserialize, Serialize};

use crate::plan::topology::RelayTarget;
use crate::plan::{Digest, NodeConfig, Role};

/// Where a node listens and whom it dials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    /// Node name (the moniker).
    pub name: String,
    /// libp2p port on 127.0.0.1.
    pub p2p_port: u16,
    /// RPC port on 127.0.0.1.
    pub rpc_port: u16,
    /// Every other node of the network: `(p2p port, peer id)`.
    pub peers: Vec<(u16, String)>,
}

/// The node configuration file for `config` wired as `wiring`. Fields the declaration does
/// not set keep the node's defaults.
pub fn node_toml_config(config: &NodeConfig, wiring: &Wiring) -> Config {
    let mut c = Config {
        moniker: wiring.name.clone(),
        ..Config::default()
    };
    c.p2p.listen = format!("/ip4/127.0.0.1/tcp/{}", wiring.p2p_port);
    c.p2p.persistent_peers = wiring
        .peers
        .iter()
        .map(|(port, peer)| format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}"))
        .collect();
    c.p2p.redial_initial_ms = 200;
    c.p2p.redial_max_ms = 2_000;
    c.rpc.listen = format!("127.0.0.1:{}", wiring.rpc_port);
    let t = &config.consensus;
    c.consensus.timeout_propose_ms = t.propose_ms.max(1);
    c.consensus.timeout_prevote_ms = t.prevote_ms.max(1);
    c.consensus.timeout_precommit_ms = t.precommit_ms.max(1);
    c.consensus.timeout_commit_ms = t.commit_ms;
    c.consensus.block_interval_ms = t.block_interval_ms;
    c
}

/// A served relay chain with its address resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedChain {
    /// Relay chain id.
    pub id: String,
    /// JSON-RPC methods forwarded.
    pub allowed_methods: Vec<String>,
    /// Where requests go (`None`: a managed chain that has not been started yet).
    pub endpoint: Option<String>,
    /// Whether netwright runs the chain.
    pub managed: bool,
}

/// `netwright.json` in a node home: the declared configuration as written, its digest, and
/// the relay chain endpoints it was resolved with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSettings {
    /// Digest of `config` (`NodeConfig::digest`).
    pub digest: Digest,
    /// The node's role.
    pub role: Role,
    /// The declared configuration.
    pub config: NodeConfig,
    /// Relay chains served, with their endpoints.
    pub relay_chains: Vec<ResolvedChain>,
}

impl NodeSettings {
    /// The settings of `config`, with managed chains resolved through `managed` (relay chain id
    /// to endpoint URL).
    pub fn new(config: &NodeConfig, managed: &BTreeMap<String, String>) -> NodeSettings {
        let relay_chains = config
            .relay_chains
            .iter()
            .map(|c| {
                let (endpoint, is_managed) = match &c.target {
                    RelayTarget::Endpoint { url } => (Some(url.clone()), false),
                    RelayTarget::Managed => (managed.get(&c.id).cloned(), true),
                };
                ResolvedChain {
                    id: c.id.clone(),
                    allowed_methods: c.allowed_methods.clone(),
                    endpoint,
                    managed: is_managed,
                }
            })
            .collect();
        NodeSettings {
            digest: config.digest(),
            role: config.role,
            config: config.clone(),
            relay_chains,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::topology::{ConsensusConfig, ServedChain};

    fn declared() -> NodeConfig {
        NodeConfig {
            role: Role::Servicer,
            relay_chains: vec![
                ServedChain {
                    id: "0021".into(),
                    allowed_methods: vec!["eth_blockNumber".into()],
                    target: RelayTarget::Managed,
                },
                ServedChain {
                    id: "0001".into(),
                    allowed_methods: vec!["getblock".into()],
                    target: RelayTarget::Endpoint {
                        url: "http://rpc.example:8545".into(),
                    },
                },
            ],
            consensus: ConsensusConfig {
                block_interval_ms: 1000,
                propose_ms: 700,
                prevote_ms: 300,
                precommit_ms: 200,
                commit_ms: 50,
                max_block_bytes: 1 << 20,
            },
        }
    }

    #[test]
    fn config_maps_ports_peers_and_timeouts_and_passes_validation() {
        let wiring = Wiring {
            name: "servicer-0".into(),
            p2p_port: 21000,
            rpc_port: 21001,
            peers: vec![(
                21002,
                netwright_node_api::keys::NodeKey::generate().peer_id(),
            )],
        };
        let c = node_toml_config(&declared(), &wiring);
        assert_eq!(c.moniker, "servicer-0");
        assert_eq!(c.p2p.listen, "/ip4/127.0.0.1/tcp/21000");
        assert_eq!(c.rpc.listen, "127.0.0.1:21001");
        assert_eq!(c.consensus.timeout_propose_ms, 700);
        assert_eq!(c.consensus.timeout_prevote_ms, 300);
        assert_eq!(c.consensus.timeout_precommit_ms, 200);
        assert_eq!(c.consensus.timeout_commit_ms, 50);
        assert_eq!(c.consensus.block_interval_ms, 1000);
        c.validate(std::path::Path::new("config.toml")).unwrap();
        assert_eq!(c.p2p.persistent_peers.len(), 1);
        assert_eq!(
            c.p2p.persistent_peers[0],
            format!("/ip4/127.0.0.1/tcp/21002/p2p/{}", wiring.peers[0].1)
        );
        let text = c.to_toml().unwrap();
        assert_eq!(
            Config::parse(&text, std::path::Path::new("config.toml")).unwrap(),
            c
        );
    }

    #[test]
    fn settings_resolve_managed_chains_and_keep_the_digest() {
        let managed = BTreeMap::from([("0021".to_owned(), "http://127.0.0.1:21005".to_owned())]);
        let s = NodeSettings::new(&declared(), &managed);
        assert_eq!(s.digest, declared().digest());
        assert_eq!(s.role, Role::Servicer);
        assert_eq!(
            s.relay_chains[0].endpoint.as_deref(),
            Some("http://127.0.0.1:21005")
        );
        assert!(s.relay_chains[0].managed);
        assert_eq!(
            s.relay_chains[1].endpoint.as_deref(),
            Some("http://rpc.example:8545")
        );
        let unresolved = NodeSettings::new(&declared(), &BTreeMap::new());
        assert_eq!(unresolved.relay_chains[0].endpoint, None);
    }
}
