//! `netwright keys`.

use std::process::ExitCode;

/// Subcommands of `netwright keys`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

/// Runs a `netwright keys` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {}
}
