//! The ledger: accounts, transfers, nonces and staking, as a pure state machine.
//!
//! The node runtime feeds it transaction bytes and decided blocks; it returns
//! verdicts, per-transaction results, validator-set updates for consensus, a
//! state root and the write set to persist. It performs no I/O and reads no
//! clock or randomness: the same inputs give the same outputs on every node.
//!
//! Entry points: [`Genesis::from_json`], [`Ledger::from_genesis`],
//! [`Ledger::from_snapshot`], [`Ledger::check_tx`] / [`Ledger::check_txs`],
//! [`Ledger::apply_block`], and the queries [`Ledger::account`] and
//! [`Ledger::validators`].

#![forbid(unsafe_code)]

pub mod address;
pub mod codec;
pub mod crypto;
pub mod error;
mod exec;
pub mod genesis;
pub mod ledger;
pub mod merkle;
pub mod signature;
pub mod state;
pub mod tx;

pub use address::{Address, AddressError};
pub use codec::{decode_tx, decode_tx_cached, DecodedTx, KeyCache, TxDecodeError};
pub use crypto::{Hash, HexError, PublicKey, PublicKeyError};
pub use error::{BlockError, TxError};
pub use genesis::{
    Genesis, GenesisAccount, GenesisError, GenesisValidator, Params, MAX_TOTAL_SUPPLY,
};
pub use ledger::{
    AccountView, BlockOutcome, CheckedTx, KnownTxs, Ledger, NoKnownTxs, TxResult, UnbondingEntry,
    ValidatorUpdate, ValidatorView, WriteSet,
};
pub use signature::{verify_one, verify_signatures};
pub use state::SnapshotError;
pub use tx::{SignedTx, TxBody, TxPayload, MAX_TX_BYTES, TX_SIGN_DOMAIN};
