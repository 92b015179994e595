//! The vote keeper: per-round tallies of prevotes and precommits by voting power, equivocation
//! detection, and the per-validator highest round seen (for the round-skip rule).

use crate::messages::SignedVote;
use crate::types::{BlockHash, Round, VoteKind};
use crate::validators::ValidatorSet;
use std::collections::BTreeMap;

/// Distinct values one validator may have counted in one slot. An equivocator's conflicting
/// votes are all genuine signatures and are counted for their values (two quorums for
/// different values can only intersect in validators that voted both, i.e. equivocators), so
/// honest nodes that saw different halves of an equivocation still converge. The cap bounds
/// memory against a validator signing endless values.
pub const MAX_VALUES_PER_VALIDATOR: usize = 4;

/// Votes of one kind in one round.
#[derive(Clone, Debug, Default)]
struct Tally {
    /// Per validator: its first vote (counted toward `total`), then conflicting ones.
    votes: BTreeMap<usize, Vec<SignedVote>>,
    by_value: BTreeMap<Option<BlockHash>, u64>,
    total: u64,
}

/// What happened to a vote given to [`VoteKeeper::add`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new vote was counted.
    Added,
    /// The identical vote was already counted.
    Duplicate,
    /// The validator already voted differently in this slot (equivocation). The earlier vote
    /// is returned; the new one counts for its own value (up to
    /// [`MAX_VALUES_PER_VALIDATOR`] values) but not again toward the slot's total.
    Conflict(SignedVote),
}

/// Tallies for one height.
#[derive(Clone, Debug)]
pub struct VoteKeeper {
    rounds: BTreeMap<Round, [Tally; 2]>,
    max_round: Vec<Option<Round>>,
}

fn slot(kind: VoteKind) -> usize {
    match kind {
        VoteKind::Prevote => 0,
        VoteKind::Precommit => 1,
    }
}

impl VoteKeeper {
    /// An empty keeper for a set of `validators` members.
    pub fn new(validators: usize) -> Self {
        VoteKeeper {
            rounds: BTreeMap::new(),
            max_round: vec![None; validators],
        }
    }

    /// True if this exact signed vote is already counted.
    pub fn contains(&self, index: usize, v: &SignedVote) -> bool {
        self.rounds
            .get(&v.vote.round)
            .and_then(|t| t[slot(v.vote.kind)].votes.get(&index))
            .is_some_and(|old| old.iter().any(|o| o == v))
    }

    /// Counts a (verified) vote from the validator at `index` with `power`.
    pub fn add(&mut self, index: usize, power: u64, v: SignedVote) -> AddOutcome {
        self.note_round(index, v.vote.round);
        let tally = &mut self.rounds.entry(v.vote.round).or_default()[slot(v.vote.kind)];
        match tally.votes.get_mut(&index) {
            None => {
                *tally.by_value.entry(v.vote.block).or_default() += power;
                tally.total += power;
                tally.votes.insert(index, vec![v]);
                AddOutcome::Added
            }
            Some(old) => {
                // Same value (even with other signature bytes): nothing new to count.
                if old.iter().any(|o| o.vote.block == v.vote.block) {
                    return AddOutcome::Duplicate;
                }
                let first = old[0];
                if old.len() < MAX_VALUES_PER_VALIDATOR {
                    old.push(v);
                    *tally.by_value.entry(v.vote.block).or_default() += power;
                }
                AddOutcome::Conflict(first)
            }
        }
    }

    /// Records that validator `index` sent a (verified) message for `round`.
    pub fn note_round(&mut self, index: usize, round: Round) {
        if let Some(slot) = self.max_round.get_mut(index) {
            if slot.is_none_or(|r| r < round) {
                *slot = Some(round);
            }
        }
    }

    /// Power of the votes of `kind` in `round` for `value`.
    pub fn power_for(&self, round: Round, kind: VoteKind, value: Option<BlockHash>) -> u64 {
        self.rounds
            .get(&round)
            .and_then(|t| t[slot(kind)].by_value.get(&value).copied())
            .unwrap_or(0)
    }

    /// Power of all votes of `kind` in `round`, whatever their value.
    pub fn total_power(&self, round: Round, kind: VoteKind) -> u64 {
        self.rounds
            .get(&round)
            .map(|t| t[slot(kind)].total)
            .unwrap_or(0)
    }

