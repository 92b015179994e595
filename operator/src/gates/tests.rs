//! Whole-evaluator behaviour: deadlines, soaks, ordering, violations, expected failures,
//! missing metrics, counter resets and determinism.

use netwright_crds::effective::{EffectiveCondition, EffectiveGate};
use netwright_crds::spec::{ConditionMode, Expectation, MissingMetric, OnViolation};
use netwright_crds::{Duration, GateMetric};
use proptest::prelude::*;

use super::*;

fn condition(metric: GateMetric, gte: Option<f64>, lte: Option<f64>) -> EffectiveCondition {
    EffectiveCondition {
        metric,
        mode: ConditionMode::Absolute,
        gte,
        lte,
        eq: None,
    }
}

fn delta(metric: GateMetric, gte: f64) -> EffectiveCondition {
    EffectiveCondition {
        mode: ConditionMode::Delta,
        ..condition(metric, Some(gte), None)
    }
}

fn gate(name: &str, conditions: Vec<EffectiveCondition>) -> EffectiveGate {
    EffectiveGate {
        name: name.into(),
        description: String::new(),
        conditions,
        within: None,
        hold_for: Duration::from_millis(0),
        after: Vec::new(),
        on_violation: OnViolation::Halt,
        missing: MissingMetric::Wait,
        expect: Expectation::Pass,
    }
}

fn height_at_least(name: &str, height: f64) -> EffectiveGate {
    gate(
        name,
        vec![condition(GateMetric::Height, Some(height), None)],
    )
}

/// Four validators, all at `height`, all in epoch 1, reporting `extra` too.
fn network(at_ms: u64, height: f64, extra: &[(GateMetric, f64)]) -> Sample {
    (0..4).fold(Sample::new(at_ms), |sample, i| {
        let node = extra.iter().fold(
            NodeSample::validator(1).with(GateMetric::Height, height),
            |n, (m, v)| n.with(*m, *v),
        );
        sample.with_node(format!("validator-{i}"), node)
    })
}

fn run(evaluator: &mut Evaluator, sample: &Sample) -> Vec<(String, GateState, GateState)> {
    evaluator
        .observe(sample)
        .expect("samples in order")
        .into_iter()
        .map(|t| (t.gate, t.from, t.to))
        .collect()
}

fn moved(gate: &str, from: GateState, to: GateState) -> (String, GateState, GateState) {
    (gate.to_owned(), from, to)
}

use GateState::{Failed, Passed, Pending, Violated, Waiting};

#[test]
fn a_gate_without_after_is_eligible_at_the_first_sample_and_may_pass_in_it() {
    let mut ev = Evaluator::new(&[height_at_least("pos", 5.0)]).expect("valid gates");
    assert_eq!(ev.state("pos"), Some(Waiting));
    let first = ev.observe(&network(100, 5.0, &[])).expect("in order");
    assert_eq!(first.len(), 2);
    assert_eq!(
        (first[0].from, first[0].to, &first[0].reason),
        (Waiting, Pending, &Reason::Eligible)
    );
    assert_eq!((first[1].from, first[1].to), (Pending, Passed));
    assert_eq!(first[1].reason, Reason::ConditionsHeld { since_ms: 100 });
    assert!(ev.decided());
    assert!(ev.all_passed());
}

#[test]
fn the_deadline_is_inclusive_and_noticed_at_the_first_sample_after_it() {
    let mut g = height_at_least("pos", 10.0);
    g.within = Some(Duration::from_secs(5));
    // Reaching the threshold exactly at the deadline passes.
    let mut ev = Evaluator::new(std::slice::from_ref(&g)).expect("valid");
    run(&mut ev, &network(0, 1.0, &[]));
    assert_eq!(
        run(&mut ev, &network(5_000, 10.0, &[])),
        [moved("pos", Pending, Passed)]
    );
    // Missing it at the deadline keeps the gate pending; one millisecond later it fails.
    let mut ev = Evaluator::new(&[g]).expect("valid");
    run(&mut ev, &network(0, 1.0, &[]));
    assert!(run(&mut ev, &network(5_000, 9.0, &[])).is_empty());
    let failed = ev.observe(&network(5_001, 10.0, &[])).expect("in order");
    assert_eq!((failed[0].from, failed[0].to), (Pending, Failed));
    assert_eq!(
        failed[0].reason,
        Reason::DeadlineExceeded {
            deadline_ms: 5_000,
            soak_since_ms: Some(5_001)
        }
    );
    assert_eq!(ev.status()[0].deadline_ms, Some(5_000));
}

