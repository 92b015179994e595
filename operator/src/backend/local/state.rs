//! `state.json`: what the local backend records about a network between commands.
//!
//! Written through [`crate::durable`] (temporary file, fsync, rename, fsync of the directory)
//! under an exclusive lock on `state.lock`, so that several processes (an `apply`, a supervising `up`)
//! can update it without losing each other's changes. A file that does not parse is reported
//! with its path and the reason, never silently replaced.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backend::BackendError;
use crate::durable;
use crate::plan::{Digest, Role};

use super::process::{Ours, ProcessId};

/// Format version written in `state.json`.
pub const STATE_VERSION: u32 = 1;

/// Everything recorded about one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Whether reconciliation is recorded as paused.
    pub paused: bool,
    /// Nodes by name.
    pub nodes: BTreeMap<String, NodeRecord>,
    /// Managed relay chains by id.
    pub relay_chains: BTreeMap<String, ProcessRecord>,
    /// Bonded validator stakes by node name, as last seen on-chain: what `observe` reports
    /// while no node answers (after `down`, before the nodes are back).
    pub stakes: BTreeMap<String, u64>,
}

impl Default for NetworkState {
    fn default() -> Self {
        NetworkState {
            version: STATE_VERSION,
            paused: false,
            nodes: BTreeMap::new(),
            relay_chains: BTreeMap::new(),
            stakes: BTreeMap::new(),
        }
    }
}

/// One node: its ports (allocated once, reused forever), its role and its process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRecord {
    /// Its role.
    pub role: Role,
    /// Loopback port of its libp2p listener.
    pub p2p_port: u16,
    /// Loopback port of its RPC server.
    pub rpc_port: u16,
    /// Digest of the configuration written in its home.
    pub config_digest: Option<Digest>,
    /// Its process.
    pub process: ProcessRecord,
}

/// A supervised process: whether it should run, its pid, and its restart history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessRecord {
    /// Loopback port it serves on (relay chains; nodes keep theirs in [`NodeRecord`]).
    pub port: Option<u16>,
    /// Digest of the settings it was started with (relay chains).
    pub config_digest: Option<Digest>,
    /// Whether it should run: set before it is spawned, cleared before it is stopped.
    pub should_run: bool,
    /// Pid of the last process spawned.
    pub pid: Option<u32>,
    /// Start time of that process, clock ticks since boot (`/proc/<pid>/stat` field 22): a pid
    /// whose process has another start time is not ours and is never signalled. Absent in
    /// files written before it was recorded.
    #[serde(default)]
    pub start_time: Option<u64>,
    /// When it was last spawned, milliseconds since the Unix epoch.
    pub started_ms: Option<u64>,
    /// How many times the supervisor restarted it after it died.
    pub restarts: u64,
    /// Consecutive restarts without a stable run in between (drives the backoff).
    pub failures: u32,
}

impl ProcessRecord {
    /// The recorded process, recognised by its pid, start time and `marker` on its command
    /// line; `None` when no process was recorded.
    pub fn ours(&self, marker: String) -> Option<Ours> {
        Some(Ours {
            pid: self.pid?,
            start_time: self.start_time,
            marker,
        })
    }

    /// Whether the recorded process is alive and ours (see [`Ours::is_alive`]).
    pub fn is_alive(&self, marker: String) -> bool {
        self.ours(marker).is_some_and(|p| p.is_alive())
    }

    /// Records a freshly spawned process.
    pub fn started(&mut self, id: ProcessId, now_ms: u64) {
        self.pid = Some(id.pid);
        self.start_time = Some(id.start_time);
        self.started_ms = Some(now_ms);
    }
}

impl NetworkState {
    /// Parses `state.json` text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<NetworkState, BackendError> {
        let state: NetworkState =
            serde_json::from_str(text).map_err(|e| damaged(path, &e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(BackendError::new(format!(
                "{}: field `version`: value {}: this netwright reads version {STATE_VERSION}",
                path.display(),
                state.version
            )));
        }
        Ok(state)
    }

    /// Reads `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<NetworkState, BackendError> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => NetworkState::parse(&text, path),
                Err(e) => Err(damaged(path, &format!("not UTF-8 text: {e}"))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NetworkState::default()),
            Err(e) => Err(io_error(path, e)),
        }
    }

    /// The pretty JSON written to disk.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Every port recorded, for allocation.
    pub fn used_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .nodes
            .values()
            .flat_map(|n| [n.p2p_port, n.rpc_port])
            .collect();
        ports.extend(self.relay_chains.values().filter_map(|c| c.port));
        ports
    }
}

