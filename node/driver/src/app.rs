//! The ledger as consensus sees it: the genesis block hash, the consensus validator set, and
//! block execution on a copy of the committed ledger with a small cache, so that a block that
//! was executed to propose or to validate it is not executed again when it is decided.
//!
//! **State root placement.** A block's header carries the state root *after* executing that
//! block's transactions on top of its parent's state. Proposer and validators all execute the
//! block before voting (on a copy), so a decided header certifies the state it produces.

use netwright_consensus::encoding::tx_root;
use netwright_consensus::{
    BlockHash, BlockHeader, Validator, ValidatorId, ValidatorSet, ValidatorSetError,
};
use netwright_ledger::{BlockError, BlockOutcome, KnownTxs, Ledger};

/// Domain prefix of the genesis block hash.
const GENESIS_DOMAIN: &[u8] = b"netwright/genesis/v1\0";

/// The parent hash of the first block: BLAKE3 over the domain, the chain id, the initial
/// height, the genesis time and the genesis state root (which commits to every account,
/// validator and parameter), so every node derives it from the genesis document alone.
pub fn genesis_hash(genesis_ledger: &Ledger, initial_height: u64) -> BlockHash {
    let mut h = blake3::Hasher::new();
    h.update(GENESIS_DOMAIN);
    let chain = genesis_ledger.chain_id().as_bytes();
    h.update(&(chain.len() as u32).to_le_bytes());
    h.update(chain);
    h.update(&initial_height.to_le_bytes());
    h.update(&genesis_ledger.time_ms().to_le_bytes());
    h.update(genesis_ledger.state_root().as_bytes());
    BlockHash(*h.finalize().as_bytes())
}

/// The ledger's current validators as a consensus set (key, power = bonded stake).
pub fn consensus_set(ledger: &Ledger) -> Result<ValidatorSet, ValidatorSetError> {
    ValidatorSet::new(
        ledger
            .validator_set()
            .into_iter()
            .map(|u| Validator {
                id: ValidatorId(*u.public_key.as_bytes()),
                power: u.power,
            })
            .collect(),
    )
}

/// What identifies an execution: the same parent state, height, time and transactions give
/// the same result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecKey {
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time_ms: u64,
    /// Merkle root over the transactions (commits to their order and bytes).
    pub tx_root: [u8; 32],
}

impl ExecKey {
    /// The key of executing `txs` at `height` and `time_ms`.
    pub fn new(height: u64, time_ms: u64, txs: &[Vec<u8>]) -> Self {
        ExecKey {
            height,
            time_ms,
            tx_root: tx_root(txs),
        }
    }

    /// The key of executing the block `header` heads, taking its transaction root from the
    /// header. Only for blocks consensus has checked: it hands on proposals and decided blocks
    /// only after checking that their bodies match their headers.
    pub fn of_checked_block(header: &BlockHeader) -> Self {
        ExecKey {
            height: header.height,
            time_ms: header.time_ms,
            tx_root: header.tx_root,
        }
    }
}

/// Executions of candidate blocks on copies of the committed ledger, for one height.
#[derive(Debug)]
pub struct ExecCache {
    entries: Vec<(ExecKey, Ledger, BlockOutcome)>,
    max: usize,
}

impl ExecCache {
    /// An empty cache keeping at most `max` executions (the oldest goes first).
    pub fn new(max: usize) -> Self {
        ExecCache {
            entries: Vec::new(),
            max: max.max(1),
        }
    }

    /// Executes `txs` on a copy of `base` (or finds the earlier execution) and returns the
    /// state root it gives. Transactions `known` returns are not decoded or verified again.
    pub fn execute(
        &mut self,
        base: &Ledger,
        key: ExecKey,
        txs: &[Vec<u8>],
        known: &dyn KnownTxs,
    ) -> Result<[u8; 32], BlockError> {
        if let Some((_, _, out)) = self.entries.iter().find(|(k, _, _)| *k == key) {
            return Ok(out.state_root.0);
        }
        let mut copy = base.clone();
        let out = copy.apply_block_known(key.height, key.time_ms, txs, known)?;
        let root = out.state_root.0;
        if self.entries.len() >= self.max {
            self.entries.remove(0);
        }
        self.entries.push((key, copy, out));
        Ok(root)
    }