#[test]
fn thresholds_at_just_below_and_just_above() {
    for (height, passes) in [(49.0, false), (50.0, true), (51.0, true)] {
        let mut ev = Evaluator::new(&[height_at_least("pos", 50.0)]).expect("valid");
        let passed =
            run(&mut ev, &network(0, height, &[])).contains(&moved("pos", Pending, Passed));
        assert_eq!(passed, passes, "height {height}");
    }
    let at_most = gate(
        "pace",
        vec![condition(
            GateMetric::BlockIntervalP50Ms,
            None,
            Some(1_000.0),
        )],
    );
    for (interval, passes) in [(999.0, true), (1_000.0, true), (1_001.0, false)] {
        let mut ev = Evaluator::new(std::slice::from_ref(&at_most)).expect("valid");
        let sample = network(0, 1.0, &[(GateMetric::BlockIntervalP50Ms, interval)]);
        assert_eq!(
            ev.observe(&sample).expect("in order").len() == 2,
            passes,
            "interval {interval}"
        );
    }
    let exactly = gate(
        "set",
        vec![EffectiveCondition {
            eq: Some(4.0),
            ..condition(GateMetric::ValidatorsActive, None, None)
        }],
    );
    for (active, passes) in [(3.0, false), (4.0, true), (5.0, false)] {
        let mut ev = Evaluator::new(std::slice::from_ref(&exactly)).expect("valid");
        let sample = network(0, 1.0, &[(GateMetric::ValidatorsActive, active)]);
        assert_eq!(
            ev.observe(&sample).expect("in order").len() == 2,
            passes,
            "active {active}"
        );
    }
}

#[test]
fn a_break_during_the_soak_restarts_it() {
    let mut g = height_at_least("pos", 10.0);
    g.hold_for = Duration::from_secs(3);
    let mut ev = Evaluator::new(&[g]).expect("valid");
    run(&mut ev, &network(0, 10.0, &[]));
    assert_eq!(ev.status()[0].soak_since_ms, Some(0));
    assert!(run(&mut ev, &network(2_000, 11.0, &[])).is_empty());
    // Broken at 2.5 s: the soak starts again at the next holding sample.
    assert!(run(&mut ev, &network(2_500, 9.0, &[])).is_empty());
    assert_eq!(ev.status()[0].soak_since_ms, None);
    assert!(run(&mut ev, &network(3_000, 12.0, &[])).is_empty());
    assert!(run(&mut ev, &network(5_999, 12.0, &[])).is_empty());
    let passed = ev.observe(&network(6_000, 12.0, &[])).expect("in order");
    assert_eq!(passed[0].to, Passed);
    assert_eq!(passed[0].reason, Reason::ConditionsHeld { since_ms: 3_000 });
}

#[test]
fn a_deadline_during_the_soak_fails_the_gate() {
    let mut g = height_at_least("pos", 10.0);
    g.hold_for = Duration::from_secs(3);
    g.within = Some(Duration::from_secs(5));
    let mut ev = Evaluator::new(&[g]).expect("valid");
    run(&mut ev, &network(0, 10.0, &[]));
    run(&mut ev, &network(1_000, 5.0, &[]));
    run(&mut ev, &network(3_000, 10.0, &[]));
    assert!(run(&mut ev, &network(5_000, 10.0, &[])).is_empty());
    let failed = ev.observe(&network(6_000, 10.0, &[])).expect("in order");
    assert_eq!(failed[0].to, Failed);
    assert_eq!(
        failed[0].reason,
        Reason::DeadlineExceeded {
            deadline_ms: 5_000,
            soak_since_ms: Some(3_000)
        }
    );
}

