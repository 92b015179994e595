//! Carrying out plan actions on a local network. Each function returns once the action's effect
//! (as `plan::model` states it) holds, or with an error naming what failed.
//!
//! Waits poll every 250 ms up to the backend's wait limit ([`Waiting`]). Stopping a process
//! (which waits out its grace period) runs on tokio's blocking pool. Every future here may be
//! dropped at an await point: what it had done by then is recorded in `state.json` or found by
//! the next observation.

use std::time::Duration;

use tokio::time::Instant;

use netwright_crds::EffectiveSpec;
use netwright_ledger::PublicKey;
use netwright_node_api::client::ClientError;
use netwright_node_api::keys::NodeKey;

use crate::backend::BackendError;
use crate::chain::{self, Chain, ChainError};
use crate::plan::{genesis_bytes, genesis_digest, Action, Digest, GenesisRecipe, KeySet, Topology};

use super::config::NodeSettings;
use super::launch::{self, log_tail};
use super::observe::{self, SYNC_SLACK};
use super::rpc::NodeRpc;
use super::state::{write_atomic, NetworkState, NodeRecord, ProcessRecord};
use super::{anvil_marker, keys, now_ms, ports, process, LocalBackend};

type R = Result<(), BackendError>;

fn err(message: impl Into<String>) -> BackendError {
    BackendError::new(message)
}

fn chain_err(e: ChainError) -> BackendError {
    err(e.to_string())
}

fn rpc_err(e: ClientError) -> BackendError {
    BackendError::new(e.to_string())
}

/// Carries out `action`.
pub async fn apply(
    b: &LocalBackend,
    _spec: &EffectiveSpec,
    topology: &Topology,
    action: &Action,
) -> R {
    match action {
        Action::Pause => b.update(|s| {
            s.paused = true;
            Ok(())
        }),
        Action::Resume => b.update(|s| {
            s.paused = false;
            Ok(())
        }),
        Action::CreateTreasuryKey => keys::ensure(&b.layout.treasury_key()).map(drop),
        Action::CreateApplicationKey { application } => {
            keys::ensure(&b.layout.application_key(application)).map(drop)
        }
        Action::CreateNode { node, role } => create_node(b, node, *role),
        Action::WriteGenesis {
            chain_id,
            recipe,
            replaces,
        } => write_genesis(b, topology, chain_id, *recipe, *replaces).await,
        Action::StartRelayChain { chain, config } => {
            start_relay_chain(b, topology, chain, *config).await
        }
        Action::RestartRelayChain { chain, config } => {
            stop_relay_chain(b, chain).await?;
            start_relay_chain(b, topology, chain, *config).await
        }
        Action::StopRelayChain { chain } => stop_relay_chain(b, chain).await,
        Action::WriteNodeConfig { node, config } => write_node_config(b, topology, node, *config),
        Action::StartNode { node } => start_node(b, node).await,
        Action::RestartNode { node } => {
            stop_node(b, node, true).await?;
            start_node(b, node).await
        }
        Action::WaitForSync { node } => wait_for_sync(b, node).await,
        Action::StakeValidator {
            node,
            amount,
            target,
        } => stake(b, node, *amount, *target).await,
        Action::UnstakeValidator {
            node,
            amount,
            target,
        } => unstake(b, node, *amount, *target).await,
        Action::WaitForValidatorExit { node } => wait_for_exit(b, node).await,
        Action::StopNode { node } => stop_node(b, node, false).await,
        Action::DeleteNodeData { node } => delete_data(b, node).await,
    }
}

fn node_key(b: &LocalBackend, node: &str) -> Result<(NodeKey, PublicKey), BackendError> {
    let path = b
        .layout
        .node_home(node)
        .join(netwright_node_api::keys::NODE_KEY_FILE);
    if !path.is_file() {
        return Err(err(format!("node {node} has no home ({})", path.display())));
    }
    let key = keys::load(&path)?;
    let public = keys::public_key(&key, &path)?;
    Ok((key, public))
}

fn create_node(b: &LocalBackend, node: &str, role: crate::plan::Role) -> R {
    let key_path = b
        .layout
        .node_home(node)
        .join(netwright_node_api::keys::NODE_KEY_FILE);
    keys::ensure(&key_path)?;
    b.update(|s| ensure_record(s, node, role).map(drop))
}

