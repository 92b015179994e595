//! What the runtime hands the driver ([`Input`], [`Restore`]) and what it gets back
//! ([`Reaction`]: one [`Verdict`] per item and the [`Command`]s to carry out in order).

use netwright_consensus::Timeout;
use netwright_ledger::{TxResult, WriteSet};

/// A timer the driver asked for; hand it back as [`Input::Timer`] when it fires.
pub type Timer = Timeout;

/// Where a transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOrigin {
    /// Submitted to this node (RPC): gossiped to peers when admitted.
    Local,
    /// Received from a peer: the gossip layer forwards it on [`Verdict::Accepted`].
    Peer,
}

/// Everything that can happen to the driver. Every input comes with the current time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Consensus message bytes from a peer (a proposal with its block, or a vote).
    ConsensusMessage {
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// Transactions, each encoded; one verdict per transaction. Signatures of a batch are
    /// verified together.
    Txs {
        /// The encoded transactions.
        txs: Vec<Vec<u8>>,
        /// Where they came from.
        origin: TxOrigin,
    },
    /// Transactions already decoded and signature-checked by [`crate::prepare_txs`]
    /// (outside the driver): admitted like [`Input::Txs`], without verifying again.
    PreparedTxs {
        /// The prepared transactions.
        txs: Vec<crate::PreparedTx>,
        /// Where they came from.
        origin: TxOrigin,
    },
    /// A timer from [`Command::ScheduleTimer`] fired.
    Timer(Timer),
    /// A block with its commit certificate, received in answer to [`Command::RequestSync`].
    SyncedBlock {
        /// The encoded block.
        block: Vec<u8>,
        /// The encoded certificate.
        certificate: Vec<u8>,
    },
    /// A peer says it has committed `height` (e.g. from its status); lets a node that hears
    /// no consensus traffic notice it is behind.
    PeerHeight {
        /// The peer's last committed height.
        height: u64,
    },
    /// The runtime durably wrote the [`Command::Commit`] of `height`.
    Committed {
        /// The committed height.
        height: u64,
    },
    /// The pause after the commit of `height` ([`Command::ScheduleStart`]) is over: start
    /// deciding `height + 1`. Stale or repeated starts are harmless.
    StartNext {
        /// The committed height the pause followed.
        height: u64,
    },
}

/// Why an input was not used, without blaming the peer that sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// Already known (transaction in the mempool, message already counted).
    Duplicate,
    /// No room: mempool or buffer full. Worth retrying later.
    Full(String),
    /// Valid once, or maybe later, but not usable now (old height, nonce already used, funds
    /// spent, a height far ahead).
    NotNow(String),
}

/// What the driver thinks of one input item; the gossip layer forwards only accepted items
/// and penalises the sender of rejected ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Well-formed and used.
    Accepted,
    /// Not used, but not the sender's fault.
    Ignored(Ignored),
    /// Malformed, oversized, wrongly signed or otherwise invalid: the reason names the field.
    Rejected(String),
}

/// A block became final: what the runtime must write in ONE storage transaction, then
/// report with [`Input::Committed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The block's height.
    pub height: u64,
    /// Round in which it was decided.
    pub round: u32,
    /// Block hash (BLAKE3 of the header).
    pub block_hash: [u8; 32],
    /// Block time from the header, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The encoded block (borsh `netwright_consensus::Block`).
    pub block: Vec<u8>,
    /// The encoded commit certificate (borsh `netwright_consensus::CommitCertificate`).
    pub certificate: Vec<u8>,
    /// State root after the block (equal to the header's `state_root`).
    pub state_root: [u8; 32],
    /// State changes in key order (`None` deletes). For the first block after genesis it also
    /// holds the whole genesis state, so that applying every commit's write set to an empty
    /// store gives the current state.
    pub write_set: WriteSet,
    /// The encoded consensus context of `height + 1` (borsh `HeightContext`); hand it back in
    /// [`CommittedState::next_context`] on restart.
    pub next_context: Vec<u8>,
    /// The encoded validator set of `height + 1` (borsh `ValidatorSet`).
    pub next_validators: Vec<u8>,
    /// Whether the validator set changes at `height + 1`.
    pub validators_changed: bool,
    /// One result per transaction, in block order.
    pub tx_results: Vec<TxResult>,
}

