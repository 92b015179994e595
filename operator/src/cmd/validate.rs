//! `netwright validate`.

use std::process::ExitCode;

/// Arguments of `netwright validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `netwright validate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("netwright validate is not built yet")
}
