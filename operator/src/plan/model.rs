//! A reference model of what each action does to the observed state.
//!
//! It states the contract a backend implements: after a backend carries out an action, its
//! next observation must show what [`apply`] shows here. It also checks each action's
//! preconditions (a key is never regenerated, data is never deleted under a running node, a
//! validator only stakes once synced, the last validator never leaves, ...), so that tests can
//! prove that plans only ask for what is allowed and that applying a plan converges. Keys are
//! derived from identity names ([`model_key`]); real backends generate random keys.

use ed25519_dalek::SigningKey;
use netwright_ledger::PublicKey;
use thiserror::Error;

use super::action::Action;
use super::document::Plan;
use super::genesis::{GenesisRecipe, KeyOwner};
use super::observed::{ObservedNode, ObservedRelayChain, ObservedState};
use super::topology::Topology;

/// An action whose preconditions do not hold in the modelled state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot `{action}`: {reason}")]
pub struct ModelError {
    /// The action, in canonical form.
    pub action: String,
    /// The precondition that failed.
    pub reason: String,
}

/// The deterministic key the model gives `owner`.
pub fn model_key(owner: &KeyOwner) -> PublicKey {
    let seed = blake3::hash(format!("netwright-model-key/{owner}").as_bytes());
    PublicKey::from(SigningKey::from_bytes(seed.as_bytes()).verifying_key())
}

/// Applies every action of `plan` in order.
pub fn apply_plan(
    state: &mut ObservedState,
    plan: &Plan,
    topology: &Topology,
    recipe: &GenesisRecipe,
) -> Result<(), ModelError> {
    plan.actions()
        .try_for_each(|action| apply(state, action, topology, recipe))
}