/// The record of `node`, created with freshly allocated ports when missing (a new node, or a
/// `state.json` that was moved away).
fn ensure_record<'s>(
    s: &'s mut NetworkState,
    node: &str,
    role: crate::plan::Role,
) -> Result<&'s mut NodeRecord, BackendError> {
    if !s.nodes.contains_key(node) {
        let got = ports::allocate(2, &s.used_ports())?;
        s.nodes.insert(
            node.to_owned(),
            NodeRecord {
                role,
                p2p_port: got[0],
                rpc_port: got[1],
                config_digest: None,
                process: ProcessRecord::default(),
            },
        );
    }
    let rec = s
        .nodes
        .get_mut(node)
        .ok_or_else(|| err(format!("node {node}: not recorded")))?;
    rec.role = role;
    Ok(rec)
}

/// The public keys on disk, as genesis construction takes them.
async fn key_set(b: &LocalBackend) -> Result<KeySet, BackendError> {
    let observed = observe::observe(b).await?;
    Ok(observed.keys())
}

async fn write_genesis(
    b: &LocalBackend,
    topology: &Topology,
    chain_id: &str,
    digest: Digest,
    replaces: Option<Digest>,
) -> R {
    let recipe = GenesisRecipe::from_topology(topology).map_err(|e| err(e.to_string()))?;
    if recipe.digest() != digest || recipe.chain_id != chain_id {
        return Err(err(format!(
            "the plan names recipe {} of chain {chain_id}, but the declared network gives recipe {} of chain {}: plan again",
            digest.short(),
            recipe.digest().short(),
            recipe.chain_id
        )));
    }
    let current = observe::read_genesis(&b.layout)?.map(|g| genesis_digest(&g));
    if current != replaces {
        return Err(err(format!(
            "the plan expects the current genesis to be {}, but it is {}: plan again",
            replaces.map_or("none".to_owned(), |d| d.short()),
            current.map_or("none".to_owned(), |d| d.short())
        )));
    }
    let genesis = recipe
        .build(&key_set(b).await?, now_ms())
        .map_err(|e| err(e.to_string()))?;
    let bytes = genesis_bytes(&genesis);
    for name in observe::node_names(&b.layout)? {
        let path = b
            .layout
            .node_home(&name)
            .join(netwright_node_api::home::GENESIS_FILE);
        write_atomic(&path, &bytes)?;
    }
    write_atomic(&b.layout.genesis(), &bytes)?;
    let names = observe::node_names(&b.layout)?;
    let mut stakes = std::collections::BTreeMap::new();
    for name in names {
        let (_, public) = node_key(b, &name)?;
        if let Some(v) = genesis.validators.iter().find(|v| v.public_key == public) {
            stakes.insert(name, v.stake);
        }
    }
    b.update(|s| {
        s.stakes = stakes;
        Ok(())
    })
}

async fn start_relay_chain(b: &LocalBackend, topology: &Topology, id: &str, config: Digest) -> R {
    let chain = topology
        .managed_chains
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| err(format!("relay chain {id} is not a declared managed chain")))?;
    if chain.digest() != config {
        return Err(err(format!(
            "relay chain {id}: the plan names settings {}, the declaration gives {}: plan again",
            config.short(),
            chain.digest().short()
        )));
    }
    b.anvil_bin()?;
    launch::write_chain_settings(b, chain)?;
    let port = b.update(|s| {
        let port = match s.relay_chains.get(id).and_then(|r| r.port) {
            Some(p) => p,
            None => ports::allocate(1, &s.used_ports())?[0],
        };
        let rec = s.relay_chains.entry(id.to_owned()).or_default();
        rec.port = Some(port);
        rec.config_digest = Some(config);
        rec.should_run = true;
        rec.failures = 0;
        let alive = rec.is_alive(anvil_marker(port));
        if !alive {
            launch::spawn_relay_chain(b, s, id)?;
        }
        Ok(port)
    })?;
    let log = b.layout.relay_chain_log(id);
    let waiting = Waiting::new(
        b.wait,
        format!("relay chain {id} to answer eth_blockNumber on port {port}"),
    );
    while b.rpc.eth_block_number(port).await.is_err() {
        waiting.tick().await.map_err(|e| {
            err(format!(
                "{e}; last lines of {}:\n{}",
                log.display(),
                log_tail(&log, 10)
            ))
        })?;
    }
    Ok(())
}

async fn stop_relay_chain(b: &LocalBackend, id: &str) -> R {
    let target = b.update(|s| {
        Ok(s.relay_chains.get_mut(id).and_then(|rec| {
            rec.should_run = false;
            rec.ours(anvil_marker(rec.port?))
        }))
    })?;
    stop(target).await
}

