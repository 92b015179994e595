//! Transaction gossip in batches: locally admitted transactions are collected and published as
//! one message (borsh `Vec<Vec<u8>>`) when the batch is full or every [`FLUSH_INTERVAL`], so
//! that many submissions cost a few gossip messages instead of one each.

use std::time::Duration;

/// How often a partly filled batch is published: the most a transaction waits here.
pub(super) const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

/// Bytes of a batch's length prefix and of each transaction's length prefix.
const PREFIX: usize = 4;

/// Collects transactions into gossip batches of at most `limit` encoded bytes.
#[derive(Debug)]
pub(super) struct TxBatcher {
    txs: Vec<Vec<u8>>,
    bytes: usize,
    limit: usize,
}

impl TxBatcher {
    /// A batcher whose messages stay within `limit` bytes (the txs topic's size limit).
    pub(super) fn new(limit: usize) -> Self {
        TxBatcher {
            txs: Vec::new(),
            bytes: PREFIX,
            limit,
        }
    }

    /// Adds a transaction; returns the encoded batch that had to be closed to make room, if
    /// any. A transaction too large for any batch is dropped (the mempool never admits one).
    pub(super) fn push(&mut self, tx: Vec<u8>) -> Option<Vec<u8>> {
        let size = PREFIX + tx.len();
        if PREFIX + size > self.limit {
            return None;
        }
        let full = if self.bytes + size > self.limit {
            self.flush()
        } else {
            None
        };
        self.bytes += size;
        self.txs.push(tx);
        full
    }

    /// The encoded batch of everything collected, if anything was.
    pub(super) fn flush(&mut self) -> Option<Vec<u8>> {
        if self.txs.is_empty() {
            return None;
        }
        let txs = std::mem::take(&mut self.txs);
        self.bytes = PREFIX;
        borsh::to_vec(&txs).ok()
    }
}

/// Decodes a received batch; the reason names what is wrong.
pub(super) fn decode_batch(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let txs: Vec<Vec<u8>> =
        borsh::from_slice(bytes).map_err(|e| format!("tx batch: malformed: {e}"))?;
    if txs.is_empty() {
        return Err("tx batch: empty".into());
    }
    Ok(txs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_within_the_limit_and_round_trip() {
        let mut b = TxBatcher::new(100);
        assert_eq!(b.flush(), None);
        let mut out = Vec::new();
        for i in 0..10u8 {
            if let Some(full) = b.push(vec![i; 20]) {
                out.push(full);
            }
        }
        out.extend(b.flush());
        assert!(
            out.iter().all(|m| m.len() <= 100),
            "{:?}",
            out.iter().map(Vec::len).collect::<Vec<_>>()
        );
        let all: Vec<Vec<u8>> = out.iter().flat_map(|m| decode_batch(m).unwrap()).collect();
        assert_eq!(all, (0..10u8).map(|i| vec![i; 20]).collect::<Vec<_>>());
        assert_eq!(b.push(vec![0; 100]), None, "too large for any batch");
        assert_eq!(b.flush(), None);
    }

    #[test]
    fn bad_batches_are_refused() {
        assert!(decode_batch(&[1, 2]).is_err());
        assert!(decode_batch(&borsh::to_vec(&Vec::<Vec<u8>>::new()).unwrap()).is_err());
        let mut trailing = borsh::to_vec(&vec![vec![1u8]]).unwrap();
        trailing.push(0);
        assert!(decode_batch(&trailing).is_err());
    }
}
