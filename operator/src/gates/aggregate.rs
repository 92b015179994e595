//! From what each node reports to the network's figure for each metric, one documented rule
//! per metric ([`Aggregation`]), with counters corrected for node restarts.

use std::collections::BTreeMap;

use netwright_crds::{Aggregation, GateMetric};
use serde::{Deserialize, Serialize};

use super::sample::Sample;

/// One node's contribution to a network figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The node's name.
    pub node: String,
    /// The value the node reported.
    pub reported: f64,
    /// The value that entered the figure: `reported` plus `offset`.
    pub value: f64,
    /// For counters, what earlier restarts of the node add to its reported value; 0 otherwise.
    pub offset: f64,
    /// The height the node reported in the same sample, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<f64>,
    /// The node's restart epoch in that sample.
    pub epoch: u64,
    /// The time of the sample the node reported this in: earlier than the figure's sample
    /// for a counter of a node that has stopped reporting.
    pub at_ms: u64,
}

/// The network's figure for one metric in one sample, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    /// The figure.
    pub value: f64,
    /// How it was made from the nodes' values.
    pub aggregation: Aggregation,
    /// Every node that contributed a value, by name.
    pub sources: Vec<Source>,
}

/// What the aggregator remembers of one node's counter.
#[derive(Debug, Clone, PartialEq)]
struct CounterState {
    last_reported: f64,
    offset: f64,
    /// The node's last report, as it enters the figure.
    source: Source,
}

/// Makes network figures from samples; remembers each node's counters across samples so that a
/// counter reset by a restart is not mistaken for a drop, and a node that stopped reporting
/// still counts.
///
/// Counter rules:
/// - when a node reports a counter lower than its previous report and its restart epoch
///   changed in between, the node restarted and its counter began again from zero: the node's
///   contribution continues from its previous value (its offset grows by the previous report);
/// - a drop within one epoch is taken as reported (a real drop);
/// - a node that restarted but already reports at least as much as before is taken as reported
///   (the counter survived the restart, or its reset cannot be seen);
/// - a node that reports nothing (stopped, killed, unreachable) keeps contributing its last
///   corrected value: what it counted happened.
#[derive(Debug, Clone, Default)]
pub struct Aggregator {
    counters: BTreeMap<GateMetric, BTreeMap<String, CounterState>>,
}

impl Aggregator {
    /// An aggregator that has seen no sample.
    pub fn new() -> Self {
        Aggregator::default()
    }

    /// Takes in `sample` (updating the counters' corrections) and returns the network's figure
    /// for every metric that has one in it.
    pub fn figures(&mut self, sample: &Sample) -> BTreeMap<GateMetric, Figure> {
        let mut out = BTreeMap::new();
        for metric in GateMetric::ALL {
            let aggregation = metric.aggregation();
            let reported = reported(sample, metric);
            let sources = if aggregation.is_counter() {
                self.counted(metric, reported)
            } else {
                reported
            };
            if let Some(figure) = aggregate(sample, aggregation, sources) {
                out.insert(metric, figure);
            }
        }
        out
    }

    /// Corrects the counter reports of one sample and returns every node's last contribution.
    fn counted(&mut self, metric: GateMetric, reported: Vec<Source>) -> Vec<Source> {
        let nodes = self.counters.entry(metric).or_default();
        for mut source in reported {
            let state = nodes
                .entry(source.node.clone())
                .or_insert_with(|| CounterState {
                    last_reported: source.reported,
                    offset: 0.0,
                    source: source.clone(),
                });
            if state.source.epoch != source.epoch && source.reported < state.last_reported {
                state.offset += state.last_reported;
            }
            state.last_reported = source.reported;
            source.offset = state.offset;
            source.value = source.reported + state.offset;
            state.source = source;
        }
        nodes.values().map(|s| s.source.clone()).collect()
    }
}

