//! Deterministic stake-weighted proposer rotation (proposer priorities).
//!
//! Every validator holds a priority. One *step* adds each validator's power to its priority,
//! picks the highest priority (ties go to the smaller key) as proposer, and subtracts the total
//! power from the winner. Over any window a validator proposes in proportion to its stake.
//! Round `r` of a height uses the priorities at the start of the height advanced `r + 1` steps;
//! the next height starts from the priorities advanced exactly one step, independent of the
//! decided round, so every honest node derives the same schedule from the same chain.

use crate::types::Round;
use crate::validators::ValidatorSet;

/// Advances `priorities` (aligned with `set`) by one step and returns the chosen index.
pub fn step(set: &ValidatorSet, priorities: &mut [i128]) -> usize {
    let total = set.total_power() as i128;
    let mut best = 0usize;
    for (i, v) in set.validators().iter().enumerate() {
        priorities[i] += v.power as i128;
        if priorities[i] > priorities[best] {
            best = i;
        }
    }
    priorities[best] -= total;
    best
}

/// The proposers of one height's rounds, computed on demand and in order.
///
/// It keeps the priorities after the last computed round, so the proposer of a new round costs
/// one [`step`] (O(validators)), and remembers each computed round's proposer index (4 bytes
/// a round). The machine asks only for rounds up to its own round plus its future-round window,
/// and checks a message's round against that window before it asks, so a message naming a
/// far-future round never makes the schedule grow.
#[derive(Clone, Debug)]
pub struct Schedule {
    priorities: Vec<i128>,
    chosen: Vec<u32>,
}

impl Schedule {
    /// The schedule of a height whose validators start with `priorities`.
    pub fn new(priorities: &[i128]) -> Self {
        Schedule {
            priorities: priorities.to_vec(),
            chosen: Vec::new(),
        }
    }

    /// Index into `set` of the proposer of `round`; computes the rounds up to it not yet known.
    pub fn proposer(&mut self, set: &ValidatorSet, round: Round) -> usize {
        while self.chosen.len() <= round as usize {
            let i = step(set, &mut self.priorities);
            self.chosen.push(i as u32);
        }
        self.chosen[round as usize] as usize
    }

    /// Rounds computed so far (the schedule's memory is proportional to this).
    pub fn computed_rounds(&self) -> usize {
        self.chosen.len()
    }
}

/// Carries priorities over a validator set change: members keep theirs, newcomers start at
/// `-(total + total/8)` of the new set (they wait before proposing), and the result is centred
/// on zero and clamped to `[-2 * total, 2 * total]`.
pub fn carry_over(old: &ValidatorSet, old_priorities: &[i128], new: &ValidatorSet) -> Vec<i128> {
    let total = new.total_power() as i128;
    let mut out: Vec<i128> = new
        .validators()
        .iter()
        .map(|v| match old.index_of(&v.id) {
            Some(i) => old_priorities[i],
            None => -(total + total / 8),
        })
        .collect();
    let n = out.len() as i128;
    let mean = out.iter().sum::<i128>().div_euclid(n);
    for p in &mut out {
        *p = (*p - mean).clamp(-2 * total, 2 * total);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ValidatorId;
    use crate::validators::Validator;

    fn set(powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            powers
                .iter()
                .enumerate()
                .map(|(i, p)| Validator {
                    id: ValidatorId([i as u8 + 1; 32]),
                    power: *p,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn frequency_follows_stake() {
        let s = set(&[1, 2, 7]);
        let mut pr = vec![0i128; 3];
        let mut counts = [0usize; 3];
        for _ in 0..1000 {
            counts[step(&s, &mut pr)] += 1;
        }
        assert_eq!(counts, [100, 200, 700]);
        assert_eq!(pr.iter().sum::<i128>(), 0);
    }

    #[test]
    fn equal_stake_round_robin() {
        let s = set(&[5, 5, 5, 5]);
        let mut pr = vec![0i128; 4];
        let picks: Vec<usize> = (0..8).map(|_| step(&s, &mut pr)).collect();
        assert_eq!(picks, vec![0, 1, 2, 3, 0, 1, 2, 3]);
    }

    #[test]
    fn schedule_matches_stepping_and_grows_only_to_the_round_asked() {
        let s = set(&[3, 1, 4, 1, 5]);
        let mut pr = vec![0i128; 5];
        let stepped: Vec<usize> = (0..40).map(|_| step(&s, &mut pr)).collect();
        let mut sched = Schedule::new(&[0; 5]);
        assert_eq!(sched.proposer(&s, 7), stepped[7]);
        assert_eq!(sched.computed_rounds(), 8);
        for (r, want) in stepped.iter().enumerate() {
            assert_eq!(sched.proposer(&s, r as Round), *want, "round {r}");
        }
        assert_eq!(sched.computed_rounds(), 40);
    }

    #[test]
    fn newcomer_waits() {
        let old = set(&[5, 5]);
        let new = set(&[5, 5, 5]);
        let pr = carry_over(&old, &[3, -3], &new);
        assert!(pr[2] < pr[0] && pr[2] < pr[1]);
    }
}
