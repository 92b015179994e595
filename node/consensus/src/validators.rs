//! Validator sets: stake-weighted membership, quorum arithmetic and the set's canonical hash.

use crate::encoding::{hash_domain, Domain};
use crate::types::ValidatorId;
use borsh::{BorshDeserialize, BorshSerialize};

/// The largest total voting power a set may have; keeps proposer priorities far from overflow.
pub const MAX_TOTAL_POWER: u64 = 1 << 60;

/// One validator: its ed25519 public key and its voting power (stake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Validator {
    /// The validator's ed25519 public key.
    pub id: ValidatorId,
    /// Voting power; always greater than zero inside a [`ValidatorSet`].
    pub power: u64,
}

/// Why a list of validators cannot form a [`ValidatorSet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// The list was empty.
    #[error("validators: the set is empty; at least one validator with power > 0 is required")]
    Empty,
    /// A validator had zero power.
    #[error("validators[{index}].power: 0 for validator {id}; power must be greater than 0")]
    ZeroPower {
        /// Position in the input list.
        index: usize,
        /// The offending validator.
        id: ValidatorId,
    },
    /// The same key appeared twice.
    #[error("validators[{index}].id: {id} appears more than once")]
    Duplicate {
        /// Position of the second occurrence in the input list.
        index: usize,
        /// The duplicated key.
        id: ValidatorId,
    },
    /// Total power too large.
    #[error("validators: total power exceeds the maximum {max}")]
    TotalTooLarge {
        /// The maximum allowed total power.
        max: u64,
    },
}

/// A validated set of validators, sorted by key, with its total power.
///
/// Quorums are stake-weighted: a *quorum* is strictly more than 2/3 of the total power and a
/// *one-third* threshold (the paper's f+1) is strictly more than 1/3.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    #[borsh(skip)]
    total_power: u64,
}

impl BorshDeserialize for ValidatorSet {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let validators = Vec::<Validator>::deserialize_reader(reader)?;
        ValidatorSet::new(validators)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    }
}

impl ValidatorSet {
    /// Validates and sorts `validators` (any order in, sorted by key out).
    pub fn new(validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        let mut total: u64 = 0;
        for (index, v) in validators.iter().enumerate() {
            if v.power == 0 {
                return Err(ValidatorSetError::ZeroPower { index, id: v.id });
            }
            total = total
                .checked_add(v.power)
                .filter(|t| *t <= MAX_TOTAL_POWER)
                .ok_or(ValidatorSetError::TotalTooLarge {
                    max: MAX_TOTAL_POWER,
                })?;
        }
        let mut sorted: Vec<(usize, Validator)> = validators.into_iter().enumerate().collect();
        sorted.sort_by_key(|a| a.1.id);
        for w in sorted.windows(2) {
            if w[0].1.id == w[1].1.id {
                let index = w[0].0.max(w[1].0);
                return Err(ValidatorSetError::Duplicate {
                    index,
                    id: w[1].1.id,
                });
            }
        }
        Ok(ValidatorSet {
            validators: sorted.into_iter().map(|(_, v)| v).collect(),
            total_power: total,
        })
    }

    /// The validators, sorted by key.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false: a validated set has at least one member.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of all voting power.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// Position of `id` in the sorted set.
    pub fn index_of(&self, id: &ValidatorId) -> Option<usize> {
        self.validators.binary_search_by(|v| v.id.cmp(id)).ok()
    }

    /// Voting power of `id`, if it is a member.
    pub fn power_of(&self, id: &ValidatorId) -> Option<u64> {
        self.index_of(id).map(|i| self.validators[i].power)
    }

    /// The validator at `index` in sorted order.
    pub fn get(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }

    /// BLAKE3 of the canonical (borsh) encoding, domain separated; carried in block headers.
    pub fn hash(&self) -> [u8; 32] {
        hash_domain(Domain::ValidatorSet, self)
    }

    /// True when `power` is strictly more than 2/3 of the total (a quorum).
    pub fn is_quorum(&self, power: u64) -> bool {
        (power as u128) * 3 > (self.total_power as u128) * 2
    }

    /// True when `power` is strictly more than 1/3 of the total (the paper's f+1).
    pub fn is_one_third(&self, power: u64) -> bool {
        (power as u128) * 3 > self.total_power as u128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(b: u8, power: u64) -> Validator {
        Validator {
            id: ValidatorId([b; 32]),
            power,
        }
    }

    #[test]
    fn sorts_and_totals() {
        let set = ValidatorSet::new(vec![v(3, 5), v(1, 7)]).unwrap();
        assert_eq!(set.validators()[0].id, ValidatorId([1; 32]));
        assert_eq!(set.total_power(), 12);
        assert_eq!(set.power_of(&ValidatorId([3; 32])), Some(5));
        assert_eq!(set.index_of(&ValidatorId([9; 32])), None);
    }

    #[test]
    fn rejects_bad_sets_with_location() {
        assert_eq!(ValidatorSet::new(vec![]), Err(ValidatorSetError::Empty));
        let e = ValidatorSet::new(vec![v(1, 1), v(2, 0)]).unwrap_err();
        assert!(e.to_string().contains("validators[1].power"), "{e}");
        let e = ValidatorSet::new(vec![v(1, 1), v(2, 1), v(1, 3)]).unwrap_err();
        assert_eq!(
            e,
            ValidatorSetError::Duplicate {
                index: 2,
                id: ValidatorId([1; 32])
            }
        );
        assert!(ValidatorSet::new(vec![v(1, MAX_TOTAL_POWER), v(2, 1)]).is_err());
    }

    #[test]
    fn quorum_is_strictly_more_than_two_thirds() {
        let set = ValidatorSet::new(vec![v(1, 1), v(2, 1), v(3, 1)]).unwrap();
        assert!(!set.is_quorum(2));
        assert!(set.is_quorum(3));
        assert!(!set.is_one_third(1));
        assert!(set.is_one_third(2));
    }

    #[test]
    fn borsh_roundtrip_validates() {
        let set = ValidatorSet::new(vec![v(2, 4), v(1, 9)]).unwrap();
        let bytes = borsh::to_vec(&set).unwrap();
        let back: ValidatorSet = borsh::from_slice(&bytes).unwrap();
        assert_eq!(back, set);
        let bad = borsh::to_vec(&vec![v(1, 0)]).unwrap();
        assert!(borsh::from_slice::<ValidatorSet>(&bad).is_err());
    }
}
