//! The service driven without the CLI: a fake backend (the reference model) and a progress
//! sink that records what a front end would show.

use std::path::Path;

use netwright_receipts::keys::load_verifying_key;
use netwright_receipts::{verify_bytes, TrustedKeys, VerifyOptions};

use super::*;
use crate::backend::BackendError;
use crate::plan::Plan;
use crate::reconcile::{Outcome, ReconcileLock};
use crate::testkit::{block_on, spec, Fake};

/// [`super::apply`], run to completion.
fn apply(
    home: &Path,
    state_dir: &Path,
    backend: &mut Fake,
    loaded: &LoadedSpec,
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Applied, ServiceError> {
    block_on(super::apply(
        home, state_dir, backend, loaded, options, progress,
    ))
}

/// [`super::preview`], run to completion with the default options.
fn preview(
    home: &Path,
    state_dir: &Path,
    backend: &mut Fake,
    loaded: &LoadedSpec,
) -> Result<Preview, ServiceError> {
    block_on(super::preview(
        home,
        state_dir,
        backend,
        loaded,
        &Options::default(),
    ))
}

/// What a front end was told, in order.
#[derive(Default)]
struct Recorded(Vec<String>);

impl Progress for Recorded {
    fn plan(&mut self, pass: usize, plan: &Plan) {
        self.0
            .push(format!("plan {pass}: {} step(s)", plan.steps.len()));
    }
    fn step_started(&mut self, _pass: usize, index: usize, plan: &Plan) {
        self.0
            .push(format!("start {}", plan.steps[index].action.canonical()));
    }
    fn step_finished(
        &mut self,
        _pass: usize,
        index: usize,
        plan: &Plan,
        error: Option<&BackendError>,
    ) {
        let verdict = if error.is_some() { "failed" } else { "done" };
        self.0.push(format!(
            "{verdict} {}",
            plan.steps[index].action.canonical()
        ));
    }
}

fn loaded(validators: u64) -> LoadedSpec {
    LoadedSpec {
        path: "testnet.yaml".into(),
        bytes: format!("validators: {validators}\n").into_bytes(),
        name: "testnet".into(),
        spec: spec(validators),
        warnings: Vec::new(),
    }
}

fn dirs() -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().expect("temp dir");
    let state = home.path().join("testnet");
    std::fs::create_dir_all(&state).expect("state dir");
    (home, state)
}

fn verified_receipts(home: &Path, state: &Path) -> usize {
    let (private, _) = key_paths(home);
    let mut trusted = TrustedKeys::new();
    trusted.insert(load_verifying_key(&public_key_of(&private)).expect("public key"));
    let bytes = std::fs::read(state.join(RECEIPT_LOG)).expect("receipt log");
    let report = verify_bytes(&bytes, &VerifyOptions::new(&trusted));
    assert!(report.is_ok(), "{report:?}");
    bytes.iter().filter(|b| **b == b'\n').count()
}

#[test]
fn apply_converges_records_a_signed_receipt_and_saves_the_document() {
    let (home, state) = dirs();
    let mut backend = Fake::default();
    let mut progress = Recorded::default();
    let doc = loaded(4);
    let applied = apply(
        home.path(),
        &state,
        &mut backend,
        &doc,
        &Options::default(),
        &mut progress,
    )
    .expect("applies");
    assert!(matches!(applied.report.outcome, Outcome::Converged));
    assert!(!backend.applied.is_empty());
    assert_eq!(applied.receipt_log, state.join(RECEIPT_LOG));
    assert_eq!(verified_receipts(home.path(), &state), 1);
    assert_eq!(applied.receipt_seq, 0);
    assert_eq!(
        std::fs::read(state.join(APPLIED_SPEC)).expect("applied copy"),
        doc.bytes
    );
    // The front end saw the plan, then every step start and finish, in order.
    assert!(progress.0[0].starts_with("plan 1:"), "{:?}", progress.0);
    let starts = progress
        .0
        .iter()
        .filter(|l| l.starts_with("start "))
        .count();
    let dones = progress.0.iter().filter(|l| l.starts_with("done ")).count();
    assert_eq!(
        (starts, dones),
        (backend.applied.len(), backend.applied.len())
    );

    // The same document again: nothing to do, one more receipt.
    let again = apply(
        home.path(),
        &state,
        &mut backend,
        &doc,
        &Options::default(),
        &mut Recorded::default(),
    )
    .expect("applies again");
    assert_eq!(again.report.steps_done(), 0);
    assert_eq!(verified_receipts(home.path(), &state), 2);
}

#[test]
fn preview_plans_and_changes_nothing() {
    let (home, state) = dirs();
    let mut backend = Fake::default();
    let preview = preview(home.path(), &state, &mut backend, &loaded(4)).expect("previews");
    assert!(!preview.plan.is_empty());
    assert_eq!(preview.digest, preview.plan.digest());
    assert!(preview.halt.is_none());
    assert!(backend.applied.is_empty());
    assert!(!state.join(RECEIPT_LOG).exists());
    assert!(!state.join(APPLIED_SPEC).exists());
}

#[test]
fn an_unapproved_unsafe_plan_is_refused_and_changes_nothing() {
    let (home, state) = dirs();
    let mut backend = Fake::default();
    apply(
        home.path(),
        &state,
        &mut backend,
        &loaded(4),
        &Options::default(),
        &mut Recorded::default(),
    )
    .expect("first apply");
    let done = backend.applied.len();
    let saved = std::fs::read(state.join(APPLIED_SPEC)).expect("applied copy");
    // 4 validators down to 1 loses quorum: unsafe.
    let error = apply(
        home.path(),
        &state,
        &mut backend,
        &loaded(1),
        &Options::default(),
        &mut Recorded::default(),
    )
    .expect_err("refused");
    assert!(matches!(error, ServiceError::Refused(_)), "{error}");
    assert!(error.to_string().contains("--approve"), "{error}");
    assert_eq!(backend.applied.len(), done);
    assert_eq!(
        std::fs::read(state.join(APPLIED_SPEC)).expect("applied copy"),
        saved
    );
}

#[test]
fn a_held_lock_means_busy_and_a_broken_log_means_halted() {
    let (home, state) = dirs();
    let mut backend = Fake::default();
    {
        let _held = ReconcileLock::acquire(&state).expect("lock");
        let error = apply(
            home.path(),
            &state,
            &mut backend,
            &loaded(4),
            &Options::default(),
            &mut Recorded::default(),
        )
        .expect_err("busy");
        assert!(matches!(error, ServiceError::Busy(_)), "{error}");
    }
    apply(
        home.path(),
        &state,
        &mut backend,
        &loaded(4),
        &Options::default(),
        &mut Recorded::default(),
    )
    .expect("applies once the lock is free");
    // Tamper with the receipt log: the StopRule halts every later reconciliation.
    let log = state.join(RECEIPT_LOG);
    let mut tampered = std::fs::read_to_string(&log).expect("log");
    tampered.push_str("{\"payload\":\"not a receipt\"}\n");
    std::fs::write(&log, tampered).expect("tamper");
    let done = backend.applied.len();
    let error = apply(
        home.path(),
        &state,
        &mut backend,
        &loaded(5),
        &Options::default(),
        &mut Recorded::default(),
    )
    .expect_err("halted");
    match &error {
        ServiceError::Halted { remedy, .. } => assert!(!remedy.is_empty()),
        other => panic!("expected Halted, got {other}"),
    }
    assert_eq!(backend.applied.len(), done);
    assert!(current_halt(home.path(), &state).expect("reads").is_some());
}