#[test]
fn after_gates_order_eligibility_and_deltas_start_at_eligibility() {
    let first = height_at_least("pos", 5.0);
    let mut second = gate("more-blocks", vec![delta(GateMetric::Height, 3.0)]);
    second.after = vec!["pos".into()];
    // Declared dependent first: the order still evaluates `pos` first.
    let mut ev = Evaluator::new(&[second, first]).expect("valid");
    assert_eq!(
        run(&mut ev, &network(0, 1.0, &[])),
        [moved("pos", Waiting, Pending)]
    );
    assert_eq!(ev.state("more-blocks"), Some(Waiting));
    let both = ev.observe(&network(1_000, 6.0, &[])).expect("in order");
    let moves: Vec<_> = both.iter().map(|t| (t.gate.as_str(), t.to)).collect();
    assert_eq!(moves, [("pos", Passed), ("more-blocks", Pending)]);
    // The baseline is the figure when it became eligible: 6.
    assert_eq!(both[1].conditions[0].baseline, Some(6.0));
    assert_eq!(both[1].conditions[0].observed, Some(0.0));
    assert!(run(&mut ev, &network(2_000, 8.0, &[])).is_empty());
    let passed = ev.observe(&network(3_000, 9.0, &[])).expect("in order");
    assert_eq!(passed[0].to, Passed);
    assert_eq!(passed[0].conditions[0].observed, Some(3.0));
    let eligible: Vec<_> = ev
        .status()
        .into_iter()
        .map(|s| (s.name, s.eligible_at_ms))
        .collect();
    assert_eq!(
        eligible,
        [
            ("more-blocks".to_owned(), Some(1_000)),
            ("pos".to_owned(), Some(0))
        ]
    );
}

#[test]
fn a_failed_after_gate_fails_its_dependents_transitively() {
    let mut pos = height_at_least("pos", 100.0);
    pos.within = Some(Duration::from_secs(1));
    let mut relays = height_at_least("relays", 1.0);
    relays.after = vec!["pos".into()];
    let mut load = height_at_least("load", 1.0);
    load.after = vec!["relays".into()];
    let mut ev = Evaluator::new(&[pos, relays, load]).expect("valid");
    run(&mut ev, &network(0, 1.0, &[]));
    let out = ev.observe(&network(1_001, 2.0, &[])).expect("in order");
    let moves: Vec<_> = out
        .iter()
        .map(|t| (t.gate.as_str(), t.from, t.to))
        .collect();
    assert_eq!(
        moves,
        [
            ("pos", Pending, Failed),
            ("relays", Waiting, Failed),
            ("load", Waiting, Failed)
        ]
    );
    assert_eq!(
        out[1].reason,
        Reason::DependencyFailed {
            gate: "pos".into(),
            state: Failed
        }
    );
    assert!(out[1].conditions.is_empty());
    assert!(ev.decided());
    assert!(!ev.all_passed());
}

#[test]
fn a_passed_gate_keeps_watching_and_is_violated_when_a_condition_breaks() {
    for on_violation in [OnViolation::Halt, OnViolation::Warn] {
        let mut g = gate(
            "signing",
            vec![condition(
                GateMetric::ValidatorsSigningRatio,
                Some(0.9),
                None,
            )],
        );
        g.on_violation = on_violation;
        let mut ev = Evaluator::new(&[g]).expect("valid");
        run(
            &mut ev,
            &network(0, 1.0, &[(GateMetric::ValidatorsSigningRatio, 1.0)]),
        );
        assert_eq!(ev.state("signing"), Some(Passed));
        assert!(run(
            &mut ev,
            &network(1_000, 2.0, &[(GateMetric::ValidatorsSigningRatio, 0.9)])
        )
        .is_empty());
        let out = ev
            .observe(&network(
                2_000,
                3.0,
                &[(GateMetric::ValidatorsSigningRatio, 0.75)],
            ))
            .expect("in order");
        assert_eq!((out[0].from, out[0].to), (Passed, Violated));
        assert_eq!(out[0].on_violation, Some(on_violation));
        assert_eq!(
            out[0].reason,
            Reason::ConditionBroken {
                metrics: vec![GateMetric::ValidatorsSigningRatio]
            }
        );
        assert_eq!(out[0].conditions[0].observed, Some(0.75));
        // Violated is final.
        assert!(run(
            &mut ev,
            &network(3_000, 4.0, &[(GateMetric::ValidatorsSigningRatio, 1.0)])
        )
        .is_empty());
        assert_eq!(ev.state("signing"), Some(Violated));
    }
}

/// "The chain halts": normally at least 3 blocks are made within 10 s; expected not to.
fn halt_gate() -> EffectiveGate {
    let mut g = gate("halts", vec![delta(GateMetric::Height, 3.0)]);
    g.expect = Expectation::Fail;
    g.within = Some(Duration::from_secs(10));
    g
}

