//! The runtime's RPC view: live state from the driver, blocks from storage, commit waiters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use netwright_consensus::encoding::tx_hash;
use netwright_consensus::Block;
use netwright_ledger::Hash;
use netwright_node_api::rpc::{
    AccountView, BlockTxsView, BlockView, EvidenceView, UnbondingView, ValidatorView,
};
use serde_json::Value;
use tokio::sync::oneshot;

use super::recent::{RecentCommits, RECENT_TXS};
use super::Core;
use crate::driver::codec::decode;
use crate::driver::{Ignored, Input, PreparedTx, TxOrigin, Verdict};
use crate::rpc::{self, HealthView, NodeMetrics, NodeView, StatusView, ViewError};
use crate::storage::{Storage, StorageError};

/// Callers waiting for their transaction's commit, and when local submissions were admitted.
#[derive(Default)]
pub(super) struct Waiters {
    waiting: HashMap<Hash, Vec<oneshot::Sender<u64>>>,
    /// When each locally submitted, not yet committed transaction was admitted.
    submitted: HashMap<Hash, Instant>,
}

/// The runtime's implementation of the RPC view: the driver for live state, storage for blocks.
pub struct RuntimeView {
    pub(super) core: Arc<Core>,
    pub(super) storage: Arc<Storage>,
    pub(super) peers: AtomicU64,
    pub(super) waiters: Mutex<Waiters>,
    /// Recently committed transactions, for callers that wait after the commit.
    pub(super) recent: Arc<Mutex<RecentCommits>>,
    pub(super) metrics: Arc<NodeMetrics>,
    pub(super) moniker: String,
    pub(super) peer_id: String,
}

impl RuntimeView {
    /// Answers the waiters of a committed block's transactions and remembers them.
    pub(super) fn committed(&self, height: u64, hashes: &[Hash]) {
        let Ok(mut w) = self.waiters.lock() else {
            return;
        };
        let Ok(mut recent) = self.recent.lock() else {
            return;
        };
        // Callers whose wait timed out have dropped their receivers.
        w.waiting.retain(|_, senders| {
            senders.retain(|s| !s.is_closed());
            !senders.is_empty()
        });
        for hash in hashes {
            if let Some(at) = w.submitted.remove(hash) {
                self.metrics
                    .commit_latency
                    .observe(at.elapsed().as_secs_f64());
            }
            if let Some(senders) = w.waiting.remove(hash) {
                for s in senders {
                    let _ = s.send(height);
                }
            }
            recent.insert(*hash, height);
        }
    }

    /// The committed block at `height`: its stored bytes and its decoded form.
    fn stored_block(&self, height: u64) -> Result<(Vec<u8>, Block), ViewError> {
        let block = self
            .storage
            .block(height)
            .map_err(internal)?
            .ok_or_else(|| no_block(height))?;
        let decoded = decode(&block, usize::MAX, "stored block")
            .map_err(|e| ViewError::Internal(e.to_string()))?;
        Ok((block, decoded))
    }
}

fn internal(e: StorageError) -> ViewError {
    ViewError::Internal(e.to_string())
}

fn no_block(height: u64) -> ViewError {
    ViewError::NotFound(format!("no committed block at height {height}"))
}

impl NodeView for RuntimeView {
    fn status(&self) -> StatusView {
        let s = self.core.read(|d| d.status());
        let peers = self.peers.load(Ordering::Relaxed);
        match s {
            Ok(s) => StatusView {
                moniker: self.moniker.clone(),
                chain_id: s.chain_id,
                peer_id: self.peer_id.clone(),
                height: s.height,
                latest_hash: s.latest_block_hash,
                latest_time: rfc3339_ms(s.latest_block_time_ms),
                round: Some(s.round),
                catching_up: s.catching_up,
                peers,
                validator: s.validator.and_then(|v| serde_json::to_value(v).ok()),
                consensus: true,
            },
            Err(_) => StatusView {
                moniker: self.moniker.clone(),
                peer_id: self.peer_id.clone(),
                peers,
                ..StatusView::default()
            },
        }
    }

