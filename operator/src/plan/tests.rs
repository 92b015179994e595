//! Behaviour of the planner: scaling, risk classes, idempotence, genesis, names, pausing.

use netwright_ledger::Genesis;
use serde_json::json;

use super::fixtures::{converge, converged, nodes_with, spec, spec_with};
use super::genesis::{genesis_bytes, genesis_digest, KeySet, FEE_ALLOWANCE};
use super::model::{apply_plan, model_key};
use super::*;

fn keys_for(topology: &Topology) -> KeySet {
    KeySet {
        nodes: topology
            .nodes
            .iter()
            .map(|n| (n.name.clone(), model_key(&KeyOwner::Node(n.name.clone()))))
            .collect(),
        applications: topology
            .applications
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    model_key(&KeyOwner::Application(a.name.clone())),
                )
            })
            .collect(),
        treasury: Some(model_key(&KeyOwner::Treasury)),
    }
}

fn verbs(plan: &Plan) -> Vec<&'static str> {
    plan.actions().map(Action::verb).collect()
}

fn position(plan: &Plan, canonical_prefix: &str) -> usize {
    plan.actions()
        .position(|a| a.canonical().starts_with(canonical_prefix))
        .unwrap_or_else(|| panic!("no `{canonical_prefix}` in\n{plan}"))
}

fn replicas(n: u32) -> impl FnOnce(&mut serde_json::Value) {
    move |doc| doc["validators"]["replicas"] = json!(n)
}

#[test]
fn fresh_network_creates_identities_then_genesis_then_starts_everything() {
    let plan = plan(&spec(), &ObservedState::default()).unwrap();
    assert_eq!(plan.risk(), Risk::Safe);
    assert_eq!(
        &verbs(&plan)[..2],
        ["create-treasury-key", "create-application-key"]
    );
    assert_eq!(
        nodes_with(&plan, "create-node"),
        [
            "validator-0",
            "validator-1",
            "validator-2",
            "validator-3",
            "servicer-0",
            "servicer-1",
            "fisherman-0"
        ]
    );
    assert_eq!(nodes_with(&plan, "start-node").len(), 7);
    assert_eq!(nodes_with(&plan, "write-node-config").len(), 7);
    let genesis_at = position(&plan, "write-genesis chain=netwright-test-1");
    assert!(plan
        .actions()
        .take(genesis_at)
        .all(|a| a.verb().starts_with("create-")));
    assert!(position(&plan, "start-relay-chain chain=0021") < position(&plan, "start-node"));
    assert!(
        plan.actions()
            .all(|a| !a.canonical().contains("chain=0001")),
        "endpoint chains are not run"
    );
    assert!(
        !verbs(&plan).contains(&"stake-validator"),
        "genesis stakes the first validators"
    );
    assert!(plan.canonical_bytes().starts_with(
        b"netwright-plan/v1\nchain netwright-test-1\npaused false\n1 safe create-treasury-key\n"
    ));
}

#[test]
fn converged_network_plans_nothing() {
    let spec = spec();
    let mut state = converged(&spec);
    assert!(plan(&spec, &state).unwrap().is_empty());
    // A node that is running but not (yet) healthy is the supervisor's business, not a change.
    state.nodes.get_mut("validator-2").unwrap().healthy = false;
    let again = plan(&spec, &state).unwrap();
    assert!(again.is_empty(), "{again}");
    assert_eq!(again.risk(), Risk::Safe);
    assert!(again.render().contains("converged, nothing to do"));
}

#[test]
fn scale_up_joins_on_chain_without_touching_genesis() {
    let mut state = converged(&spec());
    let genesis_before = state.genesis_digest();
    let five = spec_with(replicas(5));
    let plan = converge(&five, &mut state);
    assert_eq!(
        plan.actions().map(Action::canonical).collect::<Vec<_>>()[..3],
        [
            "create-node node=validator-4 role=validator".to_owned(),
            format!(
                "write-node-config node=validator-4 config={}",
                desired_topology(&five).unwrap().nodes[4].config.digest()
            ),
            "start-node node=validator-4".to_owned()
        ]
    );
    assert_eq!(verbs(&plan)[3..], ["wait-for-sync", "stake-validator"]);
    assert_eq!(
        plan.steps[4].action,
        Action::StakeValidator {
            node: "validator-4".into(),
            amount: 2_000_000,
            target: 2_000_000
        }
    );
    assert_eq!(plan.risk(), Risk::Safe);
    assert_eq!(
        state.genesis_digest(),
        genesis_before,
        "genesis is never rewritten to scale"
    );
    assert_eq!(state.nodes["validator-4"].stake, 2_000_000);
}

