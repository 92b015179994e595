//! The closed list of metrics that milestone gates may test.
//!
//! The gate evaluator reads exactly these figures from the nodes; a gate naming anything else
//! is rejected when the spec is validated.
//!
//! Every node reports its own value of a metric; a gate tests the network's figure, made from
//! the nodes' values by one rule per metric ([`GateMetric::aggregation`]):
//!
//! - `height`: [`Aggregation::Quorum`]: the highest height that more than two thirds of the
//!   validators have committed (the value at the quorum position of their sorted heights);
//! - `txs_committed`, `relays_served`, `slashes_applied`: [`Aggregation::CounterMax`]: each
//!   node's counter corrected for restarts (and, for a node that stopped reporting, its last
//!   value), then the highest: every node counts the same chain's events, so the node furthest
//!   along has counted the most, and a sum would count each event once per node;
//! - the ratios, `validators_active`, `servicers_active` and `block_interval_p50_ms`:
//!   [`Aggregation::LowerMedian`]: the lower median of the values reported, so that one node
//!   lagging behind or misreporting does not move the figure.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of number a metric is; it decides which thresholds make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A non-negative whole number that only grows or is a count (blocks, relays, validators).
    Count,
    /// A fraction between 0 and 1 inclusive.
    Ratio,
    /// A duration in milliseconds.
    Milliseconds,
}

/// How the network's figure for a metric is made from the values the nodes report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Among the validators of the sample (every node when it names no validator), with `n`
    /// of them and `q = floor(2n/3) + 1`, the `q`-th highest value reported: what more than
    /// two thirds of the validators have reached. No figure when fewer than `q` report.
    Quorum,
    /// A counter: each node's value is corrected for restarts (a drop on a node whose process
    /// was restarted continues from the value before the restart); a node that stopped
    /// reporting keeps its last value; the figure is the highest of the nodes' values.
    CounterMax,
    /// The lower median of the values reported (the `(m - 1) / 2`-th of `m` sorted values).
    LowerMedian,
}

impl Aggregation {
    /// The rule in one sentence, for the references.
    pub fn rule(self) -> &'static str {
        match self {
            Aggregation::Quorum => {
                "quorum: the q-th highest value among the n validators, q = floor(2n/3) + 1 (none when fewer than q report)"
            }
            Aggregation::CounterMax => {
                "counter: each node's last value, corrected for restarts, then the highest over nodes"
            }
            Aggregation::LowerMedian => "lower median of the values the nodes report",
        }
    }

    /// Whether the metric only grows on a node, so that a drop after a restart is a reset.
    pub fn is_counter(self) -> bool {
        self == Aggregation::CounterMax
    }
}

/// A metric a gate condition can test.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GateMetric {
    /// Committed block height (the highest height finalized by the network).
    Height,
    /// Share of the active validator stake that signed the last committed block, 0..=1.
    ValidatorsSigningRatio,
    /// Number of validators in the active set.
    ValidatorsActive,
    /// Transactions committed since genesis.
    TxsCommitted,
    /// Median time between the last 100 committed blocks, in milliseconds.
    BlockIntervalP50Ms,
    /// Relays served and proven on chain since genesis.
    RelaysServed,
    /// Share of relay requests answered successfully over the last 100 sessions' worth of relays, 0..=1.
    RelaySuccessRatio,
    /// Slashing events applied on chain since genesis.
    SlashesApplied,
    /// Servicers currently staked and not jailed.
    ServicersActive,
}

impl GateMetric {
    /// Every metric, in declaration order.
    pub const ALL: [GateMetric; 9] = [
        GateMetric::Height,
        GateMetric::ValidatorsSigningRatio,
        GateMetric::ValidatorsActive,
        GateMetric::TxsCommitted,
        GateMetric::BlockIntervalP50Ms,
        GateMetric::RelaysServed,
        GateMetric::RelaySuccessRatio,
        GateMetric::SlashesApplied,
        GateMetric::ServicersActive,
    ];

