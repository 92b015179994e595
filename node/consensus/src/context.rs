//! What a machine must know to run one height: the validator set, proposer priorities and the
//! parent block. The runtime persists it at every height boundary and hands it back on restart.

use crate::block::Block;
use crate::proposer;
use crate::types::{BlockHash, Height};
use crate::validators::ValidatorSet;
use borsh::{BorshDeserialize, BorshSerialize};

/// The starting point of a height.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HeightContext {
    /// The height to decide.
    pub height: Height,
    /// The validators deciding it.
    pub validators: ValidatorSet,
    /// Proposer priorities at the start of the height, aligned with `validators`.
    pub priorities: Vec<i128>,
    /// Hash of the block at `height - 1` (or the genesis hash).
    pub parent_hash: BlockHash,
    /// Time of the parent block (or genesis time), in milliseconds.
    pub parent_time_ms: u64,
}

/// Why a context is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// Priorities do not line up with validators.
    #[error("context.priorities: {got} entries for {expected} validators")]
    PriorityCount {
        /// Validators in the set.
        expected: usize,
        /// Priorities given.
        got: usize,
    },
    /// The decided block is not for this height.
    #[error("block.header.height: {got}, expected {expected}")]
    WrongHeight {
        /// Expected height.
        expected: Height,
        /// Height in the block.
        got: Height,
    },
}

impl HeightContext {
    /// The context of the first height after genesis.
    pub fn genesis(
        validators: ValidatorSet,
        genesis_hash: BlockHash,
        genesis_time_ms: u64,
    ) -> Self {
        let priorities = vec![0; validators.len()];
        HeightContext {
            height: 1,
            validators,
            priorities,
            parent_hash: genesis_hash,
            parent_time_ms: genesis_time_ms,
        }
    }

    /// Checks internal consistency (used when a context is loaded from storage).
    pub fn check(&self) -> Result<(), ContextError> {
        if self.priorities.len() != self.validators.len() {
            return Err(ContextError::PriorityCount {
                expected: self.validators.len(),
                got: self.priorities.len(),
            });
        }
        Ok(())
    }

    /// The context of the next height after `decided` was decided here. `next_validators`
    /// is the application's validator set for `height + 1` (`None`: unchanged).
    pub fn next(
        &self,
        decided: &Block,
        next_validators: Option<ValidatorSet>,
    ) -> Result<HeightContext, ContextError> {
        self.check()?;
        if decided.header.height != self.height {
            return Err(ContextError::WrongHeight {
                expected: self.height,
                got: decided.header.height,
            });
        }
        let mut pr = self.priorities.clone();
        proposer::step(&self.validators, &mut pr);
        let (validators, priorities) = match next_validators {
            Some(set) if set != self.validators => {
                let carried = proposer::carry_over(&self.validators, &pr, &set);
                (set, carried)
            }
            _ => (self.validators.clone(), pr),
        };
        Ok(HeightContext {
            height: self.height + 1,
            validators,
            priorities,
            parent_hash: decided.hash(),
            parent_time_ms: decided.header.time_ms,
        })
    }
}
