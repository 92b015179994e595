//! Property tests of the relay economy over random sequences of actor
//! transactions, jailings and blocks: supply is conserved, no stake is ever
//! zero or below its minimum outside jail, the session snapshots match the
//! actors at each session start, and a session is the same at every height
//! it covers and on a ledger rebuilt from the stored state.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use crate::actors::{ActorRole, RelayChain};
use crate::address::Address;
use crate::crypto::{Hash, PublicKey};
use crate::economics::EconomicParams;
use crate::genesis::{Genesis, GenesisAccount, GenesisActor, GenesisValidator, Params};
use crate::ledger::Ledger;
use crate::session::{self, Session};
use crate::tx::{TxBody, TxPayload};

const CHAIN_ID: &str = "props";
const PEOPLE: u8 = 6;
const CHAINS: [&str; 2] = ["a", "b"];

fn key(who: u8) -> SigningKey {
    SigningKey::from_bytes(&[who + 1; 32])
}

fn public(who: u8) -> PublicKey {
    PublicKey::from(key(who).verifying_key())
}

fn address(who: u8) -> Address {
    Address::from_public_key(&public(who))
}

fn chains(mask: u8) -> Vec<RelayChain> {
    CHAINS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, c)| RelayChain::from(*c))
        .collect()
}

fn economics() -> EconomicParams {
    EconomicParams {
        min_servicer_stake: 100,
        min_application_stake: 50,
        min_fisherman_stake: 80,
        unbonding_blocks: 3,
        session_blocks: 3,
        servicers_per_session: 2,
        grace_blocks: 1,
        max_delegated_gateways: 2,
        jail_blocks: 4,
        relays_per_stake: 10,
    }
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN_ID.into(),
        initial_height: 1,
        genesis_time_ms: 0,
        params: Params {
            unbonding_period_blocks: 2,
            min_validator_stake: 10,
            max_txs_per_block: 1_000,
        },
        accounts: (0..PEOPLE)
            .map(|w| GenesisAccount {
                address: address(w),
                balance: 1_000,
            })
            .collect(),
        validators: vec![GenesisValidator {
            public_key: public(200),
            stake: 100,
        }],
        economics: economics(),
        servicers: vec![GenesisActor {
            public_key: public(0),
            stake: 150,
            chains: chains(1),
            service_url: "https://s0.example".into(),
            gateways: vec![],
        }],
        applications: vec![GenesisActor {
            public_key: public(1),
            stake: 60,
            chains: chains(3),
            service_url: String::new(),
            gateways: vec![],
        }],
        fishermen: vec![],
    }
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    /// A transaction by person `who`, added to the block being built.
    Tx(u8, BodySpec),
    /// The block being built is applied.
    EndBlock,
    /// An actor is jailed between blocks (what slashing will do).
    Jail(ActorRole, u8),
}

#[derive(Debug, Clone)]
enum BodySpec {
    Stake(ActorRole, u64, u8, u8),
    Unstake(ActorRole),
    Pause,
    Unpause,
    Unjail(ActorRole),
    Transfer(u8, u64),
}

fn role() -> impl Strategy<Value = ActorRole> {
    prop_oneof![
        Just(ActorRole::Servicer),
        Just(ActorRole::Application),
        Just(ActorRole::Fisherman)
    ]
}

fn body_spec() -> impl Strategy<Value = BodySpec> {
    prop_oneof![
        4 => (role(), 0u64..400, 0u8..4, 0u8..4).prop_map(|(r, s, m, g)| BodySpec::Stake(r, s, m, g)),
        2 => role().prop_map(BodySpec::Unstake),
        1 => Just(BodySpec::Pause),
        1 => Just(BodySpec::Unpause),
        2 => role().prop_map(BodySpec::Unjail),
        1 => (0..PEOPLE, 0u64..300).prop_map(|(to, a)| BodySpec::Transfer(to, a)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..PEOPLE, body_spec()).prop_map(|(w, b)| Step::Tx(w, b)),
        3 => Just(Step::EndBlock),
        1 => (role(), 0..PEOPLE).prop_map(|(r, w)| Step::Jail(r, w)),
    ]
}