    /// The values voted for in (`round`, `kind`) with their power, in value order.
    pub fn values(&self, round: Round, kind: VoteKind) -> Vec<(Option<BlockHash>, u64)> {
        self.rounds
            .get(&round)
            .map(|t| {
                t[slot(kind)]
                    .by_value
                    .iter()
                    .map(|(k, v)| (*k, *v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The counted votes of (`round`, `kind`) for `value`, in validator order.
    pub fn votes_for(
        &self,
        round: Round,
        kind: VoteKind,
        value: Option<BlockHash>,
    ) -> Vec<SignedVote> {
        self.rounds
            .get(&round)
            .map(|t| {
                t[slot(kind)]
                    .votes
                    .values()
                    .flatten()
                    .filter(|v| v.vote.block == value)
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rounds with any stored vote, ascending.
    pub fn rounds(&self) -> Vec<Round> {
        self.rounds.keys().copied().collect()
    }

    /// The round-skip rule: the highest round `R > current` such that validators holding more
    /// than 1/3 of the power have sent messages for rounds `>= R`.
    pub fn skip_target(&self, current: Round, set: &ValidatorSet) -> Option<Round> {
        let mut ahead: Vec<(Round, u64)> = self
            .max_round
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Some(r) if *r > current => set.get(i).map(|v| (*r, v.power)),
                _ => None,
            })
            .collect();
        ahead.sort_by_key(|a| std::cmp::Reverse(a.0));
        let mut power = 0u64;
        for (round, p) in ahead {
            power += p;
            if set.is_one_third(power) {
                return Some(round);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Signer;
    use crate::messages::Vote;
    use crate::validators::Validator;

    fn signers(n: u8) -> (Vec<Signer>, ValidatorSet) {
        let s: Vec<Signer> = (1..=n).map(|i| Signer::from_seed([i; 32])).collect();
        let set = ValidatorSet::new(
            s.iter()
                .map(|s| Validator {
                    id: s.id(),
                    power: 10,
                })
                .collect(),
        )
        .unwrap();
        (s, set)
    }

    fn vote(s: &Signer, round: Round, kind: VoteKind, b: Option<u8>) -> SignedVote {
        Vote {
            height: 1,
            round,
            kind,
            block: b.map(|x| BlockHash([x; 32])),
            validator: s.id(),
        }
        .sign("t", s)
    }

    #[test]
    fn tallies_and_conflicts() {
        let (s, set) = signers(4);
        let mut k = VoteKeeper::new(4);
        let idx = |x: &Signer| set.index_of(&x.id()).unwrap();
        let a = vote(&s[0], 0, VoteKind::Prevote, Some(1));
        assert_eq!(k.add(idx(&s[0]), 10, a), AddOutcome::Added);
        assert_eq!(k.add(idx(&s[0]), 10, a), AddOutcome::Duplicate);
        assert!(k.contains(idx(&s[0]), &a));
        let b = vote(&s[0], 0, VoteKind::Prevote, None);
        assert_eq!(k.add(idx(&s[0]), 10, b), AddOutcome::Conflict(a));
        assert_eq!(k.add(idx(&s[0]), 10, b), AddOutcome::Duplicate);
        k.add(idx(&s[1]), 10, vote(&s[1], 0, VoteKind::Prevote, None));
        assert_eq!(
            k.power_for(0, VoteKind::Prevote, Some(BlockHash([1; 32]))),
            10
        );
        // The equivocator counts for both values, but only once toward the total.
        assert_eq!(k.power_for(0, VoteKind::Prevote, None), 20);
        assert_eq!(k.total_power(0, VoteKind::Prevote), 20);
        assert_eq!(k.votes_for(0, VoteKind::Prevote, None).len(), 2);
        assert_eq!(k.total_power(0, VoteKind::Precommit), 0);
    }

    #[test]
    fn skip_needs_more_than_a_third() {
        let (_, set) = signers(4);
        let mut k = VoteKeeper::new(4);
        k.note_round(0, 5);
        assert_eq!(k.skip_target(0, &set), None);
        k.note_round(1, 3);
        assert_eq!(k.skip_target(0, &set), Some(3));
        assert_eq!(k.skip_target(3, &set), None);
    }
}
