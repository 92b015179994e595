//! One module per CLI command group. Each exposes clap arguments and a `run` returning the exit code.
//!
//! The commands are synchronous; the orchestrator core (backends, engine, service) is async.
//! [`block_on`] is the one boundary between them. [`interrupt`] turns the first Ctrl-C (or
//! SIGTERM) into a cancellation that the core honours at its next wait (a reconciliation
//! records what it did and ends `cancelled`); a second one exits at once.

use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

pub mod apply;
pub mod crd;
pub mod down;
pub mod gate;
pub mod keys;
pub mod logs;
pub mod plan;
pub mod receipts;
pub mod resume;
pub mod status;
pub mod tools;
pub mod up;
pub mod validate;

/// Longest wait for the network's lock before a command that needs it (`down`, `resume`,
/// recording gate receipts, tearing a gate run down) gives up on a busy network.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The network directory and receipt log of network `network` under `home`; when the network
/// has no receipt log, prints why and returns the usage exit code.
pub fn receipt_log_of(
    home: &std::path::Path,
    network: &str,
) -> anyhow::Result<Result<(std::path::PathBuf, std::path::PathBuf), ExitCode>> {
    let dir = plan::open_backend(home, network, None)?
        .network_dir()
        .to_owned();
    let log = dir.join(netwright_operator::service::RECEIPT_LOG);
    if !log.is_file() {
        eprintln!(
            "error: network {network:?} has no receipt log under {}",
            dir.display()
        );
        return Ok(Err(exit_usage()));
    }
    Ok(Ok((dir, log)))
}

/// Runs `future` to completion on the CLI's runtime (one current-thread tokio runtime per
/// process, so connections to the nodes are kept between calls).
pub fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if RUNTIME.get().is_none() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let _ = RUNTIME.set(runtime);
    }
    let runtime = RUNTIME
        .get()
        .context("the async runtime is not available")?;
    Ok(runtime.block_on(future))
}

/// Raised by the first SIGINT or SIGTERM (see [`interrupt`]).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The cancellation of the running command: cancelled by the first SIGINT or SIGTERM. Installs
/// the signal handler on first use; the second signal exits with status 130 at once.
pub fn interrupt() -> anyhow::Result<CancellationToken> {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    if let Some(token) = TOKEN.get() {
        return Ok(token.clone());
    }
    let token = CancellationToken::new();
    let cancel = token.clone();
    ctrlc::set_handler(move || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        cancel.cancel();
    })
    .context("installing the SIGINT/SIGTERM handler")?;
    let _ = TOKEN.set(token.clone());
    Ok(token)
}

/// The flag [`interrupt`]'s handler raises, for loops that poll (call [`interrupt`] first).
pub fn interrupted() -> &'static AtomicBool {
    &INTERRUPTED
}

/// The command did what was asked and everything checked holds.
pub fn exit_ok() -> ExitCode {
    ExitCode::SUCCESS
}

/// The input was read but is invalid (or a verification failed).
pub fn exit_invalid() -> ExitCode {
    ExitCode::from(1)
}

/// Usage or I/O error: the command could not do its job.
pub fn exit_usage() -> ExitCode {
    ExitCode::from(2)
}

/// An unsafe plan was not approved, or the approval names another plan: nothing changed.
pub fn exit_refused() -> ExitCode {
    ExitCode::from(3)
}

/// Reconciliation is halted (the receipt log fails verification, or a `stop` receipt is in
/// force): nothing changed until a human acts.
pub fn exit_halted() -> ExitCode {
    ExitCode::from(4)
}

/// Another reconciliation of the same network holds its lock: nothing changed.
pub fn exit_busy() -> ExitCode {
    ExitCode::from(5)
}

/// The reconciliation ran but failed at a step or did not converge; its receipt says which.
pub fn exit_failed() -> ExitCode {
    ExitCode::from(6)
}

/// The command was interrupted (SIGINT or SIGTERM) before it finished; a reconciliation
/// records what it did before it exits (128 + SIGINT, as shells report it).
pub fn exit_interrupted() -> ExitCode {
    ExitCode::from(130)
}
