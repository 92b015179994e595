//! Unit tests of the driver with one validator (everything decides inside one reaction) and a
//! full node fed by block sync.

use std::collections::BTreeMap;

use netwright_consensus::{Block, CommitCertificate, ConsensusMessage, HeightContext};
use netwright_ledger::{Genesis, TxBody};

use super::*;
use crate::testkit::{self, STAKE};

const T0: u64 = 1_700_000_000_000;

/// What a runtime would have stored.
#[derive(Default)]
struct Store {
    wal: Vec<(u64, Vec<u8>)>,
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    commits: Vec<Commit>,
}

impl Store {
    /// Carries out the commands that touch storage; returns the commit height, if any.
    fn absorb(&mut self, r: &Reaction) -> Option<u64> {
        let mut committed = None;
        for c in &r.commands {
            match c {
                Command::PersistWal { height, record } => self.wal.push((*height, record.clone())),
                Command::PruneWal { below_height } => self.wal.retain(|(h, _)| h >= below_height),
                Command::Commit(c) => {
                    c.write_set.apply_to(&mut self.state);
                    committed = Some(c.height);
                    self.commits.push((**c).clone());
                }
                _ => {}
            }
        }
        committed
    }

    fn restore(&self) -> Restore {
        Restore {
            committed: self.commits.last().map(|c| CommittedState {
                state: self.state.clone().into_iter().collect(),
                state_root: c.state_root,
                block_hash: c.block_hash,
                next_context: c.next_context.clone(),
            }),
            wal: self.wal.iter().map(|(_, r)| r.clone()).collect(),
        }
    }
}

fn solo() -> (Genesis, Driver) {
    let g = testkit::genesis(&[1], &[(9, 10_000)]);
    let d = Driver::new(
        &g,
        Some([1; 32]),
        Restore::default(),
        DriverConfig::default(),
    )
    .unwrap();
    (g, d)
}

/// Runs a single validator until `height` is committed; returns the last reaction (which holds
/// the commit of `height + 1`, not yet stored).
fn run_solo(d: &mut Driver, store: &mut Store, height: u64, now: &mut u64) -> Reaction {
    let mut r = d.start(*now).unwrap();
    loop {
        match store.absorb(&r) {
            Some(h) => {
                *now += 10;
                r = d.handle(*now, Input::Committed { height: h }).unwrap();
                if h == height {
                    return r;
                }
            }
            None => panic!("a lone validator decides within one reaction: {r:?}"),
        }
    }
}

#[test]
fn wal_comes_before_broadcast_and_commit_waits_for_storage() {
    let (_, mut d) = solo();
    let r = d.start(T0 + 5).unwrap();
    let first_wal = r
        .commands
        .iter()
        .position(|c| matches!(c, Command::PersistWal { .. }));
    let first_send = r
        .commands
        .iter()
        .position(|c| matches!(c, Command::Broadcast { .. }));
    assert!(first_wal.unwrap() < first_send.unwrap(), "{:?}", r.commands);
    let Some(Command::Commit(c)) = r.commands.last() else {
        panic!("the reaction ends with the commit: {:?}", r.commands)
    };
    assert_eq!(c.height, 1);
    assert_eq!(
        d.height(),
        0,
        "nothing is committed before the runtime says so"
    );
    assert!(d.status().commit_pending);
    // A wrong acknowledgement is refused and changes nothing.
    let e = d
        .handle(T0 + 6, Input::Committed { height: 2 })
        .unwrap_err();
    assert!(!e.is_fatal(), "{e}");
    assert!(d.status().commit_pending);
    let r = d.handle(T0 + 7, Input::Committed { height: 1 }).unwrap();
    assert_eq!(d.height(), 1);
    assert!(r.commands.contains(&Command::PruneWal { below_height: 2 }));
    assert!(matches!(r.commands.last(), Some(Command::Commit(c)) if c.height == 2));
}

#[test]
fn first_commit_carries_the_genesis_state() {
    let (_, mut d) = solo();
    let mut store = Store::default();
    let mut now = T0 + 1;
    run_solo(&mut d, &mut store, 3, &mut now);
    let stored: Vec<(Vec<u8>, Vec<u8>)> = store.state.clone().into_iter().collect();
    assert_eq!(stored, d.ledger().snapshot());
}

