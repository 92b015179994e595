//! Cost of the state machine per vote: a 100-validator machine ingesting a full round of
//! prevotes and precommits (real ed25519 verification, tallying, rule evaluation).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use netwright_consensus::{
    BlockHash, Config, ConsensusMessage, Ed25519Verifier, HeightContext, Input, Machine, Signer,
    Validator, ValidatorSet, Vote, VoteKind,
};
use std::time::Duration;

fn bench_votes(c: &mut Criterion) {
    let n = 100u8;
    let signers: Vec<Signer> = (1..=n).map(|i| Signer::from_seed([i; 32])).collect();
    let set = ValidatorSet::new(
        signers
            .iter()
            .map(|s| Validator {
                id: s.id(),
                power: 1 + s.id().0[0] as u64,
            })
            .collect(),
    )
    .expect("valid set");
    let ctx = HeightContext::genesis(set, BlockHash([0; 32]), 0);
    // Votes for nil in round 0 from everyone but the observer: prevotes, then precommits.
    let votes: Vec<ConsensusMessage> = [VoteKind::Prevote, VoteKind::Precommit]
        .iter()
        .flat_map(|kind| {
            signers[1..].iter().map(move |s| {
                ConsensusMessage::Vote(
                    Vote {
                        height: 1,
                        round: 0,
                        kind: *kind,
                        block: None,
                        validator: s.id(),
                    }
                    .sign("bench", s),
                )
            })
        })
        .collect();
    let mut g = c.benchmark_group("machine");
    g.throughput(Throughput::Elements(votes.len() as u64));
    g.bench_function("ingest_round_of_votes_100_validators", |b| {
        b.iter_batched(
            || {
                let mut m = Machine::new(
                    Config::new("bench"),
                    signers[0].clone(),
                    Ed25519Verifier,
                    ctx.clone(),
                    &[],
                )
                .expect("valid context");
                m.start(0);
                m
            },
            |mut m| {
                for v in &votes {
                    let _ = m.handle(1, Input::Message(v.clone()));
                }
                m
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = bench_votes
}
criterion_main!(benches);
