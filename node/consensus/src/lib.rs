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
//!
//! # Example
//!
//! A network of one validator decides its first block: the machine asks for block content,
//! signs a proposal and both votes (each written to the WAL before it is sent) and decides.
//!
//! ```
//! use netwright_consensus::{
//!     BlockContent, BlockHash, Config, Ed25519Verifier, Effect, HeightContext, Input, Machine,
//!     Signer, Step, Validator, ValidatorSet, WalRecord,
//! };
//!
//! let signer = Signer::from_seed([1; 32]);
//! let validators = ValidatorSet::new(vec![Validator { id: signer.id(), power: 10 }])?;
//! let genesis = HeightContext::genesis(validators, BlockHash([0; 32]), 1_000);
//! let mut machine =
//!     Machine::new(Config::new("demo-chain"), signer, Ed25519Verifier, genesis, &[])?;
//!
//! // Height 1, round 0: this validator is the proposer, so it asks for the block's content.
//! let effects = machine.start(2_000);
//! assert!(effects.iter().any(|e| matches!(e, Effect::RequestBlock { height: 1, round: 0, .. })));
//!
//! let content = BlockContent {
//!     height: 1,
//!     round: 0,
//!     txs: vec![b"transfer".to_vec()],
//!     state_root: [0; 32],
//!     evidence: vec![],
//! };
//! let effects = machine.handle(2_000, Input::BlockContent(content))?;
//! let wal: Vec<&WalRecord> = effects
//!     .iter()
//!     .filter_map(|e| match e {
//!         Effect::PersistWal(record) => Some(record),
//!         _ => None,
//!     })
//!     .collect();
//! // The proposal, the prevote, the prevote quorum that justifies the lock, the precommit.
//! assert!(matches!(
//!     wal[..],
//!     [
//!         WalRecord::Proposal { .. },
//!         WalRecord::Vote(_),
//!         WalRecord::Polka { .. },
//!         WalRecord::Vote(_)
//!     ]
//! ));
//! let decided = effects.iter().find_map(|e| match e {
//!     Effect::Decide { block, .. } => Some(block),
//!     _ => None,
//! });
//! assert_eq!(decided.map(|b| b.txs.clone()), Some(vec![b"transfer".to_vec()]));
//! assert_eq!(machine.step(), Step::Decided);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