#[test]
fn an_expected_failure_passes_when_the_conditions_do_not_hold_by_the_deadline() {
    let mut ev = Evaluator::new(&[halt_gate()]).expect("valid");
    run(&mut ev, &network(0, 20.0, &[]));
    assert!(run(&mut ev, &network(5_000, 22.0, &[])).is_empty());
    assert!(run(&mut ev, &network(10_000, 22.0, &[])).is_empty());
    let out = ev.observe(&network(10_001, 22.0, &[])).expect("in order");
    assert_eq!((out[0].from, out[0].to), (Pending, Passed));
    assert_eq!(
        out[0].reason,
        Reason::ExpectedFailure {
            deadline_ms: 10_000
        }
    );
    assert_eq!(out[0].expect, Expectation::Fail);
    // It does not watch afterwards: the chain recovering is no violation.
    assert!(run(&mut ev, &network(20_000, 40.0, &[])).is_empty());
    assert_eq!(ev.state("halts"), Some(Passed));
}

#[test]
fn an_expected_failure_fails_as_soon_as_the_conditions_hold() {
    let mut ev = Evaluator::new(&[halt_gate()]).expect("valid");
    run(&mut ev, &network(0, 20.0, &[]));
    assert!(run(&mut ev, &network(1_000, 22.0, &[])).is_empty());
    let out = ev.observe(&network(2_000, 23.0, &[])).expect("in order");
    assert_eq!((out[0].from, out[0].to), (Pending, Failed));
    assert_eq!(
        out[0].reason,
        Reason::HeldDespiteExpectedFailure { since_ms: 2_000 }
    );
}

/// Relay success of at least 0.9 within 5 s: a gauge, missing whenever no node reports it.
fn success_gate(missing: MissingMetric) -> EffectiveGate {
    let mut g = gate(
        "success",
        vec![condition(GateMetric::RelaySuccessRatio, Some(0.9), None)],
    );
    g.missing = missing;
    g.within = Some(Duration::from_secs(5));
    g
}

#[test]
fn a_missing_metric_waits_under_wait() {
    let mut ev = Evaluator::new(&[success_gate(MissingMetric::Wait)]).expect("valid");
    assert_eq!(
        run(&mut ev, &network(0, 1.0, &[])),
        [moved("success", Waiting, Pending)]
    );
    assert_eq!(ev.status()[0].conditions[0].outcome, Outcome::Missing);
    assert!(run(&mut ev, &network(4_000, 1.0, &[])).is_empty());
    assert_eq!(
        run(
            &mut ev,
            &network(4_500, 1.0, &[(GateMetric::RelaySuccessRatio, 0.95)])
        ),
        [moved("success", Pending, Passed)]
    );
    // Passed, then missing: no violation while waiting.
    assert!(run(&mut ev, &network(6_000, 1.0, &[])).is_empty());
    assert_eq!(ev.state("success"), Some(Passed));
    assert_eq!(ev.status()[0].conditions[0].outcome, Outcome::Missing);
}

#[test]
fn a_missing_metric_breaks_the_soak_under_wait() {
    let mut g = success_gate(MissingMetric::Wait);
    g.hold_for = Duration::from_secs(2);
    let mut ev = Evaluator::new(&[g]).expect("valid");
    let ok = |at| network(at, 1.0, &[(GateMetric::RelaySuccessRatio, 1.0)]);
    run(&mut ev, &ok(0));
    run(&mut ev, &network(1_000, 1.0, &[]));
    assert!(run(&mut ev, &ok(2_000)).is_empty());
    assert_eq!(ev.status()[0].soak_since_ms, Some(2_000));
    assert_eq!(
        run(&mut ev, &ok(4_000)),
        [moved("success", Pending, Passed)]
    );
}

#[test]
fn a_missing_metric_under_wait_still_meets_the_deadline() {
    let mut ev = Evaluator::new(&[success_gate(MissingMetric::Wait)]).expect("valid");
    run(&mut ev, &network(0, 1.0, &[]));
    let out = ev.observe(&network(5_001, 1.0, &[])).expect("in order");
    assert_eq!(out[0].to, Failed);
    assert!(matches!(out[0].reason, Reason::DeadlineExceeded { .. }));
}

