//! Detached processes: spawning them in their own process group with output appended to a log
//! and no inherited file descriptor, telling whether a recorded pid and start time are still the
//! process we started, and stopping it.

use std::fs::OpenOptions;
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::io::FdFlags;
use rustix::process::{kill_process, waitpid, Pid, Signal, WaitOptions};
use serde::{Deserialize, Serialize};

use crate::backend::BackendError;

use super::state::io_error;

/// How long a process gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A process as started: its pid and its start time, in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`). Together they name one process for the machine's uptime: a pid reused
/// by another process has another start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessId {
    /// Its pid.
    pub pid: u32,
    /// Its start time, clock ticks since boot.
    pub start_time: u64,
}

impl ProcessId {
    /// The process now running as `pid`, if any (a zombie included).
    pub fn of(pid: u32) -> Option<ProcessId> {
        let start_time = read_stat(pid)?.start_time;
        Some(ProcessId { pid, start_time })
    }

    /// This process.
    pub fn current() -> Option<ProcessId> {
        ProcessId::of(std::process::id())
    }
}

/// Writes `id` to the pid file `path` durably, as JSON (`{"pid": N, "start_time": T}`).
pub fn write_pid_file(path: &Path, id: ProcessId) -> Result<(), BackendError> {
    let text = serde_json::to_string(&id).unwrap_or_default() + "\n";
    Ok(crate::durable::write_atomically(path, text.as_bytes())?)
}

/// The process named by the pid file `path`; `None` when the file is missing or is not a pid
/// file of this format (a bare pid is not trusted: it says nothing about a reused pid).
pub fn read_pid_file(path: &Path) -> Option<ProcessId> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes the process file `path` for `ours`, durably.
pub fn write_process_file(path: &Path, ours: &Ours) -> Result<(), BackendError> {
    let text = serde_json::to_string(ours).unwrap_or_default() + "\n";
    Ok(crate::durable::write_atomically(path, text.as_bytes())?)
}

/// The process recorded in the process file `path`, if the file exists and parses.
pub fn read_process_file(path: &Path) -> Option<Ours> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// A process this orchestrator started, as it is recognised again before anything is sent to
/// it: its pid, its start time, and a marker its command line contains (the node home, or
/// anvil's `--port N`). Also the content of a process file (`process.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ours {
    /// Its pid.
    pub pid: u32,
    /// Its start time as recorded at spawn; `None` in records written before start times were
    /// kept, which are then recognised by the marker alone.
    pub start_time: Option<u64>,
    /// Text its command line contains.
    pub marker: String,
}

impl Ours {
    /// The process just started as `id`, recognised by `marker`.
    pub fn started(id: ProcessId, marker: String) -> Ours {
        Ours {
            pid: id.pid,
            start_time: Some(id.start_time),
            marker,
        }
    }

    /// Whether the process at the pid is a live (not zombie) process with the recorded start
    /// time and the marker on its command line. Anything else is not ours and is never signalled.
    pub fn is_alive(&self) -> bool {
        is_alive(self.pid, self.start_time, &self.marker)
    }
}

/// What `/proc/<pid>/stat` tells about a process.
struct Stat {
    /// Its state letter (`R`, `S`, `Z`, ...).
    state: char,
    /// Field 22: start time, clock ticks since boot.
    start_time: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": the command name may hold spaces and parentheses, so fields
    // are counted after the last ')'. The state is field 3, the start time field 22.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(22 - 4)?.parse().ok()?;
    Some(Stat { state, start_time })
}

/// Spawns `program args` in its own process group (so that it outlives the command that
/// started it and a Ctrl-C in that command's terminal does not reach it), with stdin closed,
/// stdout and stderr appended to `log`, and no other file descriptor inherited (see
/// [`keep_descriptors_from_children`]). Returns its pid and start time.
pub fn spawn_detached(
    program: &Path,
    args: &[String],
    log: &Path,
) -> Result<ProcessId, BackendError> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| io_error(log, e))?;
    let err = out.try_clone().map_err(|e| io_error(log, e))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    spawn(&mut command)
        .map_err(|e| BackendError::new(format!("cannot start {}: {e}", program.display())))
}

