//! What the RPC reads from the driver: status and this node's validator identity.

use serde::Serialize;

/// This node's validator identity and standing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnValidator {
    /// Consensus key, hex.
    pub public_key: String,
    /// Account address derived from the key, hex.
    pub address: String,
    /// Voting power at the height being decided (0 if not in the set).
    pub power: u64,
    /// Whether the key is in the validator set of the height being decided.
    pub in_set: bool,
}

/// A snapshot of the node's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Chain id.
    pub chain_id: String,
    /// Last committed height (`initial_height - 1` before the first block).
    pub height: u64,
    /// Hash of the last committed block (the genesis hash before the first block), hex.
    pub latest_block_hash: String,
    /// Time of the last committed block (genesis time before the first block), ms.
    pub latest_block_time_ms: u64,
    /// State root after the last committed block, hex.
    pub state_root: String,
    /// Height consensus is deciding.
    pub consensus_height: u64,
    /// Round consensus is in.
    pub round: u32,
    /// Whether peers are known to be at least one full height ahead.
    pub catching_up: bool,
    /// Highest height a peer is known to have committed.
    pub best_known_height: u64,
    /// Whether a decided block waits for the runtime to store it.
    pub commit_pending: bool,
    /// Transactions in the mempool.
    pub mempool_txs: usize,
    /// Bytes in the mempool.
    pub mempool_bytes: usize,
    /// This node as a validator (None for a full node without a key).
    pub validator: Option<OwnValidator>,
}