    /// The name used in YAML and in the node's metrics.
    pub fn name(self) -> &'static str {
        match self {
            GateMetric::Height => "height",
            GateMetric::ValidatorsSigningRatio => "validators_signing_ratio",
            GateMetric::ValidatorsActive => "validators_active",
            GateMetric::TxsCommitted => "txs_committed",
            GateMetric::BlockIntervalP50Ms => "block_interval_p50_ms",
            GateMetric::RelaysServed => "relays_served",
            GateMetric::RelaySuccessRatio => "relay_success_ratio",
            GateMetric::SlashesApplied => "slashes_applied",
            GateMetric::ServicersActive => "servicers_active",
        }
    }

    /// Looks a metric up by its YAML name.
    pub fn from_name(name: &str) -> Option<GateMetric> {
        GateMetric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The kind of number this metric is.
    pub fn kind(self) -> MetricKind {
        match self {
            GateMetric::ValidatorsSigningRatio | GateMetric::RelaySuccessRatio => MetricKind::Ratio,
            GateMetric::BlockIntervalP50Ms => MetricKind::Milliseconds,
            GateMetric::Height
            | GateMetric::ValidatorsActive
            | GateMetric::TxsCommitted
            | GateMetric::RelaysServed
            | GateMetric::SlashesApplied
            | GateMetric::ServicersActive => MetricKind::Count,
        }
    }

    /// How the network's figure is made from the nodes' values.
    pub fn aggregation(self) -> Aggregation {
        match self {
            GateMetric::Height => Aggregation::Quorum,
            GateMetric::TxsCommitted | GateMetric::RelaysServed | GateMetric::SlashesApplied => {
                Aggregation::CounterMax
            }
            GateMetric::ValidatorsSigningRatio
            | GateMetric::ValidatorsActive
            | GateMetric::BlockIntervalP50Ms
            | GateMetric::RelaySuccessRatio
            | GateMetric::ServicersActive => Aggregation::LowerMedian,
        }
    }

    /// One line saying what the metric measures.
    pub fn description(self) -> &'static str {
        match self {
            GateMetric::Height => "committed block height",
            GateMetric::ValidatorsSigningRatio => {
                "share of active validator stake that signed the last committed block (0..1)"
            }
            GateMetric::ValidatorsActive => "validators in the active set",
            GateMetric::TxsCommitted => "transactions committed since genesis",
            GateMetric::BlockIntervalP50Ms => {
                "median interval between the last 100 committed blocks, in milliseconds"
            }
            GateMetric::RelaysServed => "relays served and proven on chain since genesis",
            GateMetric::RelaySuccessRatio => "share of relay requests answered successfully (0..1)",
            GateMetric::SlashesApplied => "slashing events applied on chain since genesis",
            GateMetric::ServicersActive => "servicers staked and not jailed",
        }
    }
}

impl std::fmt::Display for GateMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde_and_round_trip() {
        for metric in GateMetric::ALL {
            let json = serde_json::to_value(metric).expect("serializes");
            assert_eq!(json, serde_json::Value::String(metric.name().into()));
            assert_eq!(GateMetric::from_name(metric.name()), Some(metric));
        }
        assert_eq!(GateMetric::from_name("blocks"), None);
    }

    #[test]
    fn counters_are_the_since_genesis_counts() {
        let counters: Vec<_> = GateMetric::ALL
            .into_iter()
            .filter(|m| m.aggregation().is_counter())
            .map(GateMetric::name)
            .collect();
        assert_eq!(
            counters,
            ["txs_committed", "relays_served", "slashes_applied"]
        );
        assert_eq!(GateMetric::Height.aggregation(), Aggregation::Quorum);
    }

    #[test]
    fn ratios_are_the_two_ratio_metrics() {
        let ratios: Vec<_> = GateMetric::ALL
            .into_iter()
            .filter(|m| m.kind() == MetricKind::Ratio)
            .map(GateMetric::name)
            .collect();
        assert_eq!(ratios, ["validators_signing_ratio", "relay_success_ratio"]);
    }
}
