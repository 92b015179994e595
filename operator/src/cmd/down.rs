//! `netwright down`: stop a local network (its supervisor first, then every process).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use netwright_operator::local::list_networks;
use netwright_operator::local::process::{self, Ours};
use netwright_operator::reconcile::{LockError, ReconcileLock};

use super::plan::open_backend;
use super::{exit_busy, exit_ok, exit_usage};

/// File name, in a network's directory, of the detached supervisor's pid and start time
/// (`{"pid": N, "start_time": T}`).
pub const SUPERVISOR_PID: &str = "supervisor.pid";

/// How long the supervisor gets to exit after SIGTERM before it is killed.
const SUPERVISOR_GRACE: Duration = Duration::from_secs(5);

/// How long `down` waits for a running reconciliation to release the network's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Arguments of `netwright down`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network's name (`metadata.name`).
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = super::plan::DEFAULT_HOME)]
    pub home: PathBuf,
    /// Also delete the network's directory: chain data, logs, receipts AND the node,
    /// treasury and application keys. The chain cannot be resumed afterwards.
    #[arg(long)]
    pub purge: bool,
}

/// Runs `netwright down`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut backend = open_backend(&args.home, &args.network, None)?;
    let dir = backend.network_dir().to_owned();
    if !dir.is_dir() {
        let known = list_networks(&args.home);
        eprintln!(
            "error: no network {:?} under {} (networks: {})",
            args.network,
            args.home.display(),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
        return Ok(exit_usage());
    }
    let lock = match wait_for_lock(&dir, LOCK_WAIT) {
        Ok(lock) => lock,
        Err(error @ LockError::Busy { .. }) => {
            eprintln!("refused: {error}; nothing was stopped");
            return Ok(exit_busy());
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(pid) = stop_supervisor(&dir)? {
        println!("stopped supervisor (pid {pid})");
    }
    let stopped = backend.down(false)?;
    for (name, pid) in &stopped.processes {
        println!("stopped {name} (pid {pid})");
    }
    if let Some(reason) = &stopped.unreadable_state {
        eprintln!("warning: {reason}");
        eprintln!(
            "the processes were found from the process files beside their homes and stopped; \
             to run the network again, move {} away and apply the network",
            backend.layout().state().display()
        );
    }
    drop(lock);
    if args.purge {
        backend.down(true)?;
        println!("deleted {} (keys included)", dir.display());
    }
    println!("network {} is down", args.network);
    Ok(exit_ok())
}

/// Takes the network's reconciliation lock, retrying until `wait` has passed.
pub fn wait_for_lock(dir: &Path, wait: Duration) -> Result<ReconcileLock, LockError> {
    let start = Instant::now();
    loop {
        match ReconcileLock::acquire(dir) {
            Err(LockError::Busy { .. }) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Stops the detached supervisor of the network in `dir`, if one runs; returns its pid.
pub fn stop_supervisor(dir: &Path) -> anyhow::Result<Option<u32>> {
    let path = dir.join(SUPERVISOR_PID);
    let Some(supervisor) = supervisor(dir) else {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    };
    process::stop_all(std::slice::from_ref(&supervisor), SUPERVISOR_GRACE);
    if supervisor.is_alive() {
        anyhow::bail!("the supervisor (pid {}) did not stop", supervisor.pid);
    }
    let _ = std::fs::remove_file(&path);
    Ok(Some(supervisor.pid))
}

/// The pid of the network's detached supervisor, when one is alive.
pub fn supervisor_pid(dir: &Path) -> Option<u32> {
    supervisor(dir).map(|s| s.pid)
}

/// The supervisor recorded in `supervisor.pid` if that process is alive, has the recorded
/// start time and is `netwright supervise` of this network; a reused pid is not it.
fn supervisor(dir: &Path) -> Option<Ours> {
    let id = process::read_pid_file(&dir.join(SUPERVISOR_PID))?;
    let network = dir.file_name()?.to_string_lossy();
    let ours = Ours {
        pid: id.pid,
        start_time: Some(id.start_time),
        marker: format!("supervise {network} "),
    };
    ours.is_alive().then_some(ours)
}
