//! The transaction pool: bounded in count, bytes and per-sender count; deduplicated by hash;
//! ordered by nonce per sender; fair eviction when full.
//!
//! Generic over [`PoolTx`] so that the ledger's transaction envelope plugs in. Signatures are
//! checked by a [`SigChecker`] given a whole batch at once (so it can use batch verification);
//! stateful checks (balance, the account's next nonce) belong to the ledger, which tells the pool
//! the committed nonces after each block through [`Mempool::update_committed`].
//!
//! Eviction: when a new transaction does not fit, the pool evicts the highest-nonce transaction of
//! the sender holding the most transactions, provided that sender holds more than the newcomer's
//! sender would after insertion; otherwise the newcomer is refused. One sender can thus never
//! crowd others out, and nonce gaps are never created in the middle of a sender's queue.

use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Debug;
use std::hash::Hash;

/// The pool's maps are looked up several times per transaction; their keys are hashes and
/// addresses, which foldhash's randomly seeded hashing serves much faster than SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What the pool needs to know about a transaction.
pub trait PoolTx: Clone {
    /// Identifying hash (deduplication key).
    type Hash: Copy + Eq + Hash + Debug;
    /// Account that signed it (nonce ordering is per sender).
    type Sender: Clone + Eq + Hash + Ord + Debug;
    /// The transaction's hash.
    fn hash(&self) -> Self::Hash;
    /// The sender.
    fn sender(&self) -> Self::Sender;
    /// The sender's nonce for this transaction.
    fn nonce(&self) -> u64;
    /// Encoded size in bytes.
    fn size(&self) -> usize;
}

/// Checks signatures of a batch of transactions; returns one verdict per transaction, in order.
pub trait SigChecker<T> {
    /// `Ok(())` for a valid signature, `Err(reason)` otherwise.
    fn check(&self, txs: &[T]) -> Vec<Result<(), String>>;
}

impl<T, F> SigChecker<T> for F
where
    F: Fn(&[T]) -> Vec<Result<(), String>>,
{
    fn check(&self, txs: &[T]) -> Vec<Result<(), String>> {
        self(txs)
    }
}

/// Bounds of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most transactions.
    pub max_txs: usize,
    /// Most bytes (sum of sizes).
    pub max_bytes: usize,
    /// Most transactions of one sender.
    pub max_per_sender: usize,
}

/// Why a transaction was not admitted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// Already in the pool.
    #[error("transaction is already in the mempool")]
    Duplicate,
    /// Larger than the whole pool may hold.
    #[error("transaction of {size} bytes exceeds the mempool byte limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Its nonce is already committed.
    #[error("nonce {nonce} is already used (next expected nonce is {next})")]
    StaleNonce {
        /// Its nonce.
        nonce: u64,
        /// The sender's next nonce.
        next: u64,
    },
    /// Another transaction of the sender holds this nonce.
    #[error("another transaction with nonce {nonce} from this sender is already pending")]
    NonceTaken {
        /// The nonce.
        nonce: u64,
    },
    /// The sender already has the most transactions allowed.
    #[error("sender already has {limit} pending transactions")]
    SenderFull {
        /// The per-sender limit.
        limit: usize,
    },
    /// The pool is full and nothing may be evicted for it.
    #[error("mempool is full")]
    Full,
    /// The signature checker refused it.
    #[error("invalid signature: {0}")]
    BadSignature(String),
}

/// What [`Mempool::add_batch`] did.
#[derive(Clone, Debug)]
pub struct BatchOutcome<T: PoolTx> {
    /// One result per offered transaction, in order: its hash if admitted.
    pub results: Vec<Result<T::Hash, AddError>>,
    /// Hashes of transactions evicted to make room.
    pub evicted: Vec<T::Hash>,
}

#[derive(Clone, Debug)]
struct Entry<T> {
    tx: T,
    seq: u64,
}

/// The transaction pool.
#[derive(Debug)]
pub struct Mempool<T: PoolTx> {
    limits: Limits,
    by_hash: HashMap<T::Hash, (T::Sender, u64)>,
    by_sender: HashMap<T::Sender, BTreeMap<u64, Entry<T>>>,
    next_nonce: HashMap<T::Sender, u64>,
    bytes: usize,
    seq: u64,
}

