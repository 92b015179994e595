//! One condition tested against the network's figure: the value compared, the thresholds, the
//! outcome and the nodes the figure came from.

use std::fmt;

use netwright_crds::effective::EffectiveCondition;
use netwright_crds::spec::ConditionMode;
use netwright_crds::{Aggregation, GateMetric};
use serde::{Deserialize, Serialize};

use super::aggregate::{Figure, Source};

/// The thresholds of a condition: it holds when every one that is set holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Holds when the value is greater than or equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Holds when the value is less than or equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// Holds when the value is exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<f64>,
}

impl Threshold {
    /// The thresholds of `condition`.
    pub fn of(condition: &EffectiveCondition) -> Self {
        Threshold {
            gte: condition.gte,
            lte: condition.lte,
            eq: condition.eq,
        }
    }

    /// Whether no threshold is set (such a condition is rejected by validation).
    pub fn is_empty(&self) -> bool {
        self.gte.is_none() && self.lte.is_none() && self.eq.is_none()
    }

    /// Whether `value` meets every threshold set. Comparisons are exact.
    pub fn holds(&self, value: f64) -> bool {
        self.gte.is_none_or(|t| value >= t)
            && self.lte.is_none_or(|t| value <= t)
            && self.eq.is_none_or(|t| value == t)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [(">=", self.gte), ("<=", self.lte), ("==", self.eq)]
            .into_iter()
            .filter_map(|(op, t)| t.map(|t| format!("{op} {t}")))
            .collect();
        f.write_str(&parts.join(" and "))
    }
}

/// What a condition came to in one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The compared value meets the thresholds.
    Holds,
    /// The compared value misses the thresholds.
    Broken,
    /// No node reports the metric (or, in `delta` mode, no baseline could be taken yet).
    Missing,
}

/// One condition in one sample: what was compared with what, and where the figure came from.
/// This is what receipts and reports show for a condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionReport {
    /// The metric tested.
    pub metric: GateMetric,
    /// Absolute figure or change since the gate became eligible.
    pub mode: ConditionMode,
    /// The thresholds.
    pub threshold: Threshold,
    /// The value compared with the thresholds: the figure, or in `delta` mode the figure minus
    /// the baseline. `None` when missing.
    pub observed: Option<f64>,
    /// The network's figure in this sample.
    pub figure: Option<f64>,
    /// In `delta` mode, the figure when the gate became eligible (the first sample from then on
    /// that had one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// What the condition came to.
    pub outcome: Outcome,
    /// How the figure is made from the nodes' values.
    pub aggregation: Aggregation,
    /// The nodes whose values made the figure, with their heights.
    pub sources: Vec<Source>,
}

impl ConditionReport {
    /// Tests `condition` against `figure`; `baseline` is the delta baseline (taken by the
    /// caller), ignored in `absolute` mode.
    pub fn evaluate(
        condition: &EffectiveCondition,
        figure: Option<&Figure>,
        baseline: Option<f64>,
    ) -> Self {
        let threshold = Threshold::of(condition);
        let delta = condition.mode == ConditionMode::Delta;
        let value = figure.map(|f| f.value);
        let observed = match (delta, value, baseline) {
            (false, Some(v), _) => Some(v),
            (true, Some(v), Some(b)) => Some(v - b),
            _ => None,
        };
        let outcome = match observed {
            None => Outcome::Missing,
            Some(v) if threshold.holds(v) => Outcome::Holds,
            Some(_) => Outcome::Broken,
        };
        ConditionReport {
            metric: condition.metric,
            mode: condition.mode,
            threshold,
            observed,
            figure: value,
            baseline: if delta { baseline } else { None },
            outcome,
            aggregation: condition.metric.aggregation(),
            sources: figure.map(|f| f.sources.clone()).unwrap_or_default(),
        }
    }
}

impl fmt::Display for ConditionReport {
    /// For example `height 42 (needs >= 50): broken` or
    /// `relays_served delta 7 (needs >= 5; figure 107, baseline 100): holds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            ConditionMode::Absolute => "",
            ConditionMode::Delta => " delta",
        };
        let observed = self
            .observed
            .map_or_else(|| "missing".to_owned(), |v| v.to_string());
        write!(
            f,
            "{}{mode} {observed} (needs {}",
            self.metric, self.threshold
        )?;
        if let (Some(figure), Some(baseline)) = (self.figure, self.baseline) {
            write!(f, "; figure {figure}, baseline {baseline}")?;
        }
        let outcome = match self.outcome {
            Outcome::Holds => "holds",
            Outcome::Broken => "broken",
            Outcome::Missing => "missing",
        };
        write!(f, "): {outcome}")
    }
}

