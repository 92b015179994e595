//! The loop against a fake backend that follows the reference model (`plan::model`).

use netwright_crds::EffectiveSpec;
use netwright_receipts::{
    DigestSet, Draft, Kind, LogOptions, LogWriter, Signer, Subject, Timestamp, TrustedKeys,
};
use serde_json::{json, Map, Value};

use super::*;
use crate::backend::BackendError;
use crate::plan::{plan, ObservedState, Risk};
use crate::testkit::{block_on, spec, Fake};

/// Receipts kept in memory.
#[derive(Default)]
struct Memory {
    receipts: Vec<(Kind, Map<String, Value>)>,
}

impl ReceiptSink for Memory {
    fn approver(&self) -> String {
        "approver-id".into()
    }

    fn append(&mut self, kind: Kind, body: Map<String, Value>) -> Result<(), SinkError> {
        self.receipts.push((kind, body));
        Ok(())
    }
}

fn run(
    fake: &mut Fake,
    spec: &EffectiveSpec,
    approve: Option<crate::plan::Digest>,
    sink: &mut Memory,
) -> Result<Report, ReconcileError> {
    let options = Options {
        approve,
        ..Options::default()
    };
    run_with(fake, spec, &options, sink)
}

/// Reconciles through `backend` with `options`, no halt, to completion.
fn run_with<B: crate::backend::Backend>(
    backend: &mut B,
    spec: &EffectiveSpec,
    options: &Options,
    sink: &mut Memory,
) -> Result<Report, ReconcileError> {
    block_on(reconcile(
        backend,
        spec,
        None,
        options,
        sink,
        &mut SilentProgress,
    ))
}

/// The index of the first step with `verb` in the plan of a network not created yet.
fn first_step(spec: &EffectiveSpec, verb: &str) -> usize {
    plan(spec, &ObservedState::default())
        .expect("plan")
        .actions()
        .position(|a| a.verb() == verb)
        .unwrap_or_else(|| panic!("a {verb} step"))
}

fn converged(validators: u64) -> Fake {
    let mut fake = Fake::default();
    let report =
        run(&mut fake, &spec(validators), None, &mut Memory::default()).expect("reconcile");
    assert_eq!(report.outcome, Outcome::Converged);
    fake.applied.clear();
    fake
}

#[test]
fn a_fresh_network_converges_and_one_receipt_records_every_step() {
    let spec = spec(4);
    let mut fake = Fake::default();
    let mut sink = Memory::default();
    let expected = plan(&spec, &ObservedState::default()).expect("plan");
    let report = run(&mut fake, &spec, None, &mut sink).expect("reconcile");

    assert_eq!(report.outcome, Outcome::Converged);
    assert_eq!(
        report.passes.len(),
        2,
        "one applying pass, then an empty plan"
    );
    assert!(report.passes[1].plan.is_empty());
    let lines: Vec<String> = expected
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| record::step_line(i, s))
        .collect();
    assert_eq!(report.passes[0].done, lines);
    assert_eq!(fake.applied.len(), expected.steps.len());

    assert_eq!(sink.receipts.len(), 1);
    let (kind, body) = &sink.receipts[0];
    assert_eq!(*kind, Kind::Reconcile);
    assert_eq!(body["plan"], json!(expected.digest().to_string()));
    assert_eq!(body["outcome"], json!("converged"));
    assert_eq!(body["done"], json!(lines));
    assert_eq!(body["observed"]["before"]["nodes"], json!(0));
    assert_eq!(body["observed"]["after"]["running"], json!(5));
    assert_eq!(body["observed"]["after"]["validators"], json!(4));
    assert_eq!(body["observed"]["after"]["totalStake"], json!("8000000"));
}

#[test]
fn reconciling_a_converged_network_does_nothing_and_says_so() {
    let mut fake = converged(4);
    let before = fake.state.clone();
    let mut sink = Memory::default();
    let report = run(&mut fake, &spec(4), None, &mut sink).expect("reconcile");
    assert_eq!(report.outcome, Outcome::Converged);
    assert!(fake.applied.is_empty(), "applied {:?}", fake.applied);
    assert_eq!(fake.state, before);
    assert_eq!(report.steps_done(), 0);
    assert_eq!(sink.receipts.len(), 1);
    assert_eq!(sink.receipts[0].1["done"], json!([]));
    assert_eq!(sink.receipts[0].1["outcome"], json!("converged"));
}