    fn health(&self) -> HealthView {
        match self.storage.latest_height() {
            Ok(_) => HealthView {
                healthy: true,
                detail: "consensus, storage, p2p and rpc are running".into(),
            },
            Err(e) => HealthView {
                healthy: false,
                detail: format!("storage: {e}"),
            },
        }
    }

    fn block(&self, height: u64) -> Result<Value, ViewError> {
        let (block, decoded) = self.stored_block(height)?;
        let cert = self
            .storage
            .cert(height)
            .map_err(internal)?
            .ok_or_else(|| no_block(height))?;
        to_json(&BlockView {
            height,
            hash: hex::encode(decoded.hash().0),
            parent_hash: hex::encode(decoded.header.parent_hash.0),
            time_ms: decoded.header.time_ms,
            state_root: hex::encode(decoded.header.state_root),
            txs: decoded.txs.len() as u64,
            evidence: decoded.evidence.iter().map(evidence_view).collect(),
            block: hex::encode(block),
            signers: certificate_signers(&cert),
            cert: hex::encode(cert),
        })
    }

    fn block_txs(&self, height: u64) -> Result<Value, ViewError> {
        let (_, decoded) = self.stored_block(height)?;
        to_json(&BlockTxsView {
            height,
            hash: hex::encode(decoded.hash().0),
            time_ms: decoded.header.time_ms,
            tx_hashes: decoded
                .txs
                .iter()
                .map(|tx| hex::encode(tx_hash(tx)))
                .collect(),
        })
    }

    fn validators(&self) -> Result<Value, ViewError> {
        let validators = self.core.read(|d| d.validators())?;
        let views: Vec<ValidatorView> = validators
            .into_iter()
            .map(|v| ValidatorView {
                address: v.address.to_string(),
                public_key: v.public_key.to_string(),
                stake: v.stake,
                power: v.power,
            })
            .collect();
        to_json(&views)
    }

    fn account(&self, address: &str) -> Result<Value, ViewError> {
        let addr: netwright_ledger::Address =
            address
                .parse()
                .map_err(|e: netwright_ledger::AddressError| {
                    ViewError::BadRequest(format!("address {}: {}", rpc::echo(address), e.reason))
                })?;
        let a = self.core.read(|d| d.account(&addr))?;
        to_json(&AccountView {
            address: a.address.to_string(),
            balance: a.balance,
            nonce: a.nonce,
            staked: a.staked,
            unbonding: a
                .unbonding
                .iter()
                .map(|u| UnbondingView {
                    amount: u.amount,
                    matures_at_height: u.matures_at_height,
                })
                .collect(),
        })
    }

    fn submit_tx(&self, tx: Vec<u8>) -> Result<String, ViewError> {
        let mut results = self.submit_txs(vec![tx]);
        match results.pop() {
            Some((hash, r)) => r.map(|()| hash),
            None => Err(ViewError::Internal("no verdict for the transaction".into())),
        }
    }