fn write_node_config(b: &LocalBackend, topology: &Topology, node: &str, config: Digest) -> R {
    let declared = topology
        .node(node)
        .ok_or_else(|| err(format!("node {node} is not declared")))?;
    if declared.config.digest() != config {
        return Err(err(format!(
            "node {node}: the plan names configuration {}, the declaration gives {}: plan again",
            config.short(),
            declared.config.digest().short()
        )));
    }
    node_key(b, node)?;
    b.update(|s| {
        ensure_record(s, node, declared.role)?;
        let settings = NodeSettings::new(&declared.config, &launch::managed_endpoints(s));
        launch::render_node_files(b, s, node, &settings)?;
        ensure_record(s, node, declared.role)?.config_digest = Some(config);
        Ok(())
    })
}

/// Starts node `node` unless it runs, and returns once its RPC answers; a node that exits
/// first is reported with the end of its log.
async fn start_node(b: &LocalBackend, node: &str) -> R {
    let marker = b.node_marker(node);
    let (rpc_port, ours) = b.update(|s| {
        let rec = s
            .nodes
            .get_mut(node)
            .ok_or_else(|| err(format!("node {node} has no home; create it first")))?;
        rec.process.should_run = true;
        rec.process.failures = 0;
        let alive = rec.process.is_alive(marker.clone());
        if !alive {
            launch::spawn_node(b, s, node)?;
        }
        let rec = s
            .nodes
            .get(node)
            .ok_or_else(|| err(format!("node {node}: not recorded")))?;
        Ok((rec.rpc_port, rec.process.ours(marker)))
    })?;
    let log = b.layout.node_log(node);
    let waiting = Waiting::new(
        b.wait,
        format!("node {node} to answer on its RPC port {rpc_port}"),
    );
    while b.rpc.status(rpc_port).await.is_err() {
        if !ours.as_ref().is_some_and(|p| p.is_alive()) {
            return Err(err(format!(
                "node {node} exited as it started; last lines of {}:\n{}",
                log.display(),
                log_tail(&log, 10)
            )));
        }
        waiting.tick().await?;
    }
    Ok(())
}

/// Stops node `node`. `restarting` keeps it marked as one that should run (the caller starts
/// it again under the same plan step).
async fn stop_node(b: &LocalBackend, node: &str, restarting: bool) -> R {
    let target = b.update(|s| {
        let rec = s
            .nodes
            .get_mut(node)
            .ok_or_else(|| err(format!("node {node} has no home")))?;
        if !restarting {
            rec.process.should_run = false;
        }
        Ok(rec.process.ours(b.node_marker(node)))
    })?;
    stop(target).await
}

/// Stops `target` (SIGTERM, SIGKILL after the grace period) on tokio's blocking pool.
async fn stop(target: Option<process::Ours>) -> R {
    let Some(ours) = target else {
        return Ok(());
    };
    tokio::task::spawn_blocking(move || process::stop_all(&[ours], process::STOP_GRACE))
        .await
        .map_err(|e| err(format!("stopping a process: {e}")))
}

async fn delete_data(b: &LocalBackend, node: &str) -> R {
    let snap = observe::snapshot(b).await?;
    if snap.nodes.iter().any(|p| p.name == node && p.running) {
        return Err(err(format!("node {node} is running; stop it first")));
    }
    let data = b
        .layout
        .node_home(node)
        .join(netwright_node_api::home::DATA_DIR);
    match std::fs::remove_dir_all(&data) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(format!("{}: {e}", data.display()))),
    }
}

/// A wait for something to hold: [`Waiting::tick`] sleeps 250 ms, or fails once `limit` has
/// passed since the wait began.
struct Waiting {
    deadline: Instant,
    limit: Duration,
    what: String,
}

impl Waiting {
    /// A wait for `what` (as in "gave up waiting for `what`") of at most `limit`.
    fn new(limit: Duration, what: String) -> Self {
        Self {
            deadline: Instant::now() + limit,
            limit,
            what,
        }
    }