/// Spawns `command` with only its standard streams inherited; returns its pid and start time.
/// The child is not waited for here: it is reaped by [`reap`] when found dead, or by init once
/// this process exits.
pub fn spawn(command: &mut Command) -> std::io::Result<ProcessId> {
    keep_descriptors_from_children();
    let child = command.spawn()?;
    let pid = child.id();
    // The child cannot have been reaped (nothing waits for it), so its /proc entry exists
    // even if it has already exited.
    ProcessId::of(pid).ok_or_else(|| {
        std::io::Error::other(format!("started pid {pid} but cannot read its start time"))
    })
}

/// Marks every open file descriptor above stderr close-on-exec, so that children spawned
/// afterwards inherit only stdin, stdout and stderr. Descriptors this program opens are
/// already close-on-exec (Rust's default); this catches those it was given by whoever started
/// it (a lock file held by the shell, say), which would otherwise stay open in every node and
/// relay chain for as long as they run.
pub fn keep_descriptors_from_children() {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: `fd` was listed open in /proc/self/fd; the borrow lives only for the two
        // fcntl calls. Should another thread close it in between, fcntl fails with EBADF or
        // marks a newer descriptor close-on-exec, which only keeps it from children.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        if let Ok(flags) = rustix::io::fcntl_getfd(borrowed) {
            if !flags.contains(FdFlags::CLOEXEC) {
                let _ = rustix::io::fcntl_setfd(borrowed, flags | FdFlags::CLOEXEC);
            }
        }
    }
}

/// Collects the exit status of `pid` if it is a finished child of this process, so that it
/// does not linger as a zombie. Harmless for any other pid.
pub fn reap(pid: u32) {
    if let Some(pid) = as_pid(pid) {
        let _ = waitpid(Some(pid), WaitOptions::NOHANG);
    }
}

fn as_pid(pid: u32) -> Option<Pid> {
    Pid::from_raw(i32::try_from(pid).ok()?)
}

/// Whether `pid` is a live (not zombie) process started at `start_time` (when known) whose
/// command line contains `marker`, so that a recycled pid is never mistaken for ours.
fn is_alive(pid: u32, start_time: Option<u64>, marker: &str) -> bool {
    reap(pid);
    let Some(stat) = read_stat(pid) else {
        return false;
    };
    if matches!(stat.state, 'Z' | 'X' | 'x') {
        return false;
    }
    if start_time.is_some_and(|t| t != stat.start_time) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    cmdline.contains(marker)
}

/// Sends `sig` to `ours` if it is still ours.
fn signal(ours: &Ours, sig: Signal) {
    if !ours.is_alive() {
        return;
    }
    if let Some(pid) = as_pid(ours.pid) {
        let _ = kill_process(pid, sig);
    }
}