    fn submit_txs(&self, txs: Vec<Vec<u8>>) -> Vec<(String, Result<(), ViewError>)> {
        // Decoding and signature checks happen here, outside the driver's lock.
        let txs = self.core.verifier.prepare(txs, TxOrigin::Local);
        let hashes: Vec<Hash> = txs.iter().map(PreparedTx::hash).collect();
        let verdicts = match self.core.feed(Input::PreparedTxs {
            txs,
            origin: TxOrigin::Local,
        }) {
            Ok(v) => v,
            Err(e) => {
                let e = ViewError::Internal(e.to_string());
                return hashes
                    .iter()
                    .map(|h| (hex::encode(h.0), Err(e.clone())))
                    .collect();
            }
        };
        let now = Instant::now();
        if let Ok(mut w) = self.waiters.lock() {
            for (hash, v) in hashes.iter().zip(&verdicts) {
                if *v == Verdict::Accepted {
                    // Transactions that never commit (evicted, replaced) would pile up.
                    if w.submitted.len() >= RECENT_TXS {
                        w.submitted.clear();
                    }
                    w.submitted.insert(*hash, now);
                }
            }
        }
        let mut verdicts = verdicts.into_iter();
        hashes
            .iter()
            .map(|hash| {
                let hash = hex::encode(hash.0);
                let r = match verdicts.next() {
                    Some(Verdict::Accepted) => Ok(()),
                    Some(Verdict::Ignored(Ignored::Duplicate)) => Err(ViewError::Conflict(
                        format!("transaction {hash} is already known"),
                    )),
                    Some(Verdict::Ignored(Ignored::Full(why))) => Err(ViewError::Unavailable(why)),
                    Some(Verdict::Ignored(Ignored::NotNow(why))) | Some(Verdict::Rejected(why)) => {
                        Err(ViewError::BadRequest(why))
                    }
                    None => Err(ViewError::Internal("no verdict for the transaction".into())),
                };
                (hash, r)
            })
            .collect()
    }

    async fn wait_commit(&self, hash: String) -> Result<u64, ViewError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(&hash, &mut key)
            .map_err(|e| ViewError::BadRequest(format!("transaction hash {hash}: {e}")))?;
        let hash = Hash(key);
        let rx = {
            let mut w = self
                .waiters
                .lock()
                .map_err(|_| ViewError::Internal("waiters lock poisoned".into()))?;
            let recent = self
                .recent
                .lock()
                .map_err(|_| ViewError::Internal("recent commits lock poisoned".into()))?;
            if let Some(h) = recent.height(&hash) {
                return Ok(h);
            }
            let (tx, rx) = oneshot::channel();
            w.waiting.entry(hash).or_default().push(tx);
            rx
        };
        rx.await
            .map_err(|_| ViewError::Unavailable("the node is shutting down".into()))
    }
}

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC, e.g. `2023-11-14T22:13:20.000Z`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// One committed evidence item as the block route shows it: what kind, who, where.
fn evidence_view(e: &netwright_consensus::Evidence) -> EvidenceView {
    EvidenceView {
        kind: e.kind().to_string(),
        offender: hex::encode(e.offender().0),
        height: e.height(),
        round: e.round(),
    }
}

/// An answer as JSON; the RPC serves the contract's types through [`NodeView`]'s JSON values.
fn to_json<T: serde::Serialize>(answer: &T) -> Result<Value, ViewError> {
    serde_json::to_value(answer).map_err(|e| ViewError::Internal(e.to_string()))
}

/// The public keys (hex) of the precommits in the encoded commit certificate `cert`; empty
/// when it does not decode (the node stored it, so it does).
fn certificate_signers(cert: &[u8]) -> Vec<String> {
    use borsh::BorshDeserialize;
    netwright_consensus::certificate::CommitCertificate::try_from_slice(cert)
        .map(|c| {
            c.signatures
                .iter()
                .map(|s| hex::encode(s.validator.0))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netwright_consensus::{BlockHash, Evidence, Proposal, Signer};
    use serde_json::json;

    #[test]
    fn committed_evidence_shows_its_kind_offender_height_and_round() {
        let s = Signer::from_seed([9; 32]);
        let p = |b: u8| {
            Proposal {
                height: 12,
                round: 3,
                pol_round: None,
                block_hash: BlockHash([b; 32]),
                proposer: s.id(),
            }
            .sign("c", &s)
        };
        let e = Evidence::duplicate_proposal(p(1), p(2));
        assert_eq!(
            to_json(&evidence_view(&e)).unwrap(),
            json!({
                "kind": "duplicate_proposal",
                "offender": hex::encode(s.id().0),
                "height": 12,
                "round": 3,
            })
        );
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }
}
