//! `sim`: runs campaigns of seeded consensus simulations and prints throughput figures.
//!
//! ```text
//! sim --seeds 1000 --validators 7 --faults loss,partition,crash,byzantine
//! sim --replay 42 --validators 4 --faults all        # one seed, full trace tail on failure
//! ```

use anyhow::{bail, Context, Result};
use clap::Parser;
use netwright_sim::{run, run_campaign, CampaignSpec, Faults, Stakes};
use std::process::ExitCode;

/// Deterministic consensus simulator.
#[derive(Parser, Debug)]
#[command(name = "sim", version, about)]
struct Args {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Validators per run (comma-separated list runs one campaign per size).
    #[arg(long, default_value = "4", value_delimiter = ',')]
    validators: Vec<usize>,
    /// Faults: none, loss, dup, reorder, partition, crash, byzantine (equivocate, withhold,
    /// invalid), crafted (far-future, resign, forged-time, wrong-valid-round, bad-evidence,
    /// amnesia),
    /// churn, net (loss+dup+reorder), all.
    #[arg(long, default_value = "all")]
    faults: String,
    /// Heights every honest validator must decide per run.
    #[arg(long, default_value_t = 6)]
    heights: u64,
    /// Stake distribution: equal or random.
    #[arg(long, default_value = "random")]
    stakes: String,
    /// Run only this seed and print its report (or its failure with the trace).
    #[arg(long)]
    replay: Option<u64>,
    /// Keep going after a failure.
    #[arg(long)]
    keep_going: bool,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let args = Args::parse();
    let faults = Faults::parse(&args.faults).context("--faults")?;
    let stakes = match args.stakes.as_str() {
        "equal" => Stakes::Equal,
        "random" => Stakes::Random,
        other => bail!("--stakes: unknown value {other:?}; expected equal or random"),
    };
    if args.validators.contains(&0) {
        bail!("--validators: 0 is not a network size; use at least 1");
    }
    let mut failed = false;
    for &validators in &args.validators {
        let spec = CampaignSpec {
            first_seed: args.first_seed,
            seeds: args.seeds,
            validators,
            faults: faults.clone(),
            heights: args.heights,
            stakes,
            tweak: None,
            stop_on_failure: !args.keep_going,
        };
        if let Some(seed) = args.replay {
            match run(&spec.config(seed)) {
                Ok(r) => println!(
                    "seed {seed}: ok, {} heights, max round {}, {} events, {} messages, {} evidence ({} committed), sim {:.3} s, trace {}",
                    r.heights,
                    r.max_round,
                    r.events,
                    r.messages,
                    r.evidence,
                    r.committed_evidence,
                    r.sim_time_us as f64 / 1e6,
                    hex::encode(r.trace_hash)
                ),
                Err(f) => {
                    println!("{f}");
                    failed = true;
                }
            }
            continue;
        }
        let rep = run_campaign(&spec);
        println!(
            "validators={validators} faults={} seeds={} failures={} heights={} max_round={} evidence={} \
             committed_evidence={} wall={:.2}s seeds/s={:.1} heights/s={:.1} sim/real={:.1}x events={}",
            faults.label(),
            rep.runs,
            rep.failures.len(),
            rep.heights,
            rep.max_round,
            rep.evidence,
            rep.committed_evidence,
            rep.wall_time.as_secs_f64(),
            rep.seeds_per_sec(),
            rep.heights_per_sec(),
            rep.speedup(),
            rep.events
        );
        for f in &rep.failures {
            println!("{f}");
            println!(
                "replay: sim --replay {} --validators {validators} --faults {} --heights {} --stakes {}",
                f.seed,
                faults.label(),
                args.heights,
                args.stakes
            );
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