#[test]
fn scaling_up_and_back_down_stakes_then_unstakes_on_chain() {
    let mut fake = converged(4);
    let genesis = fake.state.genesis_digest();
    let report = run(&mut fake, &spec(5), None, &mut Memory::default()).expect("scale up");
    assert_eq!(report.outcome, Outcome::Converged);
    assert!(fake
        .applied
        .iter()
        .any(|a| a.starts_with("stake-validator node=validator-4")));
    assert!(!fake.applied.iter().any(|a| a.starts_with("write-genesis")));
    assert_eq!(fake.state.nodes["validator-4"].stake, 2_000_000);
    assert_eq!(fake.state.genesis_digest(), genesis);

    fake.applied.clear();
    let report = run(&mut fake, &spec(4), None, &mut Memory::default()).expect("scale down");
    assert_eq!(report.outcome, Outcome::Converged);
    assert_eq!(
        report.first_plan().map(|p| p.risk()),
        Some(Risk::Disruptive)
    );
    assert!(fake
        .applied
        .iter()
        .any(|a| a.starts_with("unstake-validator node=validator-4")));
    assert_eq!(fake.state.nodes["validator-4"].stake, 0);
    assert_eq!(fake.state.genesis_digest(), genesis);
}

#[test]
fn an_unsafe_plan_without_approval_is_refused_and_changes_nothing() {
    let mut fake = converged(4);
    let before = fake.state.clone();
    let mut sink = Memory::default();
    let error = run(&mut fake, &spec(1), None, &mut sink).expect_err("refused");
    let ReconcileError::Refused { plan, decision } = &error else {
        panic!("expected a refusal, got {error}");
    };
    assert_eq!(plan.risk(), Risk::Unsafe);
    let Decision::NeedsApproval { digest, reasons } = decision else {
        panic!("expected NeedsApproval, got {decision:?}");
    };
    assert_eq!(*digest, plan.digest());
    assert!(!reasons.is_empty());
    assert!(
        error.to_string().contains(&format!("--approve {digest}")),
        "{error}"
    );
    assert!(fake.applied.is_empty());
    assert_eq!(fake.state, before);
    assert!(sink.receipts.is_empty());
}

#[test]
fn an_approval_of_another_plan_is_refused() {
    let mut fake = converged(4);
    let other = crate::plan::Digest::of(b"another plan");
    let mut sink = Memory::default();
    let error = run(&mut fake, &spec(5), Some(other), &mut sink).expect_err("refused");
    assert!(matches!(
        error,
        ReconcileError::Refused {
            decision: Decision::WrongApproval { .. },
            ..
        }
    ));
    assert!(fake.applied.is_empty());
    assert!(sink.receipts.is_empty());
}

#[test]
fn an_approved_unsafe_plan_is_recorded_before_it_is_applied() {
    let mut fake = converged(4);
    let digest = plan(&spec(1), &fake.state).expect("plan").digest();
    let mut sink = Memory::default();
    let report = run(&mut fake, &spec(1), Some(digest), &mut sink).expect("approved");
    assert!(report.approved);
    assert_eq!(report.outcome, Outcome::Converged);
    let validators = fake.state.nodes.values().filter(|n| n.stake > 0).count();
    assert_eq!(validators, 1);
    let kinds: Vec<&Kind> = sink.receipts.iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [&Kind::Approval, &Kind::Reconcile]);
    assert_eq!(sink.receipts[0].1["plan"], json!(digest.to_string()));
    assert_eq!(sink.receipts[0].1["approver"], json!("approver-id"));
    assert_eq!(sink.receipts[0].1["risk"], json!("unsafe"));
    assert_eq!(sink.receipts[1].1["plan"], json!(digest.to_string()));
}

#[test]
fn a_halt_refuses_before_observing() {
    let mut fake = Fake::default();
    let mut sink = Memory::default();
    let halt = Halt::Stopped {
        seq: 3,
        reason: Some("gate pos failed".into()),
    };
    let error = block_on(reconcile(
        &mut fake,
        &spec(4),
        Some(halt),
        &Options::default(),
        &mut sink,
        &mut SilentProgress,
    ))
    .expect_err("halted");
    let ReconcileError::Halted(halt) = &error else {
        panic!("expected a halt, got {error}");
    };
    assert!(matches!(**halt, Halt::Stopped { seq: 3, .. }), "{halt}");
    assert_eq!(fake.observes, 0);
    assert!(fake.applied.is_empty());
    assert!(sink.receipts.is_empty());
}

