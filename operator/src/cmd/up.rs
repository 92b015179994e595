//! `netwright up`: reconcile a network, then watch it live (or leave a detached supervisor);
//! and the hidden `netwright supervise`, which runs the local backend's supervisor daemon
//! (`backend::local::daemon`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use netwright_operator::backend::local::daemon::{
    self, describe, sleep_unless, supervise_once, Supervised,
};
use netwright_operator::backend::local::{find_anvil, install_anvil, LocalBackend};
use netwright_operator::backend::Backend;
use netwright_operator::plan::desired_topology;
use netwright_operator::reconcile::Outcome;
use netwright_receipts::Timestamp;

use super::apply::{prepare, reconcile_network, report_outcome, StepView};
use super::plan::{open_backend, DEFAULT_HOME};
use super::status::render_nodes;
use super::{block_on, exit_ok, exit_usage, interrupt, interrupted};

/// Time between two refreshes of the live view and two supervision passes.
const TICK: Duration = Duration::from_secs(1);

/// Arguments of `netwright up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub reconcile: super::apply::ReconcileArgs,
    /// Return once the network is up, leaving a detached supervisor that restarts crashed
    /// nodes (`netwright down NETWORK` stops both).
    #[arg(long)]
    pub detach: bool,
    /// Install anvil first if the network has a managed relay chain and anvil is missing.
    #[arg(long)]
    pub install_tools: bool,
}

/// Arguments of the hidden `netwright supervise`.
#[derive(Debug, clap::Args)]
pub struct SuperviseArgs {
    /// The network's name.
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_HOME)]
    pub home: PathBuf,
    /// Milliseconds between two supervision passes.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub interval_ms: u64,
}

/// Runs `netwright up`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (loaded, options) = match prepare(&args.reconcile)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let home = &args.reconcile.target.home;
    let mut anvil = None;
    if args.install_tools && needs_anvil(&loaded.spec) && find_anvil(None).is_err() {
        println!("anvil is missing; installing it");
        anvil = Some(install_anvil()?);
    }
    let mut backend = open_backend(home, &loaded.name, anvil)?;
    let mut view = StepView::new();
    let options = netwright_operator::reconcile::Options {
        cancel: interrupt()?,
        ..options
    };
    let report = match reconcile_network(&mut backend, &loaded, home, &options, &mut view)? {
        Ok(report) => report,
        Err(code) => return Ok(code),
    };
    let code = report_outcome(&report);
    if !matches!(report.outcome, Outcome::Converged) {
        return Ok(code);
    }
    if args.detach {
        let pid = spawn_supervisor(home, &loaded.name, backend.network_dir())?;
        println!("network {} is up; supervisor pid {pid}", loaded.name);
        let home = home.display();
        println!("  netwright status {} --home {home}", loaded.name);
        println!("  netwright down {} --home {home}", loaded.name);
        return Ok(exit_ok());
    }
    watch(&mut backend, &loaded.spec, &loaded.name, interrupted())?;
    println!("stopping network {}", loaded.name);
    daemon::stop(backend.network_dir())?;
    block_on(backend.down(false))??;
    println!(
        "network {} is down (state and keys kept; `netwright up` resumes it)",
        loaded.name
    );
    Ok(exit_ok())
}

/// Whether the spec declares a managed relay chain (which needs anvil).
fn needs_anvil(spec: &netwright_crds::EffectiveSpec) -> bool {
    desired_topology(spec).is_ok_and(|t| !t.managed_chains.is_empty())
}

/// The live view: every tick a supervision pass, then the node table. Returns when `stop`
/// is raised.
fn watch(
    backend: &mut LocalBackend,
    spec: &netwright_crds::EffectiveSpec,
    name: &str,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal();
    let mut events: Vec<String> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let now = Timestamp::now().to_string();
        let mut fresh = Vec::new();
        match supervise_once(backend) {
            Some(Ok(list)) => fresh.extend(list.iter().map(|e| format!("{now} {}", describe(e)))),
            Some(Err(error)) => fresh.push(format!("{now} supervision failed: {error}")),
            None => {}
        }
        let (nodes, chains) = match block_on(backend.status(spec))? {
            Ok(status) => status,
            Err(error) => {
                fresh.push(format!("{now} status failed: {error}"));
                (Vec::new(), Vec::new())
            }
        };
        let height = nodes.iter().filter_map(|n| n.height).max();
        let mut out = std::io::stdout().lock();
        if tty {
            events.extend(fresh);
            let keep = events.len().saturating_sub(8);
            events.drain(..keep);
            write!(out, "\x1b[H\x1b[2J")?;
            writeln!(
                out,
                "network {name}  height {}  {now}  (Ctrl-C stops the network)",
                height.map_or("-".into(), |h| h.to_string())
            )?;
            write!(out, "{}", render_nodes(&nodes, &chains))?;
            for event in &events {
                writeln!(out, "{event}")?;
            }
        } else {
            let count = |f: fn(&netwright_operator::backend::NodeStatus) -> bool| {
                nodes.iter().filter(|n| f(n)).count()
            };
            writeln!(
                out,
                "{now} height {} running {}/{} healthy {}/{} restarts {}",
                height.map_or("-".into(), |h| h.to_string()),
                count(|n| n.running),
                nodes.len(),
                count(|n| n.healthy),
                nodes.len(),
                nodes.iter().map(|n| n.restarts).sum::<u64>()
            )?;
            for event in fresh {
                writeln!(out, "{event}")?;
            }
        }
        out.flush()?;
        drop(out);
        sleep_unless(stop, TICK);
    }
    Ok(())
}

/// Starts `netwright supervise NETWORK --home HOME` detached, unless one already runs;
/// returns its pid.
fn spawn_supervisor(home: &Path, network: &str, dir: &Path) -> anyhow::Result<u32> {
    let exe = std::env::current_exe().context("locating the netwright binary")?;
    let home = std::path::absolute(home).context("resolving --home")?;
    let mut command = Command::new(exe);
    command
        .arg("supervise")
        .arg(network)
        .arg("--home")
        .arg(&home);
    Ok(daemon::spawn(dir, command)?)
}

/// Runs the hidden `netwright supervise`: the local backend's supervisor daemon, until
/// SIGTERM or SIGINT. A second supervisor of the same network exits at once.
pub fn supervise(args: SuperviseArgs) -> anyhow::Result<ExitCode> {
    let mut backend = open_backend(&args.home, &args.network, None)?;
    if !backend.network_dir().is_dir() {
        eprintln!(
            "error: no network {:?} under {}",
            args.network,
            args.home.display()
        );
        return Ok(exit_usage());
    }
    interrupt()?;
    let interval = Duration::from_millis(args.interval_ms.max(100));
    match daemon::run(
        &mut backend,
        interval,
        interrupted(),
        &mut std::io::stdout(),
    )? {
        Supervised::AlreadySupervised => {
            println!("network {} is already supervised", args.network)
        }
        Supervised::Stopped => {}
    }
    Ok(exit_ok())
}
