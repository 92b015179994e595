//! Primitive identifiers shared by every consensus message: heights, rounds, hashes, keys.

use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// Block height. The first block after genesis has height 1.
pub type Height = u64;

/// Consensus round within a height, starting at 0. "No round" (the paper's -1) is `None`.
pub type Round = u32;

/// BLAKE3 hash of a block header (see [`crate::block::BlockHeader::hash`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct BlockHash(pub [u8; 32]);

/// A validator's identity: its ed25519 public key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct ValidatorId(pub [u8; 32]);

/// An ed25519 signature (64 bytes) as carried on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct SignatureBytes(pub [u8; 64]);

macro_rules! short_hex_debug {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", hex::encode(&self.0[..4]))
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", hex::encode(self.0))
            }
        }
    };
}
short_hex_debug!(BlockHash);
short_hex_debug!(ValidatorId);
short_hex_debug!(SignatureBytes);

/// The two vote kinds of Tendermint.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub enum VoteKind {
    /// First voting step of a round.
    Prevote,
    /// Second voting step; more than 2/3 of stake precommitting one block decides it.
    Precommit,
}

/// The step a machine is in within the current round (ordered as in the protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevote cast; waiting for prevotes.
    Prevote,
    /// Precommit cast; waiting for precommits.
    Precommit,
    /// A block has been decided at this height; waiting for the application's acknowledgement.
    Decided,
}
