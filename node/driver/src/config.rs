//! Driver settings: round timeouts, block and message limits, mempool bounds and block sync.
//!
//! Every validator of a network should use the same block limits: a proposal larger than a
//! node's message limit is refused by that node.

use netwright_consensus::Timeouts;

use crate::mempool::Limits;

/// How the driver builds blocks, bounds its memory and paces block sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverConfig {
    /// Consensus round timeouts.
    pub timeouts: Timeouts,
    /// Most transactions this node puts in a block it proposes (the ledger's
    /// `max_txs_per_block` caps it further).
    pub max_block_txs: usize,
    /// Most transaction bytes this node puts in a block it proposes.
    pub max_block_bytes: usize,
    /// Most evidence items put in one proposed block.
    pub max_evidence_per_block: usize,
    /// Most evidence items held until they are committed.
    pub max_evidence_pool: usize,
    /// Mempool bounds.
    pub mempool: Limits,
    /// Minimum time between two identical block-sync requests, in milliseconds.
    pub sync_retry_ms: u64,
    /// When peers are exactly one height ahead (normal during a commit), how long to wait for
    /// the current height to decide by itself before asking for the block, in milliseconds.
    pub sync_grace_ms: u64,
    /// Most blocks asked for in one sync request.
    pub max_sync_blocks: u64,
    /// Most synced blocks held ahead of the current height.
    pub max_sync_buffer: usize,
    /// Most executed proposals kept per height (so a decided block is not executed twice).
    pub max_exec_cache: usize,
    /// Pause between a durable commit and the start of the next height, in milliseconds
    /// (Tendermint's `timeout_commit`): paces block production and lets late precommits and
    /// transactions arrive. 0 starts the next height at once. Skipped while catching up.
    pub commit_pause_ms: u64,
    /// Target time between the starts of two heights, in milliseconds: the pause after a
    /// commit lasts at least until this much time has passed since the committed height
    /// started. 0 leaves pacing to `commit_pause_ms`. Skipped while catching up.
    pub block_interval_ms: u64,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            timeouts: Timeouts::default(),
            max_block_txs: 5_000,
            max_block_bytes: 2 * 1024 * 1024,
            max_evidence_per_block: 16,
            max_evidence_pool: 256,
            mempool: Limits {
                max_txs: 50_000,
                max_bytes: 64 * 1024 * 1024,
                max_per_sender: 1_000,
            },
            sync_retry_ms: 1_000,
            sync_grace_ms: 500,
            max_sync_blocks: 64,
            max_sync_buffer: 256,
            max_exec_cache: 8,
            commit_pause_ms: 0,
            block_interval_ms: 0,
        }
    }
}

/// Upper bound on the encoded size of one evidence item (two signed proposals or votes).
const EVIDENCE_BYTES: usize = 512;
/// Room for the header, the proposal and encoding prefixes.
const ENVELOPE_BYTES: usize = 64 * 1024;

impl DriverConfig {
    /// Largest consensus message accepted from a peer: a full block with its evidence and
    /// envelope. Larger messages are refused and their sender penalised.
    pub fn max_message_bytes(&self) -> usize {
        self.max_block_bytes
            .saturating_add(self.max_block_txs.saturating_mul(4))
            .saturating_add(self.max_evidence_per_block.saturating_mul(EVIDENCE_BYTES))
            .saturating_add(ENVELOPE_BYTES)
    }

    /// Largest encoded block (synced blocks are refused above it).
    pub fn max_block_encoded_bytes(&self) -> usize {
        self.max_message_bytes()
    }

    /// Largest encoded commit certificate: one entry (96 bytes) per validator, for up to
    /// 10,000 validators.
    pub fn max_certificate_bytes(&self) -> usize {
        10_000 * 96 + 1024
    }
}
