//! Carrying out the driver's commands: WAL and commits to storage, gossip, timers, block sync
//! and metrics.

use std::sync::Arc;
use std::time::Duration;

use libp2p::PeerId;
use netwright_ledger::Hash;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::view::RuntimeView;
use super::{blocking, storage_err, Core, RunError};
use crate::driver::{Command, Event, Input, Verdict};
use crate::p2p::{self, Offence, SyncRequest, Topic};
use crate::rpc::NodeMetrics;
use crate::storage::Storage;

/// Work for the network task, carried out in order by [`net_ops`] so that the event loop never
/// waits on the network task (which may itself be waiting for the loop to take its events).
pub(super) enum NetOp {
    Publish(Topic, Vec<u8>),
    Verdict(p2p::GossipMessage, p2p::Verdict),
}

pub(super) async fn net_ops(network: p2p::NetworkHandle, mut ops: mpsc::UnboundedReceiver<NetOp>) {
    while let Some(op) = ops.recv().await {
        match op {
            NetOp::Publish(topic, bytes) => {
                // Fails when no peer subscribed yet; consensus re-sends what matters.
                if let Err(e) = network.publish(topic, bytes).await {
                    debug!(error = %e, ?topic, "publish");
                }
            }
            NetOp::Verdict(message, verdict) => {
                if network.report_validation(&message, verdict).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What executing one command needs.
pub(super) struct Exec<'a> {
    pub(super) core: &'a Arc<Core>,
    pub(super) storage: &'a Arc<Storage>,
    pub(super) view: &'a Arc<RuntimeView>,
    pub(super) metrics: &'a Arc<NodeMetrics>,
    pub(super) network: &'a p2p::NetworkHandle,
    pub(super) net_ops: &'a mpsc::UnboundedSender<NetOp>,
    pub(super) data_dir: &'a std::path::Path,
}

impl Exec<'_> {
    pub(super) async fn execute(
        &self,
        command: Command,
        peer: Option<PeerId>,
    ) -> Result<(), RunError> {
        match command {
            Command::PersistWal { height, record } => {
                let st = self.storage.clone();
                blocking(move || st.append_wal_at(height, &record))
                    .await?
                    .map_err(storage_err(self.data_dir))?;
            }
            Command::Broadcast { bytes, .. } => {
                // Tag 0 is a proposal (with its block); everything else is a vote.
                let topic = if bytes.first() == Some(&0) {
                    Topic::Proposals
                } else {
                    Topic::Votes
                };
                let _ = self.net_ops.send(NetOp::Publish(topic, bytes));
            }
            Command::GossipTx { bytes } => {
                let _ = self.net_ops.send(NetOp::Publish(Topic::Txs, bytes));
            }
            Command::ScheduleTimer { timer, after_ms } => {
                let core = self.core.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    if let Err(e) = core.feed(Input::Timer(timer)) {
                        warn!(error = %e, "timer input failed");
                    }
                });
            }
            Command::ScheduleStart { height, after_ms } => {
                let core = self.core.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    if let Err(e) = core.feed(Input::StartNext { height }) {
                        warn!(error = %e, "start input failed");
                    }
                });
            }
            Command::Commit(commit) => {
                let st = self.storage.clone();
                let height = commit.height;
                let hashes: Vec<Hash> = commit.tx_results.iter().map(|r| r.hash).collect();
                blocking(move || st.commit_driver(&commit))
                    .await?
                    .map_err(storage_err(self.data_dir))?;
                self.core.feed(Input::Committed { height })?;
                self.view.committed(height, &hashes);
            }
            Command::PruneWal { below_height } => {
                let st = self.storage.clone();
                blocking(move || st.prune_wal_below(below_height))
                    .await?
                    .map_err(storage_err(self.data_dir))?;
            }
            Command::RequestSync { from, to } => {
                let Some(peer) = peer else {
                    debug!(from, to, "no peer to sync from");
                    return Ok(());
                };
                let core = self.core.clone();
                let network = self.network.clone();
                tokio::spawn(async move {
                    match network.request_blocks(peer, SyncRequest { from, to }).await {
                        Ok(response) => {
                            for b in response.blocks {
                                match core.feed(Input::SyncedBlock {
                                    block: b.block,
                                    certificate: b.cert,
                                }) {
                                    Ok(v) => {
                                        if let Some(Verdict::Rejected(why)) = v.first() {
                                            warn!(%peer, reason = %why, "synced block rejected");
                                            let _ = network
                                                .report_peer(peer, Offence::BadSyncResponse)
                                                .await;
                                            break;
                                        }
                                    }
                                    Err(e) => {
                                        warn!(error = %e, "synced block input failed");
                                        break;
                                    }
                                }
                            }
                        }
                        Err(e) => debug!(error = %e, "sync request"),
                    }
                });
            }
            Command::Event(event) => self.event(event),
        }
        Ok(())
    }

    fn event(&self, event: Event) {
        match event {
            Event::Committed {
                height,
                rounds,
                txs,
                block_interval_ms,
                synced,
                ..
            } => {
                self.metrics.height.set(height as i64);
                self.metrics.rounds_per_height.observe(f64::from(rounds));
                self.metrics
                    .block_interval
                    .observe(block_interval_ms as f64 / 1000.0);
                self.metrics.txs_committed.inc_by(txs as u64);
                if let Ok(s) = self.core.read(|d| d.status()) {
                    self.metrics.mempool_size.set(s.mempool_txs as i64);
                    self.metrics.mempool_bytes.set(s.mempool_bytes as i64);
                    self.metrics.catching_up.set(i64::from(s.catching_up));
                    self.metrics
                        .sync_target_height
                        .set(s.best_known_height as i64);
                }
                debug!(height, rounds, txs, synced, "committed");
            }
            Event::Evidence { offender, height } => {
                warn!(offender = %hex::encode(offender), height, "equivocation evidence");
            }
            Event::SyncRequested { from, to } => debug!(from, to, "sync requested"),
        }
    }
}
