//! `netwright`: the command-line face of the orchestrator.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Declare a proof-of-stake relay network in YAML; validate it, run it, prove what happened.
#[derive(Debug, Parser)]
#[command(name = "netwright", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Network documents: schema, types and semantics. Exit 0 valid, 1 invalid, 2 usage or I/O error.
    Validate(cmd::validate::Args),
    /// Print the Network CustomResourceDefinition as YAML.
    Crd(cmd::crd::Args),
    /// Inspect, verify and prove receipt logs.
    #[command(subcommand)]
    Receipts(cmd::receipts::Command),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(cmd::keys::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Validate(args) => cmd::validate::run(args),
        Command::Crd(args) => cmd::crd::run(args),
        Command::Receipts(command) => cmd::receipts::run(command),
        Command::Keys(command) => cmd::keys::run(command),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            cmd::exit_usage()
        }
    }
}
