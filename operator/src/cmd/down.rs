//! `netwright down`: stop a local network (its supervisor first, then every process).

use std::path::PathBuf;
use std::process::ExitCode;

use netwright_operator::backend::local::{daemon, list_networks, LocalBackend, Stopped};
use netwright_operator::reconcile::{LockError, ReconcileLock};

use super::plan::open_backend;
use super::{block_on, exit_busy, exit_ok, exit_usage, LOCK_WAIT};

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
    let (supervisor, stopped) = match stop_network(&mut backend)? {
        Ok(stopped) => stopped,
        Err(error) => {
            eprintln!("refused: {error}; nothing was stopped");
            return Ok(exit_busy());
        }
    };
    if let Some(pid) = supervisor {
        println!("stopped supervisor (pid {pid})");
    }
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
    if args.purge {
        block_on(backend.down(true))??;
        println!("deleted {} (keys included)", dir.display());
    }
    println!("network {} is down", args.network);
    Ok(exit_ok())
}

/// Stops the network's detached supervisor, then every node and relay chain (keeping state,
/// chain data and keys), under the network's lock, waiting for it up to [`LOCK_WAIT`].
/// Returns the supervisor's pid (if one ran) and what was stopped, or the busy lock when
/// another reconciliation held it (then nothing was stopped).
pub fn stop_network(
    backend: &mut LocalBackend,
) -> anyhow::Result<Result<(Option<u32>, Stopped), LockError>> {
    let dir = backend.network_dir().to_owned();
    let _lock = match block_on(ReconcileLock::acquire_within(&dir, LOCK_WAIT))? {
        Ok(lock) => lock,
        Err(error @ LockError::Busy { .. }) => return Ok(Err(error)),
        Err(error) => return Err(error.into()),
    };
    let supervisor = daemon::stop(&dir)?;
    let stopped = block_on(backend.down(false))??;
    Ok(Ok((supervisor, stopped)))
}
