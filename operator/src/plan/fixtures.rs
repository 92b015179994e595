//! Test helpers: specs from JSON, and observed states converged through the model.

use netwright_crds::{effective_spec, EffectiveSpec, NetworkSpec};
use serde_json::{json, Value};

use super::genesis::GenesisRecipe;
use super::model::apply_plan;
use super::observed::ObservedState;
use super::topology::desired_topology;
use super::{plan, Plan};

/// A localnet-like spec: 4 validators, 2 servicers, 1 fisherman, 1 application, one managed
/// and one external relay chain. `edit` changes it before defaults are applied.
pub fn spec_with(edit: impl FnOnce(&mut Value)) -> EffectiveSpec {
    let mut doc = json!({
        "chainId": "netwright-test-1",
        "validators": {"replicas": 4, "stake": 2_000_000},
        "servicers": {"replicas": 2, "stake": 1_000_000},
        "fishermen": {"replicas": 1, "stake": 1_000_000},
        "applications": [{"name": "wallet", "stake": 5_000_000}],
        "relayChains": [
            {"id": "0021", "name": "ethereum", "allowedMethods": ["eth_chainId"],
             "managed": {"kind": "anvil", "anvil": {"chainId": 31337, "blockTime": "1s"}}},
            {"id": "0001", "name": "external", "allowedMethods": ["getblock"],
             "endpoint": {"url": "http://rpc.example:8545"}}
        ],
        "economics": {"unbondingBlocks": 10, "minimumStakes": {"validator": 1_000_000}}
    });
    edit(&mut doc);
    let raw: NetworkSpec = serde_json::from_value(doc).expect("test spec deserializes");
    effective_spec(&raw)
}

/// The default test spec.
pub fn spec() -> EffectiveSpec {
    spec_with(|_| {})
}

/// Plans `spec` against `state`, applies the plan through the model, and checks that the
/// next plan is empty. Returns the applied plan.
pub fn converge(spec: &EffectiveSpec, state: &mut ObservedState) -> Plan {
    let topology = desired_topology(spec).expect("topology");
    let recipe = GenesisRecipe::from_topology(&topology).expect("recipe");
    let first = plan(spec, state).expect("plan");
    if let Err(e) = apply_plan(state, &first, &topology, &recipe) {
        panic!("{e}\nplan:\n{first}");
    }
    let second = plan(spec, state).expect("plan");
    assert!(
        second.is_empty(),
        "not converged after\n{first}\nsecond plan:\n{second}"
    );
    first
}

/// The state of a network converged to `spec`, from nothing, after its nodes had time to
/// catch up (every running node healthy at height 10).
pub fn converged(spec: &EffectiveSpec) -> ObservedState {
    let mut state = ObservedState::default();
    converge(spec, &mut state);
    for node in state.nodes.values_mut().filter(|n| n.running) {
        node.healthy = true;
        node.height = Some(10);
    }
    state
}

/// Names of the nodes an action list touches with `verb`, in order.
pub fn nodes_with(plan: &Plan, verb: &str) -> Vec<String> {
    plan.actions()
        .filter(|a| a.verb() == verb)
        .filter_map(|a| a.node().map(str::to_owned))
        .collect()
}
