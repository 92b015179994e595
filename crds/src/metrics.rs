//! The closed list of metrics that milestone gates may test.
//!
//! The gate evaluator reads exactly these figures from the nodes; a gate naming anything else
//! is rejected when the spec is validated.

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
    fn ratios_are_the_two_ratio_metrics() {
        let ratios: Vec<_> = GateMetric::ALL
            .into_iter()
            .filter(|m| m.kind() == MetricKind::Ratio)
            .map(GateMetric::name)
            .collect();
        assert_eq!(ratios, ["validators_signing_ratio", "relay_success_ratio"]);
    }
}