#[test]
fn a_failed_step_is_recorded_with_its_number_and_error() {
    let spec = spec(4);
    let failing = first_step(&spec, "start-node");
    let mut fake = Fake {
        fail_verb: Some("start-node"),
        ..Fake::default()
    };
    let mut sink = Memory::default();
    let report = run(&mut fake, &spec, None, &mut sink).expect("recorded");
    let Outcome::Failed { pass, step, error } = &report.outcome else {
        panic!("expected a failure, got {:?}", report.outcome);
    };
    assert_eq!((*pass, *step), (1, failing + 1));
    assert!(error.contains("broke"), "{error}");
    assert_eq!(report.passes[0].done.len(), failing);
    let body = &sink.receipts[0].1;
    assert_eq!(body["outcome"], json!("failed"));
    assert_eq!(body["failedStep"], json!(failing + 1));
    assert!(body["error"].as_str().is_some_and(|e| e.contains("broke")));
    assert!(body["observed"]["after"].is_object());
}

#[test]
fn a_node_that_dies_during_apply_is_started_in_a_second_pass() {
    let mut fake = Fake {
        crash_after_first_pass: Some("validator-2".into()),
        ..Fake::default()
    };
    let report = run(&mut fake, &spec(4), None, &mut Memory::default()).expect("reconcile");
    assert_eq!(report.outcome, Outcome::Converged);
    assert_eq!(report.passes.len(), 3);
    assert_eq!(
        report.passes[1].done,
        ["1 safe start-node node=validator-2".to_owned()]
    );
}

#[test]
fn a_network_that_never_converges_stops_after_the_pass_limit() {
    let mut fake = Fake {
        start_does_nothing: true,
        ..Fake::default()
    };
    let mut sink = Memory::default();
    let options = Options {
        max_passes: 2,
        ..Options::default()
    };
    let report = run_with(&mut fake, &spec(4), &options, &mut sink);
    let report = report.expect("recorded");
    let Outcome::NotConverged { reason } = &report.outcome else {
        panic!("expected not converged, got {:?}", report.outcome);
    };
    assert!(reason.contains("after 2 pass(es)"), "{reason}");
    assert_eq!(
        report.passes.len(),
        3,
        "two applied passes and the plan left over"
    );
    assert_eq!(sink.receipts[0].1["outcome"], json!("not-converged"));
}

#[test]
fn a_step_that_hangs_fails_at_the_step_timeout_and_is_recorded() {
    let spec = spec(4);
    let hanging = first_step(&spec, "start-node");
    let mut fake = Fake {
        hang_verb: Some("start-node"),
        ..Fake::default()
    };
    let mut sink = Memory::default();
    let options = Options {
        step_timeout: std::time::Duration::from_secs(7),
        ..Options::default()
    };
    let report = run_with(&mut fake, &spec, &options, &mut sink).expect("recorded");
    let Outcome::Failed { pass, step, error } = &report.outcome else {
        panic!("expected a failure, got {:?}", report.outcome);
    };
    assert_eq!((*pass, *step), (1, hanging + 1));
    assert!(
        error.contains("start-node") && error.contains("timed out after 7 s"),
        "{error}"
    );
    assert_eq!(report.passes[0].done.len(), hanging);
    assert_eq!(sink.receipts[0].1["outcome"], json!("failed"));
}

#[test]
fn an_observation_that_hangs_is_an_error_and_changes_nothing() {
    struct Hanging;
    impl crate::backend::Backend for Hanging {
        async fn observe(&mut self, _: &EffectiveSpec) -> Result<ObservedState, BackendError> {
            std::future::pending().await
        }
        async fn apply(
            &mut self,
            _: &EffectiveSpec,
            _: &crate::plan::Topology,
            _: &crate::plan::Action,
        ) -> Result<(), BackendError> {
            panic!("nothing is applied when observing hangs")
        }
        async fn status(
            &mut self,
            _: &EffectiveSpec,
        ) -> Result<
            (
                Vec<crate::backend::NodeStatus>,
                Vec<crate::backend::RelayChainStatus>,
            ),
            BackendError,
        > {
            Ok((Vec::new(), Vec::new()))
        }
    }
    let mut sink = Memory::default();
    let error = run_with(&mut Hanging, &spec(4), &Options::default(), &mut sink)
        .expect_err("observing timed out");
    assert!(
        matches!(&error, ReconcileError::Observe(e) if e.to_string().contains("timed out after 60 s")),
        "{error}"
    );
    assert!(sink.receipts.is_empty());
}