#[test]
fn scale_down_unstakes_waits_then_stops_and_keeps_the_identity() {
    let five = spec_with(replicas(5));
    let mut state = converged(&five);
    let key = state.nodes["validator-4"].public_key;
    let plan = converge(&spec(), &mut state);
    assert_eq!(
        verbs(&plan),
        ["unstake-validator", "wait-for-validator-exit", "stop-node"]
    );
    assert_eq!(
        plan.steps[0].action,
        Action::UnstakeValidator {
            node: "validator-4".into(),
            amount: 2_000_000,
            target: 0
        }
    );
    assert!(plan.actions().all(|a| a.node() == Some("validator-4")));
    assert_eq!(
        plan.risk(),
        Risk::Disruptive,
        "4 of 5 equal stakes keep quorum"
    );
    let retired = &state.nodes["validator-4"];
    assert!(!retired.running && retired.stake == 0 && retired.has_chain_data);

    // Scaling back up resumes the same identity: no new key, no new genesis.
    let plan = converge(&five, &mut state);
    assert_eq!(
        verbs(&plan),
        ["start-node", "wait-for-sync", "stake-validator"]
    );
    assert_eq!(state.nodes["validator-4"].public_key, key);
}

#[test]
fn shrink_that_loses_quorum_is_unsafe() {
    let state = converged(&spec());
    for (keep, risk) in [(3, Risk::Disruptive), (2, Risk::Unsafe), (1, Risk::Unsafe)] {
        let plan = plan(&spec_with(replicas(keep)), &state).unwrap();
        assert_eq!(plan.risk(), risk, "4 -> {keep}:\n{plan}");
        for step in plan
            .steps
            .iter()
            .filter(|s| s.action.verb() == "unstake-validator")
        {
            assert_eq!(step.risk, risk);
            if risk == Risk::Unsafe {
                assert!(step.reason.contains("lose its quorum"), "{}", step.reason);
            }
        }
        assert_eq!(
            nodes_with(&plan, "unstake-validator").len(),
            4 - keep as usize
        );
    }
}

#[test]
fn quorum_is_strictly_more_than_two_thirds() {
    assert!(has_quorum(0, 0));
    assert!(has_quorum(3, 4));
    assert!(!has_quorum(2, 3));
    assert!(has_quorum(2_000_001, 3_000_000));
    assert!(!has_quorum(1, 2));
    assert!(has_quorum(u128::from(u64::MAX), u128::from(u64::MAX)));
}

#[test]
fn lowering_or_raising_a_stake_moves_only_the_difference() {
    let members = |a: u64, b: u64| {
        move |doc: &mut serde_json::Value| {
            doc["validators"] = json!({"members": [
                {"name": "alpha", "stake": a}, {"name": "bravo", "stake": b},
                {"name": "charlie", "stake": 2_000_000}, {"name": "delta", "stake": 2_000_000}]});
        }
    };
    let mut state = converged(&spec_with(members(2_000_000, 2_000_000)));
    let plan = converge(&spec_with(members(3_000_000, 2_000_000)), &mut state);
    assert_eq!(
        plan.steps
            .iter()
            .map(|s| (&s.action, s.risk))
            .collect::<Vec<_>>(),
        [(
            &Action::StakeValidator {
                node: "alpha".into(),
                amount: 1_000_000,
                target: 3_000_000
            },
            Risk::Safe
        )]
    );
    let plan = converge(&spec_with(members(3_000_000, 1_000_000)), &mut state);
    assert_eq!(plan.steps.len(), 1, "{plan}");
    assert_eq!(
        plan.steps[0].action,
        Action::UnstakeValidator {
            node: "bravo".into(),
            amount: 1_000_000,
            target: 1_000_000
        }
    );
    assert_eq!(plan.risk(), Risk::Disruptive);
}