#[test]
fn a_missing_metric_fails_or_violates_under_fail() {
    let mut ev = Evaluator::new(&[success_gate(MissingMetric::Fail)]).expect("valid");
    let out = ev.observe(&network(0, 1.0, &[])).expect("in order");
    assert_eq!(out[1].to, Failed);
    assert_eq!(
        out[1].reason,
        Reason::MetricMissing {
            metrics: vec![GateMetric::RelaySuccessRatio]
        }
    );
    let mut ev = Evaluator::new(&[success_gate(MissingMetric::Fail)]).expect("valid");
    run(
        &mut ev,
        &network(0, 1.0, &[(GateMetric::RelaySuccessRatio, 0.95)]),
    );
    assert_eq!(ev.state("success"), Some(Passed));
    let out = ev.observe(&network(1_000, 1.0, &[])).expect("in order");
    assert_eq!((out[0].from, out[0].to), (Passed, Violated));
    assert_eq!(out[0].on_violation, Some(OnViolation::Halt));
}

#[test]
fn a_counter_once_reported_is_never_missing() {
    let mut g = gate(
        "relays",
        vec![condition(GateMetric::RelaysServed, Some(10.0), None)],
    );
    g.missing = MissingMetric::Fail;
    let mut ev = Evaluator::new(&[g]).expect("valid");
    run(
        &mut ev,
        &network(0, 1.0, &[(GateMetric::RelaysServed, 10.0)]),
    );
    assert_eq!(ev.state("relays"), Some(Passed));
    // Every node stops reporting: what they counted still counts.
    assert!(run(&mut ev, &network(1_000, 1.0, &[])).is_empty());
    assert_eq!(ev.status()[0].conditions[0].observed, Some(10.0));
}

#[test]
fn a_delta_baseline_is_taken_when_the_metric_first_appears() {
    let mut ev = Evaluator::new(&[gate("relays", vec![delta(GateMetric::RelaysServed, 5.0)])])
        .expect("valid");
    run(&mut ev, &network(0, 1.0, &[]));
    assert!(run(
        &mut ev,
        &network(1_000, 1.0, &[(GateMetric::RelaysServed, 100.0)])
    )
    .is_empty());
    assert_eq!(ev.status()[0].conditions[0].baseline, Some(100.0));
    assert_eq!(
        run(
            &mut ev,
            &network(2_000, 1.0, &[(GateMetric::RelaysServed, 105.0)])
        ),
        [moved("relays", Pending, Passed)]
    );
}

/// One servicer serving relays, in restart `epoch`, having counted `relays` since it started.
fn servicer(at_ms: u64, epoch: u64, relays: f64) -> Sample {
    network(at_ms, 1.0, &[]).with_node(
        "servicer-0",
        NodeSample::other(epoch).with(GateMetric::RelaysServed, relays),
    )
}

#[test]
fn a_counter_reset_by_a_restart_does_not_break_a_delta_gate() {
    let g = gate("relays", vec![delta(GateMetric::RelaysServed, 50.0)]);
    let mut ev = Evaluator::new(std::slice::from_ref(&g)).expect("valid");
    run(&mut ev, &servicer(0, 1, 100.0));
    assert_eq!(
        run(&mut ev, &servicer(1_000, 1, 150.0)),
        [moved("relays", Pending, Passed)]
    );
    // Restarted: its counter starts again; the network's figure continues from 150.
    assert!(run(&mut ev, &servicer(2_000, 2, 5.0)).is_empty());
    let status = &ev.status()[0].conditions[0];
    assert_eq!(status.observed, Some(55.0));
    assert_eq!(status.sources[0].node, "servicer-0");
    assert_eq!(status.sources[0].offset, 150.0);
    assert_eq!(ev.state("relays"), Some(Passed));

    // The same drop without a restart is a drop: the delta falls below 50.
    let mut ev = Evaluator::new(&[g]).expect("valid");
    run(&mut ev, &servicer(0, 1, 100.0));
    run(&mut ev, &servicer(1_000, 1, 150.0));
    let out = ev.observe(&servicer(2_000, 1, 5.0)).expect("in order");
    assert_eq!((out[0].from, out[0].to), (Passed, Violated));
    assert_eq!(out[0].conditions[0].observed, Some(-95.0));
}

#[test]
fn samples_must_not_go_back_in_time() {
    let mut ev = Evaluator::new(&[height_at_least("pos", 100.0)]).expect("valid");
    run(&mut ev, &network(1_000, 1.0, &[]));
    run(&mut ev, &network(1_000, 1.0, &[]));
    assert_eq!(
        ev.observe(&network(999, 1.0, &[])),
        Err(ObserveError::OutOfOrder {
            previous_ms: 1_000,
            at_ms: 999
        })
    );
    assert_eq!(ev.last_at_ms(), Some(1_000));
}

