//! `netwright crd`.

use std::process::ExitCode;

/// Arguments of `netwright crd`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `netwright crd`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("netwright crd is not built yet")
}
