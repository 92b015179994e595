//! The planner: a pure function from the desired topology and the observed state to a plan.
//!
//! Phases, in this order (each only emits what the observed state lacks):
//! 1. pause / resume;
//! 2. identities: treasury key, application keys, node homes and keys;
//! 3. genesis: written when there is none; replaced (unsafe) when a genesis-bound value
//!    changed, after stopping every node and deleting its chain data;
//! 4. managed relay chains: started, or restarted when their settings changed;
//! 5. nodes: configuration written, stopped nodes started, running nodes whose configuration
//!    changed restarted one at a time, each followed by a wait for sync;
//! 6. on-chain stake (only on an existing genesis): validators to add or raise are synced and
//!    staked; validators to remove or lower are unstaked, and removed ones are waited out of
//!    the validator set;
//! 7. retirement: nodes no longer declared are stopped (keys and data are kept), then managed
//!    relay chains no longer declared are stopped.

use std::collections::BTreeMap;

use netwright_crds::EffectiveSpec;
use thiserror::Error;

use super::action::{Action, Risk};
use super::document::{Plan, Step};
use super::genesis::{genesis_digest, GenesisBuildError, GenesisRecipe};
use super::observed::ObservedState;
use super::topology::{desired_topology, Role, Topology, TopologyError};

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    /// The spec does not give a usable topology.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The spec does not give a usable genesis.
    #[error(transparent)]
    Genesis(#[from] GenesisBuildError),
}

/// Plans the reconciliation of `spec` against `observed`.
pub fn plan(spec: &EffectiveSpec, observed: &ObservedState) -> Result<Plan, PlanError> {
    let topology = desired_topology(spec)?;
    let recipe = GenesisRecipe::from_topology(&topology)?;
    Ok(plan_topology(&topology, &recipe, spec.paused, observed))
}

/// Plans against an already computed topology and recipe (what [`plan`] does after
/// computing them).
pub fn plan_topology(
    topology: &Topology,
    recipe: &GenesisRecipe,
    paused: bool,
    observed: &ObservedState,
) -> Plan {
    let mut planner = Planner::new(topology, recipe, observed);
    planner.run(paused);
    Plan {
        chain_id: topology.chain_id.clone(),
        paused,
        steps: planner.steps,
    }
}

/// What the planner expects a node to look like after the steps emitted so far.
#[derive(Debug, Clone, Copy, Default)]
struct Projected {
    exists: bool,
    running: bool,
    healthy: bool,
    has_chain_data: bool,
    stake: u64,
    config: Option<super::digest::Digest>,
}

struct Planner<'a> {
    topology: &'a Topology,
    recipe: &'a GenesisRecipe,
    observed: &'a ObservedState,
    nodes: BTreeMap<String, Projected>,
    steps: Vec<Step>,
}

impl<'a> Planner<'a> {
    fn new(topology: &'a Topology, recipe: &'a GenesisRecipe, observed: &'a ObservedState) -> Self {
        let mut nodes: BTreeMap<String, Projected> = observed
            .nodes
            .iter()
            .map(|(name, n)| {
                let p = Projected {
                    exists: true,
                    running: n.running,
                    healthy: n.running && n.healthy,
                    has_chain_data: n.has_chain_data,
                    stake: n.stake,
                    config: n.config_digest,
                };
                (name.clone(), p)
            })
            .collect();
        for node in &topology.nodes {
            nodes.entry(node.name.clone()).or_default();
        }
        Planner {
            topology,
            recipe,
            observed,
            nodes,
            steps: Vec::new(),
        }
    }

    fn push(&mut self, action: Action, risk: Risk, reason: impl Into<String>) {
        self.steps.push(Step {
            action,
            risk,
            reason: reason.into(),
        });
    }

    fn node(&mut self, name: &str) -> &mut Projected {
        self.nodes.entry(name.to_owned()).or_default()
    }

