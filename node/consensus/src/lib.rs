//! Stake-weighted BFT consensus as a pure state machine: inputs in, effects out.
//!
//! The protocol is Tendermint as described by Buchman, Kwon and Milosevic (2018), "The latest
//! gossip on BFT consensus": propose, prevote and precommit with locking and valid rounds,
//! quorums of strictly more than 2/3 of the stake, stake-weighted proposer rotation and round
//! timeouts that grow per round. See `docs/consensus.md` for the contract with the runtime.
//!
//! Modules, from the bottom up:
//! - [`types`], [`encoding`], [`crypto`]: identifiers, the canonical borsh encoding with
//!   domain-separated sign bytes, ed25519 signing and verification;
//! - [`validators`], [`proposer`], [`context`]: stake, quorums, proposer rotation, the
//!   per-height starting point;
//! - [`block`], [`messages`], [`certificate`], [`evidence`]: what is proposed, voted, decided,
//!   and proven against equivocators;
//! - [`keeper`], [`wal`]: vote tallies and the write-ahead signing records;
//! - [`machine`]: the state machine itself.

#![forbid(unsafe_code)]

pub mod block;
pub mod certificate;
pub mod config;
pub mod context;
pub mod crypto;
pub mod encoding;
pub mod evidence;
pub mod keeper;
pub mod machine;
pub mod messages;
pub mod proposer;
pub mod types;
pub mod validators;
pub mod wal;

pub use block::{Block, BlockHeader};
pub use certificate::{CertificateError, CommitCertificate, CommitSignature};
#[cfg(feature = "fault-injection")]
pub use config::Mutation;
pub use config::{Config, TimeoutStep, Timeouts};
pub use context::{ContextError, HeightContext};
pub use crypto::{Ed25519Verifier, SignatureVerifier, Signer};
pub use evidence::{Evidence, EvidenceError};
pub use machine::{BlockContent, Effect, Input, InputError, Machine, Timeout};
pub use messages::{ConsensusMessage, Proposal, SignedProposal, SignedVote, Vote};
pub use types::{BlockHash, Height, Round, SignatureBytes, Step, ValidatorId, VoteKind};
pub use validators::{Validator, ValidatorSet, ValidatorSetError};
pub use wal::WalRecord;
