//! Detached processes: spawning them in their own process group with output appended to a log,
//! telling whether a recorded pid is still the process we started, and stopping it.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::backend::BackendError;

use super::state::io_error;

/// How long a process gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Spawns `program args` in its own process group (so that it outlives the command that
/// started it and a Ctrl-C in that command's terminal does not reach it), with stdin closed
/// and stdout and stderr appended to `log`. Returns its pid.
pub fn spawn_detached(program: &Path, args: &[String], log: &Path) -> Result<u32, BackendError> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| io_error(log, e))?;
    let err = out.try_clone().map_err(|e| io_error(log, e))?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| BackendError::new(format!("cannot start {}: {e}", program.display())))?;
    // The child is not waited for here: it is reaped by `reap` when found dead, or by init
    // once this process exits.
    Ok(child.id())
}

/// Collects the exit status of `pid` if it is a finished child of this process, so that it
/// does not linger as a zombie. Harmless for any other pid.
pub fn reap(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG on a plain pid writes only to `status`.
    unsafe {
        libc::waitpid(pid, &mut status, libc::WNOHANG);
    }
}

/// Whether `pid` is a live (not zombie) process whose command line contains `marker` (the node
/// home or the relay chain port), so that a recycled pid is never mistaken for ours.
pub fn is_alive(pid: u32, marker: &str) -> bool {
    reap(pid);
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name: "pid (comm) S ...".
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    if matches!(state, None | Some('Z') | Some('X')) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    cmdline.contains(marker)
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill sends a signal; it touches no memory of ours.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Sends SIGKILL to `pid` at once (used by tests and by `stop` after the grace period).
pub fn kill_now(pid: u32) {
    signal(pid, libc::SIGKILL);
}

/// Stops every `(pid, marker)` that is still ours: SIGTERM to all, then SIGKILL to those still
/// alive after `grace`. Returns once none of them is alive.
pub fn stop_all(procs: &[(u32, String)], grace: Duration) {
    let live: Vec<&(u32, String)> = procs.iter().filter(|(p, m)| is_alive(*p, m)).collect();
    for (pid, _) in &live {
        signal(*pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && live.iter().any(|(p, m)| is_alive(*p, m)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (pid, marker) in &live {
        if is_alive(*pid, marker) {
            kill_now(*pid);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && live.iter().any(|(p, m)| is_alive(*p, m)) {
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

    #[test]
    fn spawned_process_is_alive_until_stopped_and_logs_to_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub").join("x.log");
        let marker = format!("sleep-marker-{}", std::process::id());
        let script = format!("echo started; exec -a {marker} sleep 30");
        let pid = spawn_detached(Path::new("/bin/bash"), &["-c".into(), script], &log).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let logged = || std::fs::read_to_string(&log).is_ok_and(|t| t.contains("started"));
        while !(is_alive(pid, &marker) && logged()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(is_alive(pid, &marker));
        assert!(!is_alive(pid, "some-other-marker"));
        stop_all(&[(pid, marker.clone())], Duration::from_secs(5));
        assert!(!is_alive(pid, &marker));
        assert!(logged());
    }

    #[test]
    fn missing_explicit_node_binary_is_named() {
        let err = find_node_bin(Some(Path::new("/nonexistent/netwright-node")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/netwright-node"), "{err}");
    }
}