/// Sends SIGKILL to `pid` at once, unchecked (tests use it to crash what they started).
pub fn kill_now(pid: u32) {
    if let Some(pid) = as_pid(pid) {
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// Stops every process of `procs` that is still ours: SIGTERM to all, then SIGKILL to those
/// still alive after `grace`. Returns once none of them is alive. A pid that is not ours
/// (another process, or another start time) is never signalled.
pub fn stop_all(procs: &[Ours], grace: Duration) {
    let live: Vec<&Ours> = procs.iter().filter(|p| p.is_alive()).collect();
    for ours in &live {
        signal(ours, Signal::TERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && live.iter().any(|p| p.is_alive()) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for ours in &live {
        signal(ours, Signal::KILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && live.iter().any(|p| p.is_alive()) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `name` on `PATH`, if there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The `netwright-node` binary: `explicit`, else `NETWRIGHT_NODE_BIN`, else beside the running
/// executable (or one directory up, for test binaries in `target/*/deps`), else on `PATH`.
pub fn find_node_bin(explicit: Option<&Path>) -> Result<PathBuf, BackendError> {
    const NAME: &str = "netwright-node";
    if let Some(p) = explicit {
        return existing(p, "node binary given explicitly");
    }
    if let Some(p) = std::env::var_os("NETWRIGHT_NODE_BIN") {
        return existing(Path::new(&p), "NETWRIGHT_NODE_BIN");
    }
    if let Ok(exe) = std::env::current_exe() {
        let dirs = exe.ancestors().skip(1).take(2);
        for dir in dirs {
            let candidate = dir.join(NAME);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    on_path(NAME).ok_or_else(|| {
        BackendError::new(
            "the node binary `netwright-node` was not found (NETWRIGHT_NODE_BIN, beside the \
             netwright binary, or on PATH); build it with `cargo build --bin netwright-node`",
        )
    })
}

fn existing(p: &Path, what: &str) -> Result<PathBuf, BackendError> {
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(BackendError::new(format!(
            "{what}: {}: no such file",
            p.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `sleep 30` as `marker` (its command line), detached, logging to `log`.
    fn sleeper(marker: &str, log: &Path) -> ProcessId {
        let script = format!("echo started; exec -a {marker} sleep 30");
        spawn_detached(Path::new("/bin/bash"), &["-c".into(), script], log).unwrap()
    }

    fn ours(id: ProcessId, marker: &str) -> Ours {
        Ours {
            pid: id.pid,
            start_time: Some(id.start_time),
            marker: marker.to_owned(),
        }
    }

    #[test]
    fn spawned_process_is_alive_until_stopped_and_logs_to_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub").join("x.log");
        let marker = format!("sleep-marker-{}", std::process::id());
        let id = sleeper(&marker, &log);
        let it = ours(id, &marker);
        let deadline = Instant::now() + Duration::from_secs(10);
        let logged = || std::fs::read_to_string(&log).is_ok_and(|t| t.contains("started"));
        while !(it.is_alive() && logged()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(it.is_alive());
        assert_eq!(ProcessId::of(id.pid), Some(id));
        let other_marker = Ours {
            marker: "some-other-marker".into(),
            ..it.clone()
        };
        assert!(!other_marker.is_alive());
        stop_all(std::slice::from_ref(&it), Duration::from_secs(5));
        assert!(!it.is_alive());
        assert!(logged());
    }

    #[test]
    fn a_pid_with_another_start_time_is_not_ours_and_is_never_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let marker = format!("reused-pid-{}", std::process::id());
        let id = sleeper(&marker, &dir.path().join("x.log"));
        let real = ours(id, &marker);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !real.is_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The same pid and command line, recorded with another start time: a reused pid.
        let recorded = Ours {
            start_time: Some(id.start_time + 1),
            ..real.clone()
        };
        assert!(!recorded.is_alive());
        stop_all(std::slice::from_ref(&recorded), Duration::from_secs(1));
        assert!(real.is_alive(), "a process that is not ours was stopped");
        stop_all(std::slice::from_ref(&real), Duration::from_secs(5));
        assert!(!real.is_alive());
    }

    #[test]
    fn spawned_processes_inherit_no_descriptor_but_stdio() {
        use rustix::fs::{Mode, OFlags};
        let dir = tempfile::tempdir().unwrap();
        let held = dir.path().join("held.lock");
        std::fs::write(&held, b"").unwrap();
        // Opened without O_CLOEXEC, as a shell's redirection or a C library would.
        let fd = rustix::fs::open(&held, OFlags::RDWR, Mode::empty()).unwrap();
        assert!(!rustix::io::fcntl_getfd(&fd)
            .unwrap()
            .contains(FdFlags::CLOEXEC));
        let marker = format!("fd-check-{}", std::process::id());
        let id = sleeper(&marker, &dir.path().join("x.log"));
        let child = ours(id, &marker);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !child.is_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(child.is_alive());
        let descriptors = || -> Vec<(String, PathBuf)> {
            std::fs::read_dir(format!("/proc/{}/fd", id.pid))
                .unwrap()
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let target = std::fs::read_link(e.path()).ok()?;
                    Some((e.file_name().to_string_lossy().into_owned(), target))
                })
                .collect()
        };
        // While the child's program starts, its dynamic loader briefly holds the libraries it
        // maps (as fd 3): look again until it has settled. The held file is never allowed.
        let mut open = descriptors();
        while open.len() > 3 && Instant::now() < deadline {
            assert!(
                open.iter().all(|(_, target)| target != &held),
                "the child holds {}: {open:?}",
                held.display()
            );
            std::thread::sleep(Duration::from_millis(20));
            open = descriptors();
        }
        stop_all(std::slice::from_ref(&child), Duration::from_secs(5));
        assert!(
            open.iter().all(|(_, target)| target != &held),
            "the child holds {}: {open:?}",
            held.display()
        );
        let names: Vec<&str> = open.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["0", "1", "2"], "{open:?}");
        drop(fd);
    }

    #[test]
    fn missing_explicit_node_binary_is_named() {
        let err = find_node_bin(Some(Path::new("/nonexistent/netwright-node")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/netwright-node"), "{err}");
    }
}
