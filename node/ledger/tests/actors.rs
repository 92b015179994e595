//! Servicers, applications and fishermen through the public API: genesis,
//! transactions in blocks, sessions across their boundaries, restarts.

mod common;

use std::collections::BTreeMap;

use common::{addr, public, signed};
use netwright_ledger::{
    ActorRole, Address, EconomicParams, Genesis, GenesisActor, Hash, Ledger, RelayChain,
    SessionError, TxBody, TxError,
};

const SESSION: u64 = 4;
const GRACE: u64 = 1;

fn eth() -> RelayChain {
    RelayChain::from("eth")
}

fn servicer(seed: u64, stake: u64) -> GenesisActor {
    GenesisActor {
        public_key: public(seed),
        stake,
        chains: vec![eth()],
        service_url: format!("https://s{seed}.example"),
        gateways: vec![],
    }
}

/// Accounts 1..=6 with 10_000 each; servicers 11..=14 and application 21
/// (on `eth`) and fisherman 31 staked at genesis.
fn genesis() -> Genesis {
    let mut g = common::genesis(6, 10_000, 1);
    g.economics = EconomicParams {
        min_servicer_stake: 100,
        min_application_stake: 100,
        min_fisherman_stake: 100,
        unbonding_blocks: 3,
        session_blocks: SESSION,
        servicers_per_session: 3,
        grace_blocks: GRACE,
        max_delegated_gateways: 2,
        jail_blocks: 5,
        relays_per_stake: 10,
    };
    g.servicers = (11..=14).map(|s| servicer(s, 100 + s)).collect();
    g.applications = vec![GenesisActor {
        public_key: public(21),
        stake: 1_000,
        chains: vec![eth()],
        service_url: String::new(),
        gateways: vec![addr(3)],
    }];
    g.fishermen = vec![GenesisActor {
        public_key: public(31),
        stake: 100,
        chains: vec![eth()],
        service_url: String::new(),
        gateways: vec![],
    }];
    g
}

fn seed(start: u64) -> Hash {
    Hash::of(format!("block {start}").as_bytes())
}

fn app() -> Address {
    addr(21)
}

fn apply(ledger: &mut Ledger, txs: &[Vec<u8>]) -> Vec<u32> {
    let h = ledger.height() + 1;
    let out = ledger.apply_block(h, h * 1_000, txs).unwrap();
    assert_eq!(out.state_root, ledger.state_root());
    out.tx_results.iter().map(|r| r.code()).collect()
}

#[test]
fn genesis_without_economics_decodes_and_writes_back_the_same_text() {
    let old = common::genesis(2, 500, 1);
    let text = old.to_json();
    assert!(!text.contains("economics") && !text.contains("servicers"));
    let parsed = Genesis::from_json(&text).unwrap();
    assert_eq!(parsed.economics, EconomicParams::default());
    assert_eq!(parsed.to_json(), text);

    let g = genesis();
    let text = g.to_json();
    assert!(text.contains("\"economics\"") && text.contains("\"service_url\""));
    assert_eq!(Genesis::from_json(&text).unwrap(), g);
    // A partial section takes defaults for the rest; unknown fields are refused.
    let old_text = old.to_json();
    let partial = old_text.replacen(
        "\"accounts\"",
        "\"economics\": { \"session_blocks\": 7 },\n  \"accounts\"",
        1,
    );
    let parsed = Genesis::from_json(&partial).unwrap();
    assert_eq!(
        parsed.economics,
        EconomicParams {
            session_blocks: 7,
            ..EconomicParams::default()
        }
    );
    let unknown = partial.replace("\"session_blocks\": 7", "\"session_length\": 7");
    assert!(matches!(
        Genesis::from_json(&unknown),
        Err(netwright_ledger::GenesisError::Json { .. })
    ));
}

