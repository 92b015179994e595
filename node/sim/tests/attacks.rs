//! Each fault class does what it names: runs under it show its effect (evidence, validator-set
//! changes, committed transactions), so a class that silently stopped attacking would fail here.

use netwright_sim::{run, Faults, RunReport, SimConfig};

/// Runs of 40 heights each: long enough for repeated crashes and staking transactions.
fn runs(seeds: u64, validators: usize, faults: &str) -> Vec<RunReport> {
    (0..seeds)
        .map(|seed| {
            let mut c = SimConfig::new(seed, validators, Faults::parse(faults).unwrap());
            c.heights = 40;
            run(&c).unwrap_or_else(|f| panic!("{f}"))
        })
        .collect()
}

#[test]
fn amnesia_signs_again_after_restarts_and_is_caught_and_committed() {
    let reports = runs(20, 7, "amnesia");
    let evidence: u64 = reports.iter().map(|r| r.evidence).sum();
    let committed: u64 = reports.iter().map(|r| r.committed_evidence).sum();
    assert!(evidence > 0, "no amnesia run produced evidence");
    assert!(
        committed > 0,
        "no amnesia evidence was committed in a block"
    );
}

#[test]
fn churn_changes_the_validator_set_through_staking_transactions() {
    let reports = runs(10, 4, "churn");
    assert!(
        reports.iter().any(|r| r.set_changes >= 2),
        "no run changed the validator set twice: {:?}",
        reports.iter().map(|r| r.set_changes).collect::<Vec<_>>()
    );
}

#[test]
fn client_transfers_are_committed_in_every_run() {
    for r in runs(10, 4, "none") {
        assert!(
            r.committed_txs > 0,
            "seed {} committed no transaction",
            r.seed
        );
    }
}

#[test]
fn equivocation_is_caught_and_committed() {
    let reports = runs(10, 7, "equivocate");
    assert!(reports.iter().map(|r| r.committed_evidence).sum::<u64>() > 0);
}
