//! Behaviour of the state machine driven directly, without the simulator.

use netwright_consensus::{
    BlockContent, BlockHash, Config, ConsensusMessage, Ed25519Verifier, Effect, HeightContext,
    Input, InputError, Machine, Proposal, Signer, Step, Timeout, TimeoutStep, Validator,
    ValidatorSet, Vote, VoteKind, WalRecord,
};
use std::collections::VecDeque;

const CHAIN: &str = "test-chain";

fn network(n: u8) -> (Vec<Signer>, HeightContext) {
    let signers: Vec<Signer> = (1..=n).map(|i| Signer::from_seed([i; 32])).collect();
    let set = ValidatorSet::new(
        signers
            .iter()
            .map(|s| Validator {
                id: s.id(),
                power: 10,
            })
            .collect(),
    )
    .unwrap();
    (
        signers,
        HeightContext::genesis(set, BlockHash([0; 32]), 1_000),
    )
}

fn machine(s: &Signer, ctx: &HeightContext, wal: &[WalRecord]) -> Machine {
    Machine::new(
        Config::new(CHAIN),
        s.clone(),
        Ed25519Verifier,
        ctx.clone(),
        wal,
    )
    .unwrap()
}

/// Delivers every broadcast to every other machine and answers the application effects
/// immediately, until nothing is left; returns decisions as (node, height, block).
fn drive(ms: &mut [Machine], initial: Vec<(usize, Vec<Effect>)>) -> Vec<(usize, u64, BlockHash)> {
    let mut queue: VecDeque<(usize, Effect)> = initial
        .into_iter()
        .flat_map(|(i, fx)| fx.into_iter().map(move |e| (i, e)))
        .collect();
    let mut decided = Vec::new();
    let mut steps = 0;
    while let Some((i, e)) = queue.pop_front() {
        steps += 1;
        assert!(steps < 100_000, "no quiescence");
        let mut inputs: Vec<(usize, Input)> = Vec::new();
        match e {
            Effect::Broadcast(m) => {
                for j in (0..ms.len()).filter(|j| *j != i) {
                    inputs.push((j, Input::Message(m.clone())));
                }
            }
            Effect::RequestBlock { height, round, .. } => inputs.push((
                i,
                Input::BlockContent(BlockContent {
                    height,
                    round,
                    txs: vec![format!("tx-{height}-{round}").into_bytes()],
                    state_root: [height as u8; 32],
                    evidence: vec![],
                }),
            )),
            Effect::RequestValidation { block } => inputs.push((
                i,
                Input::Validity {
                    height: block.header.height,
                    block_hash: block.hash(),
                    valid: true,
                },
            )),
            Effect::Decide { block, .. } => {
                decided.push((i, block.header.height, block.hash()));
                if block.header.height < 2 {
                    inputs.push((
                        i,
                        Input::DecideAck {
                            height: block.header.height,
                            next_validators: None,
                        },
                    ));
                }
            }
            Effect::PersistWal(_) | Effect::ScheduleTimeout { .. } | Effect::Evidence(_) => {}
        }
        for (j, input) in inputs {
            let fx = ms[j].handle(2_000, input).unwrap();
            queue.extend(fx.into_iter().map(|e| (j, e)));
        }
    }
    decided
}

#[test]
fn four_validators_decide_two_heights_in_round_zero() {
    let (signers, ctx) = network(4);
    let mut ms: Vec<Machine> = signers.iter().map(|s| machine(s, &ctx, &[])).collect();
    let initial: Vec<(usize, Vec<Effect>)> = ms
        .iter_mut()
        .enumerate()
        .map(|(i, m)| (i, m.start(2_000)))
        .collect();
    let decided = drive(&mut ms, initial);
    for h in 1..=2 {
        let at_h: Vec<&(usize, u64, BlockHash)> = decided.iter().filter(|d| d.1 == h).collect();
        assert_eq!(at_h.len(), 4, "all four decide height {h}");
        assert!(at_h.iter().all(|d| d.2 == at_h[0].2), "agreement at {h}");
    }
    assert!(ms
        .iter()
        .all(|m| m.step() == Step::Decided && m.round() == 0));
}

