//! What a backend reports about a network: the planner's only view of the world.

use std::collections::BTreeMap;

use netwright_ledger::{Genesis, PublicKey};
use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::genesis::{genesis_digest, KeySet};

/// One node the backend knows about (its home and key exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedNode {
    /// The node's public key, created once and never regenerated.
    pub public_key: PublicKey,
    /// Digest of the configuration written in its home (see `NodeConfig::digest`); `None`
    /// when none has been written.
    pub config_digest: Option<Digest>,
    /// Whether its store holds chain data (blocks or state).
    pub has_chain_data: bool,
    /// Whether its process (or pod) runs.
    pub running: bool,
    /// Whether it answers its RPC and has caught up with the network.
    pub healthy: bool,
    /// Last committed height it reports, if known.
    pub height: Option<u64>,
    /// Its bonded on-chain validator stake, 0 when it is not a validator.
    pub stake: u64,
}

/// One managed relay chain the backend knows about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRelayChain {
    /// Whether it runs.
    pub running: bool,
    /// Digest of the settings it was started with (see `ManagedChain::digest`).
    pub config_digest: Option<Digest>,
}

/// Everything a backend observed about one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedState {
    /// Whether reconciliation is recorded as paused.
    pub paused: bool,
    /// The orchestrator's treasury key, once created.
    pub treasury_key: Option<PublicKey>,
    /// Application keys by name.
    pub application_keys: BTreeMap<String, PublicKey>,
    /// The genesis document, once written.
    pub genesis: Option<Genesis>,
    /// Nodes by name, including nodes no longer declared.
    pub nodes: BTreeMap<String, ObservedNode>,
    /// Managed relay chains by relay chain id, including chains no longer declared.
    pub relay_chains: BTreeMap<String, ObservedRelayChain>,
}

/// A short account of an observed state, for status lines and receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedSummary {
    /// Nodes known.
    pub nodes: usize,
    /// Nodes running.
    pub running: usize,
    /// Nodes healthy.
    pub healthy: usize,
    /// Nodes with bonded stake.
    pub validators: usize,
    /// Total bonded stake of the known nodes.
    pub total_stake: u128,
    /// Highest height reported by any node.
    pub height: Option<u64>,
    /// Digest of the genesis, if written.
    pub genesis: Option<Digest>,
    /// Managed relay chains running.
    pub relay_chains_running: usize,
}

impl ObservedState {
    /// The public keys known, as genesis construction takes them.
    pub fn keys(&self) -> KeySet {
        KeySet {
            nodes: self
                .nodes
                .iter()
                .map(|(name, n)| (name.clone(), n.public_key))
                .collect(),
            applications: self.application_keys.clone(),
            treasury: self.treasury_key,
        }
    }

    /// Digest of the genesis, if written.
    pub fn genesis_digest(&self) -> Option<Digest> {
        self.genesis.as_ref().map(genesis_digest)
    }

    /// Total bonded stake of the known nodes.
    pub fn total_stake(&self) -> u128 {
        self.nodes.values().map(|n| u128::from(n.stake)).sum()
    }

    /// Highest height any node reports.
    pub fn height(&self) -> Option<u64> {
        self.nodes.values().filter_map(|n| n.height).max()
    }

    /// The summary of this state.
    pub fn summary(&self) -> ObservedSummary {
        let count = |f: fn(&ObservedNode) -> bool| self.nodes.values().filter(|n| f(n)).count();
        ObservedSummary {
            nodes: self.nodes.len(),
            running: count(|n| n.running),
            healthy: count(|n| n.healthy),
            validators: count(|n| n.stake > 0),
            total_stake: self.total_stake(),
            height: self.height(),
            genesis: self.genesis_digest(),
            relay_chains_running: self.relay_chains.values().filter(|c| c.running).count(),
        }
    }
}
