//! The reconciliation loop: the I/O around the pure planner, through the backend trait.
//!
//! Every wait on the backend is bounded: an observation by [`Options::observe_timeout`], a
//! step by [`Options::step_timeout`], and every one of them ends early when
//! [`Options::cancel`] is cancelled (Ctrl-C in the CLI, a controller shutting down). A step
//! that times out fails the reconciliation; a cancellation stops it. Either way, once a step
//! has started, the network is observed again and the `reconcile` receipt records what was
//! done and how it ended.

use std::future::Future;
use std::time::Duration;

use netwright_crds::EffectiveSpec;
use netwright_receipts::Kind;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::approval::{decide, unsafe_reasons, Decision};
use super::halt::Halt;
use super::record::{approval_body, reconcile_body, step_line, PassRecord};
use super::sink::SinkError;
use crate::backend::{Backend, BackendError};
use crate::plan::{desired_topology, plan, Digest, ObservedState, Plan, PlanError, Risk};

pub use super::record::Outcome;

/// Default number of passes (apply, observe, re-plan) before giving up on converging.
pub const DEFAULT_MAX_PASSES: usize = 3;

/// Default longest wait for one observation of the network.
pub const DEFAULT_OBSERVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default longest wait for one step. Backends bound their own waits (the local backend
/// gives up waiting for the chain after 180 s); this bounds a backend that does not.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);

/// How to reconcile.
#[derive(Debug, Clone)]
pub struct Options {
    /// The plan digest the operator approved (`--approve`), if any.
    pub approve: Option<Digest>,
    /// Most passes to make; after each pass the network is observed and planned again, and
    /// the next pass runs when that plan is not empty.
    pub max_passes: usize,
    /// Longest wait for one observation.
    pub observe_timeout: Duration,
    /// Longest wait for one step.
    pub step_timeout: Duration,
    /// Cancelling it stops the reconciliation at its next wait (see the module docs).
    pub cancel: CancellationToken,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            approve: None,
            max_passes: DEFAULT_MAX_PASSES,
            observe_timeout: DEFAULT_OBSERVE_TIMEOUT,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            cancel: CancellationToken::new(),
        }
    }
}

/// Why a bounded wait ended without its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupted {
    /// The limit passed.
    TimedOut(Duration),
    /// The reconciliation was cancelled.
    Cancelled,
}

/// Runs `work` until it finishes, `limit` passes or `cancel` is cancelled, whichever comes
/// first; an unfinished `work` is dropped.
async fn bounded<T>(
    work: impl Future<Output = T>,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<T, Interrupted> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Interrupted::Cancelled),
        done = tokio::time::timeout(limit, work) => done.map_err(|_| Interrupted::TimedOut(limit)),
    }
}

/// The text of a wait that timed out.
fn timed_out(what: &str, limit: Duration) -> String {
    format!("{what} timed out after {} s", limit.as_secs_f64())
}

/// Where receipts go: the network's receipt log, or a test double. Appending is a short
/// local write, done in place.
pub trait ReceiptSink: Send {
    /// The key id that signs, named as the approver of approvals.
    fn approver(&self) -> String;
    /// Appends one receipt of `kind` with `body` about the spec in force.
    fn append(&mut self, kind: Kind, body: Map<String, Value>) -> Result<(), SinkError>;
}

/// Callbacks that let a view follow a reconciliation. Every method does nothing by default.
pub trait Progress: Send {
    /// A plan was made for pass `pass` (from 1); the first one is shown before anything is
    /// decided or applied.
    fn plan(&mut self, _pass: usize, _plan: &Plan) {}
    /// Step `index` (from 0) of `plan` is about to be applied.
    fn step_started(&mut self, _pass: usize, _index: usize, _plan: &Plan) {}
    /// Step `index` of `plan` finished, with the backend's error if it failed.
    fn step_finished(
        &mut self,
        _pass: usize,
        _index: usize,
        _plan: &Plan,
        _error: Option<&BackendError>,
    ) {
    }
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentProgress;

impl Progress for SilentProgress {}

/// What a reconciliation did. A receipt recording it was written.
#[derive(Debug, Clone)]
pub struct Report {
    /// Each pass's plan and the steps done, in order; the last plan is the one that was
    /// empty when the network converged.
    pub passes: Vec<PassRecord>,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether an approval receipt was written for the first plan.
    pub approved: bool,
    /// The state observed before anything was done.
    pub before: ObservedState,
    /// The state observed at the end, when observing worked.
    pub after: Option<ObservedState>,
}

impl Report {
    /// The first plan (the one shown and approved).
    pub fn first_plan(&self) -> Option<&Plan> {
        self.passes.first().map(|p| &p.plan)
    }