#[test]
fn signing_goes_through_the_wal_first() {
    let (signers, ctx) = network(4);
    let mut m = machine(&signers[1], &ctx, &[]);
    m.start(0);
    let fx = m
        .handle(
            400,
            Input::Timeout(Timeout {
                height: 1,
                round: 0,
                step: TimeoutStep::Propose,
            }),
        )
        .unwrap();
    let wal = fx.iter().position(|e| matches!(e, Effect::PersistWal(_)));
    let send = fx
        .iter()
        .position(|e| matches!(e, Effect::Broadcast(ConsensusMessage::Vote(_))));
    assert!(wal.is_some() && send.is_some() && wal < send, "{fx:?}");
}

#[test]
fn restart_from_wal_never_signs_a_second_vote_for_a_slot() {
    let (signers, ctx) = network(4);
    // Before the crash: the validator prevoted for some block in round 0.
    let earlier = Vote {
        height: 1,
        round: 0,
        kind: VoteKind::Prevote,
        block: Some(BlockHash([9; 32])),
        validator: signers[1].id(),
    }
    .sign(CHAIN, &signers[1]);
    let wal = vec![WalRecord::Vote(earlier)];
    let mut m = machine(&signers[1], &ctx, &wal);
    let fx = m.start(0);
    assert_eq!(m.round(), 0);
    assert_eq!(m.step(), Step::Prevote, "resumes after its own prevote");
    assert!(fx.contains(&Effect::Broadcast(ConsensusMessage::Vote(earlier))));
    // A propose timeout in that round must not produce a nil prevote.
    let fx = m
        .handle(
            400,
            Input::Timeout(Timeout {
                height: 1,
                round: 0,
                step: TimeoutStep::Propose,
            }),
        )
        .unwrap();
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::PersistWal(_))),
        "{fx:?}"
    );
}

#[test]
fn restart_restores_the_lock_from_own_precommit() {
    let (signers, ctx) = network(4);
    let v = BlockHash([7; 32]);
    let pc = Vote {
        height: 1,
        round: 2,
        kind: VoteKind::Precommit,
        block: Some(v),
        validator: signers[0].id(),
    }
    .sign(CHAIN, &signers[0]);
    let m = machine(&signers[0], &ctx, &[WalRecord::Vote(pc)]);
    assert_eq!(m.locked(), Some((2, v)));
    assert_eq!(m.round(), 2);
}

#[test]
fn bad_inputs_are_rejected_with_a_reason_and_change_nothing() {
    let (signers, ctx) = network(4);
    let mut m = machine(&signers[0], &ctx, &[]);
    m.start(0);
    let mut v = Vote {
        height: 1,
        round: 0,
        kind: VoteKind::Prevote,
        block: None,
        validator: signers[1].id(),
    }
    .sign(CHAIN, &signers[1]);
    v.signature.0[0] ^= 1;
    let err = m
        .handle(1, Input::Message(ConsensusMessage::Vote(v)))
        .unwrap_err();
    assert!(matches!(err, InputError::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains("vote.signature"), "{err}");

    let stranger = Signer::from_seed([99; 32]);
    let v = Vote {
        height: 1,
        round: 0,
        kind: VoteKind::Prevote,
        block: None,
        validator: stranger.id(),
    }
    .sign(CHAIN, &stranger);
    let err = m
        .handle(1, Input::Message(ConsensusMessage::Vote(v)))
        .unwrap_err();
    assert!(matches!(err, InputError::UnknownValidator { .. }), "{err}");

    // A vote signed for another chain does not verify here.
    let v = Vote {
        height: 1,
        round: 0,
        kind: VoteKind::Prevote,
        block: None,
        validator: signers[1].id(),
    }
    .sign("other-chain", &signers[1]);
    assert!(m
        .handle(1, Input::Message(ConsensusMessage::Vote(v)))
        .is_err());
    assert_eq!((m.round(), m.step()), (0, Step::Propose));
}

#[test]
fn equivocating_votes_become_evidence() {
    let (signers, ctx) = network(4);
    let mut m = machine(&signers[0], &ctx, &[]);
    m.start(0);
    let mk = |b: Option<BlockHash>| {
        Vote {
            height: 1,
            round: 0,
            kind: VoteKind::Prevote,
            block: b,
            validator: signers[2].id(),
        }
        .sign(CHAIN, &signers[2])
    };
    m.handle(1, Input::Message(ConsensusMessage::Vote(mk(None))))
        .unwrap();
    let fx = m
        .handle(
            1,
            Input::Message(ConsensusMessage::Vote(mk(Some(BlockHash([1; 32]))))),
        )
        .unwrap();
    let ev: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Evidence(ev) => Some(ev),
            _ => None,
        })
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].offender(), signers[2].id());
    assert!(ev[0].verify(CHAIN, &Ed25519Verifier).is_ok());
}

