//! External chains that servicers relay requests to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// An external chain, reached either at an existing `endpoint` or through a chain node that
/// netwright runs itself (`managed`). Exactly one of the two is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.endpoint) != has(self.managed)", "message": "set exactly one of endpoint or managed"}
]))]
pub struct RelayChainSpec {
    /// Relay chain id: four hexadecimal digits, as in `"0021"` for Ethereum mainnet. Quote it in
    /// YAML so that it stays a string.
    #[schemars(length(min = 4, max = 4))]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self.matches('^[0-9A-Fa-f]{4}$')", "message": "id must be four hexadecimal digits"}
    ]))]
    pub id: String,
    /// Human-readable name of the chain, such as `ethereum`.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// JSON-RPC methods servicers forward to this chain; any other method is refused. At least one.
    #[schemars(length(min = 1, max = 256))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub allowed_methods: Vec<String>,
    /// An existing JSON-RPC endpoint of the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointSpec>,
    /// A chain node run by netwright next to the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedSpec>,
}

/// An existing JSON-RPC endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSpec {
    /// `http://` or `https://` URL of the JSON-RPC endpoint.
    #[schemars(length(min = 8, max = 2048))]
    pub url: String,
}

/// Which chain node netwright runs for a managed relay chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManagedKind {
    /// Foundry's `anvil`, a local Ethereum JSON-RPC node.
    Anvil,
}

/// A chain node run by netwright.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedSpec {
    /// The kind of node. Only `anvil` today.
    pub kind: ManagedKind,
    /// Settings of an `anvil` node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anvil: Option<AnvilSpec>,
}

/// Settings of a managed `anvil` node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnvilSpec {
    /// EVM chain id reported by the node. Default: 31337.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub chain_id: Option<u64>,
    /// Time between mined blocks; `0s` mines a block per transaction. Default: `1s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_time: Option<Duration>,
    /// Number of funded development accounts (1 to 1000). Default: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub accounts: Option<u32>,
}
