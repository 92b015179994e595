//! `netwright gate`: `gate run` brings a network up if needed, samples its nodes, evaluates its
//! gates until every selected gate has a verdict, records every transition as a receipt, and
//! reports; `gate status` reads what was recorded.
//!
//! - transitions become `gate` (and `stop`) receipts through
//!   [`netwright_operator::service::record_gate_transitions`], the rule every front end shares;
//! - [`report`]: the live and final tables, the verdict lines and the JUnit report;
//! - [`status`]: `netwright gate status`, from the receipt log.

mod report;
mod status;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use netwright_crds::effective::EffectiveGate;
use netwright_operator::backend::local::LocalBackend;
use netwright_operator::gates::sampler::{NodeEndpoint, Sampler};
use netwright_operator::gates::{select, Evaluator, GateState};
use netwright_operator::plan::Role;
use netwright_operator::reconcile::sink::{key_paths, orchestrator_key};
use netwright_operator::reconcile::{Options, Outcome as ReconcileOutcome};
use netwright_operator::service::{self, RECEIPT_LOG};
use netwright_receipts::{LogOptions, LogWriter};
use tokio_util::sync::CancellationToken;

use super::apply::{reconcile_network, StepView};
use super::plan::{load_spec, open_backend, LoadedSpec, NetworkFile, Output};
use super::{block_on, exit_interrupted, exit_invalid, exit_ok, exit_usage, interrupt, LOCK_WAIT};
use report::{junit_xml, print_final, verdict_message, LiveTable};
use status::gate_status;

/// Subcommands of `netwright gate`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Evaluate a network's gates: bring it up if it is not converged, sample every node each
    /// interval until every selected gate has a verdict, record each gate transition as a
    /// receipt, and tear the network down (unless --keep). Exit 0 every gate passed, 1 a gate
    /// failed or was violated, 2 usage, spec or infrastructure error, 130 interrupted.
    Run(RunArgs),
    /// The gates of a network as its receipt log records them: each gate's latest transition
    /// (state, reason, conditions and observed values), and the halt in force if any.
    Status(StatusArgs),
}

/// Arguments of `netwright gate status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The network's name (`metadata.name`).
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = super::plan::DEFAULT_HOME)]
    pub home: PathBuf,
    /// Output format: `text` or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Arguments of `netwright gate run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: NetworkFile,
    /// Evaluate only this gate and the gates it comes after (repeatable; default: every gate).
    #[arg(long = "gate", value_name = "NAME")]
    pub gates: Vec<String>,
    /// Write a JUnit XML report here: one test case per gate.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Export the network's receipt log here, with a signed checkpoint (FILE.checkpoints/)
    /// and the orchestrator's public key (FILE.pub), for `netwright receipts verify`.
    #[arg(long, value_name = "FILE")]
    pub receipts: Option<PathBuf>,
    /// Leave the network running afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Milliseconds between two samples of the nodes.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub interval_ms: u64,
}

/// Runs `netwright gate`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run_gates(args),
        Command::Status(args) => gate_status(args),
    }
}

/// Runs `netwright gate run`.
fn run_gates(args: RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_spec(&args.target.file)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let gates = match selected_gates(&loaded, &args.gates) {
        Ok(gates) => gates,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(exit_usage());
        }
    };
    let evaluator = match Evaluator::new(&gates) {
        Ok(evaluator) => evaluator,
        Err(error) => {
            eprintln!("{}: error: {error}", loaded.path.display());
            return Ok(exit_usage());
        }
    };
    let home = args.target.home.clone();
    let cancel = interrupt()?;
    let mut backend = open_backend(&home, &loaded.name, None)?;
    if let Err(code) = bring_up(&mut backend, &loaded, &home, &cancel)? {
        return Ok(code);
    }
    let outcome = evaluate(&args, &loaded, &home, &backend, evaluator, &cancel);
    if !args.keep {
        tear_down(&mut backend, &loaded.name)?;
    }
    let (evaluator, interrupted) = outcome?;
    let status = evaluator.status();
    print_final(&status);
    if let Some(junit) = &args.junit {
        let elapsed = evaluator.last_at_ms().unwrap_or(0);
        std::fs::write(junit, junit_xml(&loaded.name, &status, elapsed))
            .with_context(|| format!("writing {}", junit.display()))?;
        println!("junit: {}", junit.display());
    }
    if let Some(target) = &args.receipts {
        export_receipts(&home, backend.network_dir(), &loaded.name, target)?;
    }
    if interrupted {
        eprintln!("interrupted before every gate had a verdict");
        return Ok(exit_interrupted());
    }
    let mut code = exit_ok();
    for gate in &status {
        if gate.state != GateState::Passed {
            eprintln!(
                "gate {} {}: {}",
                gate.name,
                gate.state,
                verdict_message(gate)
            );
            code = exit_invalid();
        }
    }
    Ok(code)
}

/// The gates `names` select (and the gates they come after), or every gate.
fn selected_gates(loaded: &LoadedSpec, names: &[String]) -> Result<Vec<EffectiveGate>, String> {
    let all = &loaded.spec.gates;
    let gates = if names.is_empty() {
        all.clone()
    } else {
        select(all, names).map_err(|e| format!("--gate: {e}"))?
    };
    if gates.is_empty() {
        return Err(format!("{}: declares no gate", loaded.path.display()));
    }
    Ok(gates)
}

