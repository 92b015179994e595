//! The desired topology: which nodes a declared network consists of, under which stable names,
//! with which role, stake and configuration, and which relay chains netwright runs itself.
//!
//! The topology is logical: ports, addresses and directories are the backend's business.
//! Names depend only on the declaration, never on what runs, so they stay stable across
//! edits: `validators.members` keep their names, `validators.replicas` gives `validator-0`,
//! `validator-1`, ..., servicers are `servicer-i` and fishermen `fisherman-i`. Growing a count
//! adds names at the end; shrinking it removes names from the end.

use std::collections::BTreeMap;
use std::fmt;

use netwright_crds::effective::{EffectiveSpec, RelaySource};
use netwright_crds::validate::names::is_dns_label;
use netwright_ledger::genesis::validate_chain_id;
use netwright_ledger::{EconomicParams, Params};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::digest::Digest;

/// What a node does in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes part in consensus with bonded stake.
    Validator,
    /// Relays application requests to external chains.
    Servicer,
    /// Samples and scores servicers' relays.
    Fisherman,
}

impl Role {
    /// The lowercase name used in plans and configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Servicer => "servicer",
            Role::Fisherman => "fisherman",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Consensus timings a node runs with, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusConfig {
    /// Target time between blocks.
    pub block_interval_ms: u64,
    /// Propose step timeout.
    pub propose_ms: u64,
    /// Prevote step timeout.
    pub prevote_ms: u64,
    /// Precommit step timeout.
    pub precommit_ms: u64,
    /// Commit wait.
    pub commit_ms: u64,
    /// Largest block in bytes.
    pub max_block_bytes: u64,
}

/// Where a relay chain's requests go, as a node configuration names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum RelayTarget {
    /// An external JSON-RPC endpoint.
    Endpoint {
        /// Its URL.
        url: String,
    },
    /// A chain netwright runs; the backend supplies its address.
    Managed,
}

/// One relay chain a servicer serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedChain {
    /// Relay chain id (four hex digits).
    pub id: String,
    /// JSON-RPC methods forwarded.
    pub allowed_methods: Vec<String>,
    /// Where requests go.
    pub target: RelayTarget,
}

/// Everything about a node that it reads at start-up, apart from backend-chosen ports,
/// addresses and paths. A change of configuration needs a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// The node's role.
    pub role: Role,
    /// The relay chains it serves (servicers only; empty otherwise).
    pub relay_chains: Vec<ServedChain>,
    /// Consensus timings.
    pub consensus: ConsensusConfig,
}

impl NodeConfig {
    /// Digest of the canonical (compact JSON, declared field order) encoding.
    pub fn digest(&self) -> Digest {
        Digest::of(&canonical_json(self))
    }
}

/// One node of the desired topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Stable name (a DNS label, unique across the network).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Declared stake: bonded on-chain for validators; for servicers and fishermen the
    /// amount funded at genesis for them to stake once the ledger has those roles.
    pub stake: u64,
    /// What the node runs with.
    pub config: NodeConfig,
}

/// An application: not a node, but an identity with a funded account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationIdentity {
    /// Its name (a DNS label).
    pub name: String,
    /// Declared stake, funded at genesis.
    pub stake: u64,
    /// Relay chains it may use.
    pub chains: Vec<String>,
}

/// A relay chain netwright runs itself (an `anvil` node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedChain {
    /// Relay chain id (four hex digits).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// EVM chain id anvil reports.
    pub evm_chain_id: u64,
    /// Time between mined blocks in milliseconds.
    pub block_time_ms: u64,
    /// Funded development accounts.
    pub accounts: u32,
}

impl ManagedChain {
    /// Digest of the canonical encoding; a running chain with another digest is restarted.
    pub fn digest(&self) -> Digest {
        Digest::of(&canonical_json(self))
    }
}

/// The desired topology of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Chain id.
    pub chain_id: String,
    /// Ledger parameters fixed at genesis.
    pub params: Params,
    /// Relay-economy parameters (written into genesis).
    pub economics: EconomicParams,
    /// Every node: validators first (declaration order), then servicers, then fishermen.
    pub nodes: Vec<NodeIdentity>,
    /// Applications in declaration order.
    pub applications: Vec<ApplicationIdentity>,
    /// Managed relay chains to run, in declaration order.
    pub managed_chains: Vec<ManagedChain>,
}

