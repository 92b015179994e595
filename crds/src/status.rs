//! The status of a `Network`, written by the operator (never by users).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the operator last observed of the network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStatus {
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions `Ready`, `Progressing`, `Degraded` and `Halted`, one entry per type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Highest committed block height observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Nodes that exist, per role (the scale subresource reads `replicas.validators`).
    #[serde(default)]
    pub replicas: RoleCounts,
    /// Nodes that are running and in sync, per role.
    #[serde(default)]
    pub ready: RoleCounts,
    /// One result per declared gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub gates: Vec<GateResult>,
    /// Gates passed out of declared, such as `1/2`, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates_summary: Option<String>,
    /// The latest receipt written for this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<ReceiptHead>,
}

/// A count of nodes per role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleCounts {
    /// Validators.
    #[serde(default)]
    pub validators: u32,
    /// Servicers.
    #[serde(default)]
    pub servicers: u32,
    /// Fishermen.
    #[serde(default)]
    pub fishermen: u32,
}

/// The kinds of condition the operator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionType {
    /// Every node is running and the chain commits blocks.
    Ready,
    /// The operator is applying a change.
    Progressing,
    /// Some nodes are missing, failing or behind.
    Degraded,
    /// Reconciliation stopped: a gate with `onViolation: halt` was violated, or a stop rule fired.
    Halted,
}

/// The truth value of a condition, as Kubernetes conventions spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The operator cannot tell.
    Unknown,
}

/// One condition, following the Kubernetes `metav1.Condition` conventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Which condition this is.
    #[serde(rename = "type")]
    pub type_: ConditionType,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed, RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// A CamelCase word saying why, for programs.
    pub reason: String,
    /// A sentence saying why, for people.
    #[serde(default)]
    pub message: String,
}

/// Where a gate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum GatePhase {
    /// Waiting for the gates in `after`.
    Blocked,
    /// Eligible; its conditions do not hold yet.
    Pending,
    /// The conditions hold; the soak time is running.
    Holding,
    /// Passed. Final.
    Passed,
    /// Violated: the deadline passed or a condition broke during the soak. Final.
    Failed,
}

/// The result of one gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateResult {
    /// The gate's name.
    pub name: String,
    /// Where the gate stands.
    pub phase: GatePhase,
    /// When the phase last changed, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub since: Option<String>,
    /// Why, for people: the failing condition and the observed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Sequence number of the receipt that recorded the latest check of this gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<u64>,
}

/// The head of the network's receipt chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptHead {
    /// Sequence number of the latest receipt (the first is 0).
    pub sequence: u64,
    /// Hex-encoded hash of the latest receipt.
    pub hash: String,
    /// Hex-encoded ed25519 public key that signs the receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}
