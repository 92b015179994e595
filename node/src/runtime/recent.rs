//! The most recently committed transactions, by hash: what a late `?wait=commit` caller is
//! answered from, and how the verifier recognises a peer's copy of a transaction that a block
//! already carried.

use std::collections::{HashMap, VecDeque};

use netwright_ledger::Hash;

/// Committed transaction hashes remembered (about 80 bytes each): several seconds of blocks
/// at the node's top rate, longer than a gossiped copy takes to arrive.
pub(super) const RECENT_TXS: usize = 100_000;

/// Hash → height of the last [`RECENT_TXS`] committed transactions; the oldest leave first.
#[derive(Debug)]
pub(super) struct RecentCommits {
    heights: HashMap<Hash, u64, foldhash::fast::RandomState>,
    order: VecDeque<Hash>,
    max: usize,
}

impl Default for RecentCommits {
    fn default() -> Self {
        Self::new(RECENT_TXS)
    }
}

impl RecentCommits {
    /// Empty, remembering at most `max` transactions.
    pub(super) fn new(max: usize) -> Self {
        RecentCommits {
            heights: HashMap::default(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Records that `hash` was committed at `height`, forgetting the oldest beyond the bound.
    pub(super) fn insert(&mut self, hash: Hash, height: u64) {
        if self.heights.insert(hash, height).is_some() {
            return;
        }
        self.order.push_back(hash);
        if self.order.len() > self.max {
            if let Some(old) = self.order.pop_front() {
                self.heights.remove(&old);
            }
        }
    }

    /// The height that committed `hash`, if it is still remembered.
    pub(super) fn height(&self, hash: &Hash) -> Option<u64> {
        self.heights.get(hash).copied()
    }

    /// True when `hash` was committed recently.
    pub(super) fn contains(&self, hash: &Hash) -> bool {
        self.heights.contains_key(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: usize) -> Hash {
        Hash::of(&i.to_le_bytes())
    }

    #[test]
    fn only_the_most_recent_commits_are_remembered() {
        let mut recent = RecentCommits::new(3);
        for i in 0..4 {
            recent.insert(h(i), i as u64 + 10);
        }
        recent.insert(h(2), 99);
        assert!(!recent.contains(&h(0)), "the oldest left");
        assert_eq!(recent.height(&h(1)), Some(11));
        assert_eq!(
            recent.height(&h(2)),
            Some(99),
            "a repeat updates the height"
        );
        assert_eq!(recent.height(&h(3)), Some(13));
        assert_eq!(recent.order.len(), 3);
        assert_eq!(recent.heights.len(), 3);
    }
}
