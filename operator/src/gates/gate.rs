//! One gate's state machine: eligibility, `delta` baselines, the soak, the deadline, the
//! expected verdict and the watch after passing.

use std::collections::BTreeMap;

use netwright_crds::effective::EffectiveGate;
use netwright_crds::spec::{Expectation, MissingMetric};
use netwright_crds::{Duration, GateMetric};

use super::aggregate::Figure;
use super::condition::{ConditionReport, Outcome};
use super::state::{GateState, GateStatus, Reason, Transition};

/// What evaluating a pending gate on one sample came to, before `expect` is applied.
enum Verdict {
    /// The conditions held for `holdFor` by the deadline, since this time.
    Held(u64),
    /// The deadline passed first.
    DeadlinePassed(u64),
}

/// One gate during a run.
#[derive(Debug, Clone)]
pub(super) struct GateRun {
    spec: EffectiveGate,
    state: GateState,
    eligible_at: Option<u64>,
    soak_since: Option<u64>,
    since: Option<u64>,
    reason: Option<Reason>,
    baselines: Vec<Option<f64>>,
    last: Vec<ConditionReport>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl GateRun {
    pub(super) fn new(spec: EffectiveGate) -> Self {
        let conditions = spec.conditions.len();
        GateRun {
            spec,
            state: GateState::Waiting,
            eligible_at: None,
            soak_since: None,
            since: None,
            reason: None,
            baselines: vec![None; conditions],
            last: Vec::new(),
        }
    }

    pub(super) fn spec(&self) -> &EffectiveGate {
        &self.spec
    }

    pub(super) fn state(&self) -> GateState {
        self.state
    }

    fn deadline(&self) -> Option<u64> {
        let within = self.spec.within?;
        Some(self.eligible_at?.saturating_add(millis(within)))
    }

    pub(super) fn status(&self) -> GateStatus {
        GateStatus {
            name: self.spec.name.clone(),
            state: self.state,
            expect: self.spec.expect,
            on_violation: self.spec.on_violation,
            eligible_at_ms: self.eligible_at,
            deadline_ms: self.deadline(),
            hold_for_ms: millis(self.spec.hold_for),
            soak_since_ms: self.soak_since.filter(|_| self.state == GateState::Pending),
            since_ms: self.since,
            reason: self.reason.clone(),
            conditions: self.last.clone(),
        }
    }

    /// Moves the gate on by one sample taken `at`, given the states its `after` gates are in
    /// now and the network's figures; appends what changed to `out`.
    pub(super) fn step(
        &mut self,
        at: u64,
        after: &[(String, GateState)],
        figures: &BTreeMap<GateMetric, Figure>,
        out: &mut Vec<Transition>,
    ) {
        if self.state == GateState::Waiting {
            let broken = after
                .iter()
                .find(|(_, s)| matches!(s, GateState::Failed | GateState::Violated));
            if let Some((gate, state)) = broken {
                let reason = Reason::DependencyFailed {
                    gate: gate.clone(),
                    state: *state,
                };
                out.push(self.change(GateState::Failed, at, reason));
                return;
            }
            if !after.iter().all(|(_, s)| *s == GateState::Passed) {
                return;
            }
            self.eligible_at = Some(at);
            self.evaluate(figures);
            out.push(self.change(GateState::Pending, at, Reason::Eligible));
        } else {
            let watching = self.state == GateState::Passed && self.spec.expect == Expectation::Pass;
            if self.state != GateState::Pending && !watching {
                return;
            }
            self.evaluate(figures);
        }
        let missing = self.metrics_with(Outcome::Missing);
        if !missing.is_empty() && self.spec.missing == MissingMetric::Fail {
            let to = match self.state {
                GateState::Passed => GateState::Violated,
                _ => GateState::Failed,
            };
            out.push(self.change(to, at, Reason::MetricMissing { metrics: missing }));
            return;
        }
        match self.state {
            GateState::Pending => self.step_pending(at, out),
            GateState::Passed => {
                let broken = self.metrics_with(Outcome::Broken);
                if !broken.is_empty() {
                    let reason = Reason::ConditionBroken { metrics: broken };
                    out.push(self.change(GateState::Violated, at, reason));
                }
            }
            _ => {}
        }
    }

    fn step_pending(&mut self, at: u64, out: &mut Vec<Transition>) {
        if self.last.iter().all(|c| c.outcome == Outcome::Holds) {
            self.soak_since.get_or_insert(at);
        } else {
            self.soak_since = None;
        }
        let hold_for = millis(self.spec.hold_for);
        let verdict = match (self.deadline(), self.soak_since) {
            (Some(deadline), _) if at > deadline => Verdict::DeadlinePassed(deadline),
            (_, Some(since)) if at - since >= hold_for => Verdict::Held(since),
            _ => return,
        };
        let (to, reason) = match (self.spec.expect, verdict) {
            (Expectation::Pass, Verdict::Held(since_ms)) => {
                (GateState::Passed, Reason::ConditionsHeld { since_ms })
            }
            (Expectation::Pass, Verdict::DeadlinePassed(deadline_ms)) => (
                GateState::Failed,
                Reason::DeadlineExceeded {
                    deadline_ms,
                    soak_since_ms: self.soak_since,
                },
            ),
            (Expectation::Fail, Verdict::Held(since_ms)) => (
                GateState::Failed,
                Reason::HeldDespiteExpectedFailure { since_ms },
            ),
            (Expectation::Fail, Verdict::DeadlinePassed(deadline_ms)) => {
                (GateState::Passed, Reason::ExpectedFailure { deadline_ms })
            }
        };
        out.push(self.change(to, at, reason));
    }

    /// Takes missing `delta` baselines and evaluates every condition on `figures`.
    fn evaluate(&mut self, figures: &BTreeMap<GateMetric, Figure>) {
        let reports = self
            .spec
            .conditions
            .iter()
            .zip(self.baselines.iter_mut())
            .map(|(condition, baseline)| {
                let figure = figures.get(&condition.metric);
                if baseline.is_none() {
                    *baseline = figure.map(|f| f.value);
                }
                ConditionReport::evaluate(condition, figure, *baseline)
            })
            .collect();
        self.last = reports;
    }

    fn metrics_with(&self, outcome: Outcome) -> Vec<GateMetric> {
        let mut metrics: Vec<GateMetric> = self
            .last
            .iter()
            .filter(|c| c.outcome == outcome)
            .map(|c| c.metric)
            .collect();
        metrics.sort_unstable();
        metrics.dedup();
        metrics
    }

    fn change(&mut self, to: GateState, at: u64, reason: Reason) -> Transition {
        let from = self.state;
        self.state = to;
        self.since = Some(at);
        self.reason = Some(reason.clone());
        if to != GateState::Pending {
            self.soak_since = None;
        }
        Transition {
            gate: self.spec.name.clone(),
            from,
            to,
            at_ms: at,
            reason,
            expect: self.spec.expect,
            on_violation: (to == GateState::Violated).then_some(self.spec.on_violation),
            conditions: if to == GateState::Failed && from == GateState::Waiting {
                Vec::new()
            } else {
                self.last.clone()
            },
        }
    }
}
