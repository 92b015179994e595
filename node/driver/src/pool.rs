//! The ledger's transactions in the node's generic mempool: admission after the ledger's
//! checks (signatures verified as one batch), and the clean-up after each commit.

use std::collections::BTreeSet;
use std::sync::Arc;

use netwright_ledger::{
    decode_tx_cached, verify_signatures, Address, CheckedTx, DecodedTx, Hash, KeyCache, KnownTxs,
    Ledger, TxDecodeError, TxError, MAX_TX_BYTES,
};

/// Most decompressed sender keys kept (about 200 bytes each).
const MAX_CACHED_KEYS: usize = 65_536;

use crate::io::{Ignored, Verdict};
use crate::mempool::{AddError, Limits, Mempool, PoolTx};

/// A transaction admitted by the ledger, as the mempool holds it: its bytes and its decoded
/// form, whose signature was verified at admission (so that executing a block that carries it
/// neither decodes nor verifies it again).
#[derive(Clone, Debug)]
pub struct PooledTx {
    bytes: Arc<[u8]>,
    decoded: Arc<DecodedTx>,
    hash: Hash,
    sender: Address,
    nonce: u64,
}

impl PooledTx {
    /// The encoded transaction.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl PoolTx for PooledTx {
    type Hash = Hash;
    type Sender = Address;
    fn hash(&self) -> Hash {
        self.hash
    }
    fn sender(&self) -> Address {
        self.sender
    }
    fn nonce(&self) -> u64 {
        self.nonce
    }
    fn size(&self) -> usize {
        self.bytes.len()
    }
}

/// The ledger already verified every signature (as a batch) before a transaction reaches the
/// pool, so the pool's own checker accepts all.
fn verified(txs: &[PooledTx]) -> Vec<Result<(), String>> {
    vec![Ok(()); txs.len()]
}

/// A transaction decoded and signature-checked before it reaches the driver, so that the
/// expensive part of admission runs outside the driver's lock ([`prepare_txs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedTx {
    bytes: Vec<u8>,
    hash: Hash,
    /// The decoded transaction and its signature verdict, or the verdict on bytes that do not
    /// decode.
    decoded: Result<(DecodedTx, bool), Verdict>,
}

impl PreparedTx {
    /// The encoded transaction.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The transaction hash (BLAKE3 of the encoded bytes), computed once when prepared.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// A transaction that a recent block already committed: admission refuses it as a
    /// duplicate, without decoding it or verifying its signature.
    pub fn already_committed(bytes: Vec<u8>, hash: Hash) -> PreparedTx {
        PreparedTx {
            bytes,
            hash,
            decoded: Err(Verdict::Ignored(Ignored::Duplicate)),
        }
    }
}

/// Decodes `txs` (sender keys from `keys`) and verifies their signatures as one batch: the
/// stateless part of admission, for [`TxPool::admit_prepared`].
pub fn prepare_txs(txs: Vec<Vec<u8>>, keys: &KeyCache) -> Vec<PreparedTx> {
    let hashed = txs
        .into_iter()
        .map(|tx| {
            let hash = Hash::of(&tx);
            (tx, hash)
        })
        .collect();
    prepare_hashed_txs(hashed, keys)
}

/// [`prepare_txs`] for transactions whose hashes the caller already has: (bytes, hash) pairs.
pub fn prepare_hashed_txs(txs: Vec<(Vec<u8>, Hash)>, keys: &KeyCache) -> Vec<PreparedTx> {
    let decoded = decode_all(txs.iter().map(|(tx, _)| tx.as_slice()), keys);
    verify_all(txs, decoded)
}

fn decode_all<'a>(
    txs: impl Iterator<Item = &'a [u8]>,
    keys: &KeyCache,
) -> Vec<Result<DecodedTx, Verdict>> {
    txs.map(|tx| {
        if tx.len() > MAX_TX_BYTES {
            return Err(Verdict::Rejected(format!(
                "tx: {} bytes exceeds the limit of {MAX_TX_BYTES}",
                tx.len()
            )));
        }
        decode_tx_cached(tx, keys).map_err(|e| tx_error_verdict(&TxError::from(e)))
    })
    .collect()
}

