//! The CI campaign: over 1,000 seeded runs across 4, 7, 31 and 100 validators and every fault
//! mix, with zero violations allowed. `NETWRIGHT_SIM_SEEDS` scales the total (default 1000).

use netwright_sim::{run_campaign, CampaignSpec, Faults, Stakes};

const MIXES: &[&str] = &[
    "none",
    "net",
    "partition",
    "crash",
    "byzantine",
    "churn,crash,loss",
    "all",
];

/// Seeds for a share of the default total of 1000, scaled by `NETWRIGHT_SIM_SEEDS`.
fn scaled(default: u64) -> u64 {
    let total: u64 = std::env::var("NETWRIGHT_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    (default * total).div_ceil(1000).max(1)
}

fn campaign(validators: usize, seeds_per_mix: u64, heights: u64, mixes: &[&str]) -> u64 {
    let mut total = 0;
    for (m, mix) in mixes.iter().enumerate() {
        let spec = CampaignSpec {
            // Distinct seed ranges per size and mix.
            first_seed: (validators as u64) * 1_000_000 + (m as u64) * 10_000,
            seeds: seeds_per_mix,
            validators,
            faults: Faults::parse(mix).expect("mix names are valid"),
            heights,
            stakes: if m % 2 == 0 {
                Stakes::Random
            } else {
                Stakes::Equal
            },
            tweak: None,
            stop_on_failure: true,
        };
        let rep = run_campaign(&spec);
        if let Some(f) = rep.failures.first() {
            panic!("{f}");
        }
        eprintln!(
            "validators={validators} faults={mix}: {} seeds, {:.1} seeds/s, sim/real {:.1}x, max round {}",
            rep.runs,
            rep.seeds_per_sec(),
            rep.speedup(),
            rep.max_round
        );
        total += rep.runs;
    }
    total
}

#[test]
fn four_validators() {
    assert_eq!(campaign(4, scaled(90), 6, MIXES), 7 * scaled(90));
}

#[test]
fn seven_validators() {
    assert_eq!(campaign(7, scaled(50), 5, MIXES), 7 * scaled(50));
}

#[test]
fn thirty_one_validators() {
    assert_eq!(campaign(31, scaled(5), 3, MIXES), 7 * scaled(5));
}

#[test]
fn one_hundred_validators() {
    let mixes = ["none", "crash,byzantine"];
    assert_eq!(campaign(100, scaled(1), 3, &mixes), 2 * scaled(1));
}
