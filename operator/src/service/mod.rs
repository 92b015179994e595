//! The application layer every front end shares: the CLI, the Kubernetes controller and the
//! Git watcher load a document, preview its plan, and apply it through the same calls here,
//! over any [`Backend`], reporting progress through [`Progress`].
//!
//! [`apply`] is one reconciliation as a user means it: under the network's lock, refused while
//! a halt (the StopRule) is in force, planned, refused when unsafe and not approved, carried
//! out step by step, recorded as a signed receipt in the network's receipt log, and the
//! document saved as the one applied. [`preview`] is the same up to the plan, changing
//! nothing. Front ends keep argument handling and output only.
//!
//! Every network has a state directory on the orchestrator's side (for the local backend,
//! its network directory): it holds the lock, the receipt log ([`RECEIPT_LOG`]) and the copy
//! of the document last applied ([`APPLIED_SPEC`]). The orchestrator's signing key lives in
//! the home directory above it.

pub mod document;
pub mod gates;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use netwright_receipts::keys::{load_verifying_key, KeyFileError};
use netwright_receipts::TrustedKeys;

use crate::backend::{Backend, BackendError};
use crate::durable::{write_atomically, DurableError};
use crate::plan::{plan, Digest, ObservedState, Plan, PlanError};
use crate::reconcile::halt::public_key_of;
use crate::reconcile::sink::{key_paths, orchestrator_key, spec_subject};
use crate::reconcile::{
    check_log, reconcile, Halt, LockError, LogSink, Options, Progress, ReconcileError,
    ReconcileLock, Report, SinkError,
};

pub use document::{load_document, DocumentError, LoadedSpec};
pub use gates::record_gate_transitions;

/// File name, in a network's state directory, of the copy of the document last applied.
pub const APPLIED_SPEC: &str = "network.yaml";

/// File name, in a network's state directory, of the receipt log.
pub const RECEIPT_LOG: &str = "receipts.log";

/// Why a service call did nothing, or could not finish. Every variant but `Receipt` and
/// `SaveApplied` means nothing was changed. (A cancellation after steps ran is not an error:
/// it is recorded and reported as the outcome [`crate::reconcile::Outcome::Cancelled`].)
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Another reconciliation of the network holds its lock.
    #[error("{0}")]
    Busy(LockError),
    /// The lock could not be taken for another reason.
    #[error("locking the network: {0}")]
    Lock(LockError),
    /// A halt (StopRule) is in force; `remedy` says what a human does about it.
    #[error("reconciliation of {network} is halted: {halt}")]
    Halted {
        /// The network.
        network: String,
        /// The halt.
        halt: Box<Halt>,
        /// What to do, with the commands to run.
        remedy: String,
    },
    /// The plan is unsafe and not approved (or the approval names another plan).
    #[error("{0}")]
    Refused(Box<ReconcileError>),
    /// No plan can be made from the document.
    #[error("{}: {error}", path.display())]
    Plan {
        /// The document.
        path: PathBuf,
        /// Why.
        error: PlanError,
    },
    /// The backend could not observe the network.
    #[error("observing the network failed: {0}")]
    Observe(BackendError),
    /// The call was cancelled before anything was changed.
    #[error("cancelled before anything was changed")]
    Cancelled,
    /// The receipt log, the orchestrator's key or a receipt could not be read or written.
    #[error("receipts: {0}")]
    Receipt(String),
    /// The applied document could not be saved (the reconciliation itself was done and
    /// recorded).
    #[error("saving the applied document: {0}")]
    SaveApplied(DurableError),
}

impl From<SinkError> for ServiceError {
    fn from(error: SinkError) -> Self {
        ServiceError::Receipt(error.to_string())
    }
}

impl From<KeyFileError> for ServiceError {
    fn from(error: KeyFileError) -> Self {
        ServiceError::Receipt(error.to_string())
    }
}

