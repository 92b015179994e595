//! The `Network` custom resource: the spec as written by users, with every optional field
//! left as `None` (see [`crate::effective`] for the defaulted view) and the status written by
//! the operator.

mod consensus;
mod economics;
mod gates;
mod kubernetes;
mod relay;
mod roles;

pub use consensus::{ConsensusSpec, TimeoutsSpec};
pub use economics::{EconomicsSpec, MinimumStakes, SlashFractions};
pub use gates::{Condition, ConditionMode, Expectation, GateSpec, MissingMetric, OnViolation};
pub use kubernetes::{KubernetesSpec, ResourceList, ResourcesSpec, StorageSpec};
pub use relay::{AnvilSpec, EndpointSpec, ManagedKind, ManagedSpec, RelayChainSpec};
pub use roles::{ApplicationSpec, FishermenSpec, MemberSpec, ServicersSpec, ValidatorsSpec};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::profile::Profile;
use crate::status::NetworkStatus;

/// The API group of the `Network` resource.
pub const GROUP: &str = "netwright.dev";
/// The API version of the `Network` resource.
pub const VERSION: &str = "v1alpha1";
/// The kind of the resource.
pub const KIND: &str = "Network";
/// `apiVersion` as written in documents.
pub const API_VERSION: &str = "netwright.dev/v1alpha1";

/// A proof-of-stake relay network: its chain, its roles and stakes, the external chains it
/// relays to, its economics and the milestone gates it must pass.
// Several printer columns share a `type_`; that is not a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "netwright.dev",
    version = "v1alpha1",
    kind = "Network",
    namespaced,
    shortname = "net",
    status = "NetworkStatus",
    derive = "PartialEq",
    doc = "A proof-of-stake relay network declared as one document.",
    scale(
        spec_replicas_path = ".spec.validators.replicas",
        status_replicas_path = ".status.replicas.validators"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the network is converged and producing blocks"
    ),
    printcolumn(
        name = "Height",
        type_ = "integer",
        json_path = ".status.height",
        description = "Committed block height"
    ),
    printcolumn(
        name = "Validators",
        type_ = "integer",
        json_path = ".status.ready.validators",
        description = "Validators ready"
    ),
    printcolumn(
        name = "Gates",
        type_ = "string",
        json_path = ".status.gatesSummary",
        description = "Milestone gates passed out of declared"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.servicers) || !has(self.servicers.chains) || self.servicers.chains.all(c, has(self.relayChains) && self.relayChains.exists(r, r.id == c))",
        "message": "every chain in servicers.chains must be declared in relayChains"
    },
    {
        "rule": "!has(self.applications) || self.applications.all(a, !has(a.chains) || a.chains.all(c, has(self.relayChains) && self.relayChains.exists(r, r.id == c)))",
        "message": "every chain of an application must be declared in relayChains"
    },
    {
        "rule": "!has(self.gates) || self.gates.all(g, !has(g.after) || g.after.all(a, a != g.name && self.gates.exists(o, o.name == a)))",
        "message": "gates[].after must name other declared gates"
    }
]))]
pub struct NetworkSpec {
    /// Identifier of the chain, written into genesis and every signed message. Immutable once
    /// the resource exists. Letters, digits, `-`, `_` and `.`, at most 50 characters.
    #[schemars(length(min = 1, max = 50))]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self == oldSelf", "message": "chainId is immutable"}
    ]))]
    pub chain_id: String,

    /// Container image of the node (Kubernetes backend). Default: the node image released with
    /// this version of netwright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,

    /// Which set of defaults applies to the fields left out. Changes nothing else.
    /// Default: `localnet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,

    /// Stop reconciling: nothing is created, changed or deleted while true. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,

    /// Block production and the BFT round timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<ConsensusSpec>,

    /// The validator set: either `replicas` (+ `stake`) or an explicit `members` list.
    /// Default: `replicas` from the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<ValidatorsSpec>,

    /// Servicers: nodes that relay application requests to external chains. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servicers: Option<ServicersSpec>,

    /// Fishermen: nodes that sample and score servicers' relays. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fishermen: Option<FishermenSpec>,

    /// Applications staked at genesis to buy relay access. Names are unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub applications: Option<Vec<ApplicationSpec>>,

    /// External chains that servicers relay to. Ids are unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub relay_chains: Option<Vec<RelayChainSpec>>,

    /// Sessions, rewards, slashing, unbonding and minimum stakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub economics: Option<EconomicsSpec>,

    /// Milestone gates: named conditions on network metrics, checked and receipted. Names are
    /// unique; `after` dependencies must not form a cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub gates: Option<Vec<GateSpec>>,

    /// Settings used only by the Kubernetes backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSpec>,
}
