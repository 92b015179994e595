//! `netwright resume`: clear a `stop` receipt (a gate violated with `onViolation: halt`, or a
//! stop appended by hand) by appending a `resume` receipt, so that reconciliation goes on.

use std::path::PathBuf;
use std::process::ExitCode;

use netwright_operator::reconcile::halt::RESUME_KIND;
use netwright_operator::reconcile::sink::{orchestrator_key, spec_subject};
use netwright_operator::reconcile::{Halt, LockError, LogSink, ReceiptSink, ReconcileLock};
use netwright_operator::service::{self, APPLIED_SPEC};
use netwright_receipts::{Kind, Subject};
use serde_json::{json, Map};

use super::{block_on, exit_busy, exit_halted, exit_ok, exit_usage, LOCK_WAIT};

/// Arguments of `netwright resume`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network's name (`metadata.name`).
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Why reconciliation may go on (recorded in the receipt).
    #[arg(long)]
    pub reason: String,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = super::plan::DEFAULT_HOME)]
    pub home: PathBuf,
}

/// Runs `netwright resume`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.reason.trim().is_empty() {
        eprintln!("error: --reason: say why reconciliation may go on");
        return Ok(exit_usage());
    }
    let (dir, log) = match super::receipt_log_of(&args.home, &args.network)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let lock = match block_on(ReconcileLock::acquire_within(&dir, LOCK_WAIT))? {
        Ok(lock) => lock,
        Err(error @ LockError::Busy { .. }) => {
            eprintln!("refused: {error}; nothing was changed");
            return Ok(exit_busy());
        }
        Err(error) => return Err(error.into()),
    };
    match service::current_halt(&args.home, &dir)? {
        None => {
            println!("network {} is not halted; nothing to resume", args.network);
            return Ok(exit_ok());
        }
        Some(halt @ Halt::Log(_)) => {
            eprintln!("refused: {halt}");
            eprintln!("a resume receipt cannot clear a log that fails verification");
            return Ok(exit_halted());
        }
        Some(Halt::Stopped { seq, reason }) => {
            let cause = reason.map(|r| format!(": {r}")).unwrap_or_default();
            println!("clearing the stop receipt (seq {seq}){cause}");
        }
    }
    let subject = match std::fs::read(dir.join(APPLIED_SPEC)) {
        Ok(bytes) => spec_subject(&dir.join(APPLIED_SPEC), &bytes),
        Err(_) => spec_subject(&dir.join(APPLIED_SPEC), &[]),
    };
    append_resume(&args, &log, subject)?;
    drop(lock);
    println!("network {} resumed: {}", args.network, args.reason);
    Ok(exit_ok())
}

fn append_resume(args: &Args, log: &std::path::Path, subject: Subject) -> anyhow::Result<()> {
    let signer = orchestrator_key(&args.home)?;
    let mut sink = LogSink::open(log, &args.network, signer, subject)?;
    let mut body = Map::new();
    body.insert("reason".into(), json!(args.reason));
    sink.append(Kind::parse(RESUME_KIND).map_err(anyhow::Error::msg)?, body)?;
    Ok(())
}
