//! Milestone gates: named conditions on network metrics.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::metrics::GateMetric;

/// A milestone gate. It becomes eligible once every gate in `after` has passed (or when the
/// network starts), passes once all its conditions have held together for `holdFor`, fails if
/// it has not passed `within` its deadline, and keeps watching after it passed: a condition
/// that breaks later makes it violated. With `expect: fail` the verdict is inverted: the gate
/// passes when the conditions could not hold for `holdFor` by the deadline. `docs/gates.md`
/// defines the states precisely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.expect) || self.expect != 'fail' || has(self.within)", "message": "expect: fail needs a deadline (within)"}
]))]
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
    /// What a condition whose metric no node reports does: `wait` (it does not hold, and
    /// does not violate a passed gate) or `fail` (the gate fails, or a passed gate is
    /// violated). Default: `wait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<MissingMetric>,
    /// The verdict expected: `pass`, or `fail` for an expected-failure gate ("this
    /// misbehaviour must be caught"), which passes when its conditions did not hold for
    /// `holdFor` by the deadline and fails as soon as they did; it needs `within`.
    /// Default: `pass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
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
    /// What is compared with the thresholds: the network's figure (`absolute`) or its change
    /// since the gate became eligible (`delta`). Default: `absolute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ConditionMode>,
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

/// What happens when a passed gate is violated: `halt` (the default) or `warn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnViolation {
    /// Stop reconciling the network and set the `Halted` condition.
    Halt,
    /// Record the violation in a receipt and the status, and carry on.
    Warn,
}

/// What a condition compares with its thresholds: the network's figure (`absolute`, the
/// default) or its change since the gate became eligible (`delta`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConditionMode {
    /// The network's figure for the metric.
    #[default]
    Absolute,
    /// The change of the network's figure since the gate became eligible.
    Delta,
}

/// What a gate does when no node reports a metric one of its conditions tests: `wait` (the
/// default: the condition does not hold, a passed gate is not violated) or `fail` (a pending
/// gate fails, a passed gate is violated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MissingMetric {
    /// The condition does not hold (a soak restarts), but the gate neither fails nor, once
    /// passed, is violated: it waits for the metric.
    #[default]
    Wait,
    /// A pending gate fails, a passed gate is violated.
    Fail,
}

/// The verdict a gate expects: `pass` (the default) or `fail`, for an expected-failure gate
/// ("this misbehaviour must be caught"): it passes when its conditions did not hold for
/// `holdFor` by the deadline, fails as soon as they did, and needs `within`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// The conditions must hold for `holdFor` by the deadline.
    #[default]
    Pass,
    /// The conditions must not manage to hold for `holdFor` by the deadline.
    Fail,
}