#[test]
fn configuration_change_restarts_nodes_one_at_a_time() {
    let mut state = converged(&spec());
    let slower = spec_with(|doc| doc["consensus"] = json!({"blockInterval": "2s"}));
    let plan = converge(&slower, &mut state);
    assert_eq!(plan.risk(), Risk::Disruptive);
    assert_eq!(nodes_with(&plan, "write-node-config").len(), 7);
    let restarts: Vec<_> = plan
        .steps
        .iter()
        .skip_while(|s| s.action.verb() != "restart-node")
        .collect();
    assert_eq!(restarts.len(), 14);
    for pair in restarts.chunks(2) {
        assert_eq!(pair[0].action.verb(), "restart-node");
        assert_eq!(pair[0].risk, Risk::Disruptive);
        assert_eq!(
            pair[1].action,
            Action::WaitForSync {
                node: pair[0].action.node().unwrap().to_owned()
            }
        );
    }
}

#[test]
fn relay_chain_changes_restart_or_stop_the_managed_chain() {
    let mut state = converged(&spec());
    let faster =
        spec_with(|doc| doc["relayChains"][0]["managed"]["anvil"]["blockTime"] = json!("2s"));
    let plan = converge(&faster, &mut state);
    assert_eq!(verbs(&plan), ["restart-relay-chain"]);
    assert_eq!(plan.risk(), Risk::Disruptive);

    let without = spec_with(|doc| {
        doc["relayChains"] = json!([doc["relayChains"][1].clone()]);
    });
    let plan = converge(&without, &mut state);
    assert_eq!(
        plan.steps.last().unwrap().action,
        Action::StopRelayChain {
            chain: "0021".into()
        }
    );
    assert_eq!(
        nodes_with(&plan, "restart-node"),
        ["servicer-0", "servicer-1"],
        "servicers serve fewer chains"
    );
    assert!(!state.relay_chains["0021"].running);
}

#[test]
fn crashed_node_is_started_again_without_other_changes() {
    let spec = spec();
    let mut state = converged(&spec);
    let node = state.nodes.get_mut("servicer-1").unwrap();
    node.running = false;
    node.healthy = false;
    let plan = plan(&spec, &state).unwrap();
    assert_eq!(
        plan.actions().cloned().collect::<Vec<_>>(),
        [Action::StartNode {
            node: "servicer-1".into()
        }]
    );
    assert_eq!(plan.risk(), Risk::Safe);
    converge(&spec, &mut state);
}

#[test]
fn stopped_retired_validator_is_unstaked_but_not_stopped_again() {
    let mut state = converged(&spec_with(replicas(5)));
    let node = state.nodes.get_mut("validator-4").unwrap();
    node.running = false;
    node.healthy = false;
    let plan = converge(&spec(), &mut state);
    assert_eq!(
        verbs(&plan),
        ["unstake-validator", "wait-for-validator-exit"]
    );
}

#[test]
fn chain_id_change_on_a_running_network_is_unsafe() {
    let mut state = converged(&spec());
    let old = state.genesis_digest();
    let renamed = spec_with(|doc| doc["chainId"] = json!("netwright-test-2"));
    let plan = converge(&renamed, &mut state);
    assert_eq!(plan.risk(), Risk::Unsafe);
    let write = plan
        .steps
        .iter()
        .find(|s| s.action.verb() == "write-genesis")
        .unwrap();
    assert_eq!(write.risk, Risk::Unsafe);
    assert!(
        write
            .reason
            .contains("chain_id netwright-test-1 -> netwright-test-2"),
        "{}",
        write.reason
    );
    assert!(matches!(write.action, Action::WriteGenesis { replaces, .. } if replaces == old));
    let stops = plan.steps.iter().filter(|s| s.action.verb() == "stop-node");
    assert!(stops
        .filter(|s| s.action.node().is_some_and(|n| n.starts_with("validator-")))
        .all(|s| s.risk == Risk::Unsafe));
    assert_eq!(nodes_with(&plan, "delete-node-data").len(), 7);
    assert!(position(&plan, "delete-node-data") < position(&plan, "write-genesis"));
    assert!(position(&plan, "write-genesis") < position(&plan, "start-node"));
    assert!(!verbs(&plan).contains(&"create-node"), "keys are kept");
    assert_eq!(state.genesis.as_ref().unwrap().chain_id, "netwright-test-2");
}

