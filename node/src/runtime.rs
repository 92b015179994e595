//! What `netwright-node run` starts today: storage, p2p and RPC.
//!
//! The consensus engine and the ledger are not wired into the runtime yet. Until they are, a
//! running node does not propose, vote, execute or commit blocks; it keeps its identity and
//! database, peers with its persistent peers, serves the blocks it has stored to syncing peers,
//! and answers RPC (transaction submission, accounts and validators answer 503 and say why).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::home::Loaded;
use crate::p2p::{self, NetEvent, NetworkConfig, SyncResponse, SyncedBlock, Verdict};
use crate::rpc::{self, HealthView, NodeMetrics, NodeView, RpcLimits, StatusView, ViewError};
use crate::storage::{Storage, StorageError};

/// Errors that stop the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database could not be opened.
    #[error("storage at {path}: {source}")]
    Storage {
        /// Data directory.
        path: std::path::PathBuf,
        /// Cause.
        source: StorageError,
    },
    /// Networking could not start.
    #[error("p2p: {0}")]
    Network(#[from] p2p::NetError),
    /// The RPC server could not bind or failed.
    #[error("rpc on {addr}: {source}")]
    Rpc {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("internal: {0}")]
    Join(String),
}

const NOT_WIRED: &str = "consensus and ledger are not wired into this node yet";

/// The runtime's implementation of the RPC view: storage-backed blocks, live peer count.
pub struct RuntimeView {
    storage: Arc<Storage>,
    peers: AtomicU64,
    moniker: String,
    chain_id: String,
    peer_id: String,
}

impl NodeView for RuntimeView {
    fn status(&self) -> StatusView {
        let tip = self.storage.tip().ok().flatten();
        StatusView {
            moniker: self.moniker.clone(),
            chain_id: self.chain_id.clone(),
            peer_id: self.peer_id.clone(),
            height: tip.map_or(0, |t| t.height),
            latest_hash: tip.map(|t| hex::encode(t.block_hash)).unwrap_or_default(),
            latest_time: String::new(),
            round: None,
            catching_up: false,
            peers: self.peers.load(Ordering::Relaxed),
            validator: None,
            consensus: false,
        }
    }

    fn health(&self) -> HealthView {
        match self.storage.latest_height() {
            Ok(_) => HealthView {
                healthy: true,
                detail: format!("storage, p2p and rpc are running; {NOT_WIRED}"),
            },
            Err(e) => HealthView {
                healthy: false,
                detail: format!("storage: {e}"),
            },
        }
    }

    fn block(&self, height: u64) -> Result<Value, ViewError> {
        let internal = |e: StorageError| ViewError::Internal(e.to_string());
        let block = self.storage.block(height).map_err(internal)?;
        let cert = self.storage.cert(height).map_err(internal)?;
        match (block, cert) {
            (Some(block), Some(cert)) => Ok(json!({
                "height": height,
                "block": hex::encode(block),
                "cert": hex::encode(cert),
            })),
            _ => Err(ViewError::NotFound(format!(
                "no committed block at height {height}"
            ))),
        }
    }

    fn validators(&self) -> Result<Value, ViewError> {
        Err(ViewError::Unavailable(format!(
            "validator set unknown: {NOT_WIRED}"
        )))
    }

    fn account(&self, _address: &str) -> Result<Value, ViewError> {
        Err(ViewError::Unavailable(format!(
            "accounts unknown: {NOT_WIRED}"
        )))
    }

    fn submit_tx(&self, _tx: Vec<u8>) -> Result<String, ViewError> {
        Err(ViewError::Unavailable(format!(
            "transactions are not accepted: {NOT_WIRED}"
        )))
    }

    async fn wait_commit(&self, _hash: String) -> Result<u64, ViewError> {
        Err(ViewError::Unavailable(NOT_WIRED.to_string()))
    }
}