fn verify_all(
    txs: Vec<(Vec<u8>, Hash)>,
    decoded: Vec<Result<DecodedTx, Verdict>>,
) -> Vec<PreparedTx> {
    let ok: Vec<&DecodedTx> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
    let mut sigs = verify_signatures(&ok).into_iter();
    txs.into_iter()
        .zip(decoded)
        .map(|((bytes, hash), d)| PreparedTx {
            hash,
            decoded: d.map(|d| {
                let ok = sigs.next().unwrap_or(false);
                (d, ok)
            }),
            bytes,
        })
        .collect()
}

/// The mempool with the ledger's admission rules.
#[derive(Debug)]
pub struct TxPool {
    pool: Mempool<PooledTx>,
    keys: KeyCache,
}

/// Every pooled transaction had its signature verified at admission.
impl KnownTxs for TxPool {
    fn known(&self, hash: &Hash) -> Option<&DecodedTx> {
        self.pool.get(hash).map(|t| t.decoded.as_ref())
    }

    fn decode(&self, bytes: &[u8]) -> Result<DecodedTx, TxDecodeError> {
        decode_tx_cached(bytes, &self.keys)
    }
}

impl TxPool {
    /// An empty pool.
    pub fn new(limits: Limits) -> Self {
        TxPool {
            pool: Mempool::new(limits),
            keys: KeyCache::new(MAX_CACHED_KEYS),
        }
    }

    /// The pool's decompressed sender keys, shared: whoever decodes transactions for this pool
    /// ([`prepare_txs`]) should use and fill the same cache.
    pub fn key_cache(&self) -> KeyCache {
        self.keys.clone()
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.pool.bytes()
    }

    /// Checks `txs` against the committed `ledger` (signatures as one batch) and admits the
    /// valid ones. Returns one verdict per transaction.
    pub fn admit(&mut self, ledger: &Ledger, txs: &[Vec<u8>]) -> Vec<Verdict> {
        let prepared = prepare_txs(txs.to_vec(), &self.keys);
        self.admit_prepared(ledger, prepared)
    }

    /// Admits transactions decoded and signature-checked by [`prepare_txs`]: the state checks
    /// against the committed `ledger` and the pool's rules. One verdict per transaction.
    pub fn admit_prepared(&mut self, ledger: &Ledger, txs: Vec<PreparedTx>) -> Vec<Verdict> {
        txs.into_iter()
            .map(|p| {
                if self.pool.contains(&p.hash) {
                    return Verdict::Ignored(Ignored::Duplicate);
                }
                match p.decoded {
                    Err(v) => v,
                    Ok((d, sig_ok)) => match ledger.check_decoded(&d, sig_ok) {
                        Ok(c) => self.insert(&p.bytes, d, c),
                        Err(e) => tx_error_verdict(&e),
                    },
                }
            })
            .collect()
    }

    fn insert(&mut self, bytes: &[u8], decoded: DecodedTx, c: CheckedTx) -> Verdict {
        // Tell the pool the committed nonce first, so it never proposes across a nonce gap.
        self.pool.update_committed([(c.sender, c.next_nonce)]);
        let tx = PooledTx {
            bytes: Arc::from(bytes),
            decoded: Arc::new(decoded),
            hash: c.hash,
            sender: c.sender,
            nonce: c.nonce,
        };
        match self.pool.add(tx, &verified) {
            Ok(_) => Verdict::Accepted,
            Err(AddError::Duplicate) => Verdict::Ignored(Ignored::Duplicate),
            Err(e @ (AddError::Full | AddError::SenderFull { .. })) => {
                Verdict::Ignored(Ignored::Full(e.to_string()))
            }
            Err(e @ AddError::TooLarge { .. }) => Verdict::Rejected(format!("tx: {e}")),
            Err(e) => Verdict::Ignored(Ignored::NotNow(e.to_string())),
        }
    }