#[test]
fn round_skip_needs_more_than_a_third_of_the_stake() {
    let (signers, ctx) = network(4);
    let mut m = machine(&signers[0], &ctx, &[]);
    m.start(0);
    let vote = |s: &Signer| {
        Vote {
            height: 1,
            round: 5,
            kind: VoteKind::Prevote,
            block: None,
            validator: s.id(),
        }
        .sign(CHAIN, s)
    };
    m.handle(1, Input::Message(ConsensusMessage::Vote(vote(&signers[1]))))
        .unwrap();
    assert_eq!(m.round(), 0, "one of four is not more than 1/3");
    m.handle(1, Input::Message(ConsensusMessage::Vote(vote(&signers[2]))))
        .unwrap();
    assert_eq!(m.round(), 5, "two of four is");
}

/// Round 0's proposal of `signers[p]` (the proposer of round 0 of `ctx`) for a block timed `time_ms`.
fn round_zero_proposal(
    signers: &[Signer],
    ctx: &HeightContext,
    time_ms: u64,
) -> (usize, ConsensusMessage) {
    // The proposer of round 0 is whoever asks for a block when its machine starts.
    let p = signers
        .iter()
        .position(|s| {
            machine(s, ctx, &[])
                .start(2_000)
                .iter()
                .any(|e| matches!(e, Effect::RequestBlock { .. }))
        })
        .unwrap();
    let txs = vec![b"tx".to_vec()];
    let block = netwright_consensus::Block {
        header: netwright_consensus::BlockHeader {
            height: 1,
            round: 0,
            parent_hash: ctx.parent_hash,
            proposer: signers[p].id(),
            time_ms,
            tx_root: netwright_consensus::encoding::tx_root(&txs),
            state_root: [1; 32],
            validator_set_hash: ctx.validators.hash(),
            evidence_root: netwright_consensus::Block::evidence_root_of(&[]),
        },
        txs,
        evidence: vec![],
    };
    let proposal = Proposal {
        height: 1,
        round: 0,
        pol_round: None,
        block_hash: block.hash(),
        proposer: signers[p].id(),
    }
    .sign(CHAIN, &signers[p]);
    (p, ConsensusMessage::Proposal { proposal, block })
}

#[test]
fn far_future_rounds_have_no_proposer_and_their_proposals_only_count_for_round_skip() {
    let (signers, ctx) = network(4);
    let mut m = machine(&signers[0], &ctx, &[]);
    m.start(0);
    assert!(m.proposer(2).is_some(), "inside the window");
    assert_eq!(m.proposer(3), None, "beyond round 0 + 2");
    assert_eq!(m.proposer(u32::MAX), None);
    let (_, msg) = round_zero_proposal(&signers, &ctx, 1_500);
    let ConsensusMessage::Proposal {
        mut proposal,
        block,
    } = msg
    else {
        unreachable!()
    };
    proposal.proposal.round = u32::MAX;
    let fx = m
        .handle(
            1,
            Input::Message(ConsensusMessage::Proposal { proposal, block }),
        )
        .unwrap_err();
    assert!(matches!(fx, InputError::BadSignature { .. }), "{fx}");
    assert_eq!(m.round(), 0);
}

#[test]
fn a_block_timed_beyond_the_clock_bound_gets_a_nil_prevote() {
    let (signers, ctx) = network(4);
    let ahead = Config::new(CHAIN).max_block_time_ahead_ms;
    for (time_ms, expect_valid) in [
        (2_000 + ahead, true),
        (2_001 + ahead, false),
        (u64::MAX, false),
    ] {
        let (p, msg) = round_zero_proposal(&signers, &ctx, time_ms);
        let me = (p + 1) % 4;
        let mut m = machine(&signers[me], &ctx, &[]);
        m.start(2_000);
        let fx = m.handle(2_000, Input::Message(msg)).unwrap();
        let asked = fx
            .iter()
            .any(|e| matches!(e, Effect::RequestValidation { .. }));
        assert_eq!(asked, expect_valid, "time {time_ms}: validation asked");
        if !expect_valid {
            let prevoted_nil = fx.iter().any(|e| {
                matches!(e, Effect::Broadcast(ConsensusMessage::Vote(v))
                    if v.vote.kind == VoteKind::Prevote && v.vote.block.is_none())
            });
            assert!(prevoted_nil, "time {time_ms}: {fx:?}");
        }
    }
}
