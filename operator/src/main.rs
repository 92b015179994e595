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
    /// Print the plan that reconciling FILE would apply, its risk and digest; change nothing.
    Plan(cmd::plan::Args),
    /// Reconcile a network to FILE, showing the plan first. Exit 0 converged, 1 invalid file,
    /// 2 usage or I/O error, 3 unsafe plan not approved, 4 halted, 5 another reconciliation
    /// runs, 6 a step failed or the network did not converge.
    Apply(cmd::apply::ReconcileArgs),
    /// Reconcile a network to FILE, then watch it live (Ctrl-C stops it), or --detach.
    /// Exit codes as `apply`.
    Up(cmd::up::Args),
    /// The local networks, or the nodes of one network.
    Status(cmd::status::Args),
    /// Print a node's log; -f follows it.
    Logs(cmd::logs::Args),
    /// Stop a network: its supervisor, then every process. --purge also deletes its
    /// directory, keys included.
    Down(cmd::down::Args),
    /// Evaluate a network's milestone gates (`gate run FILE`). Exit 0 every gate passed, 1 a
    /// gate failed or was violated, 2 usage, spec or infrastructure error, 130 interrupted.
    #[command(subcommand)]
    Gate(cmd::gate::Command),
    /// Clear a halt left by a `stop` receipt (a gate violated with onViolation: halt) with a
    /// `resume` receipt giving the reason. Exit 0 resumed or not halted, 4 the log fails
    /// verification, 5 another reconciliation runs.
    Resume(cmd::resume::Args),
    /// Install the external tools local networks use.
    #[command(subcommand)]
    Tools(cmd::tools::Command),
    /// Supervise a network until SIGTERM (started by `up --detach`).
    #[command(hide = true)]
    Supervise(cmd::up::SuperviseArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Validate(args) => cmd::validate::run(args),
        Command::Crd(args) => cmd::crd::run(args),
        Command::Receipts(command) => cmd::receipts::run(command),
        Command::Keys(command) => cmd::keys::run(command),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Apply(args) => cmd::apply::run(args),
        Command::Up(args) => cmd::up::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Logs(args) => cmd::logs::run(args),
        Command::Down(args) => cmd::down::run(args),
        Command::Gate(command) => cmd::gate::run(command),
        Command::Resume(args) => cmd::resume::run(args),
        Command::Tools(command) => cmd::tools::run(command),
        Command::Supervise(args) => cmd::up::supervise(args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            cmd::exit_usage()
        }
    }
}