#[test]
fn a_cancellation_during_a_step_stops_and_records_the_steps_done() {
    let spec = spec(4);
    let at = first_step(&spec, "start-node");
    let options = Options::default();
    let mut fake = Fake {
        cancel_on_verb: Some(("start-node", options.cancel.clone())),
        ..Fake::default()
    };
    let mut sink = Memory::default();
    let report = run_with(&mut fake, &spec, &options, &mut sink).expect("recorded");
    let Outcome::Cancelled { pass, during } = &report.outcome else {
        panic!("expected a cancellation, got {:?}", report.outcome);
    };
    assert_eq!(*pass, 1);
    assert!(
        during.starts_with(&format!("step {} (start-node", at + 1)),
        "{during}"
    );
    assert_eq!(report.passes[0].done.len(), at);
    assert_eq!(
        fake.applied.len(),
        at,
        "no step after the cancelled one ran"
    );
    let body = &sink.receipts[0].1;
    assert_eq!(body["outcome"], json!("cancelled"));
    assert_eq!(body["done"].as_array().map(Vec::len), Some(at));
    assert!(
        body["observed"]["after"].is_object(),
        "what the cancelled step left behind is observed"
    );
}

#[test]
fn a_cancellation_before_anything_was_done_writes_nothing() {
    let options = Options::default();
    options.cancel.cancel();
    let mut fake = Fake::default();
    let mut sink = Memory::default();
    let error = run_with(&mut fake, &spec(4), &options, &mut sink).expect_err("cancelled");
    assert!(matches!(error, ReconcileError::Cancelled), "{error}");
    assert!(fake.applied.is_empty());
    assert!(sink.receipts.is_empty());
}

fn log_with(kinds: &[&str]) -> (tempfile::TempDir, Vec<u8>, TrustedKeys) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("receipts.log");
    let signer = Signer::from_seed(&[7; 32]);
    let mut trusted = TrustedKeys::new();
    trusted.insert(signer.verifying_key());
    let options = LogOptions {
        network: "localnet".into(),
        origin: None,
        checkpoint_every: None,
    };
    let mut writer = LogWriter::open(&path, signer, options).expect("log");
    for kind in kinds {
        let mut body = Map::new();
        body.insert("reason".into(), json!("gate pos failed"));
        writer
            .append(Draft {
                kind: Kind::parse(kind).expect("kind"),
                time: Timestamp::now(),
                subject: Subject {
                    spec_digest: DigestSet::of(b"spec"),
                    git_commit: None,
                },
                body,
            })
            .expect("append");
    }
    drop(writer);
    let bytes = std::fs::read(&path).expect("read");
    (dir, bytes, trusted)
}

#[test]
fn a_stop_receipt_halts_until_a_resume_receipt_clears_it() {
    let (_dir, bytes, trusted) = log_with(&["reconcile"]);
    assert_eq!(check_log(&bytes, &trusted), None);
    let (_dir, bytes, trusted) = log_with(&["reconcile", "stop"]);
    assert_eq!(
        check_log(&bytes, &trusted),
        Some(Halt::Stopped {
            seq: 1,
            reason: Some("gate pos failed".into())
        })
    );
    let (_dir, bytes, trusted) = log_with(&["reconcile", "stop", "resume", "reconcile"]);
    assert_eq!(check_log(&bytes, &trusted), None);
}

#[test]
fn a_log_that_fails_verification_halts() {
    let (_dir, bytes, trusted) = log_with(&["reconcile", "reconcile"]);
    let mut torn = bytes.clone();
    torn.extend_from_slice(b"{\"partial");
    assert!(matches!(check_log(&torn, &trusted), Some(Halt::Log(_))));
    let stranger = TrustedKeys::new();
    let halt = check_log(&bytes, &stranger).expect("untrusted signer halts");
    assert!(halt.to_string().contains("fails verification"), "{halt}");
    let mut tampered = bytes.clone();
    let first_newline = tampered.iter().position(|b| *b == b'\n').expect("a line");
    tampered.drain(..=first_newline);
    assert!(matches!(check_log(&tampered, &trusted), Some(Halt::Log(_))));
}

#[test]
fn stakes_beyond_the_json_safe_range_are_written_as_text() {
    let summary = crate::plan::ObservedSummary {
        nodes: 1,
        running: 1,
        healthy: 1,
        validators: 1,
        total_stake: u128::from(u64::MAX) * 2,
        height: Some(u64::MAX),
        genesis: None,
        relay_chains_running: 0,
    };
    let value = record::summary_json(&summary);
    assert_eq!(
        value["totalStake"],
        json!((u128::from(u64::MAX) * 2).to_string())
    );
    assert_eq!(value["height"], json!(u64::MAX.to_string()));
    assert_eq!(value["nodes"], json!(1));
    assert!(value.get("genesis").is_none());
}

#[test]
fn a_second_reconciliation_of_the_same_network_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = ReconcileLock::acquire(dir.path()).expect("first lock");
    let second = ReconcileLock::acquire(dir.path());
    assert!(matches!(second, Err(LockError::Busy { .. })), "{second:?}");
    drop(held);
    ReconcileLock::acquire(dir.path()).expect("free again once released");
}
