//! `netwright down`: stop a local network (its supervisor first, then every process).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use netwright_operator::backend::local::{daemon, list_networks};
use netwright_operator::reconcile::LockError;

use super::plan::open_backend;
use super::{exit_busy, exit_ok, exit_usage};

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
    let lock = match daemon::wait_for_lock(&dir, LOCK_WAIT) {
        Ok(lock) => lock,
        Err(error @ LockError::Busy { .. }) => {
            eprintln!("refused: {error}; nothing was stopped");
            return Ok(exit_busy());
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(pid) = daemon::stop(&dir)? {
        println!("stopped supervisor (pid {pid})");
    }
    let stopped = super::block_on(backend.down(false))??;
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
        super::block_on(backend.down(true))??;
        println!("deleted {} (keys included)", dir.display());
    }
    println!("network {} is down", args.network);
    Ok(exit_ok())
}