/// The conditions that do not hold, each as its report line (`metric observed (needs ...):
/// outcome`): what a verdict message and a `stop` receipt name.
pub fn broken_conditions(conditions: &[ConditionReport]) -> Vec<String> {
    conditions
        .iter()
        .filter(|c| c.outcome != Outcome::Holds)
        .map(ToString::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn condition(
        mode: ConditionMode,
        gte: Option<f64>,
        lte: Option<f64>,
        eq: Option<f64>,
    ) -> EffectiveCondition {
        EffectiveCondition {
            metric: GateMetric::Height,
            mode,
            gte,
            lte,
            eq,
        }
    }

    fn figure(value: f64) -> Figure {
        Figure {
            value,
            aggregation: Aggregation::Quorum,
            sources: Vec::new(),
        }
    }

    fn outcome(c: &EffectiveCondition, value: f64, baseline: Option<f64>) -> Outcome {
        ConditionReport::evaluate(c, Some(&figure(value)), baseline).outcome
    }

    #[test]
    fn gte_holds_at_and_above_the_threshold() {
        let c = condition(ConditionMode::Absolute, Some(50.0), None, None);
        assert_eq!(outcome(&c, 49.0, None), Outcome::Broken);
        assert_eq!(outcome(&c, 50.0_f64.next_down(), None), Outcome::Broken);
        assert_eq!(outcome(&c, 50.0, None), Outcome::Holds);
        assert_eq!(outcome(&c, 51.0, None), Outcome::Holds);
    }

    #[test]
    fn lte_holds_at_and_below_the_threshold() {
        let c = condition(ConditionMode::Absolute, None, Some(0.5), None);
        assert_eq!(outcome(&c, 0.49, None), Outcome::Holds);
        assert_eq!(outcome(&c, 0.5, None), Outcome::Holds);
        assert_eq!(outcome(&c, 0.5_f64.next_up(), None), Outcome::Broken);
        assert_eq!(outcome(&c, 0.51, None), Outcome::Broken);
    }

    #[test]
    fn eq_holds_only_at_the_threshold() {
        let c = condition(ConditionMode::Absolute, None, None, Some(4.0));
        assert_eq!(outcome(&c, 3.0, None), Outcome::Broken);
        assert_eq!(outcome(&c, 4.0, None), Outcome::Holds);
        assert_eq!(outcome(&c, 5.0, None), Outcome::Broken);
    }

    #[test]
    fn gte_and_lte_together_bound_a_range() {
        let c = condition(ConditionMode::Absolute, Some(2.0), Some(4.0), None);
        let results: Vec<Outcome> = [1.0, 2.0, 3.0, 4.0, 5.0]
            .into_iter()
            .map(|v| outcome(&c, v, None))
            .collect();
        use Outcome::{Broken, Holds};
        assert_eq!(results, [Broken, Holds, Holds, Holds, Broken]);
    }

    #[test]
    fn delta_compares_the_change_since_the_baseline() {
        let c = condition(ConditionMode::Delta, Some(5.0), None, None);
        assert_eq!(outcome(&c, 104.0, Some(100.0)), Outcome::Broken);
        assert_eq!(outcome(&c, 105.0, Some(100.0)), Outcome::Holds);
        assert_eq!(outcome(&c, 106.0, Some(100.0)), Outcome::Holds);
        // An absolute condition with the same numbers would hold at once.
        let absolute = condition(ConditionMode::Absolute, Some(5.0), None, None);
        assert_eq!(outcome(&absolute, 104.0, Some(100.0)), Outcome::Holds);
        let report = ConditionReport::evaluate(&c, Some(&figure(104.0)), Some(100.0));
        assert_eq!(
            (report.observed, report.figure, report.baseline),
            (Some(4.0), Some(104.0), Some(100.0))
        );
        assert_eq!(
            report.to_string(),
            "height delta 4 (needs >= 5; figure 104, baseline 100): broken"
        );
    }

    #[test]
    fn no_figure_or_no_baseline_is_missing() {
        let c = condition(ConditionMode::Delta, Some(5.0), None, None);
        assert_eq!(
            ConditionReport::evaluate(&c, None, Some(1.0)).outcome,
            Outcome::Missing
        );
        assert_eq!(outcome(&c, 10.0, None), Outcome::Missing);
        let absolute = condition(ConditionMode::Absolute, None, Some(5.0), None);
        let report = ConditionReport::evaluate(&absolute, None, None);
        assert_eq!(report.outcome, Outcome::Missing);
        assert_eq!(report.to_string(), "height missing (needs <= 5): missing");
    }

    proptest! {
        /// Each threshold is exactly its comparison.
        #[test]
        fn thresholds_are_their_comparisons(value in -1e6f64..1e6, t in -1e6f64..1e6) {
            let holds = |c: EffectiveCondition| outcome(&c, value, None) == Outcome::Holds;
            prop_assert_eq!(holds(condition(ConditionMode::Absolute, Some(t), None, None)), value >= t);
            prop_assert_eq!(holds(condition(ConditionMode::Absolute, None, Some(t), None)), value <= t);
            prop_assert_eq!(holds(condition(ConditionMode::Absolute, None, None, Some(t))), value == t);
        }
    }
}
