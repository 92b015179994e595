//! The local backend: a network as `netwright-node` processes (and managed `anvil` relay
//! chains) on this machine, kept under `<root>/<network>/` (`.netwright/<network>/` by default).
//!
//! - [`LocalBackend`] implements [`Backend`]: it observes the network from its files, its
//!   processes and the nodes' RPC, and carries out plan actions ([`apply`](Backend::apply)).
//! - [`LocalBackend::supervise`] restarts what should run but died, with exponential backoff
//!   recorded in `state.json`, so that any process can supervise.
//! - [`LocalBackend::down`] stops everything; [`list_networks`] lists the networks under a root.
//!
//! Processes are detached (own process group, output appended to a log file): they outlive the
//! command that started them. The layout and the rules are described in `docs/local.md`.

mod actions;
pub mod anvil;
pub mod config;
pub mod daemon;
pub mod keys;
mod launch;
pub mod layout;
mod observe;
pub mod ports;
pub mod process;
pub mod rpc;
pub mod state;
mod supervise;

use std::path::{Path, PathBuf};
use std::time::Duration;

use netwright_crds::EffectiveSpec;

use crate::backend::{Backend, BackendError, NodeStatus, RelayChainStatus};
use crate::plan::{Action, ObservedState, Topology};

pub use anvil::{find_anvil, install_anvil, install_command, ANVIL_PACKAGE, ANVIL_VERSION};
pub use layout::Layout;
pub use state::NetworkState;
pub use supervise::{Stopped, SupervisorEvent};

/// Default working directory of local networks, relative to the current directory.
pub const DEFAULT_ROOT: &str = ".netwright";

/// Default longest wait of an action that waits for the chain (sync, stake, validator exit,
/// a relay chain answering).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(180);

/// Where and how a local network runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// Working directory holding every network (default `.netwright`).
    pub root: PathBuf,
    /// Network name (`metadata.name`): its directory under `root`.
    pub network: String,
    /// The `netwright-node` binary; found automatically when `None`.
    pub node_bin: Option<PathBuf>,
    /// The `anvil` binary; found automatically when `None`.
    pub anvil_bin: Option<PathBuf>,
}

impl LocalOptions {
    /// Options for `network` under the default root.
    pub fn new(network: impl Into<String>) -> Self {
        LocalOptions {
            root: PathBuf::from(DEFAULT_ROOT),
            network: network.into(),
            node_bin: None,
            anvil_bin: None,
        }
    }
}

/// A network run as local processes.
#[derive(Debug)]
pub struct LocalBackend {
    opts: LocalOptions,
    layout: Layout,
    wait: Duration,
    rpc: rpc::NodeRpc,
}

impl LocalBackend {
    /// Opens network `opts.network` under `opts.root`. Creates nothing on disk until an action
    /// needs it. The name must be a DNS label (it names a directory).
    pub fn open(opts: LocalOptions) -> Result<Self, BackendError> {
        if !netwright_crds::validate::names::is_dns_label(&opts.network) {
            return Err(BackendError::new(format!(
                "network name {:?}: must be a DNS label (1-63 lowercase letters, digits and '-')",
                opts.network
            )));
        }
        let root = std::path::absolute(&opts.root).map_err(|e| {
            BackendError::new(format!("working directory {}: {e}", opts.root.display()))
        })?;
        let layout = Layout::new(root.join(&opts.network));
        Ok(LocalBackend {
            opts,
            layout,
            wait: DEFAULT_WAIT,
            rpc: rpc::NodeRpc::new()?,
        })
    }

    /// Sets the longest wait of actions that wait for the chain (default [`DEFAULT_WAIT`]).
    pub fn set_wait_timeout(&mut self, wait: Duration) {
        self.wait = wait;
    }

    /// The network directory, `<root>/<network>`.
    pub fn network_dir(&self) -> &Path {
        self.layout.dir()
    }

    /// The paths of the network's files.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The client of the network's node and relay chain RPC.
    pub fn rpc(&self) -> &rpc::NodeRpc {
        &self.rpc
    }

    /// The recorded state (`state.json`; empty when absent). Reads only.
    pub fn state(&self) -> Result<NetworkState, BackendError> {
        NetworkState::load(&self.layout.state())
    }

    /// One supervision pass: restarts nodes and relay chains that should run but died, unless
    /// their backoff has not elapsed, and returns what it did.
    pub fn supervise(&mut self) -> Result<Vec<SupervisorEvent>, BackendError> {
        supervise::pass(self)
    }

    /// Stops every node and relay chain (SIGTERM, then SIGKILL after a grace period) and
    /// records that none should run; `purge` then deletes the network directory. The
    /// processes are found from `state.json` and from the process files beside their homes,
    /// so an unreadable or missing `state.json` still stops everything this network started.
    pub async fn down(&mut self, purge: bool) -> Result<Stopped, BackendError> {
        let stopped = supervise::down(self).await?;
        if purge && self.layout.dir().exists() {
            std::fs::remove_dir_all(self.layout.dir())
                .map_err(|e| state::io_error(self.layout.dir(), e))?;
        }
        Ok(stopped)
    }

