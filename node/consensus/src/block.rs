//! Blocks as consensus sees them: a header committing to an ordered list of opaque transaction
//! byte strings (the signed transaction envelope is defined by the ledger crate) and evidence.

use crate::encoding::{hash_domain, tx_root, Domain};
use crate::evidence::Evidence;
use crate::types::{BlockHash, Height, Round, ValidatorId};
use borsh::{BorshDeserialize, BorshSerialize};

/// The block header; its hash is the block's identity.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    /// Height of this block (the first block after genesis is 1).
    pub height: Height,
    /// Round in which the block was first proposed.
    pub round: Round,
    /// Hash of the previous block (the genesis hash for height 1).
    pub parent_hash: BlockHash,
    /// The validator that built the block.
    pub proposer: ValidatorId,
    /// Proposer's time in milliseconds since the Unix epoch; strictly above the parent's.
    pub time_ms: u64,
    /// Merkle root over the transactions (see [`crate::encoding::tx_root`]).
    pub tx_root: [u8; 32],
    /// Application state root the block builds on (supplied by the application).
    pub state_root: [u8; 32],
    /// Hash of the validator set deciding this height.
    pub validator_set_hash: [u8; 32],
    /// Hash of the block's evidence list.
    pub evidence_root: [u8; 32],
}

impl BlockHeader {
    /// The block hash: BLAKE3 over the domain-separated borsh encoding of the header.
    pub fn hash(&self) -> BlockHash {
        BlockHash(hash_domain(Domain::BlockHeader, self))
    }
}

/// A full block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Opaque transactions, in execution order.
    pub txs: Vec<Vec<u8>>,
    /// Misbehaviour evidence committed by this block.
    pub evidence: Vec<Evidence>,
}

impl Block {
    /// The block hash (hash of the header).
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// Root over an evidence list as stored in the header.
    pub fn evidence_root_of(evidence: &[Evidence]) -> [u8; 32] {
        hash_domain(Domain::Evidence, evidence)
    }

    /// True if the header's tx root and evidence root match the body.
    pub fn body_matches_header(&self) -> bool {
        self.header.tx_root == tx_root(&self.txs)
            && self.header.evidence_root == Block::evidence_root_of(&self.evidence)
    }
}
