//! Properties over random specs and random observed states: planning is deterministic, plans
//! only ask for what the model allows, applying a plan converges (the next plan is empty),
//! and keys are never regenerated.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::fixtures::spec_with;
use super::genesis::GenesisRecipe;
use super::model::apply_plan;
use super::observed::ObservedState;
use super::topology::desired_topology;
use super::{plan, Risk};

const MEMBERS: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];

/// A random edit of the test spec, as a JSON patch of the top-level fields it sets.
fn spec_edit() -> impl Strategy<Value = Value> {
    let validators = prop_oneof![
        (1u32..7, prop::sample::select(vec![1_000_000u64, 2_000_000]))
            .prop_map(|(n, stake)| json!({"replicas": n, "stake": stake})),
        prop::collection::btree_map(prop::sample::select(MEMBERS.to_vec()), 1u64..4, 1..5)
            .prop_map(|m| {
                let members: Vec<Value> = m
                    .into_iter()
                    .map(|(name, k)| json!({"name": name, "stake": k * 1_000_000}))
                    .collect();
                json!({"members": members})
            }),
    ];
    (
        prop::sample::select(vec!["net-a", "net-b"]),
        validators,
        0u32..3,
        0u32..2,
        prop::sample::select(vec!["1s", "2s"]),
        prop::sample::select(vec![10u64, 20]),
        (any::<bool>(), prop::sample::select(vec!["1s", "3s"])),
        prop::sample::subsequence(vec!["wallet", "shop"], 0..=2),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(chain, validators, servicers, fishermen, interval, unbonding, (anvil, block_time), apps, paused)| {
            let mut chains = vec![json!({"id": "0001", "name": "external", "allowedMethods": ["m"],
                                         "endpoint": {"url": "http://rpc.example:1"}})];
            if anvil {
                chains.push(json!({"id": "0021", "name": "ethereum", "allowedMethods": ["eth_chainId"],
                                   "managed": {"kind": "anvil", "anvil": {"blockTime": block_time}}}));
            }
            json!({
                "chainId": chain,
                "validators": validators,
                "servicers": {"replicas": servicers, "stake": 1_000_000},
                "fishermen": {"replicas": fishermen, "stake": 1_000_000},
                "consensus": {"blockInterval": interval},
                "economics": {"unbondingBlocks": unbonding, "minimumStakes": {"validator": 1_000_000}},
                "relayChains": chains,
                "applications": apps.into_iter().map(|a| json!({"name": a})).collect::<Vec<_>>(),
                "paused": paused,
            })
        })
}

fn spec_from(edit: &Value) -> netwright_crds::EffectiveSpec {
    spec_with(|doc| {
        if let (Some(doc), Some(edit)) = (doc.as_object_mut(), edit.as_object()) {
            for (k, v) in edit {
                doc.insert(k.clone(), v.clone());
            }
        }
    })
}

/// Plans `spec` against `state`, checks determinism, applies the plan through the model and
/// checks that nothing is left to do.
fn converge_checked(
    spec: &netwright_crds::EffectiveSpec,
    state: &mut ObservedState,
) -> Result<(), TestCaseError> {
    let topology = desired_topology(spec).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let recipe =
        GenesisRecipe::from_topology(&topology).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let first = plan(spec, state).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = plan(spec, &state.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&first, &again);
    prop_assert_eq!(first.digest(), again.digest());
    prop_assert_eq!(
        first.risk(),
        first
            .steps
            .iter()
            .map(|s| s.risk)
            .max()
            .unwrap_or(Risk::Safe)
    );
    let keys_before: Vec<_> = state
        .nodes
        .iter()
        .map(|(n, s)| (n.clone(), s.public_key))
        .collect();
    let treasury_before = state.treasury_key;
    if let Err(e) = apply_plan(state, &first, &topology, &recipe) {
        return Err(TestCaseError::fail(format!("{e}\nplan:\n{first}")));
    }
    for (name, key) in keys_before {
        prop_assert_eq!(
            state.nodes.get(&name).map(|n| n.public_key),
            Some(key),
            "key of {} changed",
            name
        );
    }
    if treasury_before.is_some() {
        prop_assert_eq!(state.treasury_key, treasury_before);
    }
    let second = plan(spec, state).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        second.is_empty(),
        "not converged after\n{}\nsecond plan:\n{}",
        first,
        second
    );
    Ok(())
}

fn cases() -> u32 {
    std::env::var("NETWRIGHT_PLAN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// From nothing, or from a network converged to another spec and then perturbed (nodes
    /// and relay chains stopped, nodes unhealthy), one plan converges.
    #[test]
    fn planning_is_deterministic_and_converges(
        before in spec_edit(),
        after in spec_edit(),
        from_scratch in any::<bool>(),
        stopped in prop::collection::vec(any::<bool>(), 12),
        unhealthy in prop::collection::vec(any::<bool>(), 12),
        chain_stopped in any::<bool>(),
    ) {
        let mut state = ObservedState::default();
        if !from_scratch {
            let mut unpaused = before.clone();
            unpaused["paused"] = json!(false);
            converge_checked(&spec_from(&unpaused), &mut state)?;
            for (i, node) in state.nodes.values_mut().enumerate() {
                if stopped[i % 12] && i % 3 == 0 {
                    node.running = false;
                    node.healthy = false;
                } else if unhealthy[i % 12] {
                    node.healthy = false;
                }
            }
            if chain_stopped {
                for chain in state.relay_chains.values_mut() {
                    chain.running = false;
                }
            }
        }
        converge_checked(&spec_from(&after), &mut state)?;
        if after["paused"] == json!(true) {
            let mut resumed = after.clone();
            resumed["paused"] = json!(false);
            converge_checked(&spec_from(&resumed), &mut state)?;
        }
    }
}
