//! Observing a local network: keys, genesis and homes from disk, processes from their pids,
//! health, heights and stakes from the nodes' RPC. Observing never writes anything.
//!
//! The nodes are asked for their status all at once, so one node that does not answer costs
//! one RPC deadline, whatever the size of the network.

use std::collections::BTreeMap;

use netwright_crds::EffectiveSpec;
use netwright_ledger::{Genesis, PublicKey};
use netwright_node_api::rpc::StatusView;

use crate::backend::{BackendError, NodeStatus, RelayChainStatus};
use crate::plan::{desired_topology, ObservedNode, ObservedRelayChain, ObservedState, Role};

use super::layout::Layout;
use super::state::{io_error, NetworkState};
use super::{anvil_marker, keys, LocalBackend};

/// How far (in blocks) below the highest node a node may be and still count as caught up.
pub const SYNC_SLACK: u64 = 2;

/// Names of the node homes under `nodes/` that hold a key, sorted.
pub fn node_names(layout: &Layout) -> Result<Vec<String>, BackendError> {
    let dir = layout.nodes();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&dir, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .join(netwright_node_api::keys::NODE_KEY_FILE)
                .is_file()
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// The genesis of the network, if written.
pub fn read_genesis(layout: &Layout) -> Result<Option<Genesis>, BackendError> {
    let path = layout.genesis();
    match std::fs::read_to_string(&path) {
        Ok(text) => Genesis::from_json(&text)
            .map(Some)
            .map_err(|e| BackendError::new(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(&path, e)),
    }
}

/// One node as probed: its key, its process and what its RPC says.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Node name.
    pub name: String,
    /// Its public key.
    pub public_key: PublicKey,
    /// Its recorded role, if any.
    pub role: Option<Role>,
    /// Its RPC port, if allocated.
    pub rpc_port: Option<u16>,
    /// Whether its process runs.
    pub running: bool,
    /// Its `/status`, when it answered.
    pub status: Option<StatusView>,
    /// Whether it answers, is not catching up and is within [`SYNC_SLACK`] of the highest node.
    pub healthy: bool,
    /// Bonded stake.
    pub stake: u64,
    /// Supervisor restarts.
    pub restarts: u64,
    /// Whether its data directory holds anything.
    pub has_chain_data: bool,
}

/// Everything observed about a network, node by node.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The recorded state.
    pub state: NetworkState,
    /// The genesis, if written.
    pub genesis: Option<Genesis>,
    /// Every node with a key.
    pub nodes: Vec<Probe>,
}

impl Snapshot {
    /// The highest height any node reports.
    pub fn max_height(&self) -> Option<u64> {
        self.nodes
            .iter()
            .filter_map(|p| p.status.as_ref().map(|s| s.height))
            .max()
    }

    /// The RPC port of a healthy node (highest height first), to query or submit through.
    pub fn healthy_port(&self) -> Option<u16> {
        self.nodes
            .iter()
            .filter(|p| p.healthy)
            .max_by_key(|p| p.status.as_ref().map_or(0, |s| s.height))
            .and_then(|p| p.rpc_port)
    }
}