impl Topology {
    /// The node called `name`, if it is part of the topology.
    pub fn node(&self, name: &str) -> Option<&NodeIdentity> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Desired bonded stake of each validator, by name.
    pub fn validator_stakes(&self) -> BTreeMap<&str, u64> {
        self.nodes
            .iter()
            .filter(|n| n.role == Role::Validator)
            .map(|n| (n.name.as_str(), n.stake))
            .collect()
    }
}

/// Why a spec cannot be turned into a topology.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopologyError {
    /// A value the planner cannot use.
    #[error("spec field `{field}` = {value}: {reason}")]
    Invalid {
        /// Path of the field, e.g. `validators.members[2].name`.
        field: String,
        /// The offending value.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Two identities would share a name.
    #[error("name {name:?} is used by both {first} and {second}; node and application names must be unique")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// What used it first.
        first: String,
        /// What used it again.
        second: String,
    },
}

fn invalid(
    field: impl Into<String>,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> TopologyError {
    TopologyError::Invalid {
        field: field.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn millis(field: &str, d: netwright_crds::Duration) -> Result<u64, TopologyError> {
    u64::try_from(d.as_millis()).map_err(|_| {
        invalid(
            field,
            d.as_millis(),
            "does not fit in 64 bits of milliseconds",
        )
    })
}

/// Computes the desired topology of `spec` (a spec that passed validation; the checks here
/// only guard what the planner relies on: names, stakes and ranges).
pub fn desired_topology(spec: &EffectiveSpec) -> Result<Topology, TopologyError> {
    validate_chain_id(&spec.chain_id)
        .map_err(|reason| invalid("chainId", format!("{:?}", spec.chain_id), reason))?;
    let e = &spec.economics;
    let c = &spec.consensus;
    let max_txs_per_block = u32::try_from(c.max_txs_per_block).map_err(|_| {
        invalid(
            "consensus.maxTxsPerBlock",
            c.max_txs_per_block,
            "must be at most 4294967295",
        )
    })?;
    let params = Params {
        unbonding_period_blocks: e.unbonding_blocks,
        min_validator_stake: e.min_stake_validator,
        max_txs_per_block,
    };
    let economics = EconomicParams {
        min_servicer_stake: e.min_stake_servicer,
        min_application_stake: e.min_stake_application,
        min_fisherman_stake: e.min_stake_fisherman,
        unbonding_blocks: e.unbonding_blocks,
        session_blocks: e.session_blocks,
        servicers_per_session: e.servicers_per_session,
        grace_blocks: e.session_grace_blocks,
        max_delegated_gateways: e.max_delegated_gateways,
        jail_blocks: e.jail_blocks,
        relays_per_stake: e.relays_per_stake,
    };
    economics.validate().map_err(|v| {
        let field = match v.field {
            "min_servicer_stake" => "economics.minimumStakes.servicer",
            "min_application_stake" => "economics.minimumStakes.application",
            "min_fisherman_stake" => "economics.minimumStakes.fisherman",
            "unbonding_blocks" => "economics.unbondingBlocks",
            "session_blocks" => "economics.sessionBlocks",
            "servicers_per_session" => "economics.servicersPerSession",
            "grace_blocks" => "economics.sessionGraceBlocks",
            "max_delegated_gateways" => "economics.maxDelegatedGateways",
            "jail_blocks" => "economics.jailBlocks",
            "relays_per_stake" => "economics.relaysPerStake",
            other => other,
        };
        invalid(field, v.value, v.reason)
    })?;
    for (field, value) in [
        ("economics.unbondingBlocks", params.unbonding_period_blocks),
        (
            "economics.minimumStakes.validator",
            params.min_validator_stake,
        ),
        (
            "consensus.maxTxsPerBlock",
            u64::from(params.max_txs_per_block),
        ),
    ] {
        if value == 0 {
            return Err(invalid(field, 0, "must be at least 1"));
        }
    }
    let consensus = ConsensusConfig {
        block_interval_ms: millis("consensus.blockInterval", c.block_interval)?,
        propose_ms: millis("consensus.timeouts.propose", c.propose)?,
        prevote_ms: millis("consensus.timeouts.prevote", c.prevote)?,
        precommit_ms: millis("consensus.timeouts.precommit", c.precommit)?,
        commit_ms: millis("consensus.timeouts.commit", c.commit)?,
        max_block_bytes: c.max_block_bytes,
    };

    let mut relay_chains = BTreeMap::new();
    let mut managed_chains = Vec::new();
    for (i, chain) in spec.relay_chains.iter().enumerate() {
        if !(chain.id.len() == 4 && chain.id.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(invalid(
                format!("relayChains[{i}].id"),
                format!("{:?}", chain.id),
                "must be four hex digits",
            ));
        }
        if relay_chains.insert(chain.id.as_str(), chain).is_some() {
            return Err(invalid(
                format!("relayChains[{i}].id"),
                format!("{:?}", chain.id),
                "declared twice",
            ));
        }
        if let RelaySource::Anvil {
            chain_id,
            block_time,
            accounts,
        } = &chain.source
        {
            managed_chains.push(ManagedChain {
                id: chain.id.clone(),
                name: chain.name.clone(),
                evm_chain_id: *chain_id,
                block_time_ms: millis(
                    &format!("relayChains[{i}].managed.anvil.blockTime"),
                    *block_time,
                )?,
                accounts: *accounts,
            });
        }
    }
    let mut served = Vec::new();
    for (i, id) in spec.servicers.chains.iter().enumerate() {
        let chain = relay_chains.get(id.as_str()).ok_or_else(|| {
            invalid(
                format!("servicers.chains[{i}]"),
                format!("{id:?}"),
                "is not declared in relayChains",
            )
        })?;
        served.push(ServedChain {
            id: id.clone(),
            allowed_methods: chain.allowed_methods.clone(),
            target: match &chain.source {
                RelaySource::Endpoint { url } => RelayTarget::Endpoint { url: url.clone() },
                RelaySource::Anvil { .. } => RelayTarget::Managed,
            },
        });
    }

    let mut names = Names::default();
    let mut nodes = Vec::new();
    let config = |role: Role, relay_chains: Vec<ServedChain>| NodeConfig {
        role,
        relay_chains,
        consensus,
    };
    for (i, v) in spec.validators.iter().enumerate() {
        let field = format!("validators[{i}]");
        names.claim(&v.name, &field)?;
        if v.stake < params.min_validator_stake {
            return Err(invalid(
                format!("{field}.stake"),
                v.stake,
                format!(
                    "below economics.minimumStakes.validator ({})",
                    params.min_validator_stake
                ),
            ));
        }
        nodes.push(NodeIdentity {
            name: v.name.clone(),
            role: Role::Validator,
            stake: v.stake,
            config: config(Role::Validator, Vec::new()),
        });
    }
    if nodes.is_empty() {
        return Err(invalid(
            "validators",
            "[]",
            "a network needs at least one validator",
        ));
    }
    for i in 0..spec.servicers.replicas {
        let name = format!("servicer-{i}");
        names.claim(&name, &format!("servicers[{i}]"))?;
        nodes.push(NodeIdentity {
            name,
            role: Role::Servicer,
            stake: spec.servicers.stake,
            config: config(Role::Servicer, served.clone()),
        });
    }
    for i in 0..spec.fishermen.replicas {
        let name = format!("fisherman-{i}");
        names.claim(&name, &format!("fishermen[{i}]"))?;
        nodes.push(NodeIdentity {
            name,
            role: Role::Fisherman,
            stake: spec.fishermen.stake,
            config: config(Role::Fisherman, Vec::new()),
        });
    }
    let mut applications = Vec::new();
    for (i, a) in spec.applications.iter().enumerate() {
        names.claim(&a.name, &format!("applications[{i}]"))?;
        applications.push(ApplicationIdentity {
            name: a.name.clone(),
            stake: a.stake,
            chains: a.chains.clone(),
        });
    }
    Ok(Topology {
        chain_id: spec.chain_id.clone(),
        params,
        economics,
        nodes,
        applications,
        managed_chains,
    })
}

/// Names claimed so far, with the field that claimed each.
#[derive(Default)]
struct Names(BTreeMap<String, String>);

impl Names {
    fn claim(&mut self, name: &str, field: &str) -> Result<(), TopologyError> {
        if !is_dns_label(name) {
            return Err(invalid(
                format!("{field}.name"),
                format!("{name:?}"),
                "must be a DNS label (1-63 lowercase letters, digits and '-', starting and ending with a letter or digit)",
            ));
        }
        if let Some(first) = self.0.get(name) {
            return Err(TopologyError::DuplicateName {
                name: name.into(),
                first: first.clone(),
                second: field.into(),
            });
        }
        self.0.insert(name.into(), field.into());
        Ok(())
    }
}

/// Compact JSON of a value whose type has only structs, vectors, strings and integers: the
/// field order is the declaration order, so equal values always give equal bytes.
pub(crate) fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail; an empty encoding would still be a
    // deterministic (if useless) digest input rather than a panic.
    serde_json::to_vec(value).unwrap_or_default()
}
