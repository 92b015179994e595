//! Campaigns: many seeded runs of one shape, with throughput figures.

use crate::config::{Faults, SimConfig, Stakes};
use crate::runner::{run, Failure};
use netwright_consensus::Config;
use std::time::{Duration, Instant};

/// The shape of a campaign; seed `first_seed + k` is run for `k in 0..seeds`.
#[derive(Clone)]
pub struct CampaignSpec {
    /// First seed.
    pub first_seed: u64,
    /// Number of seeds.
    pub seeds: u64,
    /// Validators per run.
    pub validators: usize,
    /// Faults per run.
    pub faults: Faults,
    /// Heights per run.
    pub heights: u64,
    /// Stake distribution.
    pub stakes: Stakes,
    /// Machine configuration tweak (broken variants in tests).
    pub tweak: Option<fn(&mut Config)>,
    /// Stop at the first failure.
    pub stop_on_failure: bool,
}

impl CampaignSpec {
    /// The configuration of seed `seed` of this campaign.
    pub fn config(&self, seed: u64) -> SimConfig {
        let mut c = SimConfig::new(seed, self.validators, self.faults.clone());
        c.heights = self.heights;
        c.stakes = self.stakes;
        c.tweak = self.tweak;
        c
    }
}

/// Results of a campaign.
#[derive(Clone, Debug, Default)]
pub struct CampaignReport {
    /// Seeds run.
    pub runs: u64,
    /// Failed runs.
    pub failures: Vec<Failure>,
    /// Heights decided in successful runs.
    pub heights: u64,
    /// Simulated time over all runs.
    pub sim_time: Duration,
    /// Wall-clock time.
    pub wall_time: Duration,
    /// Events processed.
    pub events: u64,
    /// Highest decided round seen.
    pub max_round: u32,
    /// Evidence items produced.
    pub evidence: u64,
    /// Evidence items committed in decided blocks.
    pub committed_evidence: u64,
}

impl CampaignReport {
    /// Seeds per second of wall time.
    pub fn seeds_per_sec(&self) -> f64 {
        self.runs as f64 / self.wall_time.as_secs_f64().max(1e-9)
    }

    /// Simulated time per unit of wall time.
    pub fn speedup(&self) -> f64 {
        self.sim_time.as_secs_f64() / self.wall_time.as_secs_f64().max(1e-9)
    }

    /// Heights decided per second of wall time.
    pub fn heights_per_sec(&self) -> f64 {
        self.heights as f64 / self.wall_time.as_secs_f64().max(1e-9)
    }
}

/// Runs the campaign sequentially (deterministic per seed; the order does not matter).
pub fn run_campaign(spec: &CampaignSpec) -> CampaignReport {
    let start = Instant::now();
    let mut rep = CampaignReport::default();
    for k in 0..spec.seeds {
        let cfg = spec.config(spec.first_seed.wrapping_add(k));
        rep.runs += 1;
        match run(&cfg) {
            Ok(r) => {
                rep.heights += r.heights;
                rep.sim_time += Duration::from_micros(r.sim_time_us);
                rep.events += r.events;
                rep.max_round = rep.max_round.max(r.max_round);
                rep.evidence += r.evidence;
                rep.committed_evidence += r.committed_evidence;
            }
            Err(f) => {
                rep.failures.push(*f);
                if spec.stop_on_failure {
                    break;
                }
            }
        }
    }
    rep.wall_time = start.elapsed();
    rep
}