#[test]
fn genesis_parameter_change_is_unsafe_but_other_economics_are_not_genesis_bound() {
    let state = converged(&spec());
    let longer = spec_with(|doc| doc["economics"]["unbondingBlocks"] = json!(20));
    let plan = plan(&longer, &state).unwrap();
    assert_eq!(plan.risk(), Risk::Unsafe);
    assert!(plan
        .steps
        .iter()
        .any(|s| s.reason.contains("params.unbonding_period_blocks 10 -> 20")));
    let rewarded = spec_with(|doc| doc["economics"]["rewardPerRelay"] = json!(7));
    assert!(super::plan(&rewarded, &state).unwrap().is_empty());
}

#[test]
fn the_relay_economy_of_the_spec_reaches_genesis_and_is_genesis_bound() {
    let declared = spec_with(|doc| {
        doc["economics"]["sessionBlocks"] = json!(6);
        doc["economics"]["servicersPerSession"] = json!(3);
        doc["economics"]["sessionGraceBlocks"] = json!(2);
        doc["economics"]["relaysPerStake"] = json!(40);
        doc["economics"]["jailBlocks"] = json!(50);
        doc["economics"]["maxDelegatedGateways"] = json!(2);
        doc["economics"]["minimumStakes"]["servicer"] = json!(1_000_000);
    });
    let topology = desired_topology(&declared).unwrap();
    let recipe = GenesisRecipe::from_topology(&topology).unwrap();
    let genesis = recipe.build(&keys_for(&topology), 0).unwrap();
    let e = &genesis.economics;
    assert_eq!(
        (e.session_blocks, e.servicers_per_session, e.grace_blocks),
        (6, 3, 2)
    );
    assert_eq!(
        (e.relays_per_stake, e.jail_blocks, e.max_delegated_gateways),
        (40, 50, 2)
    );
    assert_eq!(e.min_servicer_stake, 1_000_000);
    assert_eq!(e.unbonding_blocks, genesis.params.unbonding_period_blocks);

    // Changing one after genesis means a new genesis: unsafe, and named.
    let state = converged(&declared);
    let more = spec_with(|doc| {
        doc["economics"]["sessionBlocks"] = json!(6);
        doc["economics"]["servicersPerSession"] = json!(5);
        doc["economics"]["sessionGraceBlocks"] = json!(2);
        doc["economics"]["relaysPerStake"] = json!(40);
        doc["economics"]["jailBlocks"] = json!(50);
        doc["economics"]["maxDelegatedGateways"] = json!(2);
        doc["economics"]["minimumStakes"]["servicer"] = json!(1_000_000);
    });
    let plan = plan(&more, &state).unwrap();
    assert_eq!(plan.risk(), Risk::Unsafe);
    assert!(
        plan.steps
            .iter()
            .any(|s| s.reason.contains("economics.servicers_per_session 3 -> 5")),
        "{plan}"
    );
}

#[test]
fn an_out_of_range_economic_parameter_is_refused_with_its_spec_path() {
    let zero = spec_with(|doc| doc["economics"]["jailBlocks"] = json!(0));
    let error = desired_topology(&zero).unwrap_err().to_string();
    assert!(error.contains("economics.jailBlocks"), "{error}");
    assert!(error.contains("at least 1"), "{error}");
}

#[test]
fn paused_network_records_the_pause_and_nothing_else() {
    let fresh = plan(
        &spec_with(|doc| doc["paused"] = json!(true)),
        &ObservedState::default(),
    )
    .unwrap();
    assert_eq!(verbs(&fresh), ["pause"]);
    assert!(fresh.paused);

    let mut state = converged(&spec());
    let paused_shrink = spec_with(|doc| {
        doc["paused"] = json!(true);
        doc["validators"]["replicas"] = json!(1);
    });
    let plan = converge(&paused_shrink, &mut state);
    assert_eq!(verbs(&plan), ["pause"]);
    assert_eq!(plan.risk(), Risk::Safe);
    assert!(state.paused && state.nodes.values().all(|n| n.running));
    assert!(super::plan(&paused_shrink, &state)
        .unwrap()
        .render()
        .contains("paused, nothing to do"));

    let resumed = converge(&spec_with(replicas(3)), &mut state);
    assert_eq!(verbs(&resumed)[0], "resume");
    assert_eq!(nodes_with(&resumed, "unstake-validator"), ["validator-3"]);
}

