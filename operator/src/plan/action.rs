//! The actions a plan is made of and their risk classes.
//!
//! Each action names its subject (node, relay chain, application) and carries the digests or
//! amounts that pin what it does, so that the plan's digest pins the whole change. The
//! backend looks the details (configuration, chain settings, genesis recipe) up in the
//! topology it computed from the same spec and checks them against these digests.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::topology::Role;

/// How much an action can hurt a running network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Adds or starts things; nothing that runs is interrupted.
    Safe,
    /// Interrupts or removes something that runs (restart, stop, unstake) while the chain
    /// keeps its quorum.
    Disruptive,
    /// Can lose the chain's quorum, its data or its identity; needs explicit approval.
    Unsafe,
}

impl Risk {
    /// The lowercase name used in plans.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::Disruptive => "disruptive",
            Risk::Unsafe => "unsafe",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of reconciliation, carried out by a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    /// Record that reconciliation is paused. Stops and starts nothing.
    Pause,
    /// Clear the paused record.
    Resume,
    /// Generate the orchestrator's treasury key (once; never regenerated).
    CreateTreasuryKey,
    /// Generate an application's key (once; never regenerated).
    CreateApplicationKey {
        /// Application name.
        application: String,
    },
    /// Create a node's home and generate its key (once; never regenerated).
    CreateNode {
        /// Node name.
        node: String,
        /// Its role.
        role: Role,
    },
    /// Build the genesis from the recipe of the current topology and the known keys, and
    /// install it for every node.
    WriteGenesis {
        /// Chain id.
        chain_id: String,
        /// Digest of the genesis recipe (`GenesisRecipe::digest`).
        recipe: Digest,
        /// Digest of the genesis this one replaces, if any.
        replaces: Option<Digest>,
    },
    /// Start a managed relay chain with the given settings.
    StartRelayChain {
        /// Relay chain id.
        chain: String,
        /// Digest of its settings (`ManagedChain::digest`).
        config: Digest,
    },
    /// Restart a running managed relay chain with new settings.
    RestartRelayChain {
        /// Relay chain id.
        chain: String,
        /// Digest of its new settings.
        config: Digest,
    },
    /// Stop a managed relay chain that is no longer declared.
    StopRelayChain {
        /// Relay chain id.
        chain: String,
    },
    /// Write a node's configuration; it takes effect at the next start.
    WriteNodeConfig {
        /// Node name.
        node: String,
        /// Digest of the configuration (`NodeConfig::digest`).
        config: Digest,
    },
    /// Start a stopped node.
    StartNode {
        /// Node name.
        node: String,
    },
    /// Restart a running node (to pick up a new configuration).
    RestartNode {
        /// Node name.
        node: String,
    },
    /// Wait until the node runs, answers and has caught up with the network.
    WaitForSync {
        /// Node name.
        node: String,
    },
    /// Bond `amount` more stake for the node on-chain: top its account up from the treasury
    /// if needed and submit its stake transaction. Done when its stake equals `target`.
    StakeValidator {
        /// Node name.
        node: String,
        /// Stake added.
        amount: u64,
        /// Bonded stake afterwards.
        target: u64,
    },
    /// Unbond `amount` of the node's stake on-chain. Done when its stake equals `target`.
    UnstakeValidator {
        /// Node name.
        node: String,
        /// Stake removed.
        amount: u64,
        /// Bonded stake afterwards.
        target: u64,
    },
    /// Wait until the node has left the validator set that signs blocks (the height boundary
    /// after its full unstake).
    WaitForValidatorExit {
        /// Node name.
        node: String,
    },
    /// Stop a running node.
    StopNode {
        /// Node name.
        node: String,
    },
    /// Delete a stopped node's chain data (blocks and state). Its key is kept.
    DeleteNodeData {
        /// Node name.
        node: String,
    },
}

impl Action {
    /// The node this action is about, if any.
    pub fn node(&self) -> Option<&str> {
        match self {
            Action::CreateNode { node, .. }
            | Action::WriteNodeConfig { node, .. }
            | Action::StartNode { node }
            | Action::RestartNode { node }
            | Action::WaitForSync { node }
            | Action::StakeValidator { node, .. }
            | Action::UnstakeValidator { node, .. }
            | Action::WaitForValidatorExit { node }
            | Action::StopNode { node }
            | Action::DeleteNodeData { node } => Some(node),
            _ => None,
        }
    }