    /// Transactions for a proposal: consecutive nonces per sender, within the bounds.
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<Vec<u8>> {
        self.pool
            .reap(max_txs, max_bytes)
            .into_iter()
            .map(|t| t.bytes.to_vec())
            .collect()
    }

    /// After a block committed on `ledger`: drops the block's transactions and those of the
    /// same senders whose nonce is now used, then re-checks the senders' remaining
    /// transactions against the new state (their balance went down) and drops the failures.
    /// `committed` holds the block's transactions as executing it found them: hash and sender
    /// (when the bytes decode), in block order. Returns how many transactions left the pool.
    pub fn after_commit(
        &mut self,
        ledger: &Ledger,
        committed: &[(Hash, Option<Address>)],
    ) -> usize {
        let before = self.pool.len();
        let mut senders = BTreeSet::new();
        for (hash, sender) in committed {
            let removed = self.pool.remove(hash).map(|p| p.sender);
            senders.extend(removed.or(*sender));
        }
        self.pool
            .update_committed(senders.iter().map(|s| (*s, ledger.account(s).nonce)));
        let rest: Vec<PooledTx> = senders
            .iter()
            .flat_map(|s| self.pool.sender_txs(s).into_iter().cloned())
            .collect();
        for tx in &rest {
            if ledger.check_verified(&tx.decoded).is_err() {
                self.pool.remove(&tx.hash);
            }
        }
        before - self.pool.len()
    }
}