#[test]
fn names_stay_stable_across_edits() {
    let names = |spec: &netwright_crds::EffectiveSpec| -> Vec<String> {
        desired_topology(spec)
            .unwrap()
            .nodes
            .into_iter()
            .map(|n| n.name)
            .collect()
    };
    let four = names(&spec());
    let six = names(&spec_with(replicas(6)));
    assert_eq!(&six[..4], &four[..4]);
    assert_eq!(&six[4..6], ["validator-4", "validator-5"]);
    assert_eq!(&six[6..], &four[4..]);

    let members = |list: serde_json::Value| {
        spec_with(move |doc| doc["validators"] = json!({"members": list, "stake": 2_000_000}))
    };
    let abcd = members(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]));
    let mut state = converged(&abcd);
    let keys: Vec<_> = ["a", "c", "d"]
        .iter()
        .map(|n| state.nodes[*n].public_key)
        .collect();
    // Removing a member in the middle and reordering the rest touches only the removed one.
    let dca = members(json!([{"name": "d"}, {"name": "c"}, {"name": "a"}]));
    let plan = converge(&dca, &mut state);
    assert!(plan.actions().all(|a| a.node() == Some("b")), "{plan}");
    assert_eq!(keys, ["a", "c", "d"].map(|n| state.nodes[n].public_key));
    assert_eq!(names(&dca)[..3], ["d", "c", "a"]);
}

#[test]
fn topology_errors_name_the_field() {
    let clash = spec_with(|doc| doc["validators"] = json!({"members": [{"name": "servicer-0"}]}));
    assert_eq!(
        desired_topology(&clash).unwrap_err(),
        TopologyError::DuplicateName {
            name: "servicer-0".into(),
            first: "validators[0]".into(),
            second: "servicers[0]".into()
        }
    );
    let bad = spec_with(|doc| doc["validators"] = json!({"members": [{"name": "Bad_Name"}]}));
    let err = plan(&bad, &ObservedState::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("spec field `validators[0].name` = \"Bad_Name\": must be a DNS label"),
        "{err}"
    );
    let low = spec_with(|doc| doc["validators"]["stake"] = json!(5));
    let err = desired_topology(&low).unwrap_err().to_string();
    assert!(
        err.contains(
            "`validators[0].stake` = 5: below economics.minimumStakes.validator (1000000)"
        ),
        "{err}"
    );
    let huge = spec_with(|doc| doc["consensus"] = json!({"maxTxsPerBlock": 5_000_000_000u64}));
    assert!(desired_topology(&huge)
        .unwrap_err()
        .to_string()
        .contains("consensus.maxTxsPerBlock"));
    let unknown = spec_with(|doc| doc["servicers"]["chains"] = json!(["0099"]));
    assert!(desired_topology(&unknown)
        .unwrap_err()
        .to_string()
        .contains("`servicers.chains[0]` = \"0099\""));
}

#[test]
fn servicers_get_their_chains_and_endpoints_in_their_configuration() {
    let topology = desired_topology(&spec()).unwrap();
    let servicer = topology.node("servicer-0").unwrap();
    assert_eq!(servicer.config.relay_chains.len(), 2);
    assert_eq!(
        servicer.config.relay_chains[0].target,
        topology::RelayTarget::Managed
    );
    assert_eq!(
        servicer.config.relay_chains[1].target,
        topology::RelayTarget::Endpoint {
            url: "http://rpc.example:8545".into()
        }
    );
    assert!(topology
        .node("validator-0")
        .unwrap()
        .config
        .relay_chains
        .is_empty());
    assert_eq!(topology.managed_chains.len(), 1);
    assert_eq!(topology.managed_chains[0].block_time_ms, 1000);
}

