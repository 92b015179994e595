//! The evaluator of one run: every gate of a network (or a selection), fed samples in time
//! order, reporting each state change.

use std::collections::{BTreeMap, BTreeSet};

use netwright_crds::effective::EffectiveGate;
use netwright_crds::spec::Expectation;

use super::aggregate::Aggregator;
use super::gate::GateRun;
use super::sample::Sample;
use super::state::{GateState, GateStatus, Transition};

/// Why a set of gates cannot be evaluated. Validated specs never produce these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateSetError {
    /// Two gates share a name.
    #[error("two gates are named {0:?}")]
    DuplicateGate(String),
    /// A gate names an `after` gate that is not in the set.
    #[error("gate {gate:?} comes after {after:?}, which is not a gate of this set")]
    UnknownDependency {
        /// The gate.
        gate: String,
        /// The `after` entry.
        after: String,
    },
    /// The `after` dependencies form a cycle through these gates.
    #[error("gate dependencies form a cycle through {}", .0.join(", "))]
    Cycle(Vec<String>),
    /// A condition has no threshold.
    #[error("gate {gate:?}: condition {index} sets no threshold (gte, lte or eq)")]
    NoThreshold {
        /// The gate.
        gate: String,
        /// The condition's index.
        index: usize,
    },
    /// An `expect: fail` gate without a deadline could never pass.
    #[error("gate {0:?} expects a failure but has no deadline (within)")]
    ExpectFailWithoutDeadline(String),
    /// A selected gate does not exist.
    #[error("no gate is named {0:?}")]
    UnknownGate(String),
}

/// Why a sample was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    /// The sample is older than the previous one.
    #[error("sample at {at_ms} ms is older than the previous sample at {previous_ms} ms")]
    OutOfOrder {
        /// The previous sample's time.
        previous_ms: u64,
        /// This sample's time.
        at_ms: u64,
    },
}

/// Evaluates a set of gates over one run. Pure and deterministic: the same gates fed the same
/// samples give the same transitions.
#[derive(Debug, Clone)]
pub struct Evaluator {
    /// In declaration order.
    gates: Vec<GateRun>,
    /// Each gate's `after` gates, as indices.
    after: Vec<Vec<usize>>,
    /// Dependencies first; among gates free at once, declaration order.
    order: Vec<usize>,
    aggregator: Aggregator,
    last_at_ms: Option<u64>,
}

impl Evaluator {
    /// An evaluator for `gates` (all `Waiting`). Every `after` must name a gate of the set.
    pub fn new(gates: &[EffectiveGate]) -> Result<Self, GateSetError> {
        let index = index_by_name(gates)?;
        let mut after = Vec::with_capacity(gates.len());
        for gate in gates {
            if gate.expect == Expectation::Fail && gate.within.is_none() {
                return Err(GateSetError::ExpectFailWithoutDeadline(gate.name.clone()));
            }
            if let Some(i) = gate
                .conditions
                .iter()
                .position(|c| c.gte.is_none() && c.lte.is_none() && c.eq.is_none())
            {
                return Err(GateSetError::NoThreshold {
                    gate: gate.name.clone(),
                    index: i,
                });
            }
            let deps =
                gate.after
                    .iter()
                    .map(|a| {
                        index.get(a.as_str()).copied().ok_or_else(|| {
                            GateSetError::UnknownDependency {
                                gate: gate.name.clone(),
                                after: a.clone(),
                            }
                        })
                    })
                    .collect::<Result<Vec<usize>, _>>()?;
            after.push(deps);
        }
        let order = topological_order(gates, &after)?;
        Ok(Evaluator {
            gates: gates.iter().cloned().map(GateRun::new).collect(),
            after,
            order,
            aggregator: Aggregator::new(),
            last_at_ms: None,
        })
    }

    /// Takes in one sample and returns every state change it caused, dependencies first. A gate
    /// whose `after` gates pass in this sample becomes eligible in it.
    pub fn observe(&mut self, sample: &Sample) -> Result<Vec<Transition>, ObserveError> {
        if let Some(previous_ms) = self.last_at_ms {
            if sample.at_ms < previous_ms {
                return Err(ObserveError::OutOfOrder {
                    previous_ms,
                    at_ms: sample.at_ms,
                });
            }
        }
        self.last_at_ms = Some(sample.at_ms);
        let figures = self.aggregator.figures(sample);
        let mut out = Vec::new();
        for &i in &self.order {
            let after: Vec<(String, GateState)> = self.after[i]
                .iter()
                .map(|&d| (self.gates[d].spec().name.clone(), self.gates[d].state()))
                .collect();
            self.gates[i].step(sample.at_ms, &after, &figures, &mut out);
        }
        Ok(out)
    }

    /// Where every gate stands, in declaration order.
    pub fn status(&self) -> Vec<GateStatus> {
        self.gates.iter().map(GateRun::status).collect()
    }

    /// The state of the gate named `name`.
    pub fn state(&self, name: &str) -> Option<GateState> {
        self.gates
            .iter()
            .find(|g| g.spec().name == name)
            .map(GateRun::state)
    }

    /// Whether every gate has a verdict (none is `Waiting` or `Pending`). Passed gates still
    /// watch their conditions after this.
    pub fn decided(&self) -> bool {
        self.gates.iter().all(|g| g.state().is_decided())
    }

    /// Whether every gate passed (and none was violated).
    pub fn all_passed(&self) -> bool {
        self.gates.iter().all(|g| g.state() == GateState::Passed)
    }

    /// The time of the last sample taken in.
    pub fn last_at_ms(&self) -> Option<u64> {
        self.last_at_ms
    }
}

/// The gates named in `names` and every gate they come after (transitively), in declaration
/// order: what `gate run --gate NAME` evaluates.
pub fn select(
    gates: &[EffectiveGate],
    names: &[String],
) -> Result<Vec<EffectiveGate>, GateSetError> {
    let index = index_by_name(gates)?;
    let mut chosen = BTreeSet::new();
    let mut todo: Vec<&str> = Vec::new();
    for name in names {
        if !index.contains_key(name.as_str()) {
            return Err(GateSetError::UnknownGate(name.clone()));
        }
        todo.push(name);
    }
    while let Some(name) = todo.pop() {
        let Some(&i) = index.get(name) else {
            return Err(GateSetError::UnknownGate(name.to_owned()));
        };
        if chosen.insert(i) {
            todo.extend(gates[i].after.iter().map(String::as_str));
        }
    }
    Ok(chosen.into_iter().map(|i| gates[i].clone()).collect())
}

fn index_by_name(gates: &[EffectiveGate]) -> Result<BTreeMap<&str, usize>, GateSetError> {
    let mut index = BTreeMap::new();
    for (i, gate) in gates.iter().enumerate() {
        if index.insert(gate.name.as_str(), i).is_some() {
            return Err(GateSetError::DuplicateGate(gate.name.clone()));
        }
    }
    Ok(index)
}

/// Kahn's algorithm, taking the first free gate in declaration order each time.
fn topological_order(
    gates: &[EffectiveGate],
    after: &[Vec<usize>],
) -> Result<Vec<usize>, GateSetError> {
    let mut placed = vec![false; gates.len()];
    let mut order = Vec::with_capacity(gates.len());
    while order.len() < gates.len() {
        let free = (0..gates.len()).find(|&i| !placed[i] && after[i].iter().all(|&d| placed[d]));
        match free {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => {
                let stuck = (0..gates.len())
                    .filter(|&i| !placed[i])
                    .map(|i| gates[i].name.clone())
                    .collect();
                return Err(GateSetError::Cycle(stuck));
            }
        }
    }
    Ok(order)
}
