//! The reconciler core: pure planning, no I/O.
//!
//! From a validated spec ([`netwright_crds::EffectiveSpec`]) and what a backend observes
//! ([`ObservedState`]), compute:
//! - the desired [`Topology`]: stable node names, roles, stakes, configurations and the
//!   managed relay chains ([`desired_topology`]);
//! - the genesis, built once from a [`GenesisRecipe`] and the identities' keys
//!   ([`GenesisRecipe::build`], [`genesis_digest`]);
//! - the [`Plan`]: ordered actions, each with a [`Risk`], with a canonical encoding and a
//!   [`Digest`] ([`plan()`]).
//!
//! [`model`] states what each action does to the observed state; backends implement it.

pub mod action;
pub mod digest;
pub mod document;
pub mod genesis;
pub mod model;
pub mod observed;
pub mod planner;
pub mod topology;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use action::{Action, Risk};
pub use digest::{Digest, DigestError};
pub use document::{Plan, Step, PLAN_FORMAT};
pub use genesis::{
    genesis_bytes, genesis_digest, BoundChange, GenesisBuildError, GenesisRecipe, KeyOwner, KeySet,
};
pub use observed::{ObservedNode, ObservedRelayChain, ObservedState, ObservedSummary};
pub use planner::{has_quorum, plan, plan_topology, PlanError};
pub use topology::{
    desired_topology, ApplicationIdentity, ManagedChain, NodeConfig, NodeIdentity, Role, Topology,
    TopologyError,
};
