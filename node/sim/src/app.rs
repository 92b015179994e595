//! The simulated application: a hash-chain state, transaction payloads, block validity and the
//! validator-set schedule. Everything is a pure function of its arguments, so the checker can
//! recompute what every honest node must agree on.

use netwright_consensus::{Block, BlockHash, Height, Validator, ValidatorSet};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Transactions starting with this marker make a block invalid.
pub const INVALID_MARKER: &[u8] = b"INVALID";

/// Application state root before the first block.
pub fn genesis_state() -> [u8; 32] {
    *blake3::hash(b"netwright-sim genesis state").as_bytes()
}

/// Genesis block hash used as the parent of height 1.
pub fn genesis_hash() -> BlockHash {
    BlockHash(*blake3::hash(b"netwright-sim genesis block").as_bytes())
}

/// State root after executing the block `block` on state `prev`.
pub fn next_state(prev: [u8; 32], block: BlockHash) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&prev);
    h.update(&block.0);
    *h.finalize().as_bytes()
}

/// A few random transactions for a block proposed by `node`.
pub fn make_txs(rng: &mut ChaCha8Rng, node: usize, height: Height) -> Vec<Vec<u8>> {
    let n = rng.gen_range(0..4);
    (0..n)
        .map(|i| {
            let mut tx = format!("tx/{node}/{height}/{i}/").into_bytes();
            tx.extend((0..rng.gen_range(8..48)).map(|_| rng.gen::<u8>()));
            tx
        })
        .collect()
}

/// Transactions the application rejects.
pub fn invalid_txs(node: usize, height: Height) -> Vec<Vec<u8>> {
    let mut tx = INVALID_MARKER.to_vec();
    tx.extend(format!("/{node}/{height}").into_bytes());
    vec![tx]
}

/// Why the application rejects a block.
pub fn validate(block: &Block, expected_state: [u8; 32]) -> Result<(), String> {
    if block.header.state_root != expected_state {
        return Err(format!(
            "state_root {} expected {}",
            hex::encode(&block.header.state_root[..4]),
            hex::encode(&expected_state[..4])
        ));
    }
    if let Some(i) = block.txs.iter().position(|t| t.starts_with(INVALID_MARKER)) {
        return Err(format!("txs[{i}] is marked invalid"));
    }
    Ok(())
}

/// The validator set per height. With churn, every third height the honest validators' stakes
/// rotate among themselves (byzantine stake, and so its share, is unchanged).
#[derive(Clone, Debug)]
pub struct ValidatorSchedule {
    base: Vec<Validator>,
    honest: Vec<usize>,
    churn: bool,
}

impl ValidatorSchedule {
    /// A schedule starting from `base`; `honest` are indices into `base`.
    pub fn new(base: Vec<Validator>, honest: Vec<usize>, churn: bool) -> Self {
        ValidatorSchedule {
            base,
            honest,
            churn,
        }
    }

    fn validators_at(&self, height: Height) -> Vec<Validator> {
        let mut v = self.base.clone();
        if self.churn && !self.honest.is_empty() {
            let epoch = ((height.saturating_sub(1)) / 3) as usize;
            let k = self.honest.len();
            for (j, &i) in self.honest.iter().enumerate() {
                v[i].power = self.base[self.honest[(j + epoch) % k]].power;
            }
        }
        v
    }

    /// The set deciding `height`.
    pub fn set_for(&self, height: Height) -> ValidatorSet {
        // The base set was validated when the run was built; rotating powers keeps it valid.
        ValidatorSet::new(self.validators_at(height))
            .unwrap_or_else(|e| unreachable!("rotating valid powers keeps the set valid: {e}"))
    }

    /// The update to report when `height` is decided: the set for `height + 1` if it differs.
    pub fn update_after(&self, height: Height) -> Option<ValidatorSet> {
        if self.validators_at(height + 1) == self.validators_at(height) {
            None
        } else {
            Some(self.set_for(height + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netwright_consensus::ValidatorId;

    #[test]
    fn churn_keeps_total_and_byzantine_power() {
        let base: Vec<Validator> = [5u64, 7, 11, 13]
            .iter()
            .enumerate()
            .map(|(i, p)| Validator {
                id: ValidatorId([i as u8 + 1; 32]),
                power: *p,
            })
            .collect();
        let s = ValidatorSchedule::new(base, vec![0, 1, 2], true);
        assert_eq!(s.update_after(1), None);
        let next = s.update_after(3).unwrap();
        assert_eq!(next.total_power(), 36);
        assert_eq!(next.power_of(&ValidatorId([4; 32])), Some(13));
        assert_ne!(next, s.set_for(3));
    }
}
