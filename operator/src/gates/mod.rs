//! Milestone gates: the pure, deterministic evaluation of a network's `gates`.
//!
//! A sampler (elsewhere) observes every node and builds a [`Sample`]: per node its reported
//! metrics, whether it is a validator and its restart epoch, stamped with the milliseconds
//! since the run started. An [`Evaluator`], one per run, takes samples in time order and
//! returns every gate [`Transition`]: which gate, from which [`GateState`] to which, when, why
//! ([`Reason`]), and each condition's observed value, thresholds and sources (which nodes,
//! which heights) as a [`ConditionReport`]. Everything is serialisable, to become a receipt.
//!
//! - [`sample`]: what the evaluator is fed;
//! - [`aggregate`]: the network's figure for each metric, one rule per metric, counters
//!   corrected for node restarts;
//! - [`condition`]: one condition against a figure;
//! - [`state`]: states, transitions, reasons, status;
//! - [`evaluator`]: the run: eligibility through `after`, `delta` baselines, the `holdFor`
//!   soak, the `within` deadline, `expect: fail`, `missing`, and the watch after passing.
//!
//! [`sampler`] is the one part with I/O: it reads the nodes' RPC into samples.
//!
//! The evaluation has no clock, no I/O, no randomness: time is the samples' `at_ms`, and a deadline is noticed
//! at the first sample after it. `docs/gates.md` is the reference.
//!
//! # Example
//!
//! A gate that needs height 3 held for 1 s within 10 s passes once the soak is over:
//!
//! ```
//! use netwright_crds::effective::{EffectiveCondition, EffectiveGate};
//! use netwright_crds::spec::{ConditionMode, Expectation, MissingMetric, OnViolation};
//! use netwright_crds::{Duration, GateMetric};
//! use netwright_operator::gates::{Evaluator, GateState, NodeSample, Sample};
//!
//! let gate = EffectiveGate {
//!     name: "pos".into(),
//!     description: String::new(),
//!     conditions: vec![EffectiveCondition {
//!         metric: GateMetric::Height,
//!         mode: ConditionMode::Absolute,
//!         gte: Some(3.0),
//!         lte: None,
//!         eq: None,
//!     }],
//!     within: Some(Duration::from_secs(10)),
//!     hold_for: Duration::from_secs(1),
//!     after: vec![],
//!     on_violation: OnViolation::Halt,
//!     missing: MissingMetric::Wait,
//!     expect: Expectation::Pass,
//! };
//! let mut evaluator = Evaluator::new(&[gate])?;
//! let sample = |at_ms, height| {
//!     (0..4).fold(Sample::new(at_ms), |s, i| {
//!         s.with_node(format!("validator-{i}"), NodeSample::validator(1).with(GateMetric::Height, height))
//!     })
//! };
//! let started = evaluator.observe(&sample(0, 1.0))?;
//! assert_eq!(started[0].to, GateState::Pending);
//! assert!(evaluator.observe(&sample(500, 3.0))?.is_empty()); // the soak begins
//! let passed = evaluator.observe(&sample(1_500, 4.0))?;
//! assert_eq!(passed[0].to, GateState::Passed);
//! assert_eq!(passed[0].conditions[0].observed, Some(4.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod aggregate;
pub mod condition;
pub mod evaluator;
mod gate;
pub mod sample;
pub mod sampler;
pub mod state;

#[cfg(test)]
mod tests;

pub use aggregate::{Aggregator, Figure, Source};
pub use condition::{broken_conditions, ConditionReport, Outcome, Threshold};
pub use evaluator::{select, Evaluator, GateSetError, ObserveError};
pub use sample::{NodeSample, Sample};
pub use state::{GateState, GateStatus, Reason, Transition};