impl<T: PoolTx> Mempool<T> {
    /// An empty pool with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            by_hash: HashMap::default(),
            by_sender: HashMap::default(),
            next_nonce: HashMap::default(),
            bytes: 0,
            seq: 0,
        }
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `hash` is in the pool.
    pub fn contains(&self, hash: &T::Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The transaction with `hash`, if held.
    pub fn get(&self, hash: &T::Hash) -> Option<&T> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.by_sender.get(sender)?.get(nonce).map(|e| &e.tx)
    }

    /// Pending transactions of `sender`, in nonce order.
    pub fn sender_txs(&self, sender: &T::Sender) -> Vec<&T> {
        self.by_sender
            .get(sender)
            .map(|q| q.values().map(|e| &e.tx).collect())
            .unwrap_or_default()
    }

    /// Checks signatures of `txs` as one batch (after cheap checks), then admits the valid ones.
    pub fn add_batch(&mut self, txs: Vec<T>, checker: &impl SigChecker<T>) -> BatchOutcome<T> {
        let mut results: Vec<Option<Result<T::Hash, AddError>>> = vec![None; txs.len()];
        let mut to_check = Vec::new();
        let mut positions = Vec::new();
        for (i, tx) in txs.into_iter().enumerate() {
            match self.precheck(&tx) {
                Ok(()) => {
                    positions.push(i);
                    to_check.push(tx);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let verdicts = if to_check.is_empty() {
            Vec::new()
        } else {
            checker.check(&to_check)
        };
        let mut evicted = Vec::new();
        for (k, (i, tx)) in positions.into_iter().zip(to_check).enumerate() {
            let verdict = verdicts
                .get(k)
                .cloned()
                .unwrap_or_else(|| Err("signature checker gave no verdict".to_string()));
            results[i] = Some(match verdict {
                Ok(()) => self.insert_checked(tx, &mut evicted),
                Err(reason) => Err(AddError::BadSignature(reason)),
            });
        }
        let results = results
            .into_iter()
            .map(|r| r.unwrap_or(Err(AddError::Full)))
            .collect();
        BatchOutcome { results, evicted }
    }

    /// Admits one transaction (its signature checked by `checker`).
    pub fn add(&mut self, tx: T, checker: &impl SigChecker<T>) -> Result<T::Hash, AddError> {
        let mut outcome = self.add_batch(vec![tx], checker);
        outcome.results.pop().unwrap_or(Err(AddError::Full))
    }

    fn precheck(&self, tx: &T) -> Result<(), AddError> {
        if self.by_hash.contains_key(&tx.hash()) {
            return Err(AddError::Duplicate);
        }
        if tx.size() > self.limits.max_bytes {
            return Err(AddError::TooLarge {
                size: tx.size(),
                limit: self.limits.max_bytes,
            });
        }
        let sender = tx.sender();
        let next = self.next_nonce.get(&sender).copied().unwrap_or(0);
        if tx.nonce() < next {
            return Err(AddError::StaleNonce {
                nonce: tx.nonce(),
                next,
            });
        }
        if let Some(queue) = self.by_sender.get(&sender) {
            if queue.contains_key(&tx.nonce()) {
                return Err(AddError::NonceTaken { nonce: tx.nonce() });
            }
            if queue.len() >= self.limits.max_per_sender {
                return Err(AddError::SenderFull {
                    limit: self.limits.max_per_sender,
                });
            }
        }
        Ok(())
    }

    fn insert_checked(&mut self, tx: T, evicted: &mut Vec<T::Hash>) -> Result<T::Hash, AddError> {
        // Re-check: earlier transactions of the same batch may have changed the pool.
        self.precheck(&tx)?;
        let sender = tx.sender();
        let own = self.by_sender.get(&sender).map_or(0, BTreeMap::len) + 1;
        while self.by_hash.len() + 1 > self.limits.max_txs
            || self.bytes + tx.size() > self.limits.max_bytes
        {
            let victim = self
                .by_sender
                .iter()
                .filter(|(s, q)| **s != sender && q.len() > own)
                .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)))
                .map(|(s, _)| s.clone());
            let Some(victim) = victim else {
                return Err(AddError::Full);
            };
            if let Some(hash) = self.pop_highest(&victim) {
                evicted.push(hash);
            }
        }
        let hash = tx.hash();
        let nonce = tx.nonce();
        self.seq += 1;
        self.bytes += tx.size();
        self.by_hash.insert(hash, (sender.clone(), nonce));
        self.by_sender
            .entry(sender)
            .or_default()
            .insert(nonce, Entry { tx, seq: self.seq });
        Ok(hash)
    }

    fn pop_highest(&mut self, sender: &T::Sender) -> Option<T::Hash> {
        let queue = self.by_sender.get_mut(sender)?;
        let (_, entry) = queue.pop_last()?;
        if queue.is_empty() {
            self.by_sender.remove(sender);
        }
        let hash = entry.tx.hash();
        self.by_hash.remove(&hash);
        self.bytes -= entry.tx.size();
        Some(hash)
    }

    /// Removes a transaction by hash (e.g. found invalid at execution).
    pub fn remove(&mut self, hash: &T::Hash) -> Option<T> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let queue = self.by_sender.get_mut(&sender)?;
        let entry = queue.remove(&nonce)?;
        if queue.is_empty() {
            self.by_sender.remove(&sender);
        }
        self.bytes -= entry.tx.size();
        Some(entry.tx)
    }

    /// After a block commits: records each sender's next nonce and drops their transactions with
    /// lower nonces (committed or now impossible). Returns how many were dropped.
    pub fn update_committed(
        &mut self,
        next_nonces: impl IntoIterator<Item = (T::Sender, u64)>,
    ) -> usize {
        let mut dropped = 0;
        for (sender, next) in next_nonces {
            let entry = self.next_nonce.entry(sender.clone()).or_insert(0);
            *entry = (*entry).max(next);
            let Some(queue) = self.by_sender.get_mut(&sender) else {
                continue;
            };
            let keep = queue.split_off(&next);
            let gone = std::mem::replace(queue, keep);
            for (_, e) in gone {
                self.by_hash.remove(&e.tx.hash());
                self.bytes -= e.tx.size();
                dropped += 1;
            }
            if queue.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
        dropped
    }

    /// Transactions for a proposal, at most `max_txs` and `max_bytes`: for each sender only a
    /// run of consecutive nonces from its lowest pending one (from its next nonce, when known),
    /// senders interleaved by arrival order. The pool is not changed.
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<T> {
        struct Head<'a, T: PoolTx> {
            seq: u64,
            sender: &'a T::Sender,
            nonce: u64,
        }
        impl<T: PoolTx> PartialEq for Head<'_, T> {
            fn eq(&self, o: &Self) -> bool {
                self.seq == o.seq
            }
        }
        impl<T: PoolTx> Eq for Head<'_, T> {}
        impl<T: PoolTx> PartialOrd for Head<'_, T> {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl<T: PoolTx> Ord for Head<'_, T> {
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                o.seq.cmp(&self.seq)
            }
        }
        let mut heap: BinaryHeap<Head<'_, T>> = BinaryHeap::new();
        for (sender, queue) in &self.by_sender {
            let Some((&nonce, entry)) = queue.first_key_value() else {
                continue;
            };
            if self
                .next_nonce
                .get(sender)
                .is_some_and(|&next| next != nonce)
            {
                continue;
            }
            heap.push(Head {
                seq: entry.seq,
                sender,
                nonce,
            });
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        while let Some(head) = heap.pop() {
            if out.len() >= max_txs {
                break;
            }
            let Some(queue) = self.by_sender.get(head.sender) else {
                continue;
            };
            let Some(entry) = queue.get(&head.nonce) else {
                continue;
            };
            if bytes + entry.tx.size() > max_bytes {
                continue;
            }
            bytes += entry.tx.size();
            out.push(entry.tx.clone());
            if let Some(next) = queue.get(&(head.nonce + 1)) {
                heap.push(Head {
                    seq: next.seq,
                    sender: head.sender,
                    nonce: head.nonce + 1,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Tx {
        sender: u8,
        nonce: u64,
        size: usize,
        valid: bool,
    }

    impl PoolTx for Tx {
        type Hash = (u8, u64, usize);
        type Sender = u8;
        fn hash(&self) -> Self::Hash {
            (self.sender, self.nonce, self.size)
        }
        fn sender(&self) -> u8 {
            self.sender
        }
        fn nonce(&self) -> u64 {
            self.nonce
        }
        fn size(&self) -> usize {
            self.size
        }
    }

    fn tx(sender: u8, nonce: u64) -> Tx {
        Tx {
            sender,
            nonce,
            size: 10,
            valid: true,
        }
    }

    fn checker(txs: &[Tx]) -> Vec<Result<(), String>> {
        txs.iter()
            .map(|t| if t.valid { Ok(()) } else { Err("bad".into()) })
            .collect()
    }

    fn limits(max_txs: usize) -> Limits {
        Limits {
            max_txs,
            max_bytes: 1 << 20,
            max_per_sender: 100,
        }
    }

    #[test]
    fn duplicates_stale_and_taken_nonces_are_refused() {
        let mut m = Mempool::new(limits(10));
        m.add(tx(1, 0), &checker).unwrap();
        assert_eq!(m.add(tx(1, 0), &checker), Err(AddError::Duplicate));
        let other = Tx {
            size: 11,
            ..tx(1, 0)
        };
        assert_eq!(
            m.add(other, &checker),
            Err(AddError::NonceTaken { nonce: 0 })
        );
        m.update_committed([(1, 1)]);
        assert!(m.is_empty());
        assert_eq!(
            m.add(tx(1, 0), &checker),
            Err(AddError::StaleNonce { nonce: 0, next: 1 })
        );
    }

    #[test]
    fn batch_checker_sees_only_precheck_survivors_and_bad_signatures_are_refused() {
        let mut m = Mempool::new(limits(10));
        m.add(tx(1, 0), &checker).unwrap();
        let seen = std::cell::Cell::new(0);
        let counting = |txs: &[Tx]| {
            seen.set(seen.get() + txs.len());
            checker(txs)
        };
        let bad = Tx {
            valid: false,
            ..tx(2, 0)
        };
        let results = m
            .add_batch(vec![tx(1, 0), bad, tx(3, 0)], &counting)
            .results;
        assert_eq!(
            seen.get(),
            2,
            "the duplicate never reaches the signature checker"
        );
        assert_eq!(results[0], Err(AddError::Duplicate));
        assert!(matches!(results[1], Err(AddError::BadSignature(_))));
        assert!(results[2].is_ok());
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn full_pool_evicts_from_the_largest_sender_only() {
        let mut m = Mempool::new(limits(4));
        for n in 0..3 {
            m.add(tx(1, n), &checker).unwrap();
        }
        m.add(tx(2, 0), &checker).unwrap();
        let BatchOutcome { results, evicted } = m.add_batch(vec![tx(3, 0)], &checker);
        assert!(results[0].is_ok());
        assert_eq!(
            evicted,
            vec![tx(1, 2).hash()],
            "highest nonce of the biggest sender goes"
        );
        // Now senders hold 2,1,1: sender 2 adding a second tx would equal sender 1's 2: refused.
        assert_eq!(m.add(tx(2, 1), &checker), Err(AddError::Full));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn reap_orders_by_nonce_and_skips_gaps() {
        let mut m = Mempool::new(limits(100));
        m.add(tx(1, 1), &checker).unwrap();
        m.add(tx(2, 0), &checker).unwrap();
        m.add(tx(1, 0), &checker).unwrap();
        m.add(tx(1, 3), &checker).unwrap();
        let got: Vec<_> = m
            .reap(100, 1 << 20)
            .iter()
            .map(|t| (t.sender, t.nonce))
            .collect();
        assert_eq!(
            got,
            vec![(2, 0), (1, 0), (1, 1)],
            "nonce 3 waits for nonce 2"
        );
        m.update_committed([(2, 1), (1, 0)]);
        m.update_committed([(3, 5)]);
        m.add(tx(3, 6), &checker).unwrap();
        assert!(
            m.reap(100, 1 << 20).iter().all(|t| t.sender != 3),
            "sender 3's next nonce is 5, so nonce 6 cannot be proposed"
        );
        assert_eq!(m.reap(1, 1 << 20).len(), 1);
    }

    proptest! {
        #[test]
        fn bounds_hold_and_reap_is_nonce_ordered(
            ops in proptest::collection::vec((0u8..6, 0u64..12, 1usize..200, any::<bool>()), 1..300),
            commits in proptest::collection::vec((0u8..6, 0u64..12), 0..20),
        ) {
            let lim = Limits { max_txs: 25, max_bytes: 3000, max_per_sender: 8 };
            let mut m = Mempool::new(lim);
            for (i, (sender, nonce, size, valid)) in ops.into_iter().enumerate() {
                let _ = m.add(Tx { sender, nonce, size, valid }, &checker);
                if i % 37 == 0 {
                    if let Some(&(s, n)) = commits.get(i / 37) {
                        m.update_committed([(s, n)]);
                    }
                }
                prop_assert!(m.len() <= lim.max_txs);
                prop_assert!(m.bytes() <= lim.max_bytes);
                let total: usize = (0..6u8).map(|s| m.sender_txs(&s).iter().map(|t| t.size).sum::<usize>()).sum();
                prop_assert_eq!(total, m.bytes());
                for s in 0..6u8 {
                    prop_assert!(m.sender_txs(&s).len() <= lim.max_per_sender);
                    prop_assert!(m.sender_txs(&s).iter().all(|t| t.valid));
                }
            }
            let reaped = m.reap(usize::MAX, usize::MAX);
            let mut last: HashMap<u8, u64> = HashMap::default();
            for t in &reaped {
                if let Some(prev) = last.insert(t.sender, t.nonce) {
                    prop_assert_eq!(t.nonce, prev + 1, "consecutive nonces per sender");
                }
            }
            let small = m.reap(3, 250);
            prop_assert!(small.len() <= 3);
            prop_assert!(small.iter().map(|t| t.size).sum::<usize>() <= 250);
        }
    }
}