/// What the nodes of `sample` report for `metric`, uncorrected, by node name.
fn reported(sample: &Sample, metric: GateMetric) -> Vec<Source> {
    sample
        .nodes
        .iter()
        .filter_map(|(name, node)| {
            let reported = node.value(metric)?;
            Some(Source {
                node: name.clone(),
                reported,
                value: reported,
                offset: 0.0,
                height: node.value(GateMetric::Height),
                epoch: node.epoch,
                at_ms: sample.at_ms,
            })
        })
        .collect()
}

fn aggregate(sample: &Sample, aggregation: Aggregation, sources: Vec<Source>) -> Option<Figure> {
    let (value, sources) = match aggregation {
        Aggregation::Quorum => quorum(sample, sources)?,
        Aggregation::CounterMax => {
            let highest = sources.iter().map(|s| s.value).max_by(f64::total_cmp)?;
            (highest, sources)
        }
        Aggregation::LowerMedian => {
            let mut values: Vec<f64> = sources.iter().map(|s| s.value).collect();
            values.sort_by(f64::total_cmp);
            let median = *values.get(values.len().checked_sub(1)? / 2)?;
            (median, sources)
        }
    };
    Some(Figure {
        value,
        aggregation,
        sources,
    })
}

/// The `q`-th highest value among the validators (every node when none is a validator), with
/// `q` the smallest count above two thirds of them; only their values are kept as sources.
fn quorum(sample: &Sample, sources: Vec<Source>) -> Option<(f64, Vec<Source>)> {
    let any_validator = sample.nodes.values().any(|n| n.validator);
    let counts = |name: &str| !any_validator || sample.nodes.get(name).is_some_and(|n| n.validator);
    let members = sample.nodes.keys().filter(|name| counts(name)).count();
    let sources: Vec<Source> = sources.into_iter().filter(|s| counts(&s.node)).collect();
    let mut values: Vec<f64> = sources.iter().map(|s| s.value).collect();
    values.sort_by(|a, b| b.total_cmp(a));
    let quorum = members * 2 / 3 + 1;
    let value = *values.get(quorum - 1)?;
    Some((value, sources))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gates::sample::NodeSample;
    use proptest::prelude::*;

    fn heights(at_ms: u64, validators: &[Option<f64>], others: &[f64]) -> Sample {
        let mut sample = Sample::new(at_ms);
        for (i, h) in validators.iter().enumerate() {
            let mut node = NodeSample::validator(1);
            if let Some(h) = h {
                node = node.with(GateMetric::Height, *h);
            }
            sample = sample.with_node(format!("validator-{i}"), node);
        }
        for (i, h) in others.iter().enumerate() {
            sample = sample.with_node(
                format!("servicer-{i}"),
                NodeSample::other(1).with(GateMetric::Height, *h),
            );
        }
        sample
    }

    fn height(sample: &Sample) -> Option<f64> {
        Aggregator::new()
            .figures(sample)
            .get(&GateMetric::Height)
            .map(|f| f.value)
    }

    #[test]
    fn height_is_what_more_than_two_thirds_of_the_validators_reached() {
        // 4 validators: quorum 3; the third highest.
        let s = heights(0, &[Some(10.0), Some(12.0), Some(11.0), Some(3.0)], &[]);
        assert_eq!(height(&s), Some(10.0));
        // Non-validators do not count, even far ahead.
        let s = heights(0, &[Some(10.0), Some(12.0), Some(11.0), Some(3.0)], &[99.0]);
        assert_eq!(height(&s), Some(10.0));
        // 3 validators: quorum 3 (2/3 is not more than two thirds).
        let s = heights(0, &[Some(5.0), Some(7.0), Some(6.0)], &[]);
        assert_eq!(height(&s), Some(5.0));
        // 7 validators: quorum 5.
        let s = heights(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0].map(Some), &[]);
        assert_eq!(height(&s), Some(3.0));
    }

    #[test]
    fn height_needs_a_reporting_quorum() {
        // 3 of 4 report: enough. 2 of 4: no figure.
        let s = heights(0, &[Some(10.0), Some(12.0), Some(11.0), None], &[]);
        assert_eq!(height(&s), Some(10.0));
        let s = heights(0, &[Some(10.0), None, Some(11.0), None], &[50.0, 50.0]);
        assert_eq!(height(&s), None);
    }

    #[test]
    fn height_without_validators_counts_every_node() {
        let s = heights(0, &[], &[4.0, 9.0, 8.0]);
        assert_eq!(height(&s), Some(4.0));
        assert_eq!(height(&Sample::new(0)), None);
    }

    #[test]
    fn gauges_take_the_lower_median_and_counters_the_highest() {
        let mut sample = Sample::new(0);
        for (i, (active, txs)) in [(4.0, 10.0), (3.0, 30.0), (4.0, 20.0), (1.0, 25.0)]
            .into_iter()
            .enumerate()
        {
            sample = sample.with_node(
                format!("v{i}"),
                NodeSample::validator(1)
                    .with(GateMetric::ValidatorsActive, active)
                    .with(GateMetric::TxsCommitted, txs)
                    .with(GateMetric::Height, 5.0 + i as f64),
            );
        }
        let figures = Aggregator::new().figures(&sample);
        // Sorted 1, 3, 4, 4: the lower median is 3.
        assert_eq!(figures[&GateMetric::ValidatorsActive].value, 3.0);
        assert_eq!(figures[&GateMetric::TxsCommitted].value, 30.0);
        let sources = &figures[&GateMetric::TxsCommitted].sources;
        assert_eq!(sources.len(), 4);
        assert_eq!(sources[1].node, "v1");
        assert_eq!(sources[1].height, Some(6.0));
        assert!(!figures.contains_key(&GateMetric::RelaysServed));
    }

    fn counter(at_ms: u64, epoch: u64, value: f64) -> Sample {
        Sample::new(at_ms).with_node(
            "v0",
            NodeSample::validator(epoch).with(GateMetric::RelaysServed, value),
        )
    }

    #[test]
    fn a_counter_reset_by_a_restart_continues_from_the_previous_value() {
        let mut agg = Aggregator::new();
        let relays =
            |agg: &mut Aggregator, s: &Sample| agg.figures(s)[&GateMetric::RelaysServed].clone();
        assert_eq!(relays(&mut agg, &counter(0, 1, 40.0)).value, 40.0);
        assert_eq!(relays(&mut agg, &counter(1, 1, 50.0)).value, 50.0);
        // Restarted (epoch 2), counting again from 0.
        let after = relays(&mut agg, &counter(2, 2, 3.0));
        assert_eq!(after.value, 53.0);
        assert_eq!(after.sources[0].offset, 50.0);
        assert_eq!(after.sources[0].reported, 3.0);
        assert_eq!(relays(&mut agg, &counter(3, 2, 10.0)).value, 60.0);
        // A second restart adds to the offset.
        assert_eq!(relays(&mut agg, &counter(4, 3, 1.0)).value, 61.0);
    }

    #[test]
    fn a_drop_without_a_restart_is_a_drop() {
        let mut agg = Aggregator::new();
        agg.figures(&counter(0, 1, 50.0));
        assert_eq!(
            agg.figures(&counter(1, 1, 45.0))[&GateMetric::RelaysServed].value,
            45.0
        );
    }

    #[test]
    fn a_node_silent_across_its_restart_is_still_corrected() {
        let mut agg = Aggregator::new();
        agg.figures(&counter(0, 1, 50.0));
        agg.figures(&Sample::new(1).with_node("v0", NodeSample::validator(2)));
        assert_eq!(
            agg.figures(&counter(2, 2, 5.0))[&GateMetric::RelaysServed].value,
            55.0
        );
    }

    #[test]
    fn a_silent_node_keeps_its_count_in_the_figure() {
        let mut agg = Aggregator::new();
        let two = |at_ms, a: Option<f64>, b: f64| {
            let mut first = NodeSample::validator(1);
            if let Some(a) = a {
                first = first.with(GateMetric::TxsCommitted, a);
            }
            Sample::new(at_ms).with_node("a", first).with_node(
                "b",
                NodeSample::validator(1).with(GateMetric::TxsCommitted, b),
            )
        };
        assert_eq!(
            agg.figures(&two(0, Some(90.0), 80.0))[&GateMetric::TxsCommitted].value,
            90.0
        );
        // `a` is killed: the figure does not fall back to `b`'s 85.
        let figure = agg.figures(&two(1_000, None, 85.0))[&GateMetric::TxsCommitted].clone();
        assert_eq!(figure.value, 90.0);
        assert_eq!(
            (figure.sources[0].node.as_str(), figure.sources[0].at_ms),
            ("a", 0)
        );
        assert_eq!(
            (figure.sources[1].node.as_str(), figure.sources[1].at_ms),
            ("b", 1_000)
        );
        // Gauges do not remember: a silent node leaves them.
        let gauge = Sample::new(2_000)
            .with_node("a", NodeSample::validator(1))
            .with_node(
                "b",
                NodeSample::validator(1).with(GateMetric::ValidatorsActive, 3.0),
            );
        let figure = agg.figures(&gauge)[&GateMetric::ValidatorsActive].clone();
        assert_eq!(figure.sources.len(), 1);
    }

    #[test]
    fn height_is_not_a_counter() {
        let mut agg = Aggregator::new();
        let s = |epoch, h| {
            Sample::new(0).with_node(
                "v0",
                NodeSample::validator(epoch).with(GateMetric::Height, h),
            )
        };
        agg.figures(&s(1, 50.0));
        assert_eq!(agg.figures(&s(2, 10.0))[&GateMetric::Height].value, 10.0);
    }

    /// A step of a node's life: count some events, or restart (the process counter starts
    /// again from zero).
    #[derive(Debug, Clone)]
    enum Step {
        Count(u16),
        Restart,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            prop_oneof![3 => (0u16..500).prop_map(Step::Count), 1 => Just(Step::Restart)],
            0..60,
        )
    }

    proptest! {
        /// Whatever the restarts, the corrected counter is the true number of events counted.
        #[test]
        fn restarts_never_lose_or_invent_events(steps in steps()) {
            let mut agg = Aggregator::new();
            let (mut epoch, mut since_restart, mut total) = (0u64, 0.0f64, 0.0f64);
            for (i, step) in steps.iter().enumerate() {
                match step {
                    Step::Count(n) => {
                        since_restart += f64::from(*n);
                        total += f64::from(*n);
                    }
                    Step::Restart => {
                        epoch += 1;
                        since_restart = 0.0;
                    }
                }
                let figure = agg.figures(&counter(i as u64, epoch, since_restart));
                prop_assert_eq!(figure[&GateMetric::RelaysServed].value, total);
            }
        }

        /// At least a quorum of validators reached the height figure, and fewer than a quorum
        /// are beyond it.
        #[test]
        fn quorum_height_is_the_quorum_position(
            reported in proptest::collection::vec(proptest::option::of(0u32..1000), 1..12),
        ) {
            let validators: Vec<Option<f64>> = reported.iter().map(|h| h.map(f64::from)).collect();
            let sample = heights(0, &validators, &[]);
            let quorum = validators.len() * 2 / 3 + 1;
            let values: Vec<f64> = validators.iter().flatten().copied().collect();
            match height(&sample) {
                None => prop_assert!(values.len() < quorum),
                Some(h) => {
                    prop_assert!(values.iter().filter(|v| **v >= h).count() >= quorum);
                    prop_assert!(values.iter().filter(|v| **v > h).count() < quorum);
                }
            }
        }
    }
}
