//! The netwright orchestrator as a library: the pieces the `netwright` binary, the backends
//! and the Kubernetes operator share.
//!
//! - [`plan`]: the reconciler core. A pure function from the declared network and the state a
//!   backend observes to the desired topology, the genesis and an ordered, risk-classified,
//!   digest-named plan of actions.
//! - [`backend`]: what every backend does for the reconciler: observe, apply one action,
//!   report status; and the backends: [`backend::local`] runs a network as `netwright-node`
//!   processes and managed relay chains on this machine, supervised, under
//!   `.netwright/<network>/`.
//! - [`chain`]: the on-chain client backends use to stake, unstake and fund through a node's
//!   RPC.
//! - [`durable`]: the one way files are written: atomically and fsynced, so that a kill or
//!   a power loss leaves the old content or the new, never a torn file.
//! - [`gates`]: the pure evaluation of milestone gates: samples of the nodes' metrics in,
//!   gate state transitions (with the observed values and their sources) out.
//! - [`reconcile`]: the loop around the planner: halts, approvals, applying through a
//!   backend, re-planning until converged, and the receipts that record it.
//! - [`service`]: the application layer every front end (the CLI, the Kubernetes controller,
//!   the Git watcher) calls: load a document, preview its plan, apply it under the network's
//!   lock with the StopRule checked and a receipt written.
//!
//! # Example
//!
//! Load a `Network` document and plan it against a network that does not exist yet: the
//! plan creates every node, writes the genesis and starts them; none of it is risky.
//!
//! ```
//! use netwright_operator::plan::{plan, ObservedState, Risk};
//! use netwright_operator::service::document::load_bytes;
//!
//! let yaml = "apiVersion: netwright.dev/v1alpha1\nkind: Network\nmetadata:\n  name: demo\n\
//!             spec:\n  chainId: netwright-demo-1\n  validators:\n    replicas: 4\n    \
//!             stake: 2000000\n";
//! let doc = load_bytes("demo.yaml".as_ref(), yaml.as_bytes().to_vec()).expect("valid");
//! assert_eq!(doc.name, "demo");
//! let plan = plan(&doc.spec, &ObservedState::default()).expect("plannable");
//! assert!(plan.steps.iter().any(|s| s.action.verb() == "start-node"));
//! assert_eq!(plan.risk(), Risk::Safe);
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod chain;
pub mod durable;
pub mod gates;
pub mod plan;
pub mod reconcile;
pub mod service;

#[cfg(test)]
pub(crate) mod testkit;
