//! Machine configuration: chain id and round timeouts.

use crate::types::Round;

/// Round timeouts; each grows linearly with the round so that, after the network becomes
/// synchronous, some round is long enough for honest validators to hear each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Wait for a proposal in round 0.
    pub propose_ms: u64,
    /// Added to the propose timeout per round.
    pub propose_delta_ms: u64,
    /// Wait after a quorum of mixed prevotes in round 0.
    pub prevote_ms: u64,
    /// Added per round.
    pub prevote_delta_ms: u64,
    /// Wait after a quorum of mixed precommits in round 0.
    pub precommit_ms: u64,
    /// Added per round.
    pub precommit_delta_ms: u64,
    /// Interval at which a machine still in the same round re-sends its recent messages and
    /// the proof of its valid value. A healthy height finishes before it ever fires.
    pub rebroadcast_ms: u64,
}

impl Default for Timeouts {
    /// LAN defaults: a healthy network decides in a few message delays with no fixed wait.
    fn default() -> Self {
        Timeouts {
            propose_ms: 300,
            propose_delta_ms: 150,
            prevote_ms: 150,
            prevote_delta_ms: 75,
            precommit_ms: 150,
            precommit_delta_ms: 75,
            rebroadcast_ms: 300,
        }
    }
}

/// Which timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeoutStep {
    /// No proposal arrived in time: prevote nil.
    Propose,
    /// Prevotes did not converge: precommit nil.
    Prevote,
    /// Precommits did not converge: go to the next round.
    Precommit,
    /// Still in this round: re-send own messages of the height.
    Rebroadcast,
}

impl Timeouts {
    /// Duration of the `step` timer in `round`.
    pub fn duration_ms(&self, step: TimeoutStep, round: Round) -> u64 {
        let r = round as u64;
        match step {
            TimeoutStep::Propose => self
                .propose_ms
                .saturating_add(self.propose_delta_ms.saturating_mul(r)),
            TimeoutStep::Prevote => self
                .prevote_ms
                .saturating_add(self.prevote_delta_ms.saturating_mul(r)),
            TimeoutStep::Precommit => self
                .precommit_ms
                .saturating_add(self.precommit_delta_ms.saturating_mul(r)),
            TimeoutStep::Rebroadcast => self.rebroadcast_ms,
        }
    }
}

/// A deliberately broken protocol variant, for showing that the simulator catches bugs.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mutation {
    /// The correct protocol.
    #[default]
    None,
    /// Quorum is "at least 2/3" instead of "more than 2/3".
    QuorumTwoThirdsInclusive,
    /// Quorum is "more than 1/2".
    QuorumMajority,
    /// Prevotes ignore the lock and proposers ignore the valid value.
    NoLocking,
    /// Signing ignores the machine's own earlier signatures (e.g. after a restart).
    IgnoreSigningRecords,
    /// Evidence is emitted without being verified, and a proposal counts as a duplicate only
    /// when its signed bytes equal an earlier one's: the same proposal under a second valid
    /// signature becomes evidence that does not verify.
    EvidenceUnchecked,
    /// A proposed block's time is not checked against the validator's clock.
    NoBlockTimeBound,
    /// The proposer of a proposal's round is looked up before the signature and the round
    /// window are checked (capped at round 10,000 so that the cost shows without aborting).
    UnboundedProposerLookup,
}

/// Default of [`Config::max_block_time_ahead_ms`]: clocks kept by NTP agree to well under a
/// second, and a second of slack costs nothing but a bound on how far block time can run ahead.
pub const DEFAULT_MAX_BLOCK_TIME_AHEAD_MS: u64 = 1_000;

/// Configuration of a [`crate::Machine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Chain id, part of every signature.
    pub chain_id: String,
    /// Round timeouts.
    pub timeouts: Timeouts,
    /// Votes and proposals for rounds up to `current + future_rounds` are stored; later rounds
    /// only count toward the round-skip rule. Bounds memory against spam.
    pub future_rounds: Round,
    /// Maximum number of messages for the next height held until that height starts.
    pub max_buffered_next_height: usize,
    /// How far ahead of this validator's clock a proposed block's time may be: the assumed
    /// bound on clock differences between honest validators. A block timed later is invalid
    /// (see docs/consensus.md, "Block time").
    pub max_block_time_ahead_ms: u64,
    /// Broken variant (only with the `fault-injection` feature).
    #[cfg(feature = "fault-injection")]
    pub mutation: Mutation,
}

impl Config {
    /// Defaults for `chain_id`.
    pub fn new(chain_id: impl Into<String>) -> Self {
        Config {
            chain_id: chain_id.into(),
            timeouts: Timeouts::default(),
            future_rounds: 2,
            max_buffered_next_height: 4096,
            max_block_time_ahead_ms: DEFAULT_MAX_BLOCK_TIME_AHEAD_MS,
            #[cfg(feature = "fault-injection")]
            mutation: Mutation::None,
        }
    }
}
