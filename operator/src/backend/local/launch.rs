//! Starting and stopping one node or relay chain process, as recorded in `state.json`. Callers
//! hold the state lock while spawning, so that two processes never start the same node.

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::BackendError;
use crate::plan::ManagedChain;

use super::config::{node_toml_config, NodeSettings, Wiring};
use super::process::Ours;
use super::state::{io_error, write_atomic, NetworkState};
use super::{anvil, anvil_marker, keys, now_ms, process, LocalBackend};

/// Managed relay chain endpoints by id, as recorded.
pub fn managed_endpoints(st: &NetworkState) -> BTreeMap<String, String> {
    st.relay_chains
        .iter()
        .filter_map(|(id, r)| {
            r.port
                .map(|p| (id.clone(), format!("http://127.0.0.1:{p}")))
        })
        .collect()
}

/// Writes node `name`'s `config.toml` (ports, current peers, timings) and `netwright.json`
/// from its recorded settings.
pub fn render_node_files(
    b: &LocalBackend,
    st: &NetworkState,
    name: &str,
    settings: &NodeSettings,
) -> Result<(), BackendError> {
    let rec = st.nodes.get(name).ok_or_else(|| {
        BackendError::new(format!(
            "node {name} has no ports recorded; create it first"
        ))
    })?;
    let mut peers = Vec::new();
    for (other, r) in &st.nodes {
        if other == name {
            continue;
        }
        let key_path = b
            .layout
            .node_home(other)
            .join(netwright_node_api::keys::NODE_KEY_FILE);
        if let Some(key) = keys::load_if_present(&key_path)? {
            peers.push((r.p2p_port, key.peer_id()));
        }
    }
    let wiring = Wiring {
        name: name.to_owned(),
        p2p_port: rec.p2p_port,
        rpc_port: rec.rpc_port,
        peers,
    };
    let config = node_toml_config(&settings.config, &wiring);
    let text = config
        .to_toml()
        .map_err(|e| BackendError::new(format!("node {name}: rendering config.toml: {e}")))?;
    let home = b.layout.node_home(name);
    write_atomic(
        &home.join(netwright_node_api::config::CONFIG_FILE),
        text.as_bytes(),
    )?;
    let resolved = NodeSettings::new(&settings.config, &managed_endpoints(st));
    let json = serde_json::to_string_pretty(&resolved).unwrap_or_default() + "\n";
    write_atomic(&b.layout.node_settings(name), json.as_bytes())
}

/// The settings recorded in node `name`'s home.
pub fn read_settings(b: &LocalBackend, name: &str) -> Result<NodeSettings, BackendError> {
    let path = b.layout.node_settings(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        BackendError::new(format!(
            "node {name}: no configuration written ({}: {e})",
            path.display()
        ))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| BackendError::new(format!("{}: not valid settings: {e}", path.display())))
}

/// Spawns node `name` (its files refreshed: genesis, config, peers) and records its pid.
/// Returns the pid. The caller holds the state lock.
pub fn spawn_node(
    b: &LocalBackend,
    st: &mut NetworkState,
    name: &str,
) -> Result<u32, BackendError> {
    let settings = read_settings(b, name)?;
    let genesis = b.layout.genesis();
    let bytes = std::fs::read(&genesis).map_err(|e| {
        BackendError::new(format!(
            "node {name}: no network genesis ({}: {e})",
            genesis.display()
        ))
    })?;
    let home = b.layout.node_home(name);
    let home_genesis = home.join(netwright_node_api::home::GENESIS_FILE);
    if std::fs::read(&home_genesis).ok().as_deref() != Some(bytes.as_slice()) {
        write_atomic(&home_genesis, &bytes)?;
    }
    let process_file = b.layout.node_process(name);
    refuse_untracked(b, &process_file, &format!("node {name}"))?;
    render_node_files(b, st, name, &settings)?;
    let bin = b.node_bin()?;
    let args = vec![
        "run".to_owned(),
        "--home".to_owned(),
        home.display().to_string(),
    ];
    let id = process::spawn_detached(&bin, &args, &b.layout.node_log(name))?;
    process::write_process_file(&process_file, &Ours::started(id, b.node_marker(name)))?;
    let rec = st
        .nodes
        .get_mut(name)
        .ok_or_else(|| BackendError::new(format!("node {name}: not recorded")))?;
    rec.process.started(id, now_ms());
    Ok(id.pid)
}

/// Where a relay chain's settings are kept, so that a supervisor can restart it.
fn chain_settings_path(b: &LocalBackend, id: &str) -> std::path::PathBuf {
    b.layout.relay_chain(id).join("chain.json")
}

/// Records `chain`'s settings in its directory.
pub fn write_chain_settings(b: &LocalBackend, chain: &ManagedChain) -> Result<(), BackendError> {
    let json = serde_json::to_string_pretty(chain).unwrap_or_default() + "\n";
    write_atomic(&chain_settings_path(b, &chain.id), json.as_bytes())
}

/// Spawns managed relay chain `id` with its recorded settings and port; records its pid.
pub fn spawn_relay_chain(
    b: &LocalBackend,
    st: &mut NetworkState,
    id: &str,
) -> Result<u32, BackendError> {
    let path = chain_settings_path(b, id);
    let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
    let chain: ManagedChain = serde_json::from_str(&text)
        .map_err(|e| BackendError::new(format!("{}: not valid settings: {e}", path.display())))?;
    let rec = st
        .relay_chains
        .get_mut(id)
        .ok_or_else(|| BackendError::new(format!("relay chain {id}: not recorded")))?;
    let port = rec
        .port
        .ok_or_else(|| BackendError::new(format!("relay chain {id}: no port recorded")))?;
    let process_file = b.layout.relay_chain_process(id);
    refuse_untracked(b, &process_file, &format!("relay chain {id}"))?;
    let bin = b.anvil_bin()?;
    let args = anvil::anvil_args(&chain, port);
    debug_assert!(args.join(" ").contains(&anvil_marker(port)));
    let started = process::spawn_detached(&bin, &args, &b.layout.relay_chain_log(id))?;
    process::write_process_file(&process_file, &Ours::started(started, anvil_marker(port)))?;
    rec.started(started, now_ms());
    Ok(started.pid)
}

/// Refuses to start `what` while the process its process file names still runs: `state.json`
/// no longer tracks it (it was moved away, or recorded another pid), and a second process on
/// the same home would die on the first one's database lock.
fn refuse_untracked(b: &LocalBackend, process_file: &Path, what: &str) -> Result<(), BackendError> {
    match process::read_process_file(process_file) {
        Some(running) if running.is_alive() => Err(BackendError::new(format!(
            "{what} is already running as pid {} (recorded in {}) but {} does not track it; \
             stop the network's processes with `{}`, then apply again",
            running.pid,
            process_file.display(),
            b.layout.state().display(),
            b.down_command()
        ))),
        _ => Ok(()),
    }
}

/// The last lines of `log`, to attach to an error about the process writing it.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}