    /// Sleeps before the next look, or fails when the limit has passed.
    async fn tick(&self) -> R {
        if Instant::now() >= self.deadline {
            return Err(err(format!(
                "gave up waiting for {} after {} s",
                self.what,
                self.limit.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        Ok(())
    }
}

async fn wait_for_sync(b: &LocalBackend, node: &str) -> R {
    let log = b.layout.node_log(node);
    let mut last = String::from("no answer yet");
    let waiting = Waiting::new(b.wait, format!("{node} to catch up"));
    loop {
        let snap = observe::snapshot(b).await?;
        let probe = snap
            .nodes
            .iter()
            .find(|p| p.name == node)
            .ok_or_else(|| err(format!("node {node} has no home")))?;
        if !probe.running {
            return Err(err(format!(
                "node {node} is not running; last lines of {}:\n{}",
                log.display(),
                log_tail(&log, 10)
            )));
        }
        let top = snap.max_height().unwrap_or(0);
        if let Some(s) = &probe.status {
            if !s.catching_up && s.height.saturating_add(SYNC_SLACK) >= top {
                return Ok(());
            }
            last = format!(
                "height {} of {top}, catching up: {}",
                s.height, s.catching_up
            );
        }
        waiting
            .tick()
            .await
            .map_err(|e| err(format!("{e} (last seen: {last})")))?;
    }
}

/// A healthy node's RPC port to submit through and query.
async fn healthy_port(b: &LocalBackend) -> Result<u16, BackendError> {
    let snap = observe::snapshot(b).await?;
    snap.healthy_port()
        .ok_or_else(|| err("no node of the network is running and caught up to submit through"))
}

fn chain_id(b: &LocalBackend) -> Result<String, BackendError> {
    observe::read_genesis(&b.layout)?
        .map(|g| g.chain_id)
        .ok_or_else(|| err("the network has no genesis yet"))
}

/// The bonded stake of `public` as the node on `port` lists it.
async fn stake_of(rpc: &NodeRpc, port: u16, public: &PublicKey) -> Result<u64, BackendError> {
    let client = rpc.at(port).map_err(rpc_err)?;
    chain::stake_of(&client, public).await.map_err(chain_err)
}

async fn wait_for_stake(b: &LocalBackend, node: &str, public: &PublicKey, target: u64) -> R {
    let waiting = Waiting::new(b.wait, format!("{node}'s bonded stake to become {target}"));
    loop {
        let port = healthy_port(b).await?;
        let seen = stake_of(&b.rpc, port, public).await?;
        if seen == target {
            break;
        }
        waiting
            .tick()
            .await
            .map_err(|e| err(format!("{e} (last seen: {seen})")))?;
    }
    b.update(|s| {
        if target == 0 {
            s.stakes.remove(node);
        } else {
            s.stakes.insert(node.to_owned(), target);
        }
        Ok(())
    })
}

async fn stake(b: &LocalBackend, node: &str, amount: u64, target: u64) -> R {
    let (key, public) = node_key(b, node)?;
    let chain_id = chain_id(b)?;
    let client = b.rpc.at(healthy_port(b).await?).map_err(rpc_err)?;
    let treasury = keys::load_if_present(&b.layout.treasury_key())?.map(|k| keys::signing_key(&k));
    let chain = Chain::new(&client, &chain_id);
    chain
        .stake(
            node,
            &keys::signing_key(&key),
            treasury.as_ref(),
            amount,
            target,
        )
        .await
        .map_err(chain_err)?;
    wait_for_stake(b, node, &public, target).await
}

async fn unstake(b: &LocalBackend, node: &str, amount: u64, target: u64) -> R {
    let (key, public) = node_key(b, node)?;
    let chain_id = chain_id(b)?;
    let client = b.rpc.at(healthy_port(b).await?).map_err(rpc_err)?;
    let chain = Chain::new(&client, &chain_id);
    chain
        .unstake(node, &keys::signing_key(&key), amount, target)
        .await
        .map_err(chain_err)?;
    wait_for_stake(b, node, &public, target).await
}

async fn wait_for_exit(b: &LocalBackend, node: &str) -> R {
    let (_, public) = node_key(b, node)?;
    let mut left_at = None;
    // Out of the committed set, then two more blocks so that the set without it has taken over
    // at the next height boundary and signed.
    let waiting = Waiting::new(b.wait, format!("{node} to leave the validator set"));
    loop {
        let port = healthy_port(b).await?;
        if stake_of(&b.rpc, port, &public).await? == 0 {
            let height = b.rpc.status(port).await.map_err(rpc_err)?.height;
            let since = *left_at.get_or_insert(height);
            if height >= since + 2 {
                return Ok(());
            }
        }
        waiting.tick().await?;
    }
}
