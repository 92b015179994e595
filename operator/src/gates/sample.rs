//! What the evaluator is fed: timestamped observations of every node of the network.

use std::collections::BTreeMap;

use netwright_crds::GateMetric;
use serde::{Deserialize, Serialize};

/// One observation of the whole network at one moment of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Milliseconds since the run started, read from a monotonic clock. Samples fed to one
    /// evaluator never go back in time (two samples may share a time).
    pub at_ms: u64,
    /// Every node of the network by name, including the ones that could not be reached (they
    /// report no metric).
    pub nodes: BTreeMap<String, NodeSample>,
}

/// What one node reported in a sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSample {
    /// Whether the node is a validator: the quorum of `height` counts validators.
    pub validator: bool,
    /// The node's restart epoch: any number that changes when the node's process restarts
    /// (its start time, for example) and stays the same while it runs. Only compared for
    /// equality; it tells a counter reset by a restart from a real drop.
    pub epoch: u64,
    /// The values the node reported. A metric it did not report is absent; a value that is not
    /// a finite number counts as not reported.
    pub metrics: BTreeMap<GateMetric, f64>,
}

impl Sample {
    /// An empty sample taken `at_ms` milliseconds into the run.
    pub fn new(at_ms: u64) -> Self {
        Sample {
            at_ms,
            nodes: BTreeMap::new(),
        }
    }

    /// This sample with `node` added (or replaced) under `name`.
    pub fn with_node(mut self, name: impl Into<String>, node: NodeSample) -> Self {
        self.nodes.insert(name.into(), node);
        self
    }
}

impl NodeSample {
    /// A validator in its restart `epoch` that has reported nothing yet.
    pub fn validator(epoch: u64) -> Self {
        NodeSample {
            validator: true,
            epoch,
            metrics: BTreeMap::new(),
        }
    }

    /// A node that is not a validator (servicer, fisherman, full node) in its restart `epoch`.
    pub fn other(epoch: u64) -> Self {
        NodeSample {
            validator: false,
            epoch,
            metrics: BTreeMap::new(),
        }
    }

    /// This node with `metric` reported as `value`.
    pub fn with(mut self, metric: GateMetric, value: f64) -> Self {
        self.metrics.insert(metric, value);
        self
    }

    /// The node's value of `metric`, if it reported a finite one.
    pub fn value(&self, metric: GateMetric) -> Option<f64> {
        self.metrics.get(&metric).copied().filter(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_count_as_not_reported() {
        let node = NodeSample::validator(1)
            .with(GateMetric::Height, f64::NAN)
            .with(GateMetric::TxsCommitted, f64::INFINITY)
            .with(GateMetric::RelaysServed, 3.0);
        assert_eq!(node.value(GateMetric::Height), None);
        assert_eq!(node.value(GateMetric::TxsCommitted), None);
        assert_eq!(node.value(GateMetric::RelaysServed), Some(3.0));
        assert_eq!(node.value(GateMetric::SlashesApplied), None);
    }

    #[test]
    fn a_sample_round_trips_through_json() {
        let sample = Sample::new(1_500).with_node(
            "validator-0",
            NodeSample::validator(7).with(GateMetric::Height, 12.0),
        );
        let json = serde_json::to_value(&sample).expect("serializes");
        assert_eq!(json["atMs"], 1_500);
        assert_eq!(json["nodes"]["validator-0"]["metrics"]["height"], 12.0);
        let back: Sample = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, sample);
    }
}
