//! What a simulated run looks like: size, stakes, faults, timing, and which checks apply.

use netwright_consensus::{Config, Timeouts};

/// How validator stakes are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stakes {
    /// Every validator has the same power.
    Equal,
    /// Powers drawn uniformly from 1..=100 by the run's seed.
    Random,
}

/// Misbehaviours a byzantine validator can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ByzantineKind {
    /// Sends one vote/proposal to half of the honest nodes and a conflicting one to the rest.
    Equivocate,
    /// Sends each message to only a random part of the network (or to nobody).
    Withhold,
    /// Proposes blocks the application rejects.
    InvalidProposal,
    /// Besides its honest messages, sends signed proposals and votes for rounds far beyond any
    /// window (`u32::MAX`, 40,000,000, its round + 1,000) and for heights far ahead.
    FarFuture,
    /// Sends each of its proposals and votes twice, the second time under another valid
    /// signature over the same bytes (not equivocation: the content is the same).
    Resign,
    /// Times its proposed blocks at `u64::MAX` (the header is rebuilt and the proposal
    /// re-signed), which no child block could ever follow.
    ForgedTime,
    /// Proposes with a `pol_round` below the round at which there was no polka, and votes for
    /// blocks that do not exist.
    WrongValidRound,
    /// Puts evidence that does not verify into its own blocks.
    BadEvidence,
    /// Crashes again and again, and restarts each time without its WAL: it forgets what it
    /// signed and its lock, so it signs again (and differently) in rounds it already voted in.
    Amnesia,
}

impl ByzantineKind {
    /// Every kind, in order.
    pub const ALL: [ByzantineKind; 9] = [
        ByzantineKind::Equivocate,
        ByzantineKind::Withhold,
        ByzantineKind::InvalidProposal,
        ByzantineKind::FarFuture,
        ByzantineKind::Resign,
        ByzantineKind::ForgedTime,
        ByzantineKind::WrongValidRound,
        ByzantineKind::BadEvidence,
        ByzantineKind::Amnesia,
    ];

    /// The kind's `--faults` name.
    pub fn name(self) -> &'static str {
        match self {
            ByzantineKind::Equivocate => "equivocate",
            ByzantineKind::Withhold => "withhold",
            ByzantineKind::InvalidProposal => "invalid",
            ByzantineKind::FarFuture => "far-future",
            ByzantineKind::Resign => "resign",
            ByzantineKind::ForgedTime => "forged-time",
            ByzantineKind::WrongValidRound => "wrong-valid-round",
            ByzantineKind::BadEvidence => "bad-evidence",
            ByzantineKind::Amnesia => "amnesia",
        }
    }

    /// The kind named `name` (its `--faults` name).
    pub fn from_name(name: &str) -> Option<ByzantineKind> {
        ByzantineKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The faults injected before the network stabilises (global stabilisation time, GST).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Faults {
    /// Random message loss.
    pub loss: bool,
    /// Random duplication.
    pub duplicate: bool,
    /// Extra random delays that reorder messages.
    pub reorder: bool,
    /// Network partitions that heal.
    pub partition: bool,
    /// Crashes with restart from the WAL.
    pub crash: bool,
    /// Byzantine behaviours to draw from (empty: none).
    pub byzantine: Vec<ByzantineKind>,
    /// Validator-set changes through staking transactions: spare nodes join, honest
    /// validators leave and re-stake.
    pub churn: bool,
}

/// A fault name that `--faults` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("faults[{index}]: unknown fault {name:?}; expected one of none, loss, dup, reorder, partition, crash, byzantine, equivocate, withhold, invalid, crafted, far-future, resign, forged-time, wrong-valid-round, bad-evidence, amnesia, churn, net, all")]
pub struct UnknownFault {
    /// Position in the comma-separated list.
    pub index: usize,
    /// The unknown name.
    pub name: String,
}

impl Faults {
    /// Parses a comma-separated list such as `loss,partition,crash,byzantine`.
    pub fn parse(list: &str) -> Result<Faults, UnknownFault> {
        let mut f = Faults::default();
        for (index, name) in list.split(',').map(str::trim).enumerate() {
            match name {
                "" | "none" => {}
                "loss" => f.loss = true,
                "dup" | "duplicate" => f.duplicate = true,
                "reorder" => f.reorder = true,
                "partition" => f.partition = true,
                "crash" => f.crash = true,
                "churn" => f.churn = true,
                "crafted" => {
                    f.add_byz(ByzantineKind::FarFuture);
                    f.add_byz(ByzantineKind::Resign);
                    f.add_byz(ByzantineKind::ForgedTime);
                    f.add_byz(ByzantineKind::WrongValidRound);
                    f.add_byz(ByzantineKind::BadEvidence);
                    f.add_byz(ByzantineKind::Amnesia);
                }
                "byzantine" => {
                    f.add_byz(ByzantineKind::Equivocate);
                    f.add_byz(ByzantineKind::Withhold);
                    f.add_byz(ByzantineKind::InvalidProposal);
                }
                "net" => {
                    f.loss = true;
                    f.duplicate = true;
                    f.reorder = true;
                }
                "all" => {
                    f = Faults::parse("net,partition,crash,byzantine,crafted,churn")?;
                }
                other => {
                    if let Some(k) = ByzantineKind::from_name(other) {
                        f.add_byz(k);
                        continue;
                    }
                    return Err(UnknownFault {
                        index,
                        name: other.to_string(),
                    });
                }
            }
        }
        Ok(f)
    }

    fn add_byz(&mut self, k: ByzantineKind) {
        if !self.byzantine.contains(&k) {
            self.byzantine.push(k);
            self.byzantine.sort();
        }
    }

    /// Short text form (round-trips through [`Faults::parse`]).
    pub fn label(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for (on, name) in [
            (self.loss, "loss"),
            (self.duplicate, "dup"),
            (self.reorder, "reorder"),
            (self.partition, "partition"),
            (self.crash, "crash"),
            (self.churn, "churn"),
        ] {
            if on {
                parts.push(name);
            }
        }
        for k in &self.byzantine {
            parts.push(k.name());
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(",")
        }
    }
}

/// How much stake the byzantine validators may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByzantineBound {
    /// Strictly less than 1/3 of the total (the protocol's assumption).
    BelowThird,
    /// Exactly 1/3 where the stakes allow it: outside the assumption; only for showing that
    /// the strict quorum rule matters.
    ExactlyThird,
}

