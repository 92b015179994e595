//! One module per CLI command group. Each exposes clap arguments and a `run` returning the exit code.

use std::process::ExitCode;

pub mod crd;
pub mod keys;
pub mod receipts;
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