#[test]
fn restart_before_commit_resends_the_signed_proposal_not_a_new_one() {
    let (g, mut d) = solo();
    let r = d.start(T0 + 5).unwrap();
    let mut store = Store::default();
    for c in &r.commands {
        if let Command::PersistWal { height, record } = c {
            store.wal.push((*height, record.clone()));
        }
    }
    let proposal = |r: &Reaction| {
        r.commands.iter().find_map(|c| match c {
            Command::Broadcast { bytes, .. } => {
                match codec::decode::<ConsensusMessage>(bytes, 1 << 24, "m").unwrap() {
                    ConsensusMessage::Proposal { proposal, .. } => Some(proposal),
                    _ => None,
                }
            }
            _ => None,
        })
    };
    let before = proposal(&r).unwrap();
    // Crash: the commit never reached storage. Restart later, with the WAL only.
    let mut again =
        Driver::new(&g, Some([1; 32]), store.restore(), DriverConfig::default()).unwrap();
    let r2 = again.start(T0 + 900).unwrap();
    assert_eq!(proposal(&r2).unwrap(), before, "same block, same signature");
    assert!(
        !r2.commands
            .iter()
            .any(|c| matches!(c, Command::PersistWal { record, .. }
            if matches!(codec::decode::<netwright_consensus::WalRecord>(record, 1 << 24, "w"),
                Ok(netwright_consensus::WalRecord::Proposal { .. })))),
        "no second proposal is signed"
    );
    let Some(Command::Commit(c)) = r2.commands.last() else {
        panic!("decides again")
    };
    assert_eq!(c.block_hash, before.proposal.block_hash.0);
}

#[test]
fn restart_from_a_commit_continues_identically() {
    let (g, mut d) = solo();
    let mut store = Store::default();
    let mut now = T0 + 1;
    let r = run_solo(&mut d, &mut store, 2, &mut now);
    let Some(Command::Commit(a3)) = r.commands.last() else {
        panic!("height 3 decided: {:?}", r.commands)
    };
    // Crash with commit 3 not yet stored; restart from commit 2 (WAL lost too: a fresh
    // proposal at the same time is then the same block, signed deterministically).
    let mut restored = store.restore();
    restored.wal.clear();
    let mut b = Driver::new(&g, Some([1; 32]), restored, DriverConfig::default()).unwrap();
    assert_eq!(b.height(), 2);
    assert_eq!(
        b.status().latest_block_hash,
        hex::encode(store.commits[1].block_hash)
    );
    let rb = b.start(now).unwrap();
    let Some(Command::Commit(b3)) = rb.commands.last() else {
        panic!("decides height 3: {:?}", rb.commands)
    };
    assert_eq!(b3.block_hash, a3.block_hash);
    assert_eq!(b3.write_set, a3.write_set);
    assert_eq!(b3.next_context, a3.next_context);
}

#[test]
fn restore_refuses_mismatched_storage() {
    let (g, mut d) = solo();
    let mut store = Store::default();
    let mut now = T0 + 1;
    run_solo(&mut d, &mut store, 2, &mut now);
    let mut bad_root = store.restore();
    if let Some(c) = bad_root.committed.as_mut() {
        c.state_root[0] ^= 1;
    }
    let e = Driver::new(&g, Some([1; 32]), bad_root, DriverConfig::default()).unwrap_err();
    assert!(matches!(e, DriverError::Snapshot(_)), "{e}");
    let mut old_ctx = store.restore();
    if let Some(c) = old_ctx.committed.as_mut() {
        c.next_context = store.commits[0].next_context.clone();
    }
    let e = Driver::new(&g, Some([1; 32]), old_ctx, DriverConfig::default()).unwrap_err();
    assert!(e.to_string().contains("restore.next_context"), "{e}");
    let mut bad_wal = store.restore();
    bad_wal.wal.push(vec![7, 7, 7]);
    let e = Driver::new(&g, Some([1; 32]), bad_wal, DriverConfig::default()).unwrap_err();
    assert!(e.to_string().starts_with("restore.wal["), "{e}");
}

#[test]
fn bad_consensus_bytes_are_rejected_with_a_reason() {
    let (_, mut d) = solo();
    let r = d
        .handle(
            T0,
            Input::ConsensusMessage {
                bytes: vec![1, 2, 3],
            },
        )
        .unwrap();
    assert!(matches!(r.verdict(), Some(Verdict::Rejected(m)) if m.contains("malformed")));
    let huge = vec![0u8; DriverConfig::default().max_message_bytes() + 1];
    let r = d
        .handle(T0, Input::ConsensusMessage { bytes: huge })
        .unwrap();
    assert!(matches!(r.verdict(), Some(Verdict::Rejected(m)) if m.contains("exceeds")));
}

#[test]
fn submitted_transfer_is_gossiped_committed_and_changes_balances() {
    let (g, mut d) = solo();
    let mut store = Store::default();
    let mut now = T0 + 1;
    run_solo(&mut d, &mut store, 1, &mut now);
    // Height 2 was decided inside the last reaction; its commit is pending. Submit now.
    let tx = testkit::transfer(&g, 9, 0, 3, 250);
    let r = d
        .handle(
            now,
            Input::Txs {
                txs: vec![tx.clone()],
                origin: TxOrigin::Local,
            },
        )
        .unwrap();
    assert_eq!(r.verdicts, vec![Verdict::Accepted]);
    assert!(r
        .commands
        .contains(&Command::GossipTx { bytes: tx.clone() }));
    let r = d
        .handle(
            now,
            Input::Txs {
                txs: vec![tx],
                origin: TxOrigin::Peer,
            },
        )
        .unwrap();
    assert_eq!(r.verdicts, vec![Verdict::Ignored(Ignored::Duplicate)]);
    assert!(
        r.commands.is_empty(),
        "peer transactions are not re-gossiped"
    );
    run_solo_from(&mut d, &mut store, 2, 3, &mut now);
    assert_eq!(d.account(&testkit::address(3)).balance, 250);
    assert_eq!(d.account(&testkit::address(9)).balance, 10_000 - 251);
    assert_eq!(d.status().mempool_txs, 0);
    let c3 = store.commits.iter().find(|c| c.height == 3).unwrap();
    assert_eq!(
        c3.tx_results.len(),
        1,
        "included in the block proposed after admission"
    );
}