fn body(who: u8, spec: &BodySpec) -> TxBody {
    match *spec {
        BodySpec::Stake(role, stake, mask, gateways) => match role {
            ActorRole::Servicer => TxBody::ServicerStake {
                stake,
                chains: chains(mask),
                service_url: format!("https://s{who}.example"),
            },
            ActorRole::Application => {
                let mut gw: Vec<Address> = (0..gateways).map(|g| address(100 + g)).collect();
                gw.sort();
                TxBody::ApplicationStake {
                    stake,
                    chains: chains(mask),
                    gateways: gw,
                }
            }
            ActorRole::Fisherman => TxBody::FishermanStake {
                stake,
                chains: chains(mask),
            },
        },
        BodySpec::Unstake(ActorRole::Servicer) => TxBody::ServicerUnstake,
        BodySpec::Unstake(ActorRole::Application) => TxBody::ApplicationUnstake,
        BodySpec::Unstake(ActorRole::Fisherman) => TxBody::FishermanUnstake,
        BodySpec::Pause => TxBody::ServicerPause,
        BodySpec::Unpause => TxBody::ServicerUnpause,
        BodySpec::Unjail(role) => TxBody::Unjail { role },
        BodySpec::Transfer(to, amount) => TxBody::Transfer {
            to: address(to),
            amount,
        },
    }
}

fn seed_hash(start: u64) -> Hash {
    Hash::of(&start.to_le_bytes())
}

/// Every (application, chain) session at `height` the ledger can give.
fn sessions_at(ledger: &Ledger, height: u64) -> BTreeMap<(Address, RelayChain), Session> {
    let mut out = BTreeMap::new();
    let Some(bounds) = ledger.session_bounds(height) else {
        return out;
    };
    for who in 0..PEOPLE {
        for c in CHAINS {
            let chain = RelayChain::from(c);
            if let Ok(s) = ledger.session(&address(who), &chain, height, &seed_hash(bounds.start)) {
                out.insert((address(who), chain), s);
            }
        }
    }
    out
}

/// What the sessions starting at the next height must be, from the actors
/// as they stand now (before that height's block).
fn expected_sessions(ledger: &Ledger, start: u64) -> BTreeMap<(Address, RelayChain), Vec<Address>> {
    let p = ledger.economics_history().at(start).clone();
    let servicers = ledger.actors(ActorRole::Servicer);
    let mut out = BTreeMap::new();
    for app in ledger.actors(ActorRole::Application) {
        if app.jailed_until.is_some() {
            continue;
        }
        for chain in &app.chains {
            let candidates: Vec<Address> = servicers
                .iter()
                .filter(|s| !s.paused && s.jailed_until.is_none() && s.chains.contains(chain))
                .map(|s| s.address)
                .collect();
            let id = session::session_id(&seed_hash(start), chain, &app.address, start);
            let chosen = session::select(&id, &candidates, p.servicers_per_session as usize);
            out.insert((app.address, chain.clone()), chosen);
        }
    }
    out
}

