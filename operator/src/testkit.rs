//! Test doubles shared by the reconciler's and the service's tests: a small spec and a
//! backend whose world is an `ObservedState` changed by the reference model.

use netwright_crds::{effective_spec, EffectiveSpec, NetworkSpec};
use serde_json::json;

use crate::backend::{Backend, BackendError, NodeStatus, RelayChainStatus};
use crate::plan::model::apply as model_apply;
use crate::plan::{Action, GenesisRecipe, ObservedState, Topology};

/// A spec with `validators` validators, one servicer and short unbonding.
pub(crate) fn spec(validators: u64) -> EffectiveSpec {
    let doc = json!({
        "chainId": "netwright-test-1",
        "validators": {"replicas": validators, "stake": 2_000_000},
        "servicers": {"replicas": 1, "stake": 1_000_000},
        "economics": {"unbondingBlocks": 10, "minimumStakes": {"validator": 1_000_000}}
    });
    let raw: NetworkSpec = serde_json::from_value(doc).expect("test spec deserializes");
    effective_spec(&raw)
}

/// A backend whose world is an `ObservedState` changed by the reference model.
#[derive(Default)]
pub(crate) struct Fake {
    pub(crate) state: ObservedState,
    pub(crate) applied: Vec<String>,
    pub(crate) observes: usize,
    /// Fail the first action with this verb.
    pub(crate) fail_verb: Option<&'static str>,
    /// Make `start-node` leave the node stopped (a node that keeps dying).
    pub(crate) start_does_nothing: bool,
    /// After the first pass, report this node as stopped once.
    pub(crate) crash_after_first_pass: Option<String>,
    /// Never finish the first action with this verb (a backend that hangs).
    pub(crate) hang_verb: Option<&'static str>,
    /// On the first action with this verb, cancel the token, then hang (an operator pressing
    /// Ctrl-C during that step).
    pub(crate) cancel_on_verb: Option<(&'static str, tokio_util::sync::CancellationToken)>,
}

/// Runs `future` to completion on a current-thread runtime whose clock is paused: timeouts
/// elapse as soon as nothing else can run, so tests of deadlines take no real time.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a test runtime")
        .block_on(future)
}

impl Backend for Fake {
    async fn observe(&mut self, _spec: &EffectiveSpec) -> Result<ObservedState, BackendError> {
        self.observes += 1;
        if self.observes == 2 {
            if let Some(name) = self.crash_after_first_pass.take() {
                if let Some(node) = self.state.nodes.get_mut(&name) {
                    node.running = false;
                    node.healthy = false;
                }
            }
        }
        Ok(self.state.clone())
    }

    async fn apply(
        &mut self,
        _spec: &EffectiveSpec,
        topology: &Topology,
        action: &Action,
    ) -> Result<(), BackendError> {
        if self.hang_verb == Some(action.verb()) {
            self.hang_verb = None;
            std::future::pending::<()>().await;
        }
        if self
            .cancel_on_verb
            .as_ref()
            .is_some_and(|(verb, _)| *verb == action.verb())
        {
            if let Some((_, token)) = self.cancel_on_verb.take() {
                token.cancel();
            }
            std::future::pending::<()>().await;
        }
        if self.fail_verb == Some(action.verb()) {
            self.fail_verb = None;
            return Err(BackendError::new(format!("{} broke", action.canonical())));
        }
        self.applied.push(action.canonical());
        if self.start_does_nothing && matches!(action, Action::StartNode { .. }) {
            return Ok(());
        }
        let recipe =
            GenesisRecipe::from_topology(topology).map_err(|e| BackendError::new(e.to_string()))?;
        model_apply(&mut self.state, action, topology, &recipe)
            .map_err(|e| BackendError::new(e.to_string()))
    }

    async fn status(
        &mut self,
        _spec: &EffectiveSpec,
    ) -> Result<(Vec<NodeStatus>, Vec<RelayChainStatus>), BackendError> {
        Ok((Vec::new(), Vec::new()))
    }
}
