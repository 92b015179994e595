//! The StopRule hook: turning a verification failure into a typed reason to halt a network.

use std::fmt;

use crate::verification::verify::{Finding, Report};

/// Why a network must be halted, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StopReason {
    /// The log ends with an interrupted append that was not yet repaired.
    TornWrite,
    /// A receipt is signed by a key nobody trusts.
    UntrustedSigner,
    /// Receipts are missing, repeated, out of order or wrongly numbered.
    ChainBroken,
    /// The log is shorter than a checkpoint that was published.
    Truncated,
    /// A receipt breaks a limit of the format that its writer must enforce
    /// (the body's nesting): the writer is not a conforming one.
    OutOfFormat,
    /// Bytes of a receipt were changed, or history was rewritten.
    Tampered,
    /// Two receipts claim the same parent: two writers diverged.
    Forked,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::TornWrite => "torn-write",
            StopReason::UntrustedSigner => "untrusted-signer",
            StopReason::ChainBroken => "chain-broken",
            StopReason::Truncated => "truncated",
            StopReason::OutOfFormat => "out-of-format",
            StopReason::Tampered => "tampered",
            StopReason::Forked => "forked",
        })
    }
}

/// The reason a finding calls for.
pub fn stop_reason(finding: &Finding) -> StopReason {
    match finding {
        Finding::TornTail { .. } => StopReason::TornWrite,
        Finding::UnknownKey { .. } => StopReason::UntrustedSigner,
        Finding::Missing { .. }
        | Finding::WrongSequence { .. }
        | Finding::Duplicate { .. }
        | Finding::Reordered { .. }
        | Finding::NotGenesis { .. } => StopReason::ChainBroken,
        Finding::Truncated { .. } => StopReason::Truncated,
        Finding::BodyTooDeep { .. } => StopReason::OutOfFormat,
        Finding::Malformed { .. }
        | Finding::BadSignature { .. }
        | Finding::ActorMismatch { .. }
        | Finding::NetworkMismatch { .. }
        | Finding::ParentMismatch { .. }
        | Finding::CheckpointOriginMismatch { .. }
        | Finding::CheckpointRootMismatch { .. } => StopReason::Tampered,
        Finding::Fork { .. } | Finding::UnexpectedGenesis { .. } => StopReason::Forked,
    }
}

/// A typed decision to halt: the most severe reason and the first finding that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRule {
    /// Why to halt.
    pub reason: StopReason,
    /// The first finding with that reason.
    pub finding: Finding,
}

impl StopRule {
    /// The halt a verification report calls for, or `None` when the log is sound.
    pub fn from_report(report: &Report) -> Option<StopRule> {
        let worst = report.findings.iter().map(stop_reason).max()?;
        let finding = report
            .findings
            .iter()
            .find(|f| stop_reason(f) == worst)?
            .clone();
        Some(StopRule {
            reason: worst,
            finding,
        })
    }
}

impl fmt::Display for StopRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "halt ({}): {}", self.reason, self.finding)
    }
}