#[test]
fn genesis_is_deterministic_valid_and_funds_everyone() {
    let topology = desired_topology(&spec()).unwrap();
    let recipe = GenesisRecipe::from_topology(&topology).unwrap();
    let keys = keys_for(&topology);
    let a = recipe.build(&keys, 1_700_000_000_000).unwrap();
    let b = GenesisRecipe::from_topology(&desired_topology(&spec()).unwrap())
        .unwrap()
        .build(&keys, 1_700_000_000_000)
        .unwrap();
    assert_eq!(genesis_bytes(&a), genesis_bytes(&b));
    assert_eq!(genesis_digest(&a), genesis_digest(&b));
    assert_ne!(
        genesis_digest(&a),
        genesis_digest(&recipe.build(&keys, 1).unwrap())
    );

    let text = String::from_utf8(genesis_bytes(&a)).unwrap();
    assert_eq!(
        Genesis::from_json(&text).unwrap(),
        a,
        "the ledger accepts it as written"
    );
    assert_eq!(a.chain_id, "netwright-test-1");
    assert_eq!(a.initial_height, 1);
    assert_eq!(a.params.unbonding_period_blocks, 10);
    assert_eq!(a.params.min_validator_stake, 1_000_000);
    assert_eq!(a.validators.len(), 4);
    assert!(a.validators.iter().all(|v| v.stake == 2_000_000));
    assert_eq!(a.validators[0].public_key, keys.nodes["validator-0"]);
    assert_eq!(a.accounts.len(), 7 + 1 + 1);
    let balance = |owner: KeyOwner| {
        let address = netwright_ledger::Address::from_public_key(keys.get(&owner).unwrap());
        a.accounts
            .iter()
            .find(|acc| acc.address == address)
            .unwrap()
            .balance
    };
    assert_eq!(balance(KeyOwner::Node("validator-0".into())), FEE_ALLOWANCE);
    assert_eq!(
        balance(KeyOwner::Node("servicer-1".into())),
        1_000_000 + FEE_ALLOWANCE
    );
    assert_eq!(
        balance(KeyOwner::Application("wallet".into())),
        5_000_000 + FEE_ALLOWANCE
    );
    assert_eq!(
        balance(KeyOwner::Treasury),
        100 * (2_000_000 + FEE_ALLOWANCE)
    );
    assert_eq!(recipe.treasury_balance(), 100 * (2_000_000 + FEE_ALLOWANCE));
}

#[test]
fn genesis_needs_every_key_and_a_supply_that_fits() {
    let topology = desired_topology(&spec()).unwrap();
    let recipe = GenesisRecipe::from_topology(&topology).unwrap();
    let mut keys = keys_for(&topology);
    keys.nodes.remove("fisherman-0");
    assert_eq!(
        recipe.build(&keys, 0).unwrap_err().to_string(),
        "no public key for node/fisherman-0: its key must be created before genesis is written"
    );
    let mut keys = keys_for(&topology);
    keys.nodes
        .insert("validator-1".into(), keys.nodes["validator-0"]);
    assert!(matches!(
        recipe.build(&keys, 0),
        Err(GenesisBuildError::Invalid(_))
    ));

    let rich = spec_with(|doc| doc["validators"]["stake"] = json!(1u64 << 59));
    let err = GenesisRecipe::from_topology(&desired_topology(&rich).unwrap()).unwrap_err();
    assert!(
        matches!(err, GenesisBuildError::SupplyTooLarge { .. }),
        "{err}"
    );
    // Large but fitting stakes shrink the treasury to what the supply allows.
    let big = spec_with(|doc| doc["validators"]["stake"] = json!(1u64 << 56));
    let topology = desired_topology(&big).unwrap();
    let recipe = GenesisRecipe::from_topology(&topology).unwrap();
    let genesis = recipe.build(&keys_for(&topology), 0).unwrap();
    assert_eq!(
        genesis.total_supply(),
        u128::from(netwright_ledger::MAX_TOTAL_SUPPLY)
    );
}