    /// Takes the execution for `key`, executing now if it is not cached.
    pub fn take(
        &mut self,
        base: &Ledger,
        key: ExecKey,
        txs: &[Vec<u8>],
        known: &dyn KnownTxs,
    ) -> Result<(Ledger, BlockOutcome), BlockError> {
        if let Some(i) = self.entries.iter().position(|(k, _, _)| *k == key) {
            let (_, ledger, out) = self.entries.swap_remove(i);
            return Ok((ledger, out));
        }
        let mut copy = base.clone();
        let out = copy.apply_block_known(key.height, key.time_ms, txs, known)?;
        Ok((copy, out))
    }

    /// Forgets everything (the committed ledger moved on).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of cached executions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;
    use netwright_ledger::NoKnownTxs;

    #[test]
    fn genesis_hash_depends_on_the_genesis_state() {
        let g = testkit::genesis(&[1, 2], &[(9, 1000)]);
        let a = Ledger::from_genesis(&g).unwrap();
        assert_eq!(genesis_hash(&a, 1), genesis_hash(&a.clone(), 1));
        assert_ne!(genesis_hash(&a, 1), genesis_hash(&a, 2));
        let mut g2 = g.clone();
        g2.accounts[0].balance += 1;
        let b = Ledger::from_genesis(&g2).unwrap();
        assert_ne!(genesis_hash(&a, 1), genesis_hash(&b, 1));
    }

    #[test]
    fn consensus_set_uses_stake_as_power() {
        let g = testkit::genesis(&[1, 2], &[(9, 1000)]);
        let set = consensus_set(&Ledger::from_genesis(&g).unwrap()).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.total_power(), 2 * testkit::STAKE);
        assert_eq!(
            set.power_of(&ValidatorId(testkit::public_key(1))),
            Some(testkit::STAKE)
        );
    }

    #[test]
    fn cache_executes_once_and_leaves_the_base_untouched() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let base = Ledger::from_genesis(&g).unwrap();
        let txs = vec![testkit::transfer(&g, 9, 0, 3, 10)];
        let mut cache = ExecCache::new(2);
        let key = ExecKey::new(1, g.genesis_time_ms + 5, &txs);
        let root = cache.execute(&base, key, &txs, &NoKnownTxs).unwrap();
        assert_eq!(cache.execute(&base, key, &txs, &NoKnownTxs).unwrap(), root);
        assert_eq!(cache.len(), 1);
        assert_eq!(base.height(), 0, "the committed ledger is not changed");
        let (after, out) = cache.take(&base, key, &txs, &NoKnownTxs).unwrap();
        assert_eq!(out.state_root.0, root);
        assert_eq!(after.height(), 1);
        assert!(cache.is_empty());
        let other = ExecKey::new(1, g.genesis_time_ms + 6, &txs);
        assert_ne!(
            cache.execute(&base, other, &txs, &NoKnownTxs).unwrap(),
            root,
            "time is state"
        );
        let bad = ExecKey::new(2, g.genesis_time_ms + 6, &txs);
        assert!(cache.execute(&base, bad, &txs, &NoKnownTxs).is_err());
    }

    #[test]
    fn a_checked_block_keys_its_execution_like_its_transactions_do() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let txs = vec![testkit::transfer(&g, 9, 0, 3, 10)];
        let header = BlockHeader {
            height: 4,
            round: 0,
            parent_hash: BlockHash([0; 32]),
            proposer: ValidatorId(testkit::public_key(1)),
            time_ms: 77,
            tx_root: tx_root(&txs),
            state_root: [0; 32],
            validator_set_hash: [0; 32],
            evidence_root: [0; 32],
        };
        assert_eq!(
            ExecKey::of_checked_block(&header),
            ExecKey::new(4, 77, &txs)
        );
        assert_ne!(ExecKey::of_checked_block(&header), ExecKey::new(4, 77, &[]));
    }
}
