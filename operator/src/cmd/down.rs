//! `netwright down`: stop a local network (its supervisor first, then every process).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use netwright_operator::local::list_networks;
use netwright_operator::reconcile::{LockError, ReconcileLock};

use super::plan::open_backend;
use super::{exit_busy, exit_ok, exit_usage};

/// File name, in a network's directory, of the detached supervisor's pid.
pub const SUPERVISOR_PID: &str = "supervisor.pid";

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
    let running = backend.live_processes()?;
    backend.down(false)?;
    for (name, pid) in &running {
        println!("stopped {name} (pid {pid})");
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
    let Some(pid) = supervisor_pid(dir) else {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    };
    signal(pid, libc::SIGTERM);
    let start = Instant::now();
    while is_supervisor(pid) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if is_supervisor(pid) {
        signal(pid, libc::SIGKILL);
        while is_supervisor(pid) && start.elapsed() < Duration::from_secs(7) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if is_supervisor(pid) {
        anyhow::bail!("the supervisor (pid {pid}) did not stop");
    }
    let _ = std::fs::remove_file(&path);
    Ok(Some(pid))
}

/// The pid of the network's detached supervisor, when one is alive.
pub fn supervisor_pid(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join(SUPERVISOR_PID)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_supervisor(pid).then_some(pid)
}

/// Whether `pid` is a live (not zombie) `netwright supervise` process.
fn is_supervisor(pid: u32) -> bool {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    cmdline.split(|b| *b == 0).any(|arg| arg == b"supervise")
}

fn signal(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and has no memory effects on this process.
    unsafe {
        libc::kill(pid, signal);
    }
}