/// Probes every node of the network.
pub async fn snapshot(b: &LocalBackend) -> Result<Snapshot, BackendError> {
    let state = b.state()?;
    let genesis = read_genesis(&b.layout)?;
    let mut nodes = Vec::new();
    for name in node_names(&b.layout)? {
        let key_path = b
            .layout
            .node_home(&name)
            .join(netwright_node_api::keys::NODE_KEY_FILE);
        let key = keys::load(&key_path)?;
        let public_key = keys::public_key(&key, &key_path)?;
        let rec = state.nodes.get(&name);
        let running = rec.is_some_and(|r| r.process.is_alive(b.node_marker(&name)));
        let data = b
            .layout
            .node_home(&name)
            .join(netwright_node_api::home::DATA_DIR);
        let has_chain_data = std::fs::read_dir(&data).is_ok_and(|mut d| d.next().is_some());
        nodes.push(Probe {
            name,
            public_key,
            role: rec.map(|r| r.role),
            rpc_port: rec.map(|r| r.rpc_port),
            running,
            status: None,
            healthy: false,
            stake: 0,
            restarts: rec.map_or(0, |r| r.process.restarts),
            has_chain_data,
        });
    }
    let asks = nodes.iter().map(|p| async {
        match p.rpc_port {
            Some(port) if p.running => b.rpc.status(port).await.ok(),
            _ => None,
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    for (probe, status) in nodes.iter_mut().zip(answers) {
        probe.status = status;
    }
    let mut snap = Snapshot {
        state,
        genesis,
        nodes,
    };
    let top = snap.max_height().unwrap_or(0);
    for p in &mut snap.nodes {
        p.healthy = p
            .status
            .as_ref()
            .is_some_and(|s| !s.catching_up && s.height.saturating_add(SYNC_SLACK) >= top);
    }
    let stakes = stakes(b, &snap).await;
    for p in &mut snap.nodes {
        p.stake = stakes.get(&p.name).copied().unwrap_or(0);
    }
    Ok(snap)
}

/// Bonded stake per node name: from the answering node with the highest height; while none
/// answers, as last recorded on-chain, or else as in genesis.
async fn stakes(b: &LocalBackend, snap: &Snapshot) -> BTreeMap<String, u64> {
    let best = snap
        .nodes
        .iter()
        .filter(|p| p.status.is_some())
        .max_by_key(|p| p.status.as_ref().map_or(0, |s| s.height));
    if let Some(port) = best.and_then(|p| p.rpc_port) {
        if let Ok(vals) = b.rpc.validators(port).await {
            return by_name(snap, vals.iter().map(|v| (v.public_key.clone(), v.stake)));
        }
    }
    if !snap.state.stakes.is_empty() {
        return snap.state.stakes.clone();
    }
    match &snap.genesis {
        Some(g) => by_name(
            snap,
            g.validators
                .iter()
                .map(|v| (v.public_key.to_string(), v.stake)),
        ),
        None => BTreeMap::new(),
    }
}

fn by_name(snap: &Snapshot, stakes: impl Iterator<Item = (String, u64)>) -> BTreeMap<String, u64> {
    let by_key: BTreeMap<String, u64> = stakes.map(|(k, s)| (k.to_lowercase(), s)).collect();
    snap.nodes
        .iter()
        .filter_map(|p| {
            by_key
                .get(&p.public_key.to_string())
                .map(|s| (p.name.clone(), *s))
        })
        .collect()
}

/// The planner's view of the network (see `docs/planning.md`, "Observed state").
pub async fn observe(b: &LocalBackend) -> Result<ObservedState, BackendError> {
    if !b.layout.dir().exists() {
        return Ok(ObservedState::default());
    }
    let snap = snapshot(b).await?;
    let mut observed = ObservedState {
        paused: snap.state.paused,
        genesis: snap.genesis.clone(),
        ..ObservedState::default()
    };
    let treasury = b.layout.treasury_key();
    if let Some(key) = keys::load_if_present(&treasury)? {
        observed.treasury_key = Some(keys::public_key(&key, &treasury)?);
    }
    observed.application_keys = application_keys(&b.layout)?;
    for p in &snap.nodes {
        let config_digest = snap.state.nodes.get(&p.name).and_then(|r| r.config_digest);
        observed.nodes.insert(
            p.name.clone(),
            ObservedNode {
                public_key: p.public_key,
                config_digest,
                has_chain_data: p.has_chain_data,
                running: p.running,
                healthy: p.healthy,
                height: p.status.as_ref().map(|s| s.height),
                stake: p.stake,
            },
        );
    }
    for (id, rec) in &snap.state.relay_chains {
        let running = rec
            .port
            .is_some_and(|port| rec.is_alive(anvil_marker(port)));
        observed.relay_chains.insert(
            id.clone(),
            ObservedRelayChain {
                running,
                config_digest: rec.config_digest,
            },
        );
    }
    Ok(observed)
}

/// The last non-empty line of the log at `path`, without terminal colour codes.
fn last_log_line(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(strip_ansi(line.trim()))
}

/// `line` without ANSI escape sequences (`ESC [ ... letter`), as the node's text log has them.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn application_keys(layout: &Layout) -> Result<BTreeMap<String, PublicKey>, BackendError> {
    let dir = layout.applications();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_error(&dir, e)),
    };
    let mut out = BTreeMap::new();
    for entry in entries.filter_map(Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".key.json") else {
            continue;
        };
        let path = entry.path();
        let key = keys::load(&path)?;
        out.insert(name.to_owned(), keys::public_key(&key, &path)?);
    }
    Ok(out)
}

/// Per-node and per-relay-chain status for views.
pub async fn status(
    b: &LocalBackend,
    spec: &EffectiveSpec,
) -> Result<(Vec<NodeStatus>, Vec<RelayChainStatus>), BackendError> {
    if !b.layout.dir().exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let topology = desired_topology(spec).ok();
    let snap = snapshot(b).await?;
    let nodes = snap
        .nodes
        .iter()
        .map(|p| NodeStatus {
            name: p.name.clone(),
            role: p
                .role
                .or_else(|| {
                    topology
                        .as_ref()
                        .and_then(|t| t.node(&p.name))
                        .map(|n| n.role)
                })
                .unwrap_or(Role::Validator),
            running: p.running,
            healthy: p.healthy,
            height: p.status.as_ref().map(|s| s.height),
            peers: p.status.as_ref().map(|s| s.peers),
            stake: p.stake,
            restarts: p.restarts,
            rpc: p.rpc_port.map(|port| format!("http://127.0.0.1:{port}")),
            last_log_line: if p.running {
                None
            } else {
                last_log_line(&b.layout.node_log(&p.name))
            },
        })
        .collect();
    let chains = snap
        .state
        .relay_chains
        .iter()
        .map(|(id, rec)| {
            let running = rec
                .port
                .is_some_and(|port| rec.is_alive(anvil_marker(port)));
            RelayChainStatus {
                id: id.clone(),
                running,
                endpoint: rec.port.map(|port| format!("http://127.0.0.1:{port}")),
            }
        })
        .collect();
    Ok((nodes, chains))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_log_line_comes_without_colour_codes() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("node.log");
        assert_eq!(last_log_line(&log), None, "no log, no line");
        std::fs::write(
            &log,
            "\u{1b}[2m2026\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m stopping\nerror: storage at /d: gone\n\n",
        )
        .unwrap();
        assert_eq!(
            last_log_line(&log).as_deref(),
            Some("error: storage at /d: gone")
        );
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m stopping"),
            "2026 ERROR stopping"
        );
    }
}