/// Applies one action to `state`, after checking its preconditions.
pub fn apply(
    state: &mut ObservedState,
    action: &Action,
    topology: &Topology,
    recipe: &GenesisRecipe,
) -> Result<(), ModelError> {
    let fail = |reason: String| ModelError {
        action: action.canonical(),
        reason,
    };
    let height = state.height().unwrap_or(0);
    let validators = state.nodes.values().filter(|n| n.stake > 0).count();
    match action {
        Action::Pause => state.paused = true,
        Action::Resume => state.paused = false,
        Action::CreateTreasuryKey => {
            if state.treasury_key.is_some() {
                return Err(fail(
                    "the treasury key exists and is never regenerated".into(),
                ));
            }
            state.treasury_key = Some(model_key(&KeyOwner::Treasury));
        }
        Action::CreateApplicationKey { application } => {
            if state.application_keys.contains_key(application) {
                return Err(fail("the key exists and is never regenerated".into()));
            }
            let key = model_key(&KeyOwner::Application(application.clone()));
            state.application_keys.insert(application.clone(), key);
        }
        Action::CreateNode { node, .. } => {
            if state.nodes.contains_key(node) {
                return Err(fail("the node exists; its key is never regenerated".into()));
            }
            let node_state = ObservedNode {
                public_key: model_key(&KeyOwner::Node(node.clone())),
                config_digest: None,
                has_chain_data: false,
                running: false,
                healthy: false,
                height: None,
                stake: 0,
            };
            state.nodes.insert(node.clone(), node_state);
        }
        Action::WriteGenesis {
            chain_id,
            recipe: digest,
            replaces,
        } => {
            if *digest != recipe.digest() || *chain_id != recipe.chain_id {
                return Err(fail("the recipe is not the topology's".into()));
            }
            if *replaces != state.genesis_digest() {
                return Err(fail("`replaces` does not name the current genesis".into()));
            }
            if let Some((name, _)) = state
                .nodes
                .iter()
                .find(|(_, n)| n.running || n.has_chain_data)
            {
                return Err(fail(format!("node {name} still runs or holds chain data")));
            }
            let genesis = recipe
                .build(&state.keys(), 0)
                .map_err(|e| fail(e.to_string()))?;
            for node in state.nodes.values_mut() {
                node.stake = genesis
                    .validators
                    .iter()
                    .find(|v| v.public_key == node.public_key)
                    .map_or(0, |v| v.stake);
            }
            state.genesis = Some(genesis);
        }
        Action::StartRelayChain { chain, config } | Action::RestartRelayChain { chain, config } => {
            let declared = topology.managed_chains.iter().find(|c| c.id == *chain);
            if declared.map(|c| c.digest()) != Some(*config) {
                return Err(fail(
                    "not a declared managed chain with these settings".into(),
                ));
            }
            let running = state.relay_chains.get(chain).is_some_and(|c| c.running);
            if running != matches!(action, Action::RestartRelayChain { .. }) {
                return Err(fail(format!(
                    "the chain is {}",
                    if running { "running" } else { "stopped" }
                )));
            }
            state.relay_chains.insert(
                chain.clone(),
                ObservedRelayChain {
                    running: true,
                    config_digest: Some(*config),
                },
            );
        }
        Action::StopRelayChain { chain } => match state.relay_chains.get_mut(chain) {
            Some(c) if c.running => c.running = false,
            _ => return Err(fail("the chain is not running".into())),
        },
        Action::WriteNodeConfig { node, config } => {
            if topology.node(node).map(|n| n.config.digest()) != Some(*config) {
                return Err(fail(
                    "not the declared configuration of a declared node".into(),
                ));
            }
            node_mut(state, node, &fail)?.config_digest = Some(*config);
        }
        Action::StartNode { node } => {
            let has_genesis = state.genesis.is_some();
            let n = node_mut(state, node, &fail)?;
            if n.running || n.config_digest.is_none() || !has_genesis {
                return Err(fail(
                    "the node runs already, or has no configuration or genesis".into(),
                ));
            }
            n.running = true;
            n.healthy = false;
            n.has_chain_data = true;
            n.height = Some(n.height.unwrap_or(0));
        }
        Action::RestartNode { node } => {
            let n = node_mut(state, node, &fail)?;
            if !n.running {
                return Err(fail("the node is not running".into()));
            }
            n.healthy = false;
        }
        Action::WaitForSync { node } => {
            let n = node_mut(state, node, &fail)?;
            if !n.running {
                return Err(fail("a stopped node never syncs".into()));
            }
            n.healthy = true;
            n.height = Some(height);
        }
        Action::StakeValidator {
            node,
            amount,
            target,
        } => {
            let min = state.genesis.as_ref().map(|g| g.params.min_validator_stake);
            let n = node_mut(state, node, &fail)?;
            if !(n.running && n.healthy) {
                return Err(fail("the node has not caught up".into()));
            }
            if *amount == 0
                || n.stake.checked_add(*amount) != Some(*target)
                || min.is_none_or(|m| *target < m)
            {
                return Err(fail(format!(
                    "stake {} + {amount} is not a valid target {target}",
                    n.stake
                )));
            }
            n.stake = *target;
        }
        Action::UnstakeValidator {
            node,
            amount,
            target,
        } => {
            let min = state
                .genesis
                .as_ref()
                .map_or(0, |g| g.params.min_validator_stake);
            let n = node_mut(state, node, &fail)?;
            if *amount == 0
                || n.stake.checked_sub(*amount) != Some(*target)
                || (*target != 0 && *target < min)
            {
                return Err(fail(format!(
                    "stake {} - {amount} is not a valid target {target}",
                    n.stake
                )));
            }
            if *target == 0 && validators <= 1 {
                return Err(fail("the last validator cannot leave".into()));
            }
            n.stake = *target;
        }
        Action::WaitForValidatorExit { node } => {
            if node_mut(state, node, &fail)?.stake != 0 {
                return Err(fail("the node is still bonded".into()));
            }
        }
        Action::StopNode { node } => {
            let n = node_mut(state, node, &fail)?;
            if !n.running {
                return Err(fail("the node is not running".into()));
            }
            n.running = false;
            n.healthy = false;
        }
        Action::DeleteNodeData { node } => {
            let n = node_mut(state, node, &fail)?;
            if n.running {
                return Err(fail("the node is running".into()));
            }
            n.has_chain_data = false;
            n.height = None;
            n.stake = 0;
        }
    }
    Ok(())
}

fn node_mut<'s>(
    state: &'s mut ObservedState,
    name: &str,
    fail: &dyn Fn(String) -> ModelError,
) -> Result<&'s mut ObservedNode, ModelError> {
    state
        .nodes
        .get_mut(name)
        .ok_or_else(|| fail(format!("no node {name}")))
}