    /// The log file of node `node` (its stdout and stderr).
    pub fn log_path(&self, node: &str) -> Result<PathBuf, BackendError> {
        let home = self.layout.node_home(node);
        if !node.is_empty() && !node.contains('/') && home.is_dir() {
            return Ok(self.layout.node_log(node));
        }
        let known = observe::node_names(&self.layout).unwrap_or_default();
        Err(BackendError::new(format!(
            "network {}: no node {node:?} (nodes: {})",
            self.opts.network,
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )))
    }

    /// The pids of every recorded node and relay chain process that is alive and ours, by name
    /// (`node/<name>` or `relay-chain/<id>`), from `state.json` and the process files.
    pub fn live_processes(&self) -> Result<Vec<(String, u32)>, BackendError> {
        let (recorded, _) = self.recorded_processes();
        Ok(recorded
            .into_iter()
            .filter(|(_, p)| p.is_alive())
            .map(|(name, p)| (name, p.pid))
            .collect())
    }

    /// Every process recorded for the network, by name: those in `state.json`, then those of
    /// the process files that `state.json` does not name (all of them when it cannot be
    /// read). The error is `state.json`'s, when it could not be read.
    fn recorded_processes(&self) -> (Vec<(String, process::Ours)>, Option<BackendError>) {
        let mut out = Vec::new();
        let unreadable = match self.state() {
            Ok(state) => {
                for (name, rec) in &state.nodes {
                    out.extend(
                        rec.process
                            .ours(self.node_marker(name))
                            .map(|p| (format!("node/{name}"), p)),
                    );
                }
                for (id, rec) in &state.relay_chains {
                    if let Some(port) = rec.port {
                        out.extend(
                            rec.ours(anvil_marker(port))
                                .map(|p| (format!("relay-chain/{id}"), p)),
                        );
                    }
                }
                None
            }
            Err(e) => Some(e),
        };
        let files = [
            ("node", self.layout.nodes()),
            ("relay-chain", self.layout.dir().join("relay-chains")),
        ];
        for (kind, dir) in files {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut found: Vec<(String, process::Ours)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let ours = process::read_process_file(&e.path().join(layout::PROCESS_FILE))?;
                    Some((format!("{kind}/{name}"), ours))
                })
                .filter(|(name, ours)| !out.iter().any(|(n, o)| n == name && o.pid == ours.pid))
                .collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            out.extend(found);
        }
        (out, unreadable)
    }

    /// The command that stops this network, as an error message suggests it.
    fn down_command(&self) -> String {
        let root = self.layout.dir().parent().unwrap_or(&self.opts.root);
        format!(
            "netwright down {} --home {}",
            self.opts.network,
            root.display()
        )
    }

    /// What identifies node `name`'s process on its command line: its home.
    fn node_marker(&self, name: &str) -> String {
        self.layout.node_home(name).display().to_string()
    }

    fn node_bin(&self) -> Result<PathBuf, BackendError> {
        process::find_node_bin(self.opts.node_bin.as_deref())
    }

    fn anvil_bin(&self) -> Result<PathBuf, BackendError> {
        find_anvil(self.opts.anvil_bin.as_deref())
    }

    /// Runs `f` on the recorded state under the state lock and writes the result back.
    fn update<T>(
        &self,
        f: impl FnOnce(&mut NetworkState) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let _lock = state::StateLock::acquire(&self.layout.state_lock())?;
        let mut st = self.state()?;
        let before = st.clone();
        let out = f(&mut st);
        if st != before {
            state::write_atomic(&self.layout.state(), st.to_json().as_bytes())?;
        }
        out
    }
}

/// What identifies a relay chain's process on its command line: its port argument.
fn anvil_marker(port: u16) -> String {
    format!("--port {port}")
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The networks under `root` (directories holding a `state.json`, a genesis or node homes),
/// sorted by name.
pub fn list_networks(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter(|e| {
            let l = Layout::new(e.path());
            l.state().is_file() || l.genesis().is_file() || l.nodes().is_dir()
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

impl Backend for LocalBackend {
    async fn observe(&mut self, _spec: &EffectiveSpec) -> Result<ObservedState, BackendError> {
        observe::observe(self).await
    }

    async fn apply(
        &mut self,
        spec: &EffectiveSpec,
        topology: &Topology,
        action: &Action,
    ) -> Result<(), BackendError> {
        actions::apply(self, spec, topology, action)
            .await
            .map_err(|e| BackendError::new(format!("{}: {e}", action.canonical())))
    }

    async fn status(
        &mut self,
        spec: &EffectiveSpec,
    ) -> Result<(Vec<NodeStatus>, Vec<RelayChainStatus>), BackendError> {
        observe::status(self, spec).await
    }
}
