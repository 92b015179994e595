//! Votes, proposals and the messages validators exchange.

use crate::block::Block;
use crate::crypto::{SignatureVerifier, Signer};
use crate::encoding::{sign_bytes, Domain};
use crate::types::{BlockHash, Height, Round, SignatureBytes, ValidatorId, VoteKind};
use borsh::{BorshDeserialize, BorshSerialize};

/// A prevote or precommit for a block (`Some(hash)`) or for nil (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Height voted on.
    pub height: Height,
    /// Round voted in.
    pub round: Round,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The block voted for, or nil.
    pub block: Option<BlockHash>,
    /// The voter.
    pub validator: ValidatorId,
}

impl Vote {
    /// The bytes the voter signs (domain: prevote or precommit, plus the chain id).
    pub fn sign_bytes(&self, chain_id: &str) -> Vec<u8> {
        let domain = match self.kind {
            VoteKind::Prevote => Domain::Prevote,
            VoteKind::Precommit => Domain::Precommit,
        };
        sign_bytes(chain_id, domain, self)
    }

    /// Signs the vote. The caller must be `self.validator`.
    pub fn sign(self, chain_id: &str, signer: &Signer) -> SignedVote {
        let signature = signer.sign(&self.sign_bytes(chain_id));
        SignedVote {
            vote: self,
            signature,
        }
    }
}

/// A vote with the voter's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// ed25519 signature by `vote.validator` over [`Vote::sign_bytes`].
    pub signature: SignatureBytes,
}

impl SignedVote {
    /// True if the signature is the voter's.
    pub fn verify(&self, chain_id: &str, verifier: &impl SignatureVerifier) -> bool {
        verifier.verify(
            &self.vote.validator,
            &self.vote.sign_bytes(chain_id),
            &self.signature,
        )
    }
}

/// A proposal of a block for (height, round); `pol_round` is the paper's validRound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// Height proposed for.
    pub height: Height,
    /// Round proposed in.
    pub round: Round,
    /// Round in which the proposer saw a quorum of prevotes for this block, if any.
    pub pol_round: Option<Round>,
    /// Hash of the proposed block.
    pub block_hash: BlockHash,
    /// The round's designated proposer.
    pub proposer: ValidatorId,
}

impl Proposal {
    /// The bytes the proposer signs.
    pub fn sign_bytes(&self, chain_id: &str) -> Vec<u8> {
        sign_bytes(chain_id, Domain::Proposal, self)
    }

    /// Signs the proposal. The caller must be `self.proposer`.
    pub fn sign(self, chain_id: &str, signer: &Signer) -> SignedProposal {
        let signature = signer.sign(&self.sign_bytes(chain_id));
        SignedProposal {
            proposal: self,
            signature,
        }
    }
}

/// A proposal with the proposer's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// ed25519 signature by `proposal.proposer` over [`Proposal::sign_bytes`].
    pub signature: SignatureBytes,
}

impl SignedProposal {
    /// True if the signature is the proposer's.
    pub fn verify(&self, chain_id: &str, verifier: &impl SignatureVerifier) -> bool {
        verifier.verify(
            &self.proposal.proposer,
            &self.proposal.sign_bytes(chain_id),
            &self.signature,
        )
    }
}

/// A message between validators.
// Proposals dominate the traffic's size anyway; boxing the block would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ConsensusMessage {
    /// A signed proposal together with the full block it names.
    Proposal {
        /// The signed proposal.
        proposal: SignedProposal,
        /// The block whose hash is `proposal.block_hash`.
        block: Block,
    },
    /// A signed prevote or precommit.
    Vote(SignedVote),
}

impl ConsensusMessage {
    /// Height the message is about.
    pub fn height(&self) -> Height {
        match self {
            ConsensusMessage::Proposal { proposal, .. } => proposal.proposal.height,
            ConsensusMessage::Vote(v) => v.vote.height,
        }
    }

    /// Round the message is about.
    pub fn round(&self) -> Round {
        match self {
            ConsensusMessage::Proposal { proposal, .. } => proposal.proposal.round,
            ConsensusMessage::Vote(v) => v.vote.round,
        }
    }

    /// The validator that signed the message.
    pub fn signer(&self) -> ValidatorId {
        match self {
            ConsensusMessage::Proposal { proposal, .. } => proposal.proposal.proposer,
            ConsensusMessage::Vote(v) => v.vote.validator,
        }
    }
}