#[test]
fn bad_gate_sets_are_refused() {
    let with_after = |name: &str, after: &[&str]| {
        let mut g = height_at_least(name, 1.0);
        g.after = after.iter().map(|a| (*a).to_owned()).collect();
        g
    };
    assert_eq!(
        Evaluator::new(&[
            with_after("a", &["b"]),
            with_after("b", &["a"]),
            with_after("c", &[])
        ])
        .err(),
        Some(GateSetError::Cycle(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        Evaluator::new(&[with_after("a", &["x"])]).err(),
        Some(GateSetError::UnknownDependency {
            gate: "a".into(),
            after: "x".into()
        })
    );
    assert_eq!(
        Evaluator::new(&[with_after("a", &[]), with_after("a", &[])]).err(),
        Some(GateSetError::DuplicateGate("a".into()))
    );
    let mut expect_fail = height_at_least("halts", 1.0);
    expect_fail.expect = Expectation::Fail;
    assert_eq!(
        Evaluator::new(&[expect_fail]).err(),
        Some(GateSetError::ExpectFailWithoutDeadline("halts".into()))
    );
    let empty = gate("e", vec![condition(GateMetric::Height, None, None)]);
    assert_eq!(
        Evaluator::new(&[empty]).err(),
        Some(GateSetError::NoThreshold {
            gate: "e".into(),
            index: 0
        })
    );
}

#[test]
fn selecting_a_gate_brings_what_it_comes_after() {
    let with_after = |name: &str, after: &[&str]| {
        let mut g = height_at_least(name, 1.0);
        g.after = after.iter().map(|a| (*a).to_owned()).collect();
        g
    };
    let all = [
        with_after("pos", &[]),
        with_after("relays", &["pos"]),
        with_after("load", &["relays"]),
        with_after("other", &[]),
    ];
    let names = |gates: Vec<EffectiveGate>| gates.into_iter().map(|g| g.name).collect::<Vec<_>>();
    assert_eq!(
        names(select(&all, &["load".into()]).expect("known")),
        ["pos", "relays", "load"]
    );
    assert_eq!(
        names(select(&all, &["other".into()]).expect("known")),
        ["other"]
    );
    assert_eq!(
        select(&all, &["nope".into()]).err(),
        Some(GateSetError::UnknownGate("nope".into()))
    );
}

#[test]
fn a_transition_carries_its_evidence_for_a_receipt() {
    let mut ev = Evaluator::new(&[height_at_least("pos", 5.0)]).expect("valid");
    let sample = network(0, 5.0, &[]).with_node(
        "validator-3",
        NodeSample::validator(1).with(GateMetric::Height, 2.0),
    );
    let out = ev.observe(&sample).expect("in order");
    let json = serde_json::to_value(&out[1]).expect("serializes");
    assert_eq!(json["gate"], "pos");
    assert_eq!(json["from"], "pending");
    assert_eq!(json["to"], "passed");
    assert_eq!(json["reason"]["kind"], "conditionsHeld");
    let condition = &json["conditions"][0];
    assert_eq!(condition["metric"], "height");
    assert_eq!(condition["threshold"]["gte"], 5.0);
    assert_eq!(condition["observed"], 5.0);
    assert_eq!(condition["aggregation"], "quorum");
    assert_eq!(condition["sources"][3]["node"], "validator-3");
    assert_eq!(condition["sources"][3]["height"], 2.0);
    let back: Transition = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, out[1]);
    assert_eq!(
        out[1].to_string(),
        "pos: pending -> passed at 0 ms: the conditions held since 0 ms; height 5 (needs >= 5): holds"
    );
}

/// A small, fixed set of gates using every feature.
fn feature_gates() -> Vec<EffectiveGate> {
    let mut pos = height_at_least("pos", 4.0);
    pos.hold_for = Duration::from_millis(300);
    pos.within = Some(Duration::from_secs(3));
    let mut relays = gate("relays", vec![delta(GateMetric::RelaysServed, 5.0)]);
    relays.after = vec!["pos".into()];
    relays.missing = MissingMetric::Fail;
    let mut halts = gate("halts", vec![delta(GateMetric::Height, 2.0)]);
    halts.after = vec!["pos".into()];
    halts.expect = Expectation::Fail;
    halts.within = Some(Duration::from_millis(700));
    let signing = gate(
        "signing",
        vec![condition(
            GateMetric::ValidatorsSigningRatio,
            Some(0.5),
            Some(1.0),
        )],
    );
    vec![pos, relays, halts, signing]
}

/// What one node reports at one step of a generated run.
#[derive(Debug, Clone)]
struct NodeStep {
    reports: bool,
    restarted: bool,
    blocks: u8,
    relays: u8,
    signing: u8,
}

fn runs() -> impl Strategy<Value = Vec<(u16, Vec<NodeStep>)>> {
    let node = (any::<u8>(), any::<bool>(), 0u8..3, 0u8..4, 0u8..=10).prop_map(
        |(r, restarted, blocks, relays, signing)| NodeStep {
            reports: r % 8 != 0,
            restarted: restarted && r % 5 == 0,
            blocks,
            relays,
            signing,
        },
    );
    proptest::collection::vec((0u16..400, proptest::collection::vec(node, 4)), 0..40)
}

/// Turns generated steps into samples: heights grow, relay counters grow and reset on
/// restart, nodes now and then report nothing.
fn samples(steps: &[(u16, Vec<NodeStep>)]) -> Vec<Sample> {
    let mut at = 0u64;
    let mut height = [0.0f64; 4];
    let mut relays = [0.0f64; 4];
    let mut epoch = [0u64; 4];
    let mut out = Vec::new();
    for (gap, nodes) in steps {
        at += u64::from(*gap);
        let mut sample = Sample::new(at);
        for (i, step) in nodes.iter().enumerate() {
            if step.restarted {
                epoch[i] += 1;
                relays[i] = 0.0;
            }
            height[i] += f64::from(step.blocks);
            relays[i] += f64::from(step.relays);
            let mut node = NodeSample::validator(epoch[i]);
            if step.reports {
                node = node
                    .with(GateMetric::Height, height[i])
                    .with(GateMetric::RelaysServed, relays[i])
                    .with(
                        GateMetric::ValidatorsSigningRatio,
                        f64::from(step.signing) / 10.0,
                    );
            }
            sample = sample.with_node(format!("validator-{i}"), node);
        }
        out.push(sample);
    }
    out
}

fn allowed(from: GateState, to: GateState) -> bool {
    matches!(
        (from, to),
        (Waiting, Pending)
            | (Waiting, Failed)
            | (Pending, Passed)
            | (Pending, Failed)
            | (Passed, Violated)
    )
}

proptest! {
    /// The same samples give the same transitions, to the byte.
    #[test]
    fn evaluation_is_deterministic(steps in runs()) {
        let samples = samples(&steps);
        let replay = || {
            let mut ev = Evaluator::new(&feature_gates()).expect("valid");
            let transitions: Vec<Transition> = samples
                .iter()
                .flat_map(|s| ev.observe(s).expect("in order"))
                .collect();
            serde_json::to_string(&transitions).expect("serializes")
        };
        prop_assert_eq!(replay(), replay());
    }

    /// Gates only move along the documented edges, each from the state it was in, dependents
    /// only after their `after` gates passed, and relay deltas never go negative although the
    /// nodes restart (their counters only grow between restarts).
    #[test]
    fn transitions_follow_the_state_machine(steps in runs()) {
        let gates = feature_gates();
        let mut ev = Evaluator::new(&gates).expect("valid");
        let mut states: std::collections::BTreeMap<String, GateState> =
            gates.iter().map(|g| (g.name.clone(), Waiting)).collect();
        for sample in samples(&steps) {
            for t in ev.observe(&sample).expect("in order") {
                prop_assert!(allowed(t.from, t.to), "{t}");
                prop_assert_eq!(states[&t.gate], t.from);
                prop_assert!(t.at_ms == sample.at_ms);
                if t.to == Pending && (t.gate == "relays" || t.gate == "halts") {
                    prop_assert_eq!(states["pos"], Passed);
                }
                if t.gate == "relays" {
                    if let Some(observed) = t.conditions.first().and_then(|c| c.observed) {
                        prop_assert!(observed >= 0.0, "{t}");
                    }
                }
                states.insert(t.gate.clone(), t.to);
            }
            for status in ev.status() {
                prop_assert_eq!(states[&status.name], status.state);
            }
        }
    }
}
