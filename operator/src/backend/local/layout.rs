//! Where a local network keeps its files, under `<root>/<network>/`.

use std::path::{Path, PathBuf};

/// File name of a process file in a node home or a relay chain directory.
pub const PROCESS_FILE: &str = "process.json";

/// Paths of one network's working directory.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout of the network directory `dir` (`<root>/<network>`).
    pub fn new(dir: PathBuf) -> Self {
        Layout { dir }
    }

    /// The network directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `state.json`: ports, processes, restarts, pause flag, configuration digests.
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// `state.lock`: serialises read-modify-write cycles of `state.json` across processes.
    pub fn state_lock(&self) -> PathBuf {
        self.dir.join("state.lock")
    }

    /// The network's genesis document.
    pub fn genesis(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }

    /// The treasury key.
    pub fn treasury_key(&self) -> PathBuf {
        self.dir.join("treasury_key.json")
    }

    /// The directory of application keys.
    pub fn applications(&self) -> PathBuf {
        self.dir.join("applications")
    }

    /// The key of application `name`.
    pub fn application_key(&self, name: &str) -> PathBuf {
        self.applications().join(format!("{name}.key.json"))
    }

    /// The directory holding every node home.
    pub fn nodes(&self) -> PathBuf {
        self.dir.join("nodes")
    }

    /// The home of node `name`.
    pub fn node_home(&self, name: &str) -> PathBuf {
        self.nodes().join(name)
    }

    /// The log of node `name` (its stdout and stderr).
    pub fn node_log(&self, name: &str) -> PathBuf {
        self.node_home(name).join("node.log")
    }

    /// Node `name`'s process file: the pid, start time and command-line marker of the process
    /// last spawned for it, written at spawn. It lets `down` find the process when
    /// `state.json` is unreadable, and keeps a second process from being started beside it.
    pub fn node_process(&self, name: &str) -> PathBuf {
        self.node_home(name).join(PROCESS_FILE)
    }

    /// The orchestrator's view of node `name`'s configuration (role, relay chains, timings).
    pub fn node_settings(&self, name: &str) -> PathBuf {
        self.node_home(name).join("netwright.json")
    }

    /// The directory of managed relay chain `id`.
    pub fn relay_chain(&self, id: &str) -> PathBuf {
        self.dir.join("relay-chains").join(id)
    }

    /// Managed relay chain `id`'s process file (see [`Layout::node_process`]).
    pub fn relay_chain_process(&self, id: &str) -> PathBuf {
        self.relay_chain(id).join(PROCESS_FILE)
    }

    /// The log of managed relay chain `id`.
    pub fn relay_chain_log(&self, id: &str) -> PathBuf {
        self.relay_chain(id).join("anvil.log")
    }
}