/// What reconciling a document would do now.
#[derive(Debug)]
pub struct Preview {
    /// What the backend observed.
    pub observed: ObservedState,
    /// The plan (empty when converged).
    pub plan: Plan,
    /// The plan's digest (what `--approve` names).
    pub digest: Digest,
    /// The halt in force, if any: applying would be refused.
    pub halt: Option<Halt>,
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Applied {
    /// The reconciliation's passes, steps and outcome.
    pub report: Report,
    /// The receipt log it was recorded in.
    pub receipt_log: PathBuf,
    /// The sequence number of its `reconcile` receipt.
    pub receipt_seq: u64,
}

/// The halt in force for the network whose state directory is `state_dir`: the verdict of
/// its receipt log under the orchestrator's public key in `home` (reads only; `None` when
/// there is no log or no key yet).
pub fn current_halt(home: &Path, state_dir: &Path) -> Result<Option<Halt>, ServiceError> {
    let log = state_dir.join(RECEIPT_LOG);
    let (private, _) = key_paths(home);
    let public = public_key_of(&private);
    if !log.is_file() || !public.is_file() {
        return Ok(None);
    }
    let mut trusted = TrustedKeys::new();
    trusted.insert(load_verifying_key(&public)?);
    let bytes = std::fs::read(&log)
        .map_err(|e| ServiceError::Receipt(format!("reading {}: {e}", log.display())))?;
    Ok(check_log(&bytes, &trusted))
}

/// The document last applied to the network whose state directory is `state_dir`, if any.
pub fn load_applied(state_dir: &Path) -> Result<Option<LoadedSpec>, DocumentError> {
    let path = state_dir.join(APPLIED_SPEC);
    if !path.is_file() {
        return Ok(None);
    }
    load_document(&path).map(Some)
}

/// Observes the network and plans `loaded` against it, changing nothing. The observation is
/// bounded by `options.observe_timeout` and ends early when `options.cancel` is cancelled.
pub async fn preview<B: Backend>(
    home: &Path,
    state_dir: &Path,
    backend: &mut B,
    loaded: &LoadedSpec,
    options: &Options,
) -> Result<Preview, ServiceError> {
    let observing = tokio::time::timeout(options.observe_timeout, backend.observe(&loaded.spec));
    let observed = tokio::select! {
        biased;
        () = options.cancel.cancelled() => return Err(ServiceError::Cancelled),
        observed = observing => observed.map_err(|_| {
            ServiceError::Observe(BackendError::new(format!(
                "observing timed out after {} s",
                options.observe_timeout.as_secs_f64()
            )))
        })?,
    }
    .map_err(ServiceError::Observe)?;
    let plan = plan(&loaded.spec, &observed).map_err(|error| ServiceError::Plan {
        path: loaded.path.clone(),
        error,
    })?;
    let halt = current_halt(home, state_dir)?;
    Ok(Preview {
        digest: plan.digest(),
        observed,
        plan,
        halt,
    })
}

/// Reconciles the network to `loaded` through `backend`: under the network's lock, refused
/// while a halt is in force or when the plan is unsafe and `options.approve` does not name
/// it; recorded in `<state_dir>/receipts.log`, signed with the orchestrator's key (created
/// once under `home`); the document saved as the one applied once the reconciliation is
/// recorded, whatever its outcome.
pub async fn apply<B: Backend>(
    home: &Path,
    state_dir: &Path,
    backend: &mut B,
    loaded: &LoadedSpec,
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Applied, ServiceError> {
    let _lock = ReconcileLock::acquire(state_dir).map_err(|error| match error {
        error @ LockError::Busy { .. } => ServiceError::Busy(error),
        error => ServiceError::Lock(error),
    })?;
    let log = state_dir.join(RECEIPT_LOG);
    let (key, _) = key_paths(home);
    let halted = |halt: Halt| ServiceError::Halted {
        network: loaded.name.clone(),
        remedy: halt.remedy(&log, &key, &loaded.name),
        halt: Box::new(halt),
    };
    // Checked before the log is opened for writing: a log that fails verification is
    // reported as a halt, never written to.
    if let Some(halt) = current_halt(home, state_dir)? {
        return Err(halted(halt));
    }
    let signer = orchestrator_key(home)?;
    let subject = spec_subject(&loaded.path, &loaded.bytes);
    let mut sink = LogSink::open(&log, &loaded.name, signer, subject)?;
    let report = match reconcile(backend, &loaded.spec, None, options, &mut sink, progress).await {
        Ok(report) => report,
        Err(ReconcileError::Halted(halt)) => return Err(halted(*halt)),
        Err(error @ ReconcileError::Refused { .. }) => {
            return Err(ServiceError::Refused(Box::new(error)))
        }
        Err(ReconcileError::Plan(error)) => {
            return Err(ServiceError::Plan {
                path: loaded.path.clone(),
                error,
            })
        }
        Err(ReconcileError::Observe(error)) => return Err(ServiceError::Observe(error)),
        Err(ReconcileError::Cancelled) => return Err(ServiceError::Cancelled),
        Err(ReconcileError::Receipt(error)) => return Err(error.into()),
    };
    write_atomically(&state_dir.join(APPLIED_SPEC), &loaded.bytes)
        .map_err(ServiceError::SaveApplied)?;
    Ok(Applied {
        report,
        receipt_log: log,
        receipt_seq: sink.len().saturating_sub(1),
    })
}
