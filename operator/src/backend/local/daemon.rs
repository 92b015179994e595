//! The detached supervisor of a local network: a background `netwright supervise NETWORK`
//! process that runs a supervision pass (restart crashed nodes with backoff) every interval,
//! under the network's lock, until SIGTERM or SIGINT. One per network: a second one exits at
//! once. Its pid and start time are in `supervisor.pid`, its output in `supervisor.log`, both
//! in the network's directory.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netwright_receipts::Timestamp;

use super::process::{self, Ours, ProcessId};
use super::{LocalBackend, SupervisorEvent};
use crate::backend::BackendError;
use crate::reconcile::ReconcileLock;

/// File name, in a network's directory, of the detached supervisor's pid and start time
/// (`{"pid": N, "start_time": T}`).
pub const SUPERVISOR_PID: &str = "supervisor.pid";

/// File name, in a network's directory, of the detached supervisor's output.
pub const SUPERVISOR_LOG: &str = "supervisor.log";

/// File name, in a network's directory, of the detached supervisor's single-instance lock.
const SUPERVISOR_LOCK: &str = "supervisor.lock";

/// How long the supervisor gets to exit after SIGTERM before it is killed.
const SUPERVISOR_GRACE: Duration = Duration::from_secs(5);

fn io(path: &Path, error: std::io::Error) -> BackendError {
    BackendError::new(format!("{}: {error}", path.display()))
}

/// Starts the supervisor of the network in `dir` detached (own process group, output to
/// `supervisor.log`) by running `command` (the `netwright supervise NETWORK --home HOME`
/// invocation), unless one already runs; returns its pid, recorded in `supervisor.pid`.
pub fn spawn(dir: &Path, mut command: Command) -> Result<u32, BackendError> {
    if let Some(pid) = supervisor_pid(dir) {
        return Ok(pid);
    }
    let log_path = dir.join(SUPERVISOR_LOG);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io(&log_path, e))?;
    let err = log.try_clone().map_err(|e| io(&log_path, e))?;
    command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0);
    let id = process::spawn(&mut command)
        .map_err(|e| BackendError::new(format!("starting the supervisor: {e}")))?;
    process::write_pid_file(&dir.join(SUPERVISOR_PID), id)?;
    Ok(id.pid)
}

/// One supervision pass under the network's lock; `None` when a reconciliation holds it.
pub fn supervise_once(
    backend: &mut LocalBackend,
) -> Option<Result<Vec<SupervisorEvent>, BackendError>> {
    let _lock = ReconcileLock::acquire(backend.network_dir()).ok()?;
    Some(backend.supervise())
}

/// A supervision event as one line of text.
pub fn describe(event: &SupervisorEvent) -> String {
    match event {
        SupervisorEvent::Restarted { node, attempt } => {
            format!("restarted node {node} (attempt {attempt})")
        }
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}

/// Sleeps `total`, waking early when `stop` is raised.
pub fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let start = Instant::now();
    while !stop.load(Ordering::SeqCst) && start.elapsed() < total {
        std::thread::sleep(Duration::from_millis(50).min(total));
    }
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervised {
    /// Another supervisor runs this network; this one did nothing.
    AlreadySupervised,
    /// It supervised until `stop` was raised.
    Stopped,
}

/// The supervisor itself: a pass every `interval` until `stop` is raised, each event written
/// to `out` with its time. Records its own pid while it runs.
pub fn run(
    backend: &mut LocalBackend,
    interval: Duration,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<Supervised, BackendError> {
    let dir = backend.network_dir().to_owned();
    let lock_path = dir.join(SUPERVISOR_LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io(&lock_path, e))?;
    if lock.try_lock().is_err() {
        return Ok(Supervised::AlreadySupervised);
    }
    let own = ProcessId::current()
        .ok_or_else(|| BackendError::new("reading this process's start time from /proc failed"))?;
    process::write_pid_file(&dir.join(SUPERVISOR_PID), own)?;
    let say = |out: &mut dyn Write, line: String| {
        // The log is best effort: supervision goes on when it cannot be written.
        let _ = writeln!(out, "{} {line}", Timestamp::now());
        let _ = out.flush();
    };
    say(out, format!("supervisor {} started", own.pid));
    while !stop.load(Ordering::SeqCst) {
        match supervise_once(backend) {
            Some(Ok(events)) => {
                for event in events {
                    say(out, describe(&event));
                }
            }
            Some(Err(error)) => say(out, format!("supervision failed: {error}")),
            None => {}
        }
        sleep_unless(stop, interval);
    }
    if process::read_pid_file(&dir.join(SUPERVISOR_PID)) == Some(own) {
        let _ = std::fs::remove_file(dir.join(SUPERVISOR_PID));
    }
    say(out, format!("supervisor {} stopped", own.pid));
    drop(lock);
    Ok(Supervised::Stopped)
}

/// Stops the detached supervisor of the network in `dir`, if one runs; returns its pid.
pub fn stop(dir: &Path) -> Result<Option<u32>, BackendError> {
    let path = dir.join(SUPERVISOR_PID);
    let Some(supervisor) = supervisor(dir) else {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    };
    process::stop_all(std::slice::from_ref(&supervisor), SUPERVISOR_GRACE);
    if supervisor.is_alive() {
        return Err(BackendError::new(format!(
            "the supervisor (pid {}) did not stop",
            supervisor.pid
        )));
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