#[test]
fn plan_digest_covers_actions_and_risk_but_not_reasons() {
    let mut plan = plan(&spec(), &ObservedState::default()).unwrap();
    let digest = plan.digest();
    assert_eq!(digest, Digest::of(&plan.canonical_bytes()));
    plan.steps[0].reason = "reworded".into();
    assert_eq!(plan.digest(), digest);
    plan.steps[0].risk = Risk::Unsafe;
    assert_ne!(plan.digest(), digest);
    plan.steps[0].risk = Risk::Safe;
    plan.steps.swap(1, 2);
    assert_ne!(plan.digest(), digest);

    let json = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back.digest(), plan.digest());
    assert!(json.contains(r#""action":"create-treasury-key""#), "{json}");
    let text = plan.render();
    assert!(text.contains(&format!("digest {}", plan.digest())));
    assert!(text.contains("[safe]"));
}

#[test]
fn canonical_encoding_is_exactly_as_documented() {
    let d = Digest::of(b"config");
    let plan = Plan {
        chain_id: "c-1".into(),
        paused: false,
        steps: vec![
            Step {
                action: Action::StartNode {
                    node: "validator-4".into(),
                },
                risk: Risk::Safe,
                reason: "x".into(),
            },
            Step {
                action: Action::UnstakeValidator {
                    node: "validator-3".into(),
                    amount: 5,
                    target: 0,
                },
                risk: Risk::Unsafe,
                reason: String::new(),
            },
            Step {
                action: Action::WriteGenesis {
                    chain_id: "c-1".into(),
                    recipe: d,
                    replaces: None,
                },
                risk: Risk::Safe,
                reason: String::new(),
            },
        ],
    };
    let expected = format!(
        "netwright-plan/v1\nchain c-1\npaused false\n1 safe start-node node=validator-4\n\
         2 unsafe unstake-validator node=validator-3 amount=5 target=0\n\
         3 safe write-genesis chain=c-1 recipe={d} replaces=none\n"
    );
    assert_eq!(String::from_utf8(plan.canonical_bytes()).unwrap(), expected);
    assert_eq!(plan.digest(), Digest::of(expected.as_bytes()));
    assert_eq!(plan.risk(), Risk::Unsafe);
}

#[test]
fn model_refuses_what_a_backend_must_never_do() {
    let spec = spec();
    let topology = desired_topology(&spec).unwrap();
    let recipe = GenesisRecipe::from_topology(&topology).unwrap();
    let mut state = converged(&spec);
    let regenerate = Plan {
        chain_id: topology.chain_id.clone(),
        paused: false,
        steps: vec![Step {
            action: Action::CreateNode {
                node: "validator-0".into(),
                role: Role::Validator,
            },
            risk: Risk::Safe,
            reason: String::new(),
        }],
    };
    assert!(apply_plan(&mut state, &regenerate, &topology, &recipe)
        .unwrap_err()
        .reason
        .contains("never regenerated"));
    let delete = Action::DeleteNodeData {
        node: "validator-0".into(),
    };
    assert!(
        model::apply(&mut state, &delete, &topology, &recipe).is_err(),
        "data of a running node"
    );
    let one = spec_with(replicas(1));
    let mut lone = converged(&one);
    let leave = Action::UnstakeValidator {
        node: "validator-0".into(),
        amount: 2_000_000,
        target: 0,
    };
    assert!(model::apply(&mut lone, &leave, &topology, &recipe)
        .unwrap_err()
        .reason
        .contains("last validator"));
}

#[test]
fn example_localnet_plans_and_converges() {
    let reports =
        netwright_crds::validate::validate_source(include_str!("../../../examples/localnet.yaml"))
            .unwrap();
    let network = reports[0].network.clone().expect("the example is valid");
    let spec = netwright_crds::effective_spec(&network.spec);
    let mut state = ObservedState::default();
    let plan = converge(&spec, &mut state);
    assert_eq!(plan.risk(), Risk::Safe);
    assert_eq!(state.nodes.len(), 7);
    assert_eq!(state.summary().validators, 4);
    assert_eq!(state.summary().relay_chains_running, 1);
    assert_eq!(
        state.genesis.as_ref().unwrap().chain_id,
        "netwright-localnet-1"
    );
}