#[test]
fn genesis_actor_rules_name_the_field() {
    let field = |g: Genesis| match g.validate() {
        Err(netwright_ledger::GenesisError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let mut g = genesis();
    g.servicers[1].stake = 99;
    assert_eq!(field(g), "servicers[1].stake");
    let mut g = genesis();
    g.servicers[0].stake = 100;
    assert!(g.validate().is_ok(), "the minimum itself is accepted");
    let mut g = genesis();
    g.servicers.push(g.servicers[0].clone());
    assert_eq!(field(g), "servicers[4].public_key");
    let mut g = genesis();
    g.servicers[0].service_url = "relay".into();
    assert_eq!(field(g), "servicers[0].service_url");
    let mut g = genesis();
    g.fishermen[0].chains.clear();
    assert_eq!(field(g), "fishermen[0].chains");
    let mut g = genesis();
    g.applications[0].gateways = vec![addr(1), addr(2), addr(3)];
    g.applications[0].gateways.sort();
    assert_eq!(field(g), "applications[0].gateways");
    let mut g = genesis();
    g.fishermen[0].gateways = vec![addr(1)];
    assert_eq!(field(g), "fishermen[0].gateways");
    let mut g = genesis();
    g.economics.session_blocks = 0;
    assert_eq!(field(g), "economics.session_blocks");
    assert_eq!(
        genesis().total_supply(),
        6 * 10_000 + 1_000 + (111 + 112 + 113 + 114) + 1_000 + 100
    );
}

#[test]
fn stake_pause_and_unstake_in_blocks_with_check_tx() {
    let mut ledger = Ledger::from_genesis(&genesis()).unwrap();
    let supply = ledger.total_supply();
    assert_eq!(ledger.actors(ActorRole::Servicer).len(), 4);
    let stake = |seed, nonce, stake| {
        signed(
            seed,
            nonce,
            1,
            TxBody::ServicerStake {
                stake,
                chains: vec![eth()],
                service_url: "https://new.example".into(),
            },
        )
    };
    // Mempool: the raise plus the fee must be covered.
    assert_eq!(
        ledger.check_tx(&stake(1, 0, 10_000)).unwrap_err(),
        TxError::InsufficientFunds {
            needed: 10_001,
            available: 10_000
        }
    );
    assert!(ledger.check_tx(&stake(1, 0, 9_999)).is_ok());
    assert_eq!(
        ledger
            .check_tx(&signed(1, 0, 1, TxBody::ServicerPause))
            .unwrap_err(),
        TxError::NotStaked {
            role: ActorRole::Servicer
        }
    );
    let codes = apply(
        &mut ledger,
        &[
            stake(1, 0, 500),
            signed(1, 1, 1, TxBody::ServicerPause),
            signed(2, 0, 1, TxBody::ServicerUnstake),
        ],
    );
    assert_eq!(codes, vec![0, 0, 14]);
    let s = ledger.actor(ActorRole::Servicer, &addr(1)).unwrap();
    assert_eq!((s.stake, s.paused), (500, true));
    assert_eq!(ledger.account(&addr(1)).balance, 10_000 - 500 - 2);
    assert_eq!(
        apply(&mut ledger, &[signed(1, 2, 1, TxBody::ServicerUnstake)]),
        vec![0]
    );
    assert_eq!(ledger.actor(ActorRole::Servicer, &addr(1)), None);
    let unbonding = ledger.account(&addr(1)).unbonding;
    assert_eq!(unbonding.len(), 1);
    assert_eq!(
        (unbonding[0].amount, unbonding[0].matures_at_height),
        (500, 2 + 3)
    );
    for _ in 3..5 {
        apply(&mut ledger, &[]);
    }
    assert_eq!(ledger.account(&addr(1)).balance, 10_000 - 500 - 3);
    apply(&mut ledger, &[]);
    assert_eq!(ledger.height(), 5);
    assert_eq!(ledger.account(&addr(1)).balance, 10_000 - 3);
    assert_eq!(ledger.total_supply(), supply);
}

/// The servicers a session may hold: the selection rule over `candidates`.
fn expected(start: u64, candidates: &[u64]) -> Vec<Address> {
    let id = netwright_ledger::session::session_id(&seed(start), &eth(), &app(), start);
    let c: Vec<Address> = candidates.iter().map(|s| addr(*s)).collect();
    netwright_ledger::session::select(&id, &c, 3)
}

#[test]
fn sessions_follow_the_actors_at_their_start_and_survive_their_grace() {
    let mut ledger = Ledger::from_genesis(&genesis()).unwrap();
    let session = |l: &Ledger, h: u64| {
        let start = l.session_bounds(h).unwrap().start;
        l.session(&app(), &eth(), h, &seed(start))
    };
    let first = session(&ledger, 1).unwrap();
    assert_eq!((first.start, first.end, first.accept_until), (1, 4, 5));
    assert_eq!(first.servicers, expected(1, &[11, 12, 13, 14]));
    assert_eq!(first.fisherman, Some(addr(31)));
    assert_eq!(first.gateways, vec![addr(3)]);
    // 1000 stake x 10 relays per stake over 3 servicers, rounded down.
    assert_eq!(first.relays_per_servicer, 3_333);
    assert_eq!(
        ledger.session(&addr(1), &eth(), 1, &seed(1)),
        Err(SessionError::NotAnApplication {
            application: addr(1),
            start: 1
        })
    );
    assert!(matches!(
        ledger.session(&app(), &"gnosis".into(), 1, &seed(1)),
        Err(SessionError::ChainNotStaked { .. })
    ));

    // Block 1: servicer 11 pauses, 12 unstakes (inside session 1: no effect on it).
    let codes = apply(
        &mut ledger,
        &[
            signed(11, 0, 0, TxBody::ServicerPause),
            signed(12, 0, 0, TxBody::ServicerUnstake),
        ],
    );
    assert_eq!(codes, vec![0, 0]);
    assert_eq!(session(&ledger, 1).unwrap(), first);
    // Blocks 2..=3 change nothing; block 4 is the last of session 1: a servicer
    // staked in it is a candidate of session 2.
    apply(&mut ledger, &[]);
    apply(&mut ledger, &[]);
    assert_eq!(
        ledger.session(&app(), &eth(), 5, &seed(5)),
        Err(SessionError::Unknown { start: 5 }),
        "not begun"
    );
    let join = |seed_of: u64| {
        signed(
            seed_of,
            0,
            0,
            TxBody::ServicerStake {
                stake: 100,
                chains: vec![eth()],
                service_url: "https://late.example".into(),
            },
        )
    };
    assert_eq!(apply(&mut ledger, &[join(4)]), vec![0]);
    assert_eq!(session(&ledger, 4).unwrap(), first, "unchanged to its end");
    let second = ledger.session(&app(), &eth(), 5, &seed(5)).unwrap();
    assert_eq!((second.start, second.end), (5, 8));
    assert_eq!(second.servicers, expected(5, &[4, 13, 14]));
    // Block 5, the first of session 2: a servicer staked now waits for session 3.
    assert_eq!(apply(&mut ledger, &[join(5)]), vec![0]);
    assert_eq!(session(&ledger, 5).unwrap(), second);
    // Session 1 is still known in its grace block (5), and relays for it are acceptable.
    assert!(ledger.relay_session_acceptable(1, 5));
    assert_eq!(ledger.session(&app(), &eth(), 4, &seed(1)).unwrap(), first);
    apply(&mut ledger, &[]);
    assert!(!ledger.relay_session_acceptable(1, 6));
    assert_eq!(
        ledger.session(&app(), &eth(), 4, &seed(1)),
        Err(SessionError::Unknown { start: 1 }),
        "dropped after its grace"
    );
    for _ in 7..=8 {
        apply(&mut ledger, &[]);
    }
    let third = ledger.session(&app(), &eth(), 9, &seed(9)).unwrap();
    assert_eq!(third.servicers, expected(9, &[4, 5, 13, 14]));

    // Another node rebuilt from the stored state gives the same sessions.
    let rebuilt = Ledger::from_snapshot(ledger.snapshot(), &ledger.state_root()).unwrap();
    assert_eq!(rebuilt.session(&app(), &eth(), 9, &seed(9)), Ok(third));
    assert_eq!(
        rebuilt.session(&app(), &eth(), 8, &seed(5)),
        ledger.session(&app(), &eth(), 8, &seed(5))
    );
}

#[test]
fn write_sets_rebuild_the_stored_state_with_actors_and_sessions() {
    let mut ledger = Ledger::from_genesis(&genesis()).unwrap();
    let mut store: BTreeMap<Vec<u8>, Vec<u8>> = ledger.snapshot().into_iter().collect();
    let blocks: Vec<Vec<Vec<u8>>> = vec![
        vec![signed(
            1,
            0,
            1,
            TxBody::ApplicationStake {
                stake: 300,
                chains: vec![eth()],
                gateways: vec![],
            },
        )],
        vec![signed(11, 0, 0, TxBody::ServicerPause)],
        vec![],
        vec![signed(1, 1, 1, TxBody::ApplicationUnstake)],
        vec![signed(31, 0, 0, TxBody::FishermanUnstake)],
        vec![],
        vec![],
        vec![],
        vec![],
    ];
    for txs in blocks {
        let h = ledger.height() + 1;
        let out = ledger.apply_block(h, 1_000 + h, &txs).unwrap();
        assert!(out.tx_results.iter().all(|r| r.result.is_ok()));
        out.write_set.apply_to(&mut store);
        let expected: BTreeMap<Vec<u8>, Vec<u8>> = ledger.snapshot().into_iter().collect();
        assert_eq!(store, expected, "after block {h}");
    }
    let root = ledger.state_root();
    let restored = Ledger::from_snapshot(store, &root).unwrap();
    assert_eq!(restored.state_root(), root);
}