    /// Number of steps carried out over all passes.
    pub fn steps_done(&self) -> usize {
        self.passes.iter().map(|p| p.done.len()).sum()
    }
}

/// Why a reconciliation did not run or could not be recorded. When it did not run, nothing
/// was changed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A halt is in force.
    #[error("reconciliation is halted: {0}")]
    Halted(Box<Halt>),
    /// The plan is unsafe and not approved, or the approval names another plan.
    #[error("{}", refusal_text(.decision))]
    Refused {
        /// The plan refused.
        plan: Box<Plan>,
        /// Why.
        decision: Decision,
    },
    /// The backend could not observe the network.
    #[error("observing the network failed: {0}")]
    Observe(BackendError),
    /// The reconciliation was cancelled before anything was done.
    #[error("cancelled before anything was done")]
    Cancelled,
    /// No plan could be made from the spec.
    #[error("planning failed: {0}")]
    Plan(#[from] PlanError),
    /// A receipt could not be written.
    #[error("writing a receipt failed: {0}")]
    Receipt(#[from] SinkError),
}

fn refusal_text(decision: &Decision) -> String {
    match decision {
        Decision::NeedsApproval { digest, reasons } => format!(
            "the plan is unsafe and needs approval: rerun with --approve {digest} once you \
             accept:\n  {}",
            reasons.join("\n  ")
        ),
        Decision::WrongApproval { approved, digest } => format!(
            "--approve {approved} names another plan; the plan now is {digest}: review it and \
             approve that digest if you accept it"
        ),
        Decision::Proceed | Decision::Approved => "the plan was allowed".into(),
    }
}

/// Reconciles the network of `spec` through `backend`.
///
/// `halt` is the halt in force, if any (see [`super::check_log`]). Refusals (a halt, an
/// unapproved unsafe plan) and a cancellation during the first observation return an error
/// before anything changes and write no receipt. Once actions run, one `reconcile` receipt
/// is written whatever the outcome (a cancellation or a timeout included), and the report
/// says how it ended.
pub async fn reconcile<B: Backend>(
    backend: &mut B,
    spec: &EffectiveSpec,
    halt: Option<Halt>,
    options: &Options,
    sink: &mut dyn ReceiptSink,
    progress: &mut dyn Progress,
) -> Result<Report, ReconcileError> {
    if let Some(halt) = halt {
        return Err(ReconcileError::Halted(Box::new(halt)));
    }
    let topology = desired_topology(spec).map_err(PlanError::from)?;
    let cancel = &options.cancel;
    let before = match bounded(backend.observe(spec), options.observe_timeout, cancel).await {
        Ok(observed) => observed.map_err(ReconcileError::Observe)?,
        Err(Interrupted::Cancelled) => return Err(ReconcileError::Cancelled),
        Err(Interrupted::TimedOut(limit)) => {
            return Err(ReconcileError::Observe(BackendError::new(timed_out(
                "observing",
                limit,
            ))))
        }
    };
    let mut current = plan(spec, &before)?;
    progress.plan(1, &current);
    let decision = decide(&current, options.approve);
    let approved = match decision {
        Decision::Proceed => false,
        Decision::Approved => {
            let body = approval_body(&current, &sink.approver(), &unsafe_reasons(&current));
            sink.append(Kind::Approval, body)?;
            true
        }
        Decision::NeedsApproval { .. } | Decision::WrongApproval { .. } => {
            return Err(ReconcileError::Refused {
                plan: Box::new(current),
                decision,
            })
        }
    };

    let mut passes = Vec::new();
    let mut after = Some(before.clone());
    let mut pass = 1;
    let outcome = loop {
        if current.is_empty() {
            passes.push(PassRecord {
                plan: current,
                done: Vec::new(),
            });
            break Outcome::Converged;
        }
        if pass > 1 {
            progress.plan(pass, &current);
        }
        let stop = if pass > options.max_passes {
            Some(format!(
                "still {} step(s) to do after {} pass(es)",
                current.steps.len(),
                options.max_passes
            ))
        } else if pass > 1 && current.risk() == Risk::Unsafe {
            Some(format!(
                "the next plan {} is unsafe and needs its own approval",
                current.digest()
            ))
        } else {
            None
        };
        if let Some(reason) = stop {
            passes.push(PassRecord {
                plan: current,
                done: Vec::new(),
            });
            break Outcome::NotConverged { reason };
        }

        let mut done = Vec::new();
        let mut ended = None;
        for (index, step) in current.steps.iter().enumerate() {
            if cancel.is_cancelled() {
                ended = Some(Outcome::Cancelled {
                    pass,
                    during: format!("before step {}", index + 1),
                });
                break;
            }
            progress.step_started(pass, index, &current);
            let work = backend.apply(spec, &topology, &step.action);
            let result = match bounded(work, options.step_timeout, cancel).await {
                Ok(result) => result,
                Err(Interrupted::TimedOut(limit)) => Err(BackendError::new(timed_out(
                    &step.action.canonical(),
                    limit,
                ))),
                Err(Interrupted::Cancelled) => {
                    let error = BackendError::new("cancelled");
                    progress.step_finished(pass, index, &current, Some(&error));
                    ended = Some(Outcome::Cancelled {
                        pass,
                        during: format!("step {} ({})", index + 1, step.action.canonical()),
                    });
                    break;
                }
            };
            progress.step_finished(pass, index, &current, result.as_ref().err());
            match result {
                Ok(()) => done.push(step_line(index, step)),
                Err(error) => {
                    ended = Some(Outcome::Failed {
                        pass,
                        step: index + 1,
                        error: error.to_string(),
                    });
                    break;
                }
            }
        }
        passes.push(PassRecord {
            plan: current.clone(),
            done,
        });
        if let Some(ended) = ended {
            // What the interrupted or failed step left behind, for the receipt; bounded by
            // its own limit only, so that a cancelled reconciliation still records it.
            let observed = bounded(
                backend.observe(spec),
                options.observe_timeout,
                &CancellationToken::new(),
            )
            .await;
            after = observed.ok().and_then(Result::ok);
            break ended;
        }
        let observed = match bounded(backend.observe(spec), options.observe_timeout, cancel).await {
            Ok(Ok(state)) => state,
            Ok(Err(error)) => {
                after = None;
                break Outcome::NotConverged {
                    reason: format!("observing after pass {pass} failed: {error}"),
                };
            }
            Err(Interrupted::TimedOut(limit)) => {
                after = None;
                break Outcome::NotConverged {
                    reason: format!(
                        "observing after pass {pass} failed: {}",
                        timed_out("observing", limit)
                    ),
                };
            }
            Err(Interrupted::Cancelled) => {
                after = None;
                break Outcome::Cancelled {
                    pass,
                    during: format!("observing after pass {pass}"),
                };
            }
        };
        current = match plan(spec, &observed) {
            Ok(next) => next,
            Err(error) => {
                after = Some(observed);
                break Outcome::NotConverged {
                    reason: format!("planning pass {} failed: {error}", pass + 1),
                };
            }
        };
        after = Some(observed);
        pass += 1;
    };

    let after_summary = after.as_ref().map(ObservedState::summary);
    let body = reconcile_body(&passes, &outcome, &before.summary(), after_summary.as_ref());
    sink.append(Kind::Reconcile, body)?;
    Ok(Report {
        passes,
        outcome,
        approved,
        before,
        after,
    })
}
