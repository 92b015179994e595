//! The seam between the reconciler and the places networks run: a backend observes a network
//! into an [`ObservedState`] and carries out one plan [`Action`] at a time.
//!
//! The reconciler (`reconcile`) is the same for every backend: it observes, plans, checks
//! risk and approval, applies the plan's actions in order through this trait, observes again
//! and writes a receipt. The local backend ([`local`]) runs processes.
//!
//! The trait is async: the places networks run are reached over the network (node RPC, the
//! Kubernetes API), and the front ends (a controller, a Git watcher) are tokio programs. Its
//! futures are `Send`, so a controller can run reconciliations on a multi-threaded runtime.
//! A backend's future may be dropped at any await point (the engine's timeouts and
//! cancellation do so): whatever it had done by then is found by the next observation.

pub mod local;

use std::future::Future;

use netwright_crds::EffectiveSpec;

use crate::plan::{Action, ObservedState, Role, Topology};

/// Why a backend could not observe or act. The message names what failed and why, in words
/// an operator can act on (a missing tool names the command that installs it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl BackendError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        BackendError(message.into())
    }
}

impl From<crate::durable::DurableError> for BackendError {
    fn from(error: crate::durable::DurableError) -> Self {
        BackendError(error.to_string())
    }
}

/// One node as a status view shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeStatus {
    /// Node name (stable, from the topology).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Whether its process (or pod) runs.
    pub running: bool,
    /// Whether it answers its RPC and is not catching up.
    pub healthy: bool,
    /// Last committed height it reports.
    pub height: Option<u64>,
    /// Connected peers it reports.
    pub peers: Option<u64>,
    /// Its bonded validator stake (0 when not a validator).
    pub stake: u64,
    /// How many times the supervisor restarted it after it died.
    pub restarts: u64,
    /// Where its RPC answers (`http://127.0.0.1:PORT` locally).
    pub rpc: Option<String>,
    /// For a node whose process is not running, the last line of its log, when there is one:
    /// a node that stops on an error writes that error last.
    #[serde(
        default,
        rename = "lastLogLine",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_log_line: Option<String>,
}

/// One managed relay chain as a status view shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelayChainStatus {
    /// Relay chain id (for example `0021`).
    pub id: String,
    /// Whether it runs.
    pub running: bool,
    /// Its JSON-RPC endpoint.
    pub endpoint: Option<String>,
}

/// What a backend does for the reconciler.
pub trait Backend: Send {
    /// Observes the network: keys, genesis, nodes (declared or not) and relay chains.
    fn observe(
        &mut self,
        spec: &EffectiveSpec,
    ) -> impl Future<Output = Result<ObservedState, BackendError>> + Send;

    /// Carries out one action of a plan made from `spec` (whose topology is `topology`),
    /// returning once the action's effect holds (see `plan::model`), or an error.
    fn apply(
        &mut self,
        spec: &EffectiveSpec,
        topology: &Topology,
        action: &Action,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Per-node and per-relay-chain status for views (`netwright status`, the live view).
    fn status(
        &mut self,
        spec: &EffectiveSpec,
    ) -> impl Future<Output = Result<(Vec<NodeStatus>, Vec<RelayChainStatus>), BackendError>> + Send;
}
