//! Behaviour of the ledger across blocks: transfers, nonces, fees, staking,
//! unbonding timing, validator updates, malformed input and snapshots.

mod common;

use std::collections::BTreeMap;

use common::*;
use netwright_ledger::{
    BlockError, Hash, Ledger, SnapshotError, TxBody, TxDecodeError, TxError, ValidatorUpdate,
};

fn ledger() -> Ledger {
    Ledger::from_genesis(&genesis(5, 10_000, 1)).unwrap()
}

fn codes(outcome: &netwright_ledger::BlockOutcome) -> Vec<u32> {
    outcome.tx_results.iter().map(|r| r.code()).collect()
}

#[test]
fn transfer_moves_funds_charges_fee_and_advances_nonce() {
    let mut l = ledger();
    let supply = l.total_supply();
    let out = l.apply_block(1, 2_000, &[transfer(1, 0, 2, 300)]).unwrap();
    assert_eq!(codes(&out), vec![0]);
    assert_eq!(out.tx_results[0].fee_charged, 1);
    assert_eq!(l.account(&addr(1)).balance, 10_000 - 301);
    assert_eq!(l.account(&addr(1)).nonce, 1);
    assert_eq!(l.account(&addr(2)).balance, 10_300);
    assert_eq!(l.fee_pool(), 1);
    assert_eq!(l.total_supply(), supply);
    assert_eq!(out.state_root, l.state_root());
    assert_eq!(l.height(), 1);
    assert_eq!(l.time_ms(), 2_000);
    // A fresh recipient becomes an account.
    l.apply_block(2, 2_000, &[transfer(1, 1, 77, 5)]).unwrap();
    assert_eq!(l.account(&addr(77)).balance, 5);
}

