//! What `netwright-node run` starts: the driver (consensus + ledger + mempool) wired to
//! storage, p2p and RPC.
//!
//! One lock guards the driver. Every input (gossip, RPC transactions, timers, synced blocks,
//! storage acknowledgements) is handed to it under that lock, and the commands of its reaction
//! are queued, still under the lock, on one channel. A single executor carries the queue out
//! strictly in order: a WAL record is durable before any later command runs, and a commit is
//! written in one storage transaction before `Committed` is handed back.
//!
//! Any error of the executor or of the driver's fatal channel stops the node: the event loop
//! ends, nothing queued after the failed command is carried out (so a vote whose WAL record
//! was not stored is never broadcast), the RPC server closes and `run` returns the error, which
//! the binary prints as its last line before exiting non-zero. A timer also checks that the
//! database file is still the one opened ([`Storage::check_present`]), so a deleted data
//! directory stops even an idle node.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use libp2p::PeerId;
use netwright_consensus::Timeouts;
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::driver::{Command, Driver, DriverConfig, DriverError, Input, TxOrigin, Verdict};
use crate::home::Loaded;
use crate::mempool::Limits;
use crate::p2p::{self, NetEvent, NetworkConfig, SyncResponse, SyncedBlock, Topic};
use crate::rpc::{self, NodeMetrics, ViewError};
use crate::storage::{Storage, StorageError};

/// Errors that stop the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database could not be opened or written.
    #[error("storage at {path}: {cause}")]
    Storage {
        /// Data directory.
        path: std::path::PathBuf,
        /// Cause, part of this error's message (not a separate `source`, which would print it
        /// twice in the binary's error chain).
        cause: StorageError,
    },
    /// The driver refused what storage holds, or failed on an input it cannot skip.
    #[error("driver: {0}")]
    Driver(#[from] DriverError),
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
    /// The driver hit an error after which its state cannot be trusted (see
    /// `DriverError::is_fatal`); the node stops instead of following a chain it disagrees with.
    #[error("fatal: {0}")]
    Fatal(String),
    /// A blocking task failed or a lock was poisoned.
    #[error("internal: {0}")]
    Join(String),
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The driver settings a node configuration asks for.
pub fn driver_config(config: &Config) -> DriverConfig {
    let c = &config.consensus;
    DriverConfig {
        timeouts: Timeouts {
            propose_ms: c.timeout_propose_ms,
            propose_delta_ms: c.timeout_propose_delta_ms,
            prevote_ms: c.timeout_prevote_ms,
            prevote_delta_ms: c.timeout_prevote_delta_ms,
            precommit_ms: c.timeout_precommit_ms,
            precommit_delta_ms: c.timeout_precommit_delta_ms,
            rebroadcast_ms: Timeouts::default().rebroadcast_ms,
        },
        mempool: Limits {
            max_txs: config.mempool.max_txs,
            max_bytes: config.mempool.max_bytes,
            max_per_sender: config.mempool.max_per_sender,
        },
        max_sync_blocks: config.p2p.max_sync_blocks,
        commit_pause_ms: c.timeout_commit_ms,
        block_interval_ms: c.block_interval_ms,
        ..DriverConfig::default()
    }
}

/// Interval between two announcements of this node's committed height to its peers.
const STATUS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Interval between two checks that the database file is still in place, for the time no
/// write would notice it (writes check it themselves).
const STORE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The driver behind its lock, with the queue its commands go to.
pub(crate) struct Core {
    driver: Mutex<Driver>,
    commands: mpsc::UnboundedSender<Command>,
    fatal: mpsc::UnboundedSender<String>,
    /// Decoding and signature checks of submitted transactions, outside the driver's lock and
    /// gathered into large batches.
    verifier: verifier::Verifier,
}

impl Core {
    /// Hands `input` to the driver and queues its commands; returns the verdicts.
    fn feed(&self, input: Input) -> Result<Vec<Verdict>, RunError> {
        let mut driver = self
            .driver
            .lock()
            .map_err(|_| RunError::Join("driver lock poisoned".into()))?;
        let reaction = driver.handle(now_ms(), input).inspect_err(|e| {
            if e.is_fatal() {
                let _ = self.fatal.send(e.to_string());
            }
        })?;
        for command in reaction.commands {
            // The executor only goes away at shutdown; then nothing needs doing.
            let _ = self.commands.send(command);
        }
        Ok(reaction.verdicts)
    }

    fn read<T>(&self, f: impl FnOnce(&Driver) -> T) -> Result<T, ViewError> {
        let driver = self
            .driver
            .lock()
            .map_err(|_| ViewError::Internal("driver lock poisoned".into()))?;
        Ok(f(&driver))
    }
}

fn storage_err(path: &std::path::Path) -> impl Fn(StorageError) -> RunError + '_ {
    move |cause| RunError::Storage {
        path: path.to_path_buf(),
        cause,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RunError::Join(e.to_string()))
}