/// Figures for metrics and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A height was committed (emitted on [`Input::Committed`]).
    Committed {
        /// The height.
        height: u64,
        /// Rounds used to decide it (decision round + 1).
        rounds: u32,
        /// Transactions in the block.
        txs: usize,
        /// Transactions that failed (recorded but without effect).
        failed_txs: usize,
        /// Header time minus the parent's header time, in milliseconds.
        block_interval_ms: u64,
        /// Local time from the previous commit to this one, in milliseconds (None for the first).
        commit_interval_ms: Option<u64>,
        /// Whether the block came from block sync rather than live consensus.
        synced: bool,
    },
    /// A validator was caught equivocating; the evidence goes into a later block.
    Evidence {
        /// The equivocator's key.
        offender: [u8; 32],
        /// Height of the equivocation.
        height: u64,
    },
    /// The node is behind and asked peers for blocks.
    SyncRequested {
        /// First height asked for.
        from: u64,
        /// Last height asked for.
        to: u64,
    },
}

/// What the runtime must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Append this signing record to the WAL and make it durable (fsync) BEFORE carrying out
    /// any later command of the same reaction.
    PersistWal {
        /// Height the record belongs to (for pruning).
        height: u64,
        /// The encoded record (borsh `WalRecord`).
        record: Vec<u8>,
    },
    /// Send consensus message bytes to all peers.
    Broadcast {
        /// Height of the message.
        height: u64,
        /// The encoded message.
        bytes: Vec<u8>,
    },
    /// Gossip an admitted local transaction to peers.
    GossipTx {
        /// The encoded transaction.
        bytes: Vec<u8>,
    },
    /// Deliver [`Input::Timer`] with `timer` after `after_ms`.
    ScheduleTimer {
        /// The timer to hand back.
        timer: Timer,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// Deliver [`Input::StartNext`] with `height` after `after_ms`: the pause
    /// (`DriverConfig::commit_pause_ms`) between committing `height` and starting the next one.
    ScheduleStart {
        /// The committed height.
        height: u64,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// Write the block, certificate, write set and next context in one storage transaction,
    /// then send [`Input::Committed`]. The driver proceeds with the next height only then.
    Commit(Box<Commit>),
    /// WAL records of heights below `below_height` are no longer needed and may be deleted.
    PruneWal {
        /// First height whose records must be kept.
        below_height: u64,
    },
    /// Ask peers for blocks `from..=to` with their certificates; feed each back as
    /// [`Input::SyncedBlock`].
    RequestSync {
        /// First height.
        from: u64,
        /// Last height.
        to: u64,
    },
    /// A metrics or log event.
    Event(Event),
}

/// The driver's answer to one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// One verdict per input item (per transaction for [`Input::Txs`], else exactly one).
    pub verdicts: Vec<Verdict>,
    /// Commands to carry out in order.
    pub commands: Vec<Command>,
}

impl Reaction {
    /// The verdict on a single-item input (the first verdict).
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdicts.first()
    }
}

/// The last durable commit, as read back from storage on restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedState {
    /// Every stored state pair (the union of all commits' write sets).
    pub state: Vec<(Vec<u8>, Vec<u8>)>,
    /// The last commit's [`Commit::state_root`].
    pub state_root: [u8; 32],
    /// The last commit's [`Commit::block_hash`].
    pub block_hash: [u8; 32],
    /// The last commit's [`Commit::next_context`].
    pub next_context: Vec<u8>,
}

/// Where a driver starts from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restore {
    /// The last durable commit, or `None` to start from genesis.
    pub committed: Option<CommittedState>,
    /// Every WAL record still stored (encoded), in any order. Needed even when starting from
    /// genesis: a validator may have signed at the first height before crashing.
    pub wal: Vec<Vec<u8>>,
}
