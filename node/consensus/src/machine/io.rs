//! What goes in and out of the machine: inputs, effects, timers and input errors.

use crate::block::Block;
use crate::certificate::{CertificateError, CommitCertificate};
use crate::config::TimeoutStep;
use crate::context::ContextError;
use crate::evidence::Evidence;
use crate::messages::ConsensusMessage;
use crate::types::{BlockHash, Height, Round, ValidatorId};
use crate::validators::ValidatorSet;
use crate::wal::WalRecord;

/// A timer the machine asked for; handed back as [`Input::Timeout`] when it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeout {
    /// Height the timer belongs to.
    pub height: Height,
    /// Round the timer belongs to.
    pub round: Round,
    /// Which timer.
    pub step: TimeoutStep,
}

/// The application's payload for a block this validator proposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContent {
    /// Height from the matching [`Effect::RequestBlock`].
    pub height: Height,
    /// Round from the matching [`Effect::RequestBlock`].
    pub round: Round,
    /// Opaque transactions in execution order.
    pub txs: Vec<Vec<u8>>,
    /// Application state root the block builds on.
    pub state_root: [u8; 32],
    /// Evidence to commit.
    pub evidence: Vec<Evidence>,
}

/// Everything that can happen to a machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A proposal or vote from the network (or from this node's own earlier broadcast).
    Message(ConsensusMessage),
    /// A timer from [`Effect::ScheduleTimeout`] expired.
    Timeout(Timeout),
    /// Answer to [`Effect::RequestBlock`].
    BlockContent(BlockContent),
    /// Answer to [`Effect::RequestValidation`]: does the application accept the block?
    Validity {
        /// Height of the block.
        height: Height,
        /// The block.
        block_hash: BlockHash,
        /// The application's verdict.
        valid: bool,
    },
    /// A decided block with its certificate, obtained by block sync.
    Synced {
        /// The block.
        block: Block,
        /// Precommits of more than 2/3 of the stake for it.
        certificate: CommitCertificate,
    },
    /// The application executed the block of [`Effect::Decide`]; `next_validators` is the set
    /// for the next height (`None`: unchanged). The machine then starts the next height.
    DecideAck {
        /// The decided height.
        height: Height,
        /// Validator set for `height + 1`.
        next_validators: Option<ValidatorSet>,
    },
}

/// What the host must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Durably store this record before performing any later effect of the same batch.
    PersistWal(WalRecord),
    /// Send to all validators.
    Broadcast(ConsensusMessage),
    /// Start a timer; deliver [`Input::Timeout`] after `duration_ms`.
    ScheduleTimeout {
        /// The timer.
        timeout: Timeout,
        /// Delay in milliseconds.
        duration_ms: u64,
    },
    /// This validator proposes: answer with [`Input::BlockContent`].
    RequestBlock {
        /// Height to build for.
        height: Height,
        /// Round to build for.
        round: Round,
        /// The parent block.
        parent_hash: BlockHash,
    },
    /// Ask the application whether `block` is valid: answer with [`Input::Validity`].
    RequestValidation {
        /// The block (its structure, roots and parent link were already checked).
        block: Block,
    },
    /// The block is final. Store it with its certificate, execute it, then send
    /// [`Input::DecideAck`].
    Decide {
        /// The decided block.
        block: Block,
        /// Proof of decision.
        certificate: CommitCertificate,
    },
    /// A validator equivocated.
    Evidence(Evidence),
}

/// Why an input was rejected. A rejected input changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Signer is not a validator of the height.
    #[error("{what}.validator: {id} is not in the validator set of height {height}")]
    UnknownValidator {
        /// Message kind.
        what: &'static str,
        /// The signer.
        id: ValidatorId,
        /// Current height.
        height: Height,
    },
    /// Signature does not verify.
    #[error("{what}.signature: does not verify for {id} (height {height}, round {round})")]
    BadSignature {
        /// Message kind.
        what: &'static str,
        /// The claimed signer.
        id: ValidatorId,
        /// Height of the message.
        height: Height,
        /// Round of the message.
        round: Round,
    },
    /// Proposal from a validator that is not the round's proposer.
    #[error("proposal.proposer: {got} is not the proposer of height {height} round {round} (expected {expected})")]
    WrongProposer {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// The designated proposer.
        expected: ValidatorId,
        /// The signer.
        got: ValidatorId,
    },
    /// Block does not hash to the proposal's block hash.
    #[error("proposal.block_hash: {claimed} but the attached block hashes to {actual}")]
    BlockHashMismatch {
        /// Hash in the signed proposal.
        claimed: BlockHash,
        /// Hash of the block.
        actual: BlockHash,
    },
    /// pol_round not below the round.
    #[error("proposal.pol_round: {pol} must be below the round {round}")]
    BadPolRound {
        /// The pol round.
        pol: Round,
        /// The proposal round.
        round: Round,
    },
    /// Synced block or certificate unusable.
    #[error("synced.{field}: {reason}")]
    BadSync {
        /// Field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Synced certificate fails verification.
    #[error("synced.certificate: {0}")]
    BadCertificate(#[from] CertificateError),
    /// Acknowledgement does not match the decision.
    #[error("decide_ack.height: {got}, but the pending decision is {expected:?}")]
    UnexpectedAck {
        /// Height acknowledged.
        got: Height,
        /// Pending decided height, if any.
        expected: Option<Height>,
    },
    /// Next-height context could not be built.
    #[error(transparent)]
    Context(#[from] ContextError),
}