    /// Declared nodes in topology order, then undeclared known nodes by name.
    fn ordered_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.topology.nodes.iter().map(|n| n.name.clone()).collect();
        names.extend(
            self.nodes
                .keys()
                .filter(|name| self.topology.node(name).is_none())
                .cloned(),
        );
        names
    }

    fn desired_stake(&self, name: &str) -> u64 {
        self.topology
            .node(name)
            .filter(|n| n.role == Role::Validator)
            .map_or(0, |n| n.stake)
    }

    fn run(&mut self, paused: bool) {
        if paused {
            if !self.observed.paused {
                self.push(
                    Action::Pause,
                    Risk::Safe,
                    "spec.paused is true: the network keeps running as it is; nothing is created, started, stopped or changed until it is false",
                );
            }
            return;
        }
        if self.observed.paused {
            self.push(Action::Resume, Risk::Safe, "spec.paused is no longer true");
        }
        self.identities();
        let genesis_written = self.genesis();
        self.relay_chains();
        self.node_processes();
        if !genesis_written {
            self.stake_up();
            self.stake_down();
        }
        self.retire();
    }

    fn identities(&mut self) {
        if self.observed.treasury_key.is_none() {
            self.push(
                Action::CreateTreasuryKey,
                Risk::Safe,
                "the treasury account funds the stake of validators added after genesis",
            );
        }
        for app in &self.topology.applications {
            if !self.observed.application_keys.contains_key(&app.name) {
                self.steps.push(Step {
                    action: Action::CreateApplicationKey {
                        application: app.name.clone(),
                    },
                    risk: Risk::Safe,
                    reason: "declared application without a key".into(),
                });
            }
        }
        for node in &self.topology.nodes {
            if !self.nodes.get(&node.name).is_some_and(|p| p.exists) {
                self.steps.push(Step {
                    action: Action::CreateNode {
                        node: node.name.clone(),
                        role: node.role,
                    },
                    risk: Risk::Safe,
                    reason: format!("declared {} without a home", node.role),
                });
                self.node(&node.name).exists = true;
            }
        }
    }

    /// Emits the genesis steps; true when this plan writes a genesis.
    fn genesis(&mut self) -> bool {
        let replaces = match &self.observed.genesis {
            None => None,
            Some(existing) => {
                let changes = self.recipe.bound_changes(existing);
                if changes.is_empty() {
                    return false;
                }
                let list: Vec<String> = changes.iter().map(ToString::to_string).collect();
                Some((genesis_digest(existing), list.join("; ")))
            }
        };
        let why_reset = match &replaces {
            Some((_, list)) => format!("genesis-bound values changed ({list})"),
            None => "no genesis is recorded for this node's chain data".to_owned(),
        };
        self.reset_nodes(&why_reset);
        let validators: Vec<String> = self
            .recipe
            .validators
            .iter()
            .map(|v| format!("{} ({})", v.node, v.stake))
            .collect();
        let (risk, reason) = match &replaces {
            None => (Risk::Safe, format!("new network; genesis validators: {}", validators.join(", "))),
            Some((_, list)) => (
                Risk::Unsafe,
                format!(
                    "genesis-bound values changed ({list}): the running chain is abandoned and a new one starts from height 1"
                ),
            ),
        };
        self.push(
            Action::WriteGenesis {
                chain_id: self.recipe.chain_id.clone(),
                recipe: self.recipe.digest(),
                replaces: replaces.map(|(digest, _)| digest),
            },
            risk,
            reason,
        );
        for p in self.nodes.values_mut() {
            p.stake = 0;
        }
        let stakes: Vec<(String, u64)> = self
            .recipe
            .validators
            .iter()
            .map(|v| (v.node.clone(), v.stake))
            .collect();
        for (name, stake) in stakes {
            self.node(&name).stake = stake;
        }
        true
    }

    /// Stops every running node and deletes every node's chain data before a genesis is
    /// (re)written.
    fn reset_nodes(&mut self, why: &str) {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for name in &names {
            let p = self.nodes[name];
            if p.running {
                let (risk, reason) = if p.stake > 0 {
                    (Risk::Unsafe, format!("{why}; {name} is a bonded validator"))
                } else {
                    (Risk::Disruptive, why.to_owned())
                };
                self.push(Action::StopNode { node: name.clone() }, risk, reason);
                let p = self.node(name);
                p.running = false;
                p.healthy = false;
            }
        }
        for name in &names {
            if self.nodes[name].has_chain_data {
                self.push(
                    Action::DeleteNodeData { node: name.clone() },
                    Risk::Unsafe,
                    format!("{why}: its blocks and state belong to the old chain"),
                );
                self.node(name).has_chain_data = false;
            }
        }
    }

    fn relay_chains(&mut self) {
        for chain in &self.topology.managed_chains {
            let digest = chain.digest();
            match self.observed.relay_chains.get(&chain.id) {
                Some(c) if c.running && c.config_digest == Some(digest) => {}
                Some(c) if c.running => self.steps.push(Step {
                    action: Action::RestartRelayChain {
                        chain: chain.id.clone(),
                        config: digest,
                    },
                    risk: Risk::Disruptive,
                    reason: format!(
                        "settings of {} changed; relays to it fail while it restarts",
                        chain.name
                    ),
                }),
                _ => self.steps.push(Step {
                    action: Action::StartRelayChain {
                        chain: chain.id.clone(),
                        config: digest,
                    },
                    risk: Risk::Safe,
                    reason: format!("managed relay chain {} is not running", chain.name),
                }),
            }
        }
    }

    fn node_processes(&mut self) {
        let mut restarts = Vec::new();
        for node in &self.topology.nodes {
            let want = node.config.digest();
            let p = self.nodes.get(&node.name).copied().unwrap_or_default();
            if p.config != Some(want) {
                let reason = if p.config.is_none() {
                    "no configuration written yet"
                } else {
                    "declared configuration changed"
                };
                self.steps.push(Step {
                    action: Action::WriteNodeConfig {
                        node: node.name.clone(),
                        config: want,
                    },
                    risk: Risk::Safe,
                    reason: reason.into(),
                });
                self.node(&node.name).config = Some(want);
                if p.running {
                    restarts.push(node.name.clone());
                }
            }
            if !p.running {
                self.steps.push(Step {
                    action: Action::StartNode {
                        node: node.name.clone(),
                    },
                    risk: Risk::Safe,
                    reason: "declared node is not running".into(),
                });
                let p = self.node(&node.name);
                p.running = true;
                p.healthy = false;
                p.has_chain_data = true;
            }
        }
        for name in restarts {
            self.push(
                Action::RestartNode { node: name.clone() },
                Risk::Disruptive,
                "the new configuration takes effect on restart; nodes restart one at a time",
            );
            self.push(
                Action::WaitForSync { node: name.clone() },
                Risk::Safe,
                "the next restart waits for this node",
            );
            self.node(&name).healthy = true;
        }
    }

    fn stake_up(&mut self) {
        let validators: Vec<(String, u64)> = self
            .topology
            .nodes
            .iter()
            .filter(|n| n.role == Role::Validator)
            .map(|n| (n.name.clone(), n.stake))
            .collect();
        for (name, target) in validators {
            let p = self.nodes.get(&name).copied().unwrap_or_default();
            if p.stake >= target {
                continue;
            }
            if !(p.running && p.healthy) {
                self.push(
                    Action::WaitForSync { node: name.clone() },
                    Risk::Safe,
                    "a validator must have caught up before its stake counts",
                );
                self.node(&name).healthy = true;
            }
            let reason = if p.stake == 0 {
                "joins the validator set on-chain (genesis is never rewritten to add validators)"
                    .to_owned()
            } else {
                format!("declared stake raised from {} to {target}", p.stake)
            };
            self.push(
                Action::StakeValidator {
                    node: name.clone(),
                    amount: target - p.stake,
                    target,
                },
                Risk::Safe,
                reason,
            );
            self.node(&name).stake = target;
        }
    }

    fn stake_down(&mut self) {
        let total: u128 = self.nodes.values().map(|p| u128::from(p.stake)).sum();
        let remaining: u128 = self
            .nodes
            .iter()
            .map(|(name, p)| u128::from(p.stake.min(self.desired_stake(name))))
            .sum();
        let keeps_quorum = has_quorum(remaining, total);
        for name in self.ordered_names() {
            let current = self.nodes.get(&name).map_or(0, |p| p.stake);
            let target = self.desired_stake(&name);
            if current <= target {
                continue;
            }
            let what = if target == 0 {
                "no longer declared as a validator".to_owned()
            } else {
                format!("declared stake lowered from {current} to {target}")
            };
            let (risk, reason) = if keeps_quorum {
                (Risk::Disruptive, format!("{what}; the validators that stay keep {remaining} of {total} stake (> 2/3)"))
            } else {
                (
                    Risk::Unsafe,
                    format!(
                        "{what}; the validators that stay would keep only {remaining} of {total} stake, not more than 2/3: the chain would lose its quorum"
                    ),
                )
            };
            self.push(
                Action::UnstakeValidator {
                    node: name.clone(),
                    amount: current - target,
                    target,
                },
                risk,
                reason,
            );
            self.node(&name).stake = target;
            if target == 0 {
                self.push(
                    Action::WaitForValidatorExit { node: name.clone() },
                    Risk::Safe,
                    "it keeps running until the validator set without it takes over",
                );
            }
        }
    }

    fn retire(&mut self) {
        let retired: Vec<(String, Projected)> = self
            .nodes
            .iter()
            .filter(|(name, _)| self.topology.node(name).is_none())
            .map(|(name, p)| (name.clone(), *p))
            .collect();
        for (name, p) in retired {
            if !p.running {
                continue;
            }
            let (risk, reason) = if p.stake > 0 {
                (
                    Risk::Unsafe,
                    "no longer declared but still a bonded validator".to_owned(),
                )
            } else {
                (
                    Risk::Disruptive,
                    "no longer declared; its key and data are kept, so declaring it again resumes the same identity".to_owned(),
                )
            };
            self.push(Action::StopNode { node: name.clone() }, risk, reason);
            let p = self.node(&name);
            p.running = false;
            p.healthy = false;
        }
        let declared: Vec<&str> = self
            .topology
            .managed_chains
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let stale: Vec<String> = self
            .observed
            .relay_chains
            .iter()
            .filter(|(id, c)| c.running && !declared.contains(&id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        for chain in stale {
            self.push(
                Action::StopRelayChain { chain },
                Risk::Disruptive,
                "no longer declared as a managed relay chain",
            );
        }
    }
}

/// Whether `remaining` stake out of `total` is more than two thirds (BFT quorum). A network
/// with no bonded stake yet has nothing to lose.
pub fn has_quorum(remaining: u128, total: u128) -> bool {
    total == 0 || 3 * remaining > 2 * total
}
