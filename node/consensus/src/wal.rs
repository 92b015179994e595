//! Write-ahead signing records. Every message the machine signs is first emitted as
//! [`crate::Effect::PersistWal`]; the runtime must make it durable before performing any later
//! effect of the same batch (in particular the broadcast of that message). On restart the
//! records are handed back so the machine never signs a different message for a slot it has
//! already signed, and so it recovers its lock.

use crate::block::Block;
use crate::messages::{SignedProposal, SignedVote};
use crate::types::{BlockHash, Height, Round, VoteKind};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeMap;

/// One durable signing decision.
// Records are written once and rarely read; boxing the block buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum WalRecord {
    /// A vote this validator signed.
    Vote(SignedVote),
    /// A proposal this validator signed, with its block (so it can be re-sent after restart).
    Proposal {
        /// The signed proposal.
        proposal: SignedProposal,
        /// The proposed block.
        block: Block,
    },
    /// The justification of a lock, written before the precommit that takes the lock: the
    /// round's proposal, its block and the prevote quorum. After a restart the validator can
    /// still re-propose and relay its locked value, so others can learn it and unlock.
    Polka {
        /// The proposal of the locked round (signed by that round's proposer).
        proposal: SignedProposal,
        /// The locked block.
        block: Block,
        /// Prevotes for the block in that round (more than 2/3 of the power).
        prevotes: Vec<SignedVote>,
    },
}

impl WalRecord {
    /// Height the record belongs to; records below the current height may be pruned.
    pub fn height(&self) -> Height {
        match self {
            WalRecord::Vote(v) => v.vote.height,
            WalRecord::Proposal { proposal, .. } | WalRecord::Polka { proposal, .. } => {
                proposal.proposal.height
            }
        }
    }
}

/// The machine's own signatures at the current height, indexed by slot.
#[derive(Clone, Debug, Default)]
pub struct SigningRecords {
    votes: BTreeMap<(Round, VoteKind), SignedVote>,
    proposals: BTreeMap<Round, (SignedProposal, Block)>,
    polka: Option<(SignedProposal, Block, Vec<SignedVote>)>,
}

impl SigningRecords {
    /// Records for `height` out of a WAL (records of other heights are ignored).
    pub fn from_wal(height: Height, records: &[WalRecord]) -> Self {
        let mut out = SigningRecords::default();
        for r in records.iter().filter(|r| r.height() == height) {
            match r {
                WalRecord::Vote(v) => {
                    out.votes.entry((v.vote.round, v.vote.kind)).or_insert(*v);
                }
                WalRecord::Proposal { proposal, block } => {
                    out.proposals
                        .entry(proposal.proposal.round)
                        .or_insert((*proposal, block.clone()));
                }
                WalRecord::Polka {
                    proposal,
                    block,
                    prevotes,
                } => {
                    let newer = out
                        .polka
                        .as_ref()
                        .is_none_or(|(p, _, _)| p.proposal.round < proposal.proposal.round);
                    if newer {
                        out.polka = Some((*proposal, block.clone(), prevotes.clone()));
                    }
                }
            }
        }
        out
    }

    /// The vote already signed for this slot, if any.
    pub fn vote(&self, round: Round, kind: VoteKind) -> Option<&SignedVote> {
        self.votes.get(&(round, kind))
    }

    /// The proposal already signed for this round, if any.
    pub fn proposal(&self, round: Round) -> Option<&(SignedProposal, Block)> {
        self.proposals.get(&round)
    }

    /// The highest-round lock justification recorded, if any.
    pub fn polka(&self) -> Option<&(SignedProposal, Block, Vec<SignedVote>)> {
        self.polka.as_ref()
    }

    /// Remembers a vote just signed.
    pub fn insert_vote(&mut self, v: SignedVote) {
        self.votes.insert((v.vote.round, v.vote.kind), v);
    }

    /// Remembers a proposal just signed.
    pub fn insert_proposal(&mut self, p: SignedProposal, block: Block) {
        self.proposals.insert(p.proposal.round, (p, block));
    }

    /// Highest round with any own signature.
    pub fn max_round(&self) -> Option<Round> {
        let v = self.votes.keys().map(|(r, _)| *r).max();
        let p = self.proposals.keys().copied().max();
        v.max(p)
    }

    /// The lock implied by the records: the highest-round non-nil own precommit.
    pub fn lock(&self) -> Option<(Round, BlockHash)> {
        self.votes
            .iter()
            .rev()
            .filter(|((_, k), _)| *k == VoteKind::Precommit)
            .find_map(|((r, _), v)| v.vote.block.map(|b| (*r, b)))
    }

    /// All own votes and proposals, in (round, kind) order (for re-broadcast).
    pub fn votes(&self) -> impl Iterator<Item = &SignedVote> {
        self.votes.values()
    }

    /// All own proposals in round order.
    pub fn proposals(&self) -> impl Iterator<Item = &(SignedProposal, Block)> {
        self.proposals.values()
    }
}