#[test]
fn replays_and_nonce_gaps_fail_without_state_change() {
    let mut l = ledger();
    let tx = transfer(1, 0, 2, 10);
    let out = l.apply_block(1, 1_000, &[tx.clone(), tx.clone()]).unwrap();
    assert_eq!(
        out.tx_results[1].result,
        Err(TxError::NonceTooLow {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(out.tx_results[1].fee_charged, 0);
    let root = l.state_root();
    let out = l
        .apply_block(2, 1_000, &[tx, transfer(1, 5, 2, 10)])
        .unwrap();
    assert_eq!(codes(&out), vec![4, 5]);
    assert_eq!(l.account(&addr(1)).nonce, 1);
    assert_eq!(l.account(&addr(1)).balance, 10_000 - 11);
    // Only the last-block metadata changed.
    assert_ne!(root, l.state_root());
    assert_eq!(out.write_set.entries.len(), 1);
}

#[test]
fn failed_body_still_pays_fee_and_uses_nonce() {
    let mut l = ledger();
    let out = l
        .apply_block(
            1,
            1_000,
            &[signed(
                1,
                0,
                3,
                TxBody::Transfer {
                    to: addr(2),
                    amount: 1_000_000,
                },
            )],
        )
        .unwrap();
    assert_eq!(
        out.tx_results[0].result,
        Err(TxError::InsufficientFunds {
            needed: 1_000_000,
            available: 9_997
        })
    );
    assert_eq!(out.tx_results[0].fee_charged, 3);
    assert_eq!(l.account(&addr(1)).balance, 9_997);
    assert_eq!(l.account(&addr(1)).nonce, 1);
    assert_eq!(l.account(&addr(2)).balance, 10_000);
    // A fee the balance cannot pay changes nothing.
    let out = l
        .apply_block(
            2,
            1_000,
            &[signed(
                1,
                1,
                50_000,
                TxBody::Transfer {
                    to: addr(2),
                    amount: 1,
                },
            )],
        )
        .unwrap();
    assert_eq!(codes(&out), vec![6]);
    assert_eq!(l.account(&addr(1)).nonce, 1);
}

#[test]
fn check_tx_admission_rules() {
    let mut l = ledger();
    l.apply_block(1, 1_000, &[transfer(1, 0, 2, 10)]).unwrap();
    let future = l.check_tx(&transfer(1, 3, 2, 10)).unwrap();
    assert_eq!((future.nonce, future.next_nonce), (3, 1));
    assert_eq!(future.sender, addr(1));
    assert_eq!(
        l.check_tx(&transfer(1, 0, 2, 10)),
        Err(TxError::NonceTooLow {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(
        l.check_tx(&transfer(1, 1, 2, 9_989)),
        Err(TxError::InsufficientFunds {
            needed: 9_990,
            available: 9_989
        })
    );
    assert!(l.check_tx(&transfer(1, 1, 2, 9_988)).is_ok());
    assert_eq!(l.check_tx(&transfer(1, 1, 2, 0)), Err(TxError::ZeroAmount));
    let mut bad_sig = transfer(1, 1, 2, 5);
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 0x01;
    assert_eq!(l.check_tx(&bad_sig), Err(TxError::BadSignature));
    // Another chain's transaction.
    let sk = key(1);
    let other = netwright_ledger::TxPayload {
        chain_id: "elsewhere".into(),
        signer: public(1),
        nonce: 1,
        fee: 0,
        body: TxBody::Stake { amount: 500 },
    }
    .sign(&sk)
    .encode();
    assert!(matches!(
        l.check_tx(&other),
        Err(TxError::WrongChain { .. })
    ));
    assert!(matches!(l.check_tx(b"garbage"), Err(TxError::Decode(_))));
    // Unstake by a non-validator.
    assert_eq!(
        l.check_tx(&signed(1, 1, 0, TxBody::Unstake { amount: 1 })),
        Err(TxError::NotAValidator)
    );
    // The batch form agrees with the single form.
    let batch = vec![
        transfer(1, 1, 2, 5),
        bad_sig,
        b"x".to_vec(),
        transfer(2, 0, 1, 5),
    ];
    let verdicts = l.check_txs(&batch);
    let single: Vec<_> = batch.iter().map(|t| l.check_tx(t)).collect();
    assert_eq!(verdicts, single);
    assert!(verdicts[0].is_ok() && verdicts[3].is_ok());
}

#[test]
fn malformed_bytes_in_a_block_are_recorded_not_fatal() {
    let mut l = ledger();
    let mut trailing = transfer(1, 0, 2, 1);
    trailing.push(9);
    let txs = vec![
        Vec::new(),
        b"\x01\x02".to_vec(),
        trailing.clone(),
        transfer(1, 0, 2, 1),
    ];
    let out = l.apply_block(1, 1_000, &txs).unwrap();
    assert_eq!(codes(&out), vec![1, 1, 1, 0]);
    assert_eq!(
        out.tx_results[2].result,
        Err(TxError::Decode(TxDecodeError::TrailingBytes { count: 1 }))
    );
    assert_eq!(out.tx_results[2].hash, Hash::of(&trailing));
}

#[test]
fn block_level_errors_leave_state_unchanged() {
    let mut l = ledger();
    let root = l.state_root();
    assert_eq!(
        l.apply_block(2, 1_000, &[transfer(1, 0, 2, 1)]),
        Err(BlockError::UnexpectedHeight {
            expected: 1,
            got: 2
        })
    );
    assert_eq!(
        l.apply_block(1, 999, &[transfer(1, 0, 2, 1)]),
        Err(BlockError::TimeWentBack {
            last: 1_000,
            got: 999
        })
    );
    let mut g = genesis(2, 100, 1);
    g.params.max_txs_per_block = 1;
    let mut small = Ledger::from_genesis(&g).unwrap();
    assert_eq!(
        small.apply_block(1, 1_000, &[transfer(1, 0, 2, 1), transfer(2, 0, 1, 1)]),
        Err(BlockError::TooManyTxs { count: 2, max: 1 })
    );
    assert_eq!(l.state_root(), root);
    assert_eq!(l.height(), 0);
}

#[test]
fn stake_emits_update_exactly_at_its_height() {
    let mut l = ledger();
    let out = l
        .apply_block(1, 1_000, &[signed(1, 0, 0, TxBody::Stake { amount: 400 })])
        .unwrap();
    assert_eq!(
        out.validator_updates,
        vec![ValidatorUpdate {
            public_key: public(1),
            power: 400
        }]
    );
    assert_eq!(l.account(&addr(1)).staked, 400);
    assert_eq!(l.account(&addr(1)).balance, 9_600);
    assert_eq!(l.validators().len(), 2);
    let out = l.apply_block(2, 1_000, &[transfer(2, 0, 3, 1)]).unwrap();
    assert!(out.validator_updates.is_empty());
    // Increase, then a stake under the minimum for a newcomer.
    let out = l
        .apply_block(
            3,
            1_000,
            &[
                signed(1, 1, 0, TxBody::Stake { amount: 50 }),
                signed(2, 1, 0, TxBody::Stake { amount: 99 }),
            ],
        )
        .unwrap();
    assert_eq!(codes(&out), vec![0, 9]);
    assert_eq!(
        out.validator_updates,
        vec![ValidatorUpdate {
            public_key: public(1),
            power: 450
        }]
    );
    // Stake and unstake of the same amount in one block: power unchanged, no update.
    let out = l
        .apply_block(
            4,
            1_000,
            &[
                signed(1, 2, 0, TxBody::Stake { amount: 10 }),
                signed(1, 3, 0, TxBody::Unstake { amount: 10 }),
            ],
        )
        .unwrap();
    assert_eq!(codes(&out), vec![0, 0]);
    assert!(out.validator_updates.is_empty());
}

#[test]
fn unbonding_pays_out_exactly_after_the_period() {
    let mut l = ledger();
    l.apply_block(1, 1_000, &[signed(1, 0, 0, TxBody::Stake { amount: 500 })])
        .unwrap();
    // Partial unstake leaving less than the minimum is refused.
    let out = l
        .apply_block(
            2,
            1_000,
            &[signed(1, 1, 0, TxBody::Unstake { amount: 450 })],
        )
        .unwrap();
    assert_eq!(codes(&out), vec![9]);
    let out = l
        .apply_block(
            3,
            1_000,
            &[signed(1, 2, 0, TxBody::Unstake { amount: 500 })],
        )
        .unwrap();
    assert_eq!(codes(&out), vec![0]);
    assert_eq!(
        out.validator_updates,
        vec![ValidatorUpdate {
            public_key: public(1),
            power: 0
        }]
    );
    let view = l.account(&addr(1));
    assert_eq!(view.staked, 0);
    assert_eq!(view.balance, 9_500);
    assert_eq!(view.unbonding.len(), 1);
    assert_eq!(view.unbonding[0].amount, 500);
    assert_eq!(view.unbonding[0].matures_at_height, 3 + UNBONDING);
    for h in 4..3 + UNBONDING {
        l.apply_block(h, 1_000, &Vec::<Vec<u8>>::new()).unwrap();
        assert_eq!(l.account(&addr(1)).balance, 9_500, "paid early at {h}");
    }
    let out = l
        .apply_block(3 + UNBONDING, 1_000, &Vec::<Vec<u8>>::new())
        .unwrap();
    assert_eq!(l.account(&addr(1)).balance, 10_000);
    assert!(l.account(&addr(1)).unbonding.is_empty());
    assert!(out.validator_updates.is_empty());
    assert!(
        out.write_set.entries.iter().any(|(_, v)| v.is_none()),
        "entry deleted"
    );
}

#[test]
fn last_validator_cannot_leave() {
    let mut l = ledger();
    let out = l
        .apply_block(
            1,
            1_000,
            &[signed(1000, 0, 0, TxBody::Unstake { amount: 1_000 })],
        )
        .unwrap();
    assert_eq!(out.tx_results[0].result, Err(TxError::LastValidator));
    assert_eq!(l.validators().len(), 1);
    // Partial unstake of a genesis validator (its account has no balance but
    // the fee is zero).
    let out = l
        .apply_block(
            2,
            1_000,
            &[signed(1000, 1, 0, TxBody::Unstake { amount: 900 })],
        )
        .unwrap();
    assert_eq!(codes(&out), vec![0]);
    assert_eq!(
        out.validator_updates,
        vec![ValidatorUpdate {
            public_key: public(1000),
            power: 100
        }]
    );
}

#[test]
fn snapshot_and_write_sets_rebuild_the_same_ledger() {
    let mut l = ledger();
    let mut store: BTreeMap<Vec<u8>, Vec<u8>> = l.snapshot().into_iter().collect();
    let blocks = [
        vec![
            transfer(1, 0, 2, 10),
            signed(3, 0, 2, TxBody::Stake { amount: 300 }),
        ],
        vec![signed(3, 1, 0, TxBody::Unstake { amount: 300 })],
    ];
    for (i, txs) in blocks.iter().enumerate() {
        let out = l.apply_block(i as u64 + 1, 1_000, txs).unwrap();
        out.write_set.apply_to(&mut store);
    }
    let restored = Ledger::from_snapshot(store.clone(), &l.state_root()).unwrap();
    assert_eq!(restored.state_root(), l.state_root());
    assert_eq!(restored.snapshot(), l.snapshot());
    assert_eq!(restored.account(&addr(3)), l.account(&addr(3)));
    let wrong = Hash::of(b"not the root");
    assert!(matches!(
        Ledger::from_snapshot(store.clone(), &wrong),
        Err(SnapshotError::RootMismatch { .. })
    ));
    // Tampering with any value changes the root.
    let mut tampered = store.clone();
    if let Some((_, v)) = tampered.iter_mut().find(|(k, _)| k[0] == 0x01) {
        v[0] ^= 1;
    }
    assert!(matches!(
        Ledger::from_snapshot(tampered, &l.state_root()),
        Err(SnapshotError::RootMismatch { .. })
    ));
}

#[test]
fn genesis_root_is_deterministic_and_sensitive() {
    let a = Ledger::from_genesis(&genesis(5, 10_000, 2)).unwrap();
    let b = Ledger::from_genesis(&genesis(5, 10_000, 2)).unwrap();
    assert_eq!(a.state_root(), b.state_root());
    let c = Ledger::from_genesis(&genesis(5, 10_001, 2)).unwrap();
    assert_ne!(a.state_root(), c.state_root());
    assert_eq!(a.validator_set().len(), 2);
    assert_eq!(a.height(), 0);
}
