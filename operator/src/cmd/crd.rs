//! `netwright crd`: print the Network CustomResourceDefinition.

use std::process::ExitCode;

/// Arguments of `netwright crd`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `netwright crd`: prints the CRD YAML (the same text as the file checked in under `crds/`).
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    print!("{}", netwright_crds::crd::crd_yaml()?);
    Ok(super::exit_ok())
}