/// A full description of one run; the run is a pure function of it.
#[derive(Clone)]
pub struct SimConfig {
    /// The seed of every random choice.
    pub seed: u64,
    /// Number of validators.
    pub validators: usize,
    /// Stake distribution.
    pub stakes: Stakes,
    /// Faults before GST.
    pub faults: Faults,
    /// Heights every honest validator must decide.
    pub heights: u64,
    /// Heights started after GST that every honest validator must also decide: the run goes
    /// on past GST until they are decided (or the deadline passes), so faults late before GST
    /// still fire and liveness after GST is always checked.
    pub post_gst_heights: u64,
    /// Simulated time at which the network becomes synchronous and faults stop (ms).
    pub gst_ms: u64,
    /// Message loss probability before GST (with `faults.loss`).
    pub loss: f64,
    /// Duplication probability before GST (with `faults.duplicate`).
    pub duplicate: f64,
    /// Per-link base latency range in milliseconds; fixed per link for the run.
    pub latency_ms: (u64, u64),
    /// Random extra delay per message, up to this many microseconds.
    pub jitter_us: u64,
    /// Byzantine stake bound.
    pub byzantine_bound: ByzantineBound,
    /// Verify commit certificates of every decision (strict > 2/3 rule).
    pub check_certificates: bool,
    /// Check liveness after GST.
    pub check_liveness: bool,
    /// Round timeouts of every validator.
    pub timeouts: Timeouts,
    /// Pause between a commit and the next height, in ms (the node's `timeout_commit_ms`):
    /// paces heights, so a lone validator does not decide heights without simulated time
    /// passing.
    pub commit_pause_ms: u64,
    /// Whether nodes announce their committed height to their peers every second, as the
    /// node's runtime does (off only to show what goes wrong without it).
    pub status_announcements: bool,
    /// Adjusts every node's consensus configuration (tests use it to select a broken variant).
    pub tweak: Option<fn(&mut Config)>,
}

impl SimConfig {
    /// A run with defaults for everything but the seed, size and faults.
    pub fn new(seed: u64, validators: usize, faults: Faults) -> Self {
        SimConfig {
            seed,
            validators,
            stakes: Stakes::Random,
            faults,
            heights: 6,
            post_gst_heights: 2,
            gst_ms: 4_000,
            loss: 0.15,
            duplicate: 0.05,
            latency_ms: (1, 10),
            jitter_us: 3_000,
            byzantine_bound: ByzantineBound::BelowThird,
            check_certificates: true,
            check_liveness: true,
            timeouts: Timeouts::default(),
            commit_pause_ms: 20,
            status_announcements: true,
            tweak: None,
        }
    }

    /// One-line description.
    pub fn label(&self) -> String {
        format!(
            "seed={} validators={} stakes={:?} faults={} heights={} post_gst_heights={} gst_ms={}",
            self.seed,
            self.validators,
            self.stakes,
            self.faults.label(),
            self.heights,
            self.post_gst_heights,
            self.gst_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_label_roundtrip() {
        let f = Faults::parse("loss,partition,crash,byzantine").unwrap();
        assert!(f.loss && f.partition && f.crash && !f.duplicate);
        assert_eq!(f.byzantine.len(), 3);
        assert_eq!(Faults::parse(&f.label()).unwrap(), f);
        let e = Faults::parse("loss,bogus").unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.to_string().contains("\"bogus\""));
        assert_eq!(Faults::parse("none").unwrap(), Faults::default());
    }

    #[test]
    fn crafted_kinds_parse_by_name_and_as_a_group() {
        let f = Faults::parse("far-future,resign").unwrap();
        assert_eq!(
            f.byzantine,
            vec![ByzantineKind::FarFuture, ByzantineKind::Resign]
        );
        assert_eq!(Faults::parse(&f.label()).unwrap(), f);
        let crafted = Faults::parse("crafted").unwrap();
        assert_eq!(crafted.byzantine.len(), 6);
        assert!(!crafted.byzantine.contains(&ByzantineKind::Equivocate));
        // `byzantine` keeps its meaning; `all` has every kind.
        assert_eq!(Faults::parse("byzantine").unwrap().byzantine.len(), 3);
        let all = Faults::parse("all").unwrap();
        assert_eq!(all.byzantine, ByzantineKind::ALL.to_vec());
        assert_eq!(Faults::parse(&all.label()).unwrap(), all);
        let e = Faults::parse("resign,forged").unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.to_string().contains("forged-time"), "{e}");
    }
}
