//! The staked roles of a network: validators, servicers, fishermen and applications.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The validator set. Exactly one of `replicas` and `members` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.replicas) != has(self.members)", "message": "set exactly one of replicas or members"}
]))]
pub struct ValidatorsSpec {
    /// Number of identical validators, named `validator-0`, `validator-1`, ... (1 to 1000).
    /// This is the field the scale subresource changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub replicas: Option<u32>,

    /// Stake of each validator in the smallest unit; also the stake of `members` that give
    /// none. Default: the profile's minimum validator stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake: Option<u64>,

    /// Explicitly named validators, each with its own stake. Names are unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1000))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub members: Option<Vec<MemberSpec>>,
}

/// One named validator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberSpec {
    /// Name of the validator: a DNS label (lowercase letters, digits, `-`; at most 63).
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// Stake in the smallest unit. Default: `validators.stake`, else the profile's minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake: Option<u64>,
}

/// The servicers, identical nodes that relay requests to external chains.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicersSpec {
    /// Number of servicers, named `servicer-0`, ... (0 to 1000). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1000))]
    pub replicas: Option<u32>,
    /// Stake of each servicer in the smallest unit. Default: the profile's minimum servicer stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake: Option<u64>,
    /// Ids of the relay chains every servicer serves (each declared in `relayChains`).
    /// Default: all declared relay chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub chains: Option<Vec<String>>,
}

/// The fishermen, identical nodes that sample relays and score servicers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FishermenSpec {
    /// Number of fishermen, named `fisherman-0`, ... (0 to 100). Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub replicas: Option<u32>,
    /// Stake of each fisherman in the smallest unit. Default: the profile's minimum fisherman stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake: Option<u64>,
}

/// An application staked at genesis; its stake buys relays on the chains it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSpec {
    /// Name of the application: a DNS label (lowercase letters, digits, `-`; at most 63).
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// Stake in the smallest unit. Default: the profile's minimum application stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stake: Option<u64>,
    /// Ids of the relay chains the application may use (each declared in `relayChains`).
    /// Default: all declared relay chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub chains: Option<Vec<String>>,
}
