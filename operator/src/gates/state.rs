//! The states of a gate, the transitions between them and why they happen: what the evaluator
//! reports, serialisable so that each transition can become a receipt body.

use std::fmt;

use netwright_crds::spec::{Expectation, OnViolation};
use netwright_crds::GateMetric;
use serde::{Deserialize, Serialize};

use super::condition::ConditionReport;

/// Where a gate stands.
///
/// ```text
/// Waiting --(every `after` gate passed)--> Pending --> Passed --> Violated
///    |                                        |
///    +--(an `after` gate failed)--> Failed <--+
/// ```
///
/// `Failed` and `Violated` are final; `Passed` is final for an `expect: fail` gate and keeps
/// watching otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateState {
    /// Not eligible yet: some `after` gate has not passed.
    Waiting,
    /// Eligible: its conditions are being evaluated, its deadline runs.
    Pending,
    /// The gate passed; it keeps watching its conditions (unless it expected a failure).
    Passed,
    /// The gate failed. Final.
    Failed,
    /// A passed gate's conditions broke. Final; what happens next is its `onViolation`.
    Violated,
}

impl GateState {
    /// The state's name as written in YAML, JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            GateState::Waiting => "waiting",
            GateState::Pending => "pending",
            GateState::Passed => "passed",
            GateState::Failed => "failed",
            GateState::Violated => "violated",
        }
    }

    /// Whether the gate has a verdict: anything but `Waiting` and `Pending`.
    pub fn is_decided(self) -> bool {
        !matches!(self, GateState::Waiting | GateState::Pending)
    }
}

impl fmt::Display for GateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Reason {
    /// `Waiting -> Pending`: every `after` gate passed (at once for a gate without `after`);
    /// the deadline starts and `delta` baselines are taken.
    Eligible,
    /// `Waiting -> Failed`: an `after` gate failed or was violated before this gate became
    /// eligible.
    DependencyFailed {
        /// The `after` gate.
        gate: String,
        /// Its state.
        state: GateState,
    },
    /// `Pending -> Passed`: every condition held in every sample since `since_ms`, for at least
    /// `holdFor`, by the deadline.
    ConditionsHeld {
        /// When the unbroken run of samples began.
        since_ms: u64,
    },
    /// `Pending -> Failed`: the deadline passed before the conditions held for `holdFor`.
    DeadlineExceeded {
        /// The deadline: eligibility plus `within`.
        deadline_ms: u64,
        /// The soak in progress at the deadline, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        soak_since_ms: Option<u64>,
    },
    /// `Pending -> Passed` for `expect: fail`: the deadline passed and the conditions never
    /// held for `holdFor`: the expected failure happened.
    ExpectedFailure {
        /// The deadline: eligibility plus `within`.
        deadline_ms: u64,
    },
    /// `Pending -> Failed` for `expect: fail`: the conditions held for `holdFor` by the
    /// deadline: the expected failure did not happen.
    HeldDespiteExpectedFailure {
        /// When the unbroken run of samples began.
        since_ms: u64,
    },
    /// `Pending -> Failed` or `Passed -> Violated` under `missing: fail`: no node reports these
    /// metrics (or a `delta` baseline is still missing).
    MetricMissing {
        /// The metrics missing.
        metrics: Vec<GateMetric>,
    },
    /// `Passed -> Violated`: these conditions' metrics stopped meeting their thresholds.
    ConditionBroken {
        /// The metrics of the broken conditions.
        metrics: Vec<GateMetric>,
    },
}

fn names(metrics: &[GateMetric]) -> String {
    metrics
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Eligible => f.write_str("eligible"),
            Reason::DependencyFailed { gate, state } => {
                write!(f, "gate {gate} (a prerequisite) is {state}")
            }
            Reason::ConditionsHeld { since_ms } => {
                write!(f, "the conditions held since {since_ms} ms")
            }
            Reason::DeadlineExceeded {
                deadline_ms,
                soak_since_ms: None,
            } => write!(f, "the deadline ({deadline_ms} ms) passed"),
            Reason::DeadlineExceeded {
                deadline_ms,
                soak_since_ms: Some(since),
            } => write!(
                f,
                "the deadline ({deadline_ms} ms) passed during the soak begun at {since} ms"
            ),
            Reason::ExpectedFailure { deadline_ms } => write!(
                f,
                "the conditions did not hold by the deadline ({deadline_ms} ms), as expected"
            ),
            Reason::HeldDespiteExpectedFailure { since_ms } => write!(
                f,
                "a failure was expected, but the conditions held since {since_ms} ms"
            ),
            Reason::MetricMissing { metrics } => {
                write!(f, "no node reports {} (missing: fail)", names(metrics))
            }
            Reason::ConditionBroken { metrics } => {
                write!(f, "broken after passing: {}", names(metrics))
            }
        }
    }
}

/// A gate changed state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// The gate's name.
    pub gate: String,
    /// Its state before.
    pub from: GateState,
    /// Its state now.
    pub to: GateState,
    /// The time of the sample that caused it, in milliseconds since the run started.
    pub at_ms: u64,
    /// Why.
    pub reason: Reason,
    /// The verdict the gate expects.
    pub expect: Expectation,
    /// For `-> Violated`, what the violation must do (halt or warn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_violation: Option<OnViolation>,
    /// Each condition as evaluated in that sample (empty for `Waiting -> Failed`).
    pub conditions: Vec<ConditionReport>,
}

impl fmt::Display for Transition {
    /// One line: `pos: pending -> failed at 300001 ms: the deadline (300000 ms) passed;
    /// height 42 (needs >= 50): broken`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} -> {} at {} ms: {}",
            self.gate, self.from, self.to, self.at_ms, self.reason
        )?;
        for condition in &self.conditions {
            write!(f, "; {condition}")?;
        }
        Ok(())
    }
}

/// Where one gate stands now: for live tables and `gate status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    /// The gate's name.
    pub name: String,
    /// Its state.
    pub state: GateState,
    /// The verdict it expects.
    pub expect: Expectation,
    /// What a violation does.
    pub on_violation: OnViolation,
    /// When it became eligible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible_at_ms: Option<u64>,
    /// Its deadline, once eligible, if it has `within`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// Its `holdFor` in milliseconds.
    pub hold_for_ms: u64,
    /// While pending, when the current unbroken run of holding samples began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_since_ms: Option<u64>,
    /// When it reached its current state, if it has left `Waiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<u64>,
    /// Why it reached its current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Its conditions as last evaluated.
    pub conditions: Vec<ConditionReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_serialize_tagged_in_camel_case() {
        let reason = Reason::DeadlineExceeded {
            deadline_ms: 300_000,
            soak_since_ms: Some(290_000),
        };
        let json = serde_json::to_value(&reason).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"kind": "deadlineExceeded", "deadlineMs": 300_000, "soakSinceMs": 290_000})
        );
        let back: Reason = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, reason);
    }

    #[test]
    fn only_waiting_and_pending_are_undecided() {
        let undecided: Vec<GateState> = [
            GateState::Waiting,
            GateState::Pending,
            GateState::Passed,
            GateState::Failed,
            GateState::Violated,
        ]
        .into_iter()
        .filter(|s| !s.is_decided())
        .collect();
        assert_eq!(undecided, [GateState::Waiting, GateState::Pending]);
    }
}