/// Reconciles the network unless it is converged already (as `apply` does); any refusal or
/// unfinished reconciliation is printed and returned as exit code 2 (130 when interrupted).
fn bring_up(
    backend: &mut LocalBackend,
    loaded: &LoadedSpec,
    home: &Path,
    cancel: &CancellationToken,
) -> anyhow::Result<Result<(), ExitCode>> {
    let options = Options {
        cancel: cancel.clone(),
        ..Options::default()
    };
    let dir = backend.network_dir().to_owned();
    match block_on(service::preview(home, &dir, backend, loaded, &options))? {
        Ok(preview) if preview.plan.is_empty() && preview.halt.is_none() => {
            println!("network {} is converged", loaded.name);
            return Ok(Ok(()));
        }
        Ok(_) => {}
        Err(service::ServiceError::Cancelled) => return Ok(Err(exit_interrupted())),
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(Err(exit_usage()));
        }
    }
    let mut view = StepView::new();
    match reconcile_network(backend, loaded, home, &options, &mut view)? {
        Ok(report) => match report.outcome {
            ReconcileOutcome::Converged => Ok(Ok(())),
            ReconcileOutcome::Cancelled { .. } => Ok(Err(exit_interrupted())),
            other => {
                eprintln!("the network did not come up: {other:?}");
                Ok(Err(exit_usage()))
            }
        },
        Err(code) if code == exit_interrupted() => Ok(Err(code)),
        Err(_) => Ok(Err(exit_usage())),
    }
}

/// Samples and evaluates until every gate has a verdict or the run is interrupted; returns
/// the evaluator and whether it was interrupted.
fn evaluate(
    args: &RunArgs,
    loaded: &LoadedSpec,
    home: &Path,
    backend: &LocalBackend,
    mut evaluator: Evaluator,
    cancel: &CancellationToken,
) -> anyhow::Result<(Evaluator, bool)> {
    let dir = backend.network_dir();
    let interval = Duration::from_millis(args.interval_ms.max(50));
    let deadline = interval.clamp(Duration::from_millis(500), Duration::from_secs(3));
    let mut table = LiveTable::new();
    let mut sampler = Sampler::new();
    let started = Instant::now();
    let mut interrupted = false;
    loop {
        let endpoints = endpoints(backend)?;
        let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let sampled = block_on(async {
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                s = sampler.sample(&endpoints, at_ms, deadline) => Some(s),
            }
        })?;
        let Some(sampled) = sampled else {
            interrupted = true;
            break;
        };
        let transitions = evaluator.observe(&sampled)?;
        for transition in &transitions {
            table.line(&transition.to_string());
        }
        let halted = block_on(service::record_gate_transitions(
            home,
            dir,
            loaded,
            &transitions,
            LOCK_WAIT,
        ))??;
        for gate in halted {
            eprintln!(
                "gate {gate} violated with onViolation: halt: reconciliation is halted until \
                 `netwright resume`"
            );
        }
        table.draw(&evaluator.status(), at_ms);
        if evaluator.decided() {
            break;
        }
        let next = interval.saturating_sub(
            started
                .elapsed()
                .saturating_sub(Duration::from_millis(at_ms)),
        );
        let stopped = block_on(async {
            tokio::select! {
                biased;
                () = cancel.cancelled() => true,
                () = tokio::time::sleep(next) => false,
            }
        })?;
        if stopped {
            interrupted = true;
            break;
        }
    }
    table.clear();
    Ok((evaluator, interrupted))
}

/// Where every node of the network listens, as the local backend recorded it.
fn endpoints(backend: &LocalBackend) -> anyhow::Result<Vec<NodeEndpoint>> {
    let state = backend.state()?;
    let mut out = Vec::with_capacity(state.nodes.len());
    for (name, node) in &state.nodes {
        let process = &node.process;
        let epoch = process
            .started_ms
            .or(process.pid.map(u64::from))
            .unwrap_or(0);
        out.push(NodeEndpoint {
            name: name.clone(),
            validator: node.role == Role::Validator,
            epoch,
            client: backend.rpc().at(node.rpc_port)?,
        });
    }
    Ok(out)
}

/// Stops the network as `netwright down` does, keeping its state.
fn tear_down(backend: &mut LocalBackend, network: &str) -> anyhow::Result<()> {
    match super::down::stop_network(backend)? {
        Ok(_) => println!("network {network} is down"),
        Err(error) => eprintln!("warning: {error}; the network was left running"),
    }
    Ok(())
}

/// Copies the receipt log to `target`, signs a checkpoint over it into
/// `target.checkpoints/`, and copies the orchestrator's public key to `target.pub`.
fn export_receipts(
    home: &Path,
    network_dir: &Path,
    network: &str,
    target: &Path,
) -> anyhow::Result<()> {
    let log = network_dir.join(RECEIPT_LOG);
    std::fs::copy(&log, target)
        .with_context(|| format!("copying {} to {}", log.display(), target.display()))?;
    let options = LogOptions {
        network: network.to_owned(),
        origin: None,
        checkpoint_every: None,
    };
    let mut writer = LogWriter::open(target, orchestrator_key(home)?, options)?;
    let (_, note) = writer.checkpoint()?;
    drop(writer);
    let (_, public) = key_paths(home);
    let key = PathBuf::from(format!("{}.pub", target.display()));
    std::fs::copy(&public, &key)
        .with_context(|| format!("copying {} to {}", public.display(), key.display()))?;
    println!(
        "receipts: {} (verify: netwright receipts verify {} --key {} --checkpoint {})",
        target.display(),
        target.display(),
        key.display(),
        note.display()
    );
    Ok(())
}
