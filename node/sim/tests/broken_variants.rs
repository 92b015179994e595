//! The checks bite: deliberately broken protocol variants are caught within a bounded number
//! of seeds, while the correct protocol passes the very same seeds.

use netwright_consensus::{Config, Mutation};
use netwright_sim::{run, ByzantineBound, Faults, SimConfig, Stakes, ViolationKind};

/// Runs seeds `0..max_seeds` and returns the first failing seed with its violation kind.
fn first_failure(max_seeds: u64, make: impl Fn(u64) -> SimConfig) -> Option<(u64, ViolationKind)> {
    (0..max_seeds).find_map(|seed| match run(&make(seed)) {
        Ok(_) => None,
        Err(f) => {
            eprintln!("{f}");
            Some((seed, f.violation.kind))
        }
    })
}

fn exactly_third(seed: u64, tweak: Option<fn(&mut Config)>) -> SimConfig {
    // Six equal validators, two of them equivocating: byzantine stake is exactly 1/3.
    let mut c = SimConfig::new(seed, 6, Faults::parse("equivocate").unwrap());
    c.stakes = Stakes::Equal;
    c.byzantine_bound = ByzantineBound::ExactlyThird;
    c.check_liveness = false;
    c.check_certificates = false;
    c.heights = 4;
    c.tweak = tweak;
    c
}

#[test]
fn inclusive_two_thirds_quorum_forks_at_one_third_byzantine_stake() {
    let broken = first_failure(40, |s| {
        exactly_third(s, Some(|c| c.mutation = Mutation::QuorumTwoThirdsInclusive))
    });
    let (seed, kind) = broken.expect("the >= 2/3 quorum variant must be caught within 40 seeds");
    assert_eq!(kind, ViolationKind::Agreement, "seed {seed}");
    // The strict rule is safe with the same adversary on the same seeds.
    for s in 0..=seed {
        if let Err(f) = run(&exactly_third(s, None)) {
            panic!("correct protocol failed:\n{f}");
        }
    }
}

#[test]
fn inclusive_quorum_also_fails_certificate_check() {
    let caught = first_failure(40, |s| {
        let mut c = exactly_third(s, Some(|c| c.mutation = Mutation::QuorumTwoThirdsInclusive));
        c.check_certificates = true;
        c
    });
    let (_, kind) = caught.expect("a decision on exactly 2/3 must fail certificate verification");
    assert!(matches!(
        kind,
        ViolationKind::Certificate | ViolationKind::Agreement
    ));
}

#[test]
fn majority_quorum_forks_with_equivocators() {
    let caught = first_failure(100, |s| {
        let mut c = SimConfig::new(s, 7, Faults::parse("equivocate").unwrap());
        c.check_certificates = false;
        c.check_liveness = false;
        c.tweak = Some(|c| c.mutation = Mutation::QuorumMajority);
        c
    });
    let (seed, kind) = caught.expect("the > 1/2 quorum variant must be caught within 100 seeds");
    assert_eq!(kind, ViolationKind::Agreement, "seed {seed}");
}

#[test]
fn no_locking_is_caught() {
    let caught = first_failure(300, |s| {
        let mut c = SimConfig::new(s, 7, Faults::parse("equivocate,loss,reorder").unwrap());
        c.stakes = Stakes::Equal;
        c.loss = 0.3;
        c.check_liveness = false;
        c.tweak = Some(|c| c.mutation = Mutation::NoLocking);
        c
    });
    let (seed, kind) = caught.expect("the no-locking variant must be caught within 300 seeds");
    assert_eq!(kind, ViolationKind::Agreement, "seed {seed}");
}

#[test]
fn forgetting_signing_records_after_restart_double_signs() {
    let caught = first_failure(100, |s| {
        let mut c = SimConfig::new(s, 4, Faults::parse("crash,loss").unwrap());
        c.check_liveness = false;
        c.tweak = Some(|c| c.mutation = Mutation::IgnoreSigningRecords);
        c
    });
    let (seed, kind) = caught.expect("ignoring the WAL must be caught within 100 seeds");
    assert_eq!(kind, ViolationKind::DoubleSign, "seed {seed}");
}

/// Runs seeds `0..=last` with the correct protocol and fails on any violation.
fn correct_protocol_passes(last: u64, make: impl Fn(u64) -> SimConfig) {
    for s in 0..=last {
        let mut c = make(s);
        c.tweak = None;
        if let Err(f) = run(&c) {
            panic!("correct protocol failed:\n{f}");
        }
    }
}

fn crafted(seed: u64, kind: &str, mutation: fn(&mut Config)) -> SimConfig {
    let mut c = SimConfig::new(seed, 4, Faults::parse(kind).unwrap());
    c.heights = 4;
    c.tweak = Some(mutation);
    c
}

#[test]
fn unchecked_evidence_of_resigned_proposals_is_caught() {
    let make = |s| crafted(s, "resign", |c| c.mutation = Mutation::EvidenceUnchecked);
    let (seed, kind) = first_failure(40, make)
        .expect("evidence of a re-signed proposal must be caught within 40 seeds");
    // The evidence does not verify: caught when emitted, and (were it not) its blocks would be
    // refused by every other validator and the chain would halt.
    assert!(
        matches!(kind, ViolationKind::FalseEvidence | ViolationKind::Liveness),
        "seed {seed}: {kind:?}"
    );
    correct_protocol_passes(seed, make);
}

#[test]
fn unbounded_block_time_halts_the_chain_after_a_forged_block() {
    let make = |s| {
        crafted(s, "forged-time", |c| {
            c.mutation = Mutation::NoBlockTimeBound
        })
    };
    let (seed, kind) = first_failure(40, make)
        .expect("a block timed u64::MAX must halt the broken variant within 40 seeds");
    assert_eq!(kind, ViolationKind::Liveness, "seed {seed}");
    correct_protocol_passes(seed, make);
}

#[test]
fn proposer_lookup_before_the_window_check_is_caught_as_a_resource_violation() {
    let make = |s| {
        crafted(s, "far-future", |c| {
            c.mutation = Mutation::UnboundedProposerLookup
        })
    };
    let (seed, kind) = first_failure(40, make)
        .expect("a far-future proposal must grow the broken variant's schedule within 40 seeds");
    assert_eq!(kind, ViolationKind::Resource, "seed {seed}");
    correct_protocol_passes(seed, make);
}

#[test]
fn without_status_announcements_nodes_behind_silent_peers_stall() {
    // Churn turns validators into full nodes and back: a validator can miss the decisive
    // precommits of a height that only full nodes (which send no consensus messages) received.
    // Without the height announcements it never learns it is behind.
    let make = |s| {
        let mut c = SimConfig::new(s, 4, Faults::parse("churn,crash,loss").unwrap());
        c.status_announcements = false;
        c
    };
    let (seed, kind) = first_failure(300, make)
        .expect("a stall behind silent peers must show within 300 seeds without announcements");
    assert_eq!(kind, ViolationKind::Liveness, "seed {seed}");
    let mut c = make(seed);
    c.status_announcements = true;
    if let Err(f) = run(&c) {
        panic!("with status announcements:\n{f}");
    }
}