    /// The verb of the canonical form.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::CreateTreasuryKey => "create-treasury-key",
            Action::CreateApplicationKey { .. } => "create-application-key",
            Action::CreateNode { .. } => "create-node",
            Action::WriteGenesis { .. } => "write-genesis",
            Action::StartRelayChain { .. } => "start-relay-chain",
            Action::RestartRelayChain { .. } => "restart-relay-chain",
            Action::StopRelayChain { .. } => "stop-relay-chain",
            Action::WriteNodeConfig { .. } => "write-node-config",
            Action::StartNode { .. } => "start-node",
            Action::RestartNode { .. } => "restart-node",
            Action::WaitForSync { .. } => "wait-for-sync",
            Action::StakeValidator { .. } => "stake-validator",
            Action::UnstakeValidator { .. } => "unstake-validator",
            Action::WaitForValidatorExit { .. } => "wait-for-validator-exit",
            Action::StopNode { .. } => "stop-node",
            Action::DeleteNodeData { .. } => "delete-node-data",
        }
    }

    /// The canonical one-line form: the verb, then `key=value` arguments in a fixed order.
    /// Every value is free of whitespace (names are DNS labels, chain ids and relay chain ids
    /// are checked, digests are hex).
    pub fn canonical(&self) -> String {
        let args: Vec<(&str, String)> = match self {
            Action::Pause | Action::Resume | Action::CreateTreasuryKey => Vec::new(),
            Action::CreateApplicationKey { application } => {
                vec![("application", application.clone())]
            }
            Action::CreateNode { node, role } => {
                vec![("node", node.clone()), ("role", role.to_string())]
            }
            Action::WriteGenesis {
                chain_id,
                recipe,
                replaces,
            } => vec![
                ("chain", chain_id.clone()),
                ("recipe", recipe.to_string()),
                (
                    "replaces",
                    replaces.map_or_else(|| "none".to_owned(), |d| d.to_string()),
                ),
            ],
            Action::StartRelayChain { chain, config }
            | Action::RestartRelayChain { chain, config } => {
                vec![("chain", chain.clone()), ("config", config.to_string())]
            }
            Action::StopRelayChain { chain } => vec![("chain", chain.clone())],
            Action::WriteNodeConfig { node, config } => {
                vec![("node", node.clone()), ("config", config.to_string())]
            }
            Action::StakeValidator {
                node,
                amount,
                target,
            }
            | Action::UnstakeValidator {
                node,
                amount,
                target,
            } => vec![
                ("node", node.clone()),
                ("amount", amount.to_string()),
                ("target", target.to_string()),
            ],
            Action::StartNode { node }
            | Action::RestartNode { node }
            | Action::WaitForSync { node }
            | Action::WaitForValidatorExit { node }
            | Action::StopNode { node }
            | Action::DeleteNodeData { node } => vec![("node", node.clone())],
        };
        let mut line = self.verb().to_owned();
        for (key, value) in args {
            line.push(' ');
            line.push_str(key);
            line.push('=');
            line.push_str(&value);
        }
        line
    }
}

impl fmt::Display for Action {
    /// A sentence for people; digests are shortened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Pause => f.write_str("record the network as paused"),
            Action::Resume => f.write_str("clear the paused record"),
            Action::CreateTreasuryKey => f.write_str("create the treasury key"),
            Action::CreateApplicationKey { application } => {
                write!(f, "create the key of application {application}")
            }
            Action::CreateNode { node, role } => {
                write!(f, "create {role} node {node} (home and key)")
            }
            Action::WriteGenesis {
                chain_id,
                recipe,
                replaces: None,
            } => {
                write!(
                    f,
                    "write the genesis of {chain_id} (recipe {})",
                    recipe.short()
                )
            }
            Action::WriteGenesis {
                chain_id,
                recipe,
                replaces: Some(old),
            } => write!(
                f,
                "REPLACE genesis {} with a new genesis of {chain_id} (recipe {})",
                old.short(),
                recipe.short()
            ),
            Action::StartRelayChain { chain, config } => {
                write!(f, "start relay chain {chain} (settings {})", config.short())
            }
            Action::RestartRelayChain { chain, config } => {
                write!(
                    f,
                    "restart relay chain {chain} with new settings {}",
                    config.short()
                )
            }
            Action::StopRelayChain { chain } => write!(f, "stop relay chain {chain}"),
            Action::WriteNodeConfig { node, config } => {
                write!(f, "write the configuration of {node} ({})", config.short())
            }
            Action::StartNode { node } => write!(f, "start {node}"),
            Action::RestartNode { node } => write!(f, "restart {node}"),
            Action::WaitForSync { node } => write!(f, "wait until {node} has caught up"),
            Action::StakeValidator {
                node,
                amount,
                target,
            } => {
                write!(
                    f,
                    "stake {amount} for {node} on-chain (bonded stake becomes {target})"
                )
            }
            Action::UnstakeValidator {
                node,
                amount,
                target,
            } => {
                write!(
                    f,
                    "unstake {amount} from {node} on-chain (bonded stake becomes {target})"
                )
            }
            Action::WaitForValidatorExit { node } => {
                write!(f, "wait until {node} has left the validator set")
            }
            Action::StopNode { node } => write!(f, "stop {node}"),
            Action::DeleteNodeData { node } => {
                write!(f, "DELETE the chain data of {node} (its key is kept)")
            }
        }
    }
}
