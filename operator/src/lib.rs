//! The netwright orchestrator as a library: the pieces the `netwright` binary, the backends
//! and the Kubernetes operator share.
//!
//! - [`plan`]: the reconciler core. A pure function from the declared network and the state a
//!   backend observes to the desired topology, the genesis and an ordered, risk-classified,
//!   digest-named plan of actions.
//! - [`backend`]: what every backend does for the reconciler: observe, apply one action,
//!   report status.
//! - [`local`]: the local backend: a network as `netwright-node` processes and managed relay
//!   chains on this machine, supervised, under `.netwright/<network>/`.
//! - [`durable`]: the one way files are written: atomically and fsynced, so that a kill or
//!   a power loss leaves the old content or the new, never a torn file.
//! - [`reconcile`]: the loop around the planner: halts, approvals, applying through a
//!   backend, re-planning until converged, and the receipts that record it.
//! - [`service`]: the application layer every front end (the CLI, the Kubernetes controller,
//!   the Git watcher) calls: load a document, preview its plan, apply it under the network's
//!   lock with the StopRule checked and a receipt written.

pub mod backend;
pub mod durable;
pub mod local;
pub mod plan;
pub mod reconcile;
pub mod service;

#[cfg(test)]
pub(crate) mod testkit;