/// The gossip verdict on a message from the driver's verdicts on its items (one for a
/// consensus message, one per transaction of a batch): any rejected item rejects the message
/// (an honest peer only gossips what it admitted), else any accepted item accepts it.
fn gossip_verdict(verdicts: &[Verdict], from: &PeerId) -> p2p::Verdict {
    if let Some(why) = verdicts.iter().find_map(|v| match v {
        Verdict::Rejected(why) => Some(why),
        _ => None,
    }) {
        debug!(peer = %from, reason = %why, "rejected gossip");
        return p2p::Verdict::Reject;
    }
    if verdicts.contains(&Verdict::Accepted) {
        p2p::Verdict::Accept
    } else {
        p2p::Verdict::Ignore
    }
}

/// The kind of a vote gossip message, `None` if it is not a well-formed vote (the driver
/// judges it).
fn vote_kind(bytes: &[u8]) -> Option<rpc::VoteKind> {
    use netwright_consensus::{ConsensusMessage, VoteKind};
    match borsh::from_slice::<ConsensusMessage>(bytes).ok()? {
        ConsensusMessage::Vote(v) => Some(match v.vote.kind {
            VoteKind::Prevote => rpc::VoteKind::Prevote,
            VoteKind::Precommit => rpc::VoteKind::Precommit,
        }),
        ConsensusMessage::Proposal { .. } => None,
    }
}

mod exec;
mod recent;
mod txgossip;
mod verifier;
mod view;