/// The error for a `state.json` at `path` that cannot be read as one, with the way out: `down`
/// (which finds the processes from their process files), then moving the file away.
fn damaged(path: &Path, reason: &str) -> BackendError {
    let dir = path.parent();
    let network = dir
        .and_then(Path::file_name)
        .map_or("NETWORK".into(), |n| n.to_string_lossy());
    let root = dir.and_then(Path::parent).unwrap_or(Path::new("."));
    BackendError::new(format!(
        "{}: not a valid netwright state file ({reason}); it was edited or damaged. The way \
         out: `netwright down {network} --home {}` stops every process of the network (found \
         from the process files beside their homes), then move the file away and apply the \
         network again (keys, genesis and chain data are kept; ports are allocated anew)",
        path.display(),
        root.display()
    ))
}

/// The I/O error on `path`, as a backend error.
pub fn io_error(path: &Path, e: std::io::Error) -> BackendError {
    BackendError::new(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` through [`durable::write_atomically`]: a reader sees the old
/// content or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackendError> {
    Ok(durable::write_atomically(path, bytes)?)
}

/// An exclusive lock on `state.lock`, released on drop.
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock, waiting for other holders; creates the lock file (and its directory).
    pub fn acquire(path: &Path) -> Result<StateLock, BackendError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        file.lock().map_err(|e| io_error(path, e))?;
        Ok(StateLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NetworkState {
        let mut s = NetworkState {
            paused: true,
            ..NetworkState::default()
        };
        s.nodes.insert(
            "validator-0".into(),
            NodeRecord {
                role: Role::Validator,
                p2p_port: 21000,
                rpc_port: 21001,
                config_digest: Some(Digest::of(b"config")),
                process: ProcessRecord {
                    should_run: true,
                    pid: Some(42),
                    started_ms: Some(1_700_000_000_000),
                    restarts: 3,
                    failures: 1,
                    ..ProcessRecord::default()
                },
            },
        );
        s.relay_chains.insert(
            "0021".into(),
            ProcessRecord {
                port: Some(21002),
                config_digest: Some(Digest::of(b"anvil")),
                ..ProcessRecord::default()
            },
        );
        s.stakes.insert("validator-0".into(), 2_000_000);
        s
    }

    #[test]
    fn state_round_trips_through_an_atomic_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net").join("state.json");
        let state = sample();
        write_atomic(&path, state.to_json().as_bytes()).unwrap();
        assert_eq!(NetworkState::load(&path).unwrap(), state);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        assert_eq!(state.used_ports(), vec![21000, 21001, 21002]);
    }

    #[test]
    fn missing_state_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let state = NetworkState::load(&dir.path().join("state.json")).unwrap();
        assert_eq!(state, NetworkState::default());
    }

    #[test]
    fn torn_or_garbage_state_is_a_clear_error() {
        let path = Path::new("/n/state.json");
        let text = sample().to_json();
        let torn = &text[..text.len() / 2];
        for bad in [torn, "garbage", ""] {
            let err = NetworkState::parse(bad, path).unwrap_err().to_string();
            assert!(
                err.contains("/n/state.json")
                    && err.contains("not a valid netwright state file")
                    && err.contains("netwright down n --home /"),
                "{err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("net").join("state.json");
        std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
        std::fs::write(&binary, [0x7b, 0xff, 0xfe, 0x00, 0x80]).unwrap();
        let err = NetworkState::load(&binary).unwrap_err().to_string();
        assert!(
            err.contains("not a valid netwright state file")
                && err.contains("not UTF-8")
                && err.contains(&format!(
                    "netwright down net --home {}",
                    dir.path().display()
                )),
            "{err}"
        );
        let future = text.replace("\"version\": 1", "\"version\": 9");
        let err = NetworkState::parse(&future, path).unwrap_err().to_string();
        assert!(err.contains("`version`") && err.contains('9'), "{err}");
    }

    #[test]
    fn lock_can_be_taken_again_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x").join("state.lock");
        drop(StateLock::acquire(&path).unwrap());
        assert!(StateLock::acquire(&path).is_ok());
    }
}
