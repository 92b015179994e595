//! Errors of the driver. A returned error means the input was refused and nothing changed,
//! unless [`DriverError::is_fatal`] says the node must stop.

use netwright_consensus::{ContextError, ValidatorSetError};
use netwright_ledger::{BlockError, GenesisError, SnapshotError};

/// Why the driver could not be built or could not process an input.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The genesis document is unusable.
    #[error("genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// The stored state does not rebuild a ledger (bad entry or root mismatch).
    #[error("restore.state: {0}")]
    Snapshot(#[from] SnapshotError),
    /// The stored consensus context does not fit the stored state.
    #[error("restore.next_context: {0}")]
    BadContext(String),
    /// A stored WAL record cannot be decoded.
    #[error("restore.wal[{index}]: {reason}")]
    BadWalRecord {
        /// Position of the record in the list handed to the driver.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The ledger's validators do not form a valid consensus set.
    #[error("validator set from the ledger: {0}")]
    ValidatorSet(#[from] ValidatorSetError),
    /// The next height's consensus context could not be built.
    #[error("consensus context: {0}")]
    Context(#[from] ContextError),
    /// `Input::Committed` does not name the commit the driver is waiting for.
    #[error("committed.height: {got}, but the pending commit is {expected:?}")]
    UnexpectedCommitted {
        /// Height the runtime reported.
        got: u64,
        /// Height of the pending commit, if any.
        expected: Option<u64>,
    },
    /// The ledger refused a block that consensus decided: local state is not the network's.
    #[error("decided block at height {height} cannot be applied: {source}")]
    DecidedBlockRejected {
        /// The decided height.
        height: u64,
        /// The ledger's reason.
        source: BlockError,
    },
    /// Executing a decided block gave another state root than its header claims.
    #[error("decided block at height {height}: header.state_root {header} but execution gives {computed}")]
    StateRootMismatch {
        /// The decided height.
        height: u64,
        /// Root in the header, hex.
        header: String,
        /// Root computed locally, hex.
        computed: String,
    },
    /// The driver broke one of its own invariants (a bug, never caused by peer input).
    #[error("internal: {0}")]
    Internal(String),
}

impl DriverError {
    /// True if the node must stop: its state can no longer be trusted to follow the chain.
    /// Other errors refuse one input and change nothing.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            DriverError::DecidedBlockRejected { .. }
                | DriverError::StateRootMismatch { .. }
                | DriverError::ValidatorSet(_)
                | DriverError::Context(_)
                | DriverError::Internal(_)
        )
    }
}