use exec::{net_ops, Exec, NetOp};
use recent::RecentCommits;
use view::Waiters;
pub use view::{rfc3339_ms, RuntimeView};

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
    let storage = blocking(move || Storage::open(&dir))
        .await?
        .map_err(storage_err(&data_dir))?;
    let storage = Arc::new(storage);
    let st = storage.clone();
    let restore = blocking(move || st.restore())
        .await?
        .map_err(storage_err(&data_dir))?;
    let driver = Driver::new(
        &genesis,
        Some(key.secret_bytes()),
        restore,
        driver_config(&config),
    )?;
    let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
    let (fatal_tx, mut fatal_rx) = mpsc::unbounded_channel();
    let metrics = Arc::new(NodeMetrics::new());
    let recent = Arc::new(Mutex::new(RecentCommits::default()));
    let verifier = verifier::Verifier::start(
        driver.key_cache(),
        recent.clone(),
        metrics.txs_gossip_already_committed.clone(),
    );
    let core = Arc::new(Core {
        driver: Mutex::new(driver),
        commands: cmd_tx,
        fatal: fatal_tx,
        verifier,
    });
    let status = core
        .read(|d| d.status())
        .map_err(|e| RunError::Join(e.to_string()))?;
    info!(
        moniker = %config.moniker,
        chain_id = %genesis.chain_id,
        peer_id = %key.peer_id(),
        height = status.height,
        "node starting"
    );

    metrics.height.set(status.height as i64);
    metrics.consensus_wired.set(1);
    let net_config = NetworkConfig::from_config(
        &config,
        checked.p2p_listen.clone(),
        checked.persistent_peers.clone(),
        &genesis.chain_id,
    );
    let max_sync_bytes = net_config.max_sync_response_bytes / 2;
    let mut tx_batch = txgossip::TxBatcher::new(net_config.max_tx_bytes);
    let mut gossip_tick = tokio::time::interval(txgossip::FLUSH_INTERVAL);
    gossip_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
    status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut store_tick = tokio::time::interval(STORE_CHECK_INTERVAL);
    store_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut network = p2p::spawn(&key, net_config)?;

    let view = Arc::new(RuntimeView {
        core: core.clone(),
        storage: storage.clone(),
        peers: AtomicU64::new(0),
        waiters: Mutex::new(Waiters::default()),
        recent,
        metrics: metrics.clone(),
        moniker: config.moniker.clone(),
        peer_id: key.peer_id().to_string(),
    });
    let limits = config.rpc.limits();
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
    // Closes the RPC server when the node stops on its own (an error), not only on a signal.
    let (stopped_tx, mut stopped_rx) = watch::channel(false);
    let rpc_task = tokio::spawn(rpc::serve(
        listener,
        router,
        limits,
        metrics.clone(),
        async move {
            tokio::select! {
                _ = rpc_shutdown.wait_for(|stop| *stop) => {}
                _ = stopped_rx.wait_for(|stop| *stop) => {}
            }
        },
    ));

    {
        let mut d = core
            .driver
            .lock()
            .map_err(|_| RunError::Join("driver lock poisoned".into()))?;
        let reaction = d.start(now_ms())?;
        for c in reaction.commands {
            let _ = core.commands.send(c);
        }
    }

    let (ops_tx, ops_rx) = mpsc::unbounded_channel();
    let ops_task = tokio::spawn(net_ops(network.handle.clone(), ops_rx));
    let mut peers: HashSet<PeerId> = HashSet::new();
    let mut next_peer = 0usize;
    let result = loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break Ok(()),
            _ = gossip_tick.tick() => {
                if let Some(batch) = tx_batch.flush() {
                    let _ = ops_tx.send(NetOp::Publish(Topic::Txs, batch));
                }
            }
            _ = status_tick.tick() => {
                if let Ok(height) = core.read(|d| d.height()) {
                    let _ = ops_tx.send(NetOp::Publish(Topic::Status, p2p::encode_status(height)));
                }
            }
            _ = store_tick.tick() => {
                let st = storage.clone();
                let checked = blocking(move || st.check_present())
                    .await
                    .and_then(|r| r.map_err(storage_err(&data_dir)));
                if let Err(e) = checked {
                    error!(error = %e, "stopping");
                    break Err(e);
                }
            }
            reason = fatal_rx.recv() => {
                let reason = reason.unwrap_or_else(|| "driver channel closed".into());
                error!(%reason, "stopping");
                break Err(RunError::Fatal(reason));
            }
            command = cmd_rx.recv() => {
                let Some(command) = command else { break Ok(()) };
                if let Command::GossipTx { bytes } = command {
                    if let Some(batch) = tx_batch.push(bytes) {
                        let _ = ops_tx.send(NetOp::Publish(Topic::Txs, batch));
                    }
                    continue;
                }
                let ctx = Exec { core: &core, storage: &storage, view: &view, metrics: &metrics, network: &network.handle, net_ops: &ops_tx, data_dir: &data_dir };
                let peer = if peers.is_empty() { None } else {
                    next_peer = next_peer.wrapping_add(1);
                    peers.iter().nth(next_peer % peers.len()).copied()
                };
                if let Err(e) = ctx.execute(command, peer).await {
                    error!(error = %e, "stopping");
                    break Err(e);
                }
            }
            event = network.events.recv() => {
                let Some(event) = event else { break Ok(()) };
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
                    NetEvent::Gossip(mut message) => {
                        // Only the id and the sender go back with the verdict.
                        let data = std::mem::take(&mut message.data);
                        if message.topic == Topic::Votes {
                            if let Some(kind) = vote_kind(&data) {
                                metrics.vote_received(kind);
                            }
                        }
                        if message.topic == Topic::Txs {
                            // Decoding and signature checks run on a blocking thread, outside
                            // the driver's lock and this loop; the verdict follows.
                            let (core, ops) = (core.clone(), ops_tx.clone());
                            tokio::task::spawn_blocking(move || {
                                let verdict = match txgossip::decode_batch(&data) {
                                    Err(why) => {
                                        debug!(peer = %message.from, reason = %why, "rejected gossip");
                                        p2p::Verdict::Reject
                                    }
                                    Ok(txs) => {
                                        let txs = core.verifier.prepare(txs, TxOrigin::Peer);
                                        match core.feed(Input::PreparedTxs { txs, origin: TxOrigin::Peer }) {
                                            Ok(v) => gossip_verdict(&v, &message.from),
                                            Err(e) => {
                                                warn!(error = %e, "gossip input failed");
                                                p2p::Verdict::Ignore
                                            }
                                        }
                                    }
                                };
                                let _ = ops.send(NetOp::Verdict(message, verdict));
                            });
                            continue;
                        }
                        let input = if message.topic == Topic::Status {
                            match p2p::decode_status(&data) {
                                Ok(height) => Input::PeerHeight { height },
                                Err(why) => {
                                    debug!(peer = %message.from, reason = %why, "rejected gossip");
                                    let _ = ops_tx.send(NetOp::Verdict(message, p2p::Verdict::Reject));
                                    continue;
                                }
                            }
                        } else {
                            Input::ConsensusMessage { bytes: data }
                        };
                        let verdict = match core.feed(input) {
                            Ok(v) => gossip_verdict(&v, &message.from),
                            Err(e) => {
                                warn!(error = %e, "gossip input failed");
                                p2p::Verdict::Ignore
                            }
                        };
                        let _ = ops_tx.send(NetOp::Verdict(message, verdict));
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
    };
    info!("shutting down");
    let _ = stopped_tx.send(true);
    ops_task.abort();
    let _ = network.handle.shutdown().await;
    let _ = network.task.await;
    let rpc_result = match rpc_task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(RunError::Rpc {
            addr: rpc_addr,
            source,
        }),
        Err(e) => Err(RunError::Join(e.to_string())),
    };
    result.and(rpc_result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_kind_reads_votes_and_nothing_else() {
        use netwright_consensus::{ConsensusMessage, Signer, Vote, VoteKind};
        let signer = Signer::from_seed([7; 32]);
        let vote = |kind| {
            let v = Vote {
                height: 3,
                round: 1,
                kind,
                block: None,
                validator: signer.id(),
            }
            .sign("c", &signer);
            borsh::to_vec(&ConsensusMessage::Vote(v)).unwrap()
        };
        assert_eq!(
            vote_kind(&vote(VoteKind::Prevote)),
            Some(rpc::VoteKind::Prevote)
        );
        assert_eq!(
            vote_kind(&vote(VoteKind::Precommit)),
            Some(rpc::VoteKind::Precommit)
        );
        assert_eq!(vote_kind(&[1, 2, 3]), None);
        assert_eq!(vote_kind(&[]), None);
    }

    #[test]
    fn driver_config_takes_the_configured_timeouts_and_bounds() {
        let mut c = Config::default();
        c.consensus.timeout_propose_ms = 77;
        c.mempool.max_txs = 9;
        c.p2p.max_sync_blocks = 5;
        let d = driver_config(&c);
        assert_eq!(d.timeouts.propose_ms, 77);
        assert_eq!(d.mempool.max_txs, 9);
        assert_eq!(d.max_sync_blocks, 5);
    }
}
