//! `netwright tools`: install the external tools local networks use.

use std::process::ExitCode;

use netwright_operator::backend::local::{find_anvil, install_anvil};

use super::exit_ok;

/// Subcommands of `netwright tools`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Install anvil (the managed Ethereum relay chain) from its npm package, unless it is
    /// already installed.
    Install,
}

/// Runs a `netwright tools` subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Install => {
            if let Ok(path) = find_anvil(None) {
                println!("anvil already installed: {}", path.display());
                return Ok(exit_ok());
            }
            let path = install_anvil()?;
            println!("installed anvil: {}", path.display());
            Ok(exit_ok())
        }
    }
}
