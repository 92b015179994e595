//! The CI campaign: over 1,000 seeded runs across 4, 7, 31 and 100 validators and every fault
//! class, each byzantine kind that crafts messages on its own as well, with zero violations
//! allowed. `NETWRIGHT_SIM_SEEDS` scales the total (default 1000, giving 1,963 runs).

use netwright_sim::{run_campaign, CampaignSpec, Faults, Stakes};

const MIXES: &[&str] = &[
    "none",
    "net",
    "partition",
    "crash",
    "byzantine",
    "churn,crash,loss",
    "all",
    "crafted",
];

/// Each crafted byzantine kind alone, so every one of them is drawn in many runs.
const CRAFTED_KINDS: &[&str] = &[
    "far-future",
    "resign",
    "forged-time",
    "wrong-valid-round",
    "bad-evidence",
    "amnesia",
];

/// The mixes of the small networks: every mix, then each crafted kind alone.
fn small_network_mixes() -> Vec<&'static str> {
    MIXES.iter().chain(CRAFTED_KINDS).copied().collect()
}

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
    let mixes = small_network_mixes();
    assert_eq!(campaign(4, scaled(90), 6, &mixes), 14 * scaled(90));
}

#[test]
fn seven_validators() {
    let mixes = small_network_mixes();
    assert_eq!(campaign(7, scaled(50), 5, &mixes), 14 * scaled(50));
}

#[test]
fn thirty_one_validators() {
    assert_eq!(campaign(31, scaled(5), 3, MIXES), 8 * scaled(5));
}

#[test]
fn one_hundred_validators() {
    let mixes = ["none", "crash,byzantine", "crafted"];
    assert_eq!(campaign(100, scaled(1), 3, &mixes), 3 * scaled(1));
}
