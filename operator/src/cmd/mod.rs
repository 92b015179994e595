//! One module per CLI command group. Each exposes clap arguments and a `run` returning the exit code.

use std::process::ExitCode;

pub mod apply;
pub mod crd;
pub mod down;
pub mod keys;
pub mod logs;
pub mod plan;
pub mod receipts;
pub mod status;
pub mod tools;
pub mod up;
pub mod validate;

/// The command did what was asked and everything checked holds.
pub fn exit_ok() -> ExitCode {
    ExitCode::SUCCESS
}

/// The input was read but is invalid (or a verification failed).
pub fn exit_invalid() -> ExitCode {
    ExitCode::from(1)
}

/// Usage or I/O error: the command could not do its job.
pub fn exit_usage() -> ExitCode {
    ExitCode::from(2)
}

/// An unsafe plan was not approved, or the approval names another plan: nothing changed.
pub fn exit_refused() -> ExitCode {
    ExitCode::from(3)
}

/// Reconciliation is halted (the receipt log fails verification, or a `stop` receipt is in
/// force): nothing changed until a human acts.
pub fn exit_halted() -> ExitCode {
    ExitCode::from(4)
}

/// Another reconciliation of the same network holds its lock: nothing changed.
pub fn exit_busy() -> ExitCode {
    ExitCode::from(5)
}

/// The reconciliation ran but failed at a step or did not converge; its receipt says which.
pub fn exit_failed() -> ExitCode {
    ExitCode::from(6)
}
