//! The netwright orchestrator as a library: the pieces the `netwright` binary, the backends
//! and the Kubernetes operator share.
//!
//! - [`plan`]: the reconciler core. A pure function from the declared network and the state a
//!   backend observes to the desired topology, the genesis and an ordered, risk-classified,
//!   digest-named plan of actions.
//! - [`backend`]: what every backend does for the reconciler: observe, apply one action,
//!   report status.

pub mod backend;
pub mod plan;