/// Continues a lone validator whose commit of `pending` is waiting, until `height`.
fn run_solo_from(d: &mut Driver, store: &mut Store, pending: u64, height: u64, now: &mut u64) {
    let mut h = pending;
    loop {
        *now += 10;
        let r = d.handle(*now, Input::Committed { height: h }).unwrap();
        if h == height {
            return;
        }
        h = store.absorb(&r).expect("next height decides at once");
    }
}

#[test]
fn full_node_follows_by_verified_sync_and_rejects_forged_certificates() {
    let (g, mut v) = solo();
    let mut store = Store::default();
    let mut now = T0 + 1;
    run_solo(&mut v, &mut store, 4, &mut now);
    let mut full = Driver::new(&g, None, Restore::default(), DriverConfig::default()).unwrap();
    assert!(full.status().validator.is_none());
    let r = full.handle(now, Input::PeerHeight { height: 4 }).unwrap();
    assert!(r
        .commands
        .contains(&Command::RequestSync { from: 1, to: 4 }));
    let c1 = &store.commits[0];
    // Forged: flip one signature byte.
    let mut cert: CommitCertificate = codec::decode(&c1.certificate, 1 << 20, "c").unwrap();
    cert.signatures[0].signature.0[0] ^= 1;
    let r = full
        .handle(
            now,
            Input::SyncedBlock {
                block: c1.block.clone(),
                certificate: codec::encode(&cert),
            },
        )
        .unwrap();
    assert!(
        matches!(r.verdict(), Some(Verdict::Rejected(m)) if m.contains("signature")),
        "{r:?}"
    );
    // A certificate for another block.
    let r = full
        .handle(
            now,
            Input::SyncedBlock {
                block: c1.block.clone(),
                certificate: store.commits[1].certificate.clone(),
            },
        )
        .unwrap();
    assert!(matches!(r.verdict(), Some(Verdict::Rejected(_))));
    // Blocks 2..4 arrive first (buffered), then block 1.
    for c in &store.commits[1..] {
        let r = full
            .handle(
                now,
                Input::SyncedBlock {
                    block: c.block.clone(),
                    certificate: c.certificate.clone(),
                },
            )
            .unwrap();
        assert_eq!(r.verdict(), Some(&Verdict::Accepted));
    }
    let mut r = full
        .handle(
            now,
            Input::SyncedBlock {
                block: c1.block.clone(),
                certificate: c1.certificate.clone(),
            },
        )
        .unwrap();
    let mut mine = Vec::new();
    while let Some(Command::Commit(c)) = r.commands.iter().find(|c| matches!(c, Command::Commit(_)))
    {
        assert!(
            !r.commands
                .iter()
                .any(|c| matches!(c, Command::PersistWal { .. })),
            "a full node signs nothing"
        );
        mine.push(c.block_hash);
        let h = c.height;
        r = full.handle(now, Input::Committed { height: h }).unwrap();
    }
    let theirs: Vec<[u8; 32]> = store.commits.iter().map(|c| c.block_hash).collect();
    assert_eq!(mine, theirs);
    assert_eq!(full.ledger().state_root(), {
        let mut l = netwright_ledger::Ledger::from_genesis(&g).unwrap();
        for c in &store.commits {
            let b: Block = codec::decode(&c.block, 1 << 24, "b").unwrap();
            l.apply_block(c.height, b.header.time_ms, &b.txs).unwrap();
        }
        l.state_root()
    });
}

#[test]
fn stake_changes_the_set_from_the_next_height() {
    let (g, mut d) = solo();
    let mut store = Store::default();
    let mut now = T0 + 1;
    run_solo(&mut d, &mut store, 1, &mut now);
    let stake = testkit::tx(&g, 9, 0, TxBody::Stake { amount: STAKE });
    let r = d
        .handle(
            now,
            Input::Txs {
                txs: vec![stake],
                origin: TxOrigin::Local,
            },
        )
        .unwrap();
    assert_eq!(r.verdicts, vec![Verdict::Accepted]);
    run_solo_from(&mut d, &mut store, 2, 3, &mut now);
    let c3 = store.commits.iter().find(|c| c.height == 3).unwrap();
    assert!(c3.validators_changed);
    let ctx: HeightContext = codec::decode(&c3.next_context, 1 << 20, "ctx").unwrap();
    assert_eq!(ctx.height, 4);
    assert_eq!(ctx.validators.len(), 2);
    assert_eq!(
        d.consensus_validators().len(),
        2,
        "height 4 is decided by the new set"
    );
    assert_eq!(d.validators().len(), 2);
}