/// Runs the node until `shutdown` fires (Ctrl-C / SIGTERM in the binary).
pub async fn run(
    loaded: Loaded,
    data_dir: std::path::PathBuf,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), RunError> {
    let Loaded {
        config,
        checked,
        key,
        genesis,
    } = loaded;
    let dir = data_dir.clone();
    let storage = tokio::task::spawn_blocking(move || Storage::open(&dir))
        .await
        .map_err(|e| RunError::Join(e.to_string()))?
        .map_err(|source| RunError::Storage {
            path: data_dir.clone(),
            source,
        })?;
    let storage = Arc::new(storage);
    let tip = storage.tip().map_err(|source| RunError::Storage {
        path: data_dir.clone(),
        source,
    })?;
    info!(
        moniker = %config.moniker,
        chain_id = %genesis.chain_id,
        peer_id = %key.peer_id(),
        height = tip.map_or(0, |t| t.height),
        "node starting"
    );

    let metrics = Arc::new(NodeMetrics::new());
    metrics.height.set(tip.map_or(0, |t| t.height as i64));
    let net_config = NetworkConfig::from_config(
        &config,
        checked.p2p_listen.clone(),
        checked.persistent_peers.clone(),
        &genesis.chain_id,
    );
    let max_sync_bytes = net_config.max_sync_response_bytes / 2;
    let mut network = p2p::spawn(&key, net_config)?;

    let view = Arc::new(RuntimeView {
        storage: storage.clone(),
        peers: AtomicU64::new(0),
        moniker: config.moniker.clone(),
        chain_id: genesis.chain_id.clone(),
        peer_id: key.peer_id().to_string(),
    });
    let limits = RpcLimits {
        max_body_bytes: config.rpc.max_body_bytes,
        commit_wait: Duration::from_millis(config.rpc.commit_wait_ms),
    };
    let (listener, rpc_addr) =
        rpc::bind(checked.rpc_listen)
            .await
            .map_err(|source| RunError::Rpc {
                addr: checked.rpc_listen,
                source,
            })?;
    info!(%rpc_addr, "rpc listening");
    let router = rpc::router(view.clone(), metrics.clone(), limits);
    let mut rpc_shutdown = shutdown.clone();
    let rpc_task = tokio::spawn(rpc::serve(listener, router, async move {
        let _ = rpc_shutdown.wait_for(|stop| *stop).await;
    }));

    warn!("{NOT_WIRED}: this node does not propose, vote or commit blocks; it runs storage, p2p (serving stored blocks to syncing peers) and rpc only");

    let mut peers = std::collections::HashSet::new();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            event = network.events.recv() => {
                let Some(event) = event else { break };
                match event {
                    NetEvent::PeerConnected { peer } => {
                        peers.insert(peer);
                        view.peers.store(peers.len() as u64, Ordering::Relaxed);
                        metrics.peers.set(peers.len() as i64);
                    }
                    NetEvent::PeerDisconnected { peer } => {
                        peers.remove(&peer);
                        view.peers.store(peers.len() as u64, Ordering::Relaxed);
                        metrics.peers.set(peers.len() as i64);
                    }
                    NetEvent::Gossip(message) => {
                        // Nothing can validate consensus or transaction payloads yet: neither
                        // forward nor penalise.
                        let _ = network.handle.report_validation(&message, Verdict::Ignore).await;
                    }
                    NetEvent::SyncRequest { request, responder, .. } => {
                        let storage = storage.clone();
                        tokio::task::spawn_blocking(move || {
                            let blocks = match storage.blocks_range(request.from, request.to, max_sync_bytes) {
                                Ok(blocks) => blocks,
                                Err(e) => {
                                    warn!(error = %e, "cannot read blocks for a sync request");
                                    Vec::new()
                                }
                            };
                            responder.respond(SyncResponse {
                                blocks: blocks
                                    .into_iter()
                                    .map(|b| SyncedBlock { height: b.height, block: b.block, cert: b.cert })
                                    .collect(),
                            });
                        });
                    }
                    NetEvent::Listening { .. }
                    | NetEvent::PeerSubscribed { .. }
                    | NetEvent::Redialing { .. }
                    | NetEvent::PeerPenalised { .. } => {}
                }
            }
        }
    }
    info!("shutting down");
    let _ = network.handle.shutdown().await;
    let _ = network.task.await;
    match rpc_task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(RunError::Rpc {
            addr: rpc_addr,
            source,
        }),
        Err(e) => Err(RunError::Join(e.to_string())),
    }
}