fn check_invariants(ledger: &Ledger, supply: u128) -> Result<(), TestCaseError> {
    prop_assert_eq!(ledger.total_supply(), supply, "supply is conserved");
    let p = ledger.economics();
    for role in ActorRole::ALL {
        for a in ledger.actors(role) {
            prop_assert!(a.stake > 0, "{role} {} has zero stake", a.address);
            if a.jailed_until.is_none() {
                prop_assert!(a.stake >= p.min_stake(role), "{role} under minimum");
            }
        }
    }
    let height = ledger.height();
    for s in sessions_at(ledger, height).values() {
        let n = s.servicers.len() as u128;
        prop_assert!(n <= u128::from(p.servicers_per_session));
        // Quota: the servicers together stay within stake x relays_per_stake,
        // short of it by less than one relay per servicer (rounding down).
        let budget = u128::from(s.application_stake)
            * u128::from(ledger.economics_history().at(s.start).relays_per_stake);
        let served = u128::from(s.relays_per_servicer) * n;
        prop_assert!(served <= budget, "quota exceeded");
        prop_assert!(
            n == 0 || budget - served < n,
            "quota rounds down by less than one per servicer"
        );
        if let Some(f) = s.fisherman {
            prop_assert!(!s.servicers.contains(&f));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_actor_histories_keep_the_invariants(steps in prop::collection::vec(step(), 1..80)) {
        let g = genesis();
        let supply = g.total_supply();
        let mut ledger = Ledger::from_genesis(&g).unwrap();
        check_invariants(&ledger, supply)?;
        let mut nonces: BTreeMap<u8, u64> = BTreeMap::new();
        let mut block: Vec<Vec<u8>> = Vec::new();
        // Sessions as first seen, by start height.
        let mut seen: BTreeMap<u64, BTreeMap<(Address, RelayChain), Session>> = BTreeMap::new();
        // Sessions predicted from the actors before each session start.
        let mut predicted = BTreeMap::new();
        predicted.insert(1, expected_sessions(&ledger, 1));
        let mut steps = steps;
        steps.push(Step::EndBlock);
        for step in steps {
            match step {
                Step::Tx(who, spec) => {
                    let nonce = nonces.entry(who).or_insert(0);
                    let tx = TxPayload {
                        chain_id: CHAIN_ID.into(),
                        signer: public(who),
                        nonce: *nonce,
                        fee: 0,
                        body: body(who, &spec),
                    }
                    .sign(&key(who))
                    .encode();
                    *nonce += 1;
                    block.push(tx);
                }
                Step::Jail(role, who) => {
                    ledger.jail_now(role, &address(who));
                    check_invariants(&ledger, supply)?;
                }
                Step::EndBlock => {
                    let height = ledger.height() + 1;
                    let out = ledger.apply_block(height, height * 10, &block).unwrap();
                    block.clear();
                    for r in &out.tx_results {
                        // Fee 0: every well-formed transaction consumes its nonce.
                        prop_assert!(r.code() == 0 || r.code() >= 7, "{:?}", r.result);
                    }
                    check_invariants(&ledger, supply)?;
                    let bounds = ledger.session_bounds(height).unwrap();
                    let now = sessions_at(&ledger, height);
                    let first = seen.entry(bounds.start).or_insert_with(|| now.clone());
                    prop_assert_eq!(&*first, &now, "a session is the same at every height it covers");
                    if let Some(expected) = predicted.get(&bounds.start) {
                        let chosen: BTreeMap<(Address, RelayChain), Vec<Address>> = now
                            .iter()
                            .map(|(k, s)| (k.clone(), s.servicers.clone()))
                            .collect();
                        prop_assert_eq!(expected, &chosen, "sessions follow the actors at their start");
                    }
                    if ledger.economics_history().is_session_start(height + 1) {
                        predicted.insert(height + 1, expected_sessions(&ledger, height + 1));
                    }
                    let rebuilt = Ledger::from_snapshot(ledger.snapshot(), &ledger.state_root()).unwrap();
                    prop_assert_eq!(sessions_at(&rebuilt, height), now, "identical on another node");
                    // The previous session is still known during its grace block.
                    if bounds.start == height && height > 1 {
                        let prev = ledger.session_bounds(height - 1).unwrap();
                        prop_assert!(ledger.relay_session_acceptable(prev.start, height));
                        let again = sessions_at(&ledger, height - 1);
                        prop_assert_eq!(seen.get(&prev.start), Some(&again));
                    }
                }
            }
        }
    }
}
