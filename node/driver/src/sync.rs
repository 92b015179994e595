//! Block sync bookkeeping: what the node knows about peers' heights, when to ask for blocks,
//! and blocks received ahead of the current height.

use std::collections::BTreeMap;

use netwright_consensus::{Block, CommitCertificate};

/// Tracks how far the network is ahead and paces sync requests.
#[derive(Debug)]
pub struct SyncTracker {
    /// Highest height known to be committed by some peer.
    best_committed: u64,
    /// Since when (local ms) a peer is known to have committed the height being decided.
    behind_since: Option<u64>,
    /// Last request: (from, to, local ms).
    last_request: Option<(u64, u64, u64)>,
    /// Blocks received for heights above the current one, by height.
    buffer: BTreeMap<u64, (Block, CommitCertificate)>,
    retry_ms: u64,
    grace_ms: u64,
    max_blocks: u64,
    max_buffer: usize,
}

impl SyncTracker {
    /// A tracker with the given pacing and bounds.
    pub fn new(retry_ms: u64, grace_ms: u64, max_blocks: u64, max_buffer: usize) -> Self {
        SyncTracker {
            best_committed: 0,
            behind_since: None,
            last_request: None,
            buffer: BTreeMap::new(),
            retry_ms,
            grace_ms,
            max_blocks: max_blocks.max(1),
            max_buffer,
        }
    }

    /// Notes that some peer has committed `height`, while this node decides `current`.
    pub fn note_committed(&mut self, now_ms: u64, height: u64, current: u64) {
        if height > self.best_committed {
            self.best_committed = height;
        }
        if self.best_committed >= current && self.behind_since.is_none() {
            self.behind_since = Some(now_ms);
        }
    }

    /// The node moved to deciding `current`: drops buffered blocks below it.
    pub fn advance(&mut self, now_ms: u64, current: u64) {
        self.buffer = self.buffer.split_off(&current);
        self.behind_since = (self.best_committed >= current).then_some(now_ms);
    }

    /// Highest height known to be committed by a peer.
    pub fn best_committed(&self) -> u64 {
        self.best_committed
    }

    /// True if peers have committed at least one height beyond the one being decided.
    pub fn catching_up(&self, current: u64) -> bool {
        self.best_committed > current
    }

    /// A range to request now, if the node is behind and has not just asked for it.
    /// Peers a full height ahead trigger at once; peers that merely committed the current
    /// height (normal while it decides here too) only after the grace period.
    pub fn request(&mut self, now_ms: u64, current: u64) -> Option<(u64, u64)> {
        if self.best_committed < current {
            return None;
        }
        let waited = self
            .behind_since
            .is_some_and(|t| now_ms.saturating_sub(t) >= self.grace_ms);
        if self.best_committed == current && !waited {
            return None;
        }
        let from = current;
        let to = self
            .best_committed
            .min(current.saturating_add(self.max_blocks - 1));
        if let Some((f, t, at)) = self.last_request {
            let covered = f <= from && from <= t;
            if covered && now_ms.saturating_sub(at) < self.retry_ms {
                return None;
            }
        }
        self.last_request = Some((from, to, now_ms));
        Some((from, to))
    }

    /// Keeps a block for a later height. False if the buffer is full or the height is beyond
    /// the next request window.
    pub fn buffer(&mut self, current: u64, block: Block, cert: CommitCertificate) -> bool {
        let h = block.header.height;
        let window = current.saturating_add(self.max_buffer as u64);
        if h <= current || h > window || self.buffer.len() >= self.max_buffer {
            return false;
        }
        self.buffer.insert(h, (block, cert));
        true
    }

    /// The buffered block for `height`, if any.
    pub fn take(&mut self, height: u64) -> Option<(Block, CommitCertificate)> {
        self.buffer.remove(&height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_ahead_requests_at_once_one_ahead_after_grace() {
        let mut s = SyncTracker::new(1000, 500, 10, 8);
        s.note_committed(0, 5, 5);
        assert_eq!(s.request(100, 5), None, "peers just committed our height");
        assert_eq!(s.request(600, 5), Some((5, 5)));
        s.note_committed(700, 40, 5);
        assert!(s.catching_up(5));
        assert_eq!(
            s.request(700, 5),
            None,
            "the same start was asked for recently"
        );
        assert_eq!(s.request(1600, 5), Some((5, 14)), "bounded batch");
        s.advance(1700, 15);
        assert_eq!(
            s.request(1700, 15),
            Some((15, 24)),
            "new start: ask at once"
        );
        s.advance(1800, 41);
        assert_eq!(s.request(1800, 41), None);
        assert!(!s.catching_up(41));
    }

    #[test]
    fn buffer_is_bounded_and_pruned() {
        use netwright_consensus::{BlockHash, BlockHeader, ValidatorId};
        let block = |h: u64| Block {
            header: BlockHeader {
                height: h,
                round: 0,
                parent_hash: BlockHash([0; 32]),
                proposer: ValidatorId([0; 32]),
                time_ms: h,
                tx_root: [0; 32],
                state_root: [0; 32],
                validator_set_hash: [0; 32],
                evidence_root: [0; 32],
            },
            txs: vec![],
            evidence: vec![],
        };
        let cert = |h: u64| CommitCertificate {
            height: h,
            round: 0,
            block_hash: BlockHash([0; 32]),
            signatures: vec![],
        };
        let mut s = SyncTracker::new(1000, 500, 10, 2);
        assert!(!s.buffer(3, block(3), cert(3)), "not ahead");
        assert!(s.buffer(3, block(4), cert(4)));
        assert!(s.buffer(3, block(5), cert(5)));
        assert!(!s.buffer(3, block(6), cert(6)), "full");
        s.advance(0, 5);
        assert!(s.take(4).is_none());
        assert!(s.take(5).is_some());
    }
}
