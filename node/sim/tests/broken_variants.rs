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