/// Verdict on a transaction the ledger refused: encoding, signature and chain errors are the
/// sender's fault; the others depend on state that may have moved (a race with a commit).
fn tx_error_verdict(e: &TxError) -> Verdict {
    match e.code() {
        1..=3 => Verdict::Rejected(format!("tx: {e}")),
        _ => Verdict::Ignored(Ignored::NotNow(format!("tx: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;
    use netwright_ledger::Genesis;

    fn limits() -> Limits {
        Limits {
            max_txs: 100,
            max_bytes: 1 << 20,
            max_per_sender: 10,
        }
    }

    #[test]
    fn admission_verdicts() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let ledger = Ledger::from_genesis(&g).unwrap();
        let mut pool = TxPool::new(limits());
        let good = testkit::transfer(&g, 9, 0, 3, 10);
        let mut bad_sig = good.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        let broke = testkit::transfer(&g, 4, 0, 3, 10); // seed 4 has no funds
        let v = pool.admit(
            &ledger,
            &[
                good.clone(),
                bad_sig,
                vec![1, 2, 3],
                broke,
                vec![0; MAX_TX_BYTES + 1],
            ],
        );
        assert_eq!(v[0], Verdict::Accepted);
        assert!(
            matches!(&v[1], Verdict::Rejected(r) if r.contains("signature")),
            "{v:?}"
        );
        assert!(matches!(&v[2], Verdict::Rejected(_)));
        assert!(
            matches!(&v[3], Verdict::Ignored(Ignored::NotNow(_))),
            "{v:?}"
        );
        assert!(matches!(&v[4], Verdict::Rejected(r) if r.contains("exceeds")));
        assert_eq!(
            pool.admit(&ledger, &[good])[0],
            Verdict::Ignored(Ignored::Duplicate)
        );
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn prepared_admission_gives_the_same_verdicts() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let ledger = Ledger::from_genesis(&g).unwrap();
        let good = testkit::transfer(&g, 9, 0, 3, 10);
        let mut bad_sig = good.clone();
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        let txs = vec![
            good.clone(),
            bad_sig,
            vec![1, 2, 3],
            testkit::transfer(&g, 4, 0, 3, 10),
            vec![0; MAX_TX_BYTES + 1],
            good.clone(),
        ];
        let mut direct = TxPool::new(limits());
        let expected = direct.admit(&ledger, &txs);
        assert_eq!(expected[5], Verdict::Ignored(Ignored::Duplicate));
        let keys = KeyCache::new(8);
        let prepared = prepare_txs(txs, &keys);
        assert_eq!(prepared[0].bytes(), &good[..]);
        assert_eq!(prepared[0].hash(), Hash::of(&good));
        let mut pool = TxPool::new(limits());
        assert_eq!(pool.admit_prepared(&ledger, prepared), expected);
        assert_eq!(pool.len(), 1);
        assert_eq!(keys.len(), 2, "keys of the two decodable senders");
    }

    /// Applies a block of `tx` at height 1; the block's transactions as `after_commit` takes them.
    fn commit_one(ledger: &mut Ledger, g: &Genesis, tx: &[u8]) -> Vec<(Hash, Option<Address>)> {
        let out = ledger.apply_block(1, g.genesis_time_ms + 1, &[tx]).unwrap();
        out.tx_results.iter().map(|r| (r.hash, r.sender)).collect()
    }

    #[test]
    fn commit_drops_included_and_now_unaffordable_transactions() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let mut ledger = Ledger::from_genesis(&g).unwrap();
        let mut pool = TxPool::new(limits());
        let a = testkit::transfer(&g, 9, 0, 3, 600);
        let b = testkit::transfer(&g, 9, 1, 3, 600); // affordable alone, not after `a`
        let v = pool.admit(&ledger, &[a.clone(), b]);
        assert_eq!(v, vec![Verdict::Accepted, Verdict::Accepted]);
        assert_eq!(pool.reap(10, 1 << 20).len(), 2);
        let committed = commit_one(&mut ledger, &g, &a);
        assert_eq!(committed[0].1, Some(testkit::address(9)));
        assert_eq!(pool.after_commit(&ledger, &committed), 2);
        assert!(pool.is_empty());
    }

    #[test]
    fn commit_of_a_transaction_never_pooled_still_cleans_up_its_sender() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let mut ledger = Ledger::from_genesis(&g).unwrap();
        let mut pool = TxPool::new(limits());
        let elsewhere = testkit::transfer(&g, 9, 0, 3, 600);
        // Nonce 1 after nonce 0, affordable only while nonce 0 has not spent 600.
        let later = testkit::transfer(&g, 9, 1, 3, 600);
        let v = pool.admit(&ledger, &[later]);
        assert_eq!(v, vec![Verdict::Accepted]);
        let committed = commit_one(&mut ledger, &g, &elsewhere);
        assert_eq!(pool.after_commit(&ledger, &committed), 1);
        assert!(
            pool.is_empty(),
            "the sender's remaining transaction is unaffordable"
        );
    }

    #[test]
    fn already_committed_transactions_are_refused_as_duplicates() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let ledger = Ledger::from_genesis(&g).unwrap();
        let mut pool = TxPool::new(limits());
        let tx = testkit::transfer(&g, 9, 0, 3, 10);
        let hash = Hash::of(&tx);
        let v = pool.admit_prepared(&ledger, vec![PreparedTx::already_committed(tx, hash)]);
        assert_eq!(v, vec![Verdict::Ignored(Ignored::Duplicate)]);
        assert!(pool.is_empty());
    }

    #[test]
    fn gap_in_nonces_is_not_proposed() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let ledger = Ledger::from_genesis(&g).unwrap();
        let mut pool = TxPool::new(limits());
        let later = testkit::transfer(&g, 9, 1, 3, 10);
        assert_eq!(pool.admit(&ledger, &[later]), vec![Verdict::Accepted]);
        assert!(pool.reap(10, 1 << 20).is_empty(), "nonce 0 is missing");
        pool.admit(&ledger, &[testkit::transfer(&g, 9, 0, 3, 10)]);
        assert_eq!(pool.reap(10, 1 << 20).len(), 2);
    }
}
