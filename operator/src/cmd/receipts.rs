//! `netwright receipts`.

use std::process::ExitCode;

/// Subcommands of `netwright receipts`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

/// Runs a `netwright receipts` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {}
}
