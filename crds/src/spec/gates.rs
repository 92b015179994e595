//! Milestone gates: named conditions on network metrics.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::metrics::GateMetric;

/// A milestone gate. It passes once all its conditions have held together for `holdFor`,
/// after every gate in `after` has passed. It is violated if it has not passed within
/// `within` of becoming eligible, or if a condition stops holding during the soak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateSpec {
    /// Name of the gate: a DNS label (lowercase letters, digits, `-`; at most 63).
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// What the milestone means, for people reading receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Conditions that must all hold at once. At least one.
    #[schemars(length(min = 1, max = 32))]
    pub conditions: Vec<Condition>,
    /// Deadline, counted from when the gate becomes eligible (all `after` gates passed, or the
    /// network started). Default: no deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Duration>,
    /// Soak time: how long the conditions must hold without a break. Default: `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_for: Option<Duration>,
    /// Gates that must pass before this one is evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub after: Option<Vec<String>>,
    /// What a violation does. Default: `halt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_violation: Option<OnViolation>,
}

/// A test of one metric against thresholds: `eq` alone, or `gte` and/or `lte`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.gte) || has(self.lte) || has(self.eq)", "message": "set gte, lte or eq"},
    {"rule": "!has(self.eq) || (!has(self.gte) && !has(self.lte))", "message": "eq cannot be combined with gte or lte"},
    {"rule": "!has(self.gte) || !has(self.lte) || self.gte <= self.lte", "message": "gte must not exceed lte"}
]))]
pub struct Condition {
    /// The metric tested.
    pub metric: GateMetric,
    /// Holds when the metric is greater than or equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Holds when the metric is less than or equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// Holds when the metric equals this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<f64>,
}

/// What happens when a gate is violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnViolation {
    /// Stop reconciling the network and set the `Halted` condition.
    Halt,
    /// Record the violation in a receipt and the status, and carry on.
    Warn,
}
