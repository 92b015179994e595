//! The ledger: accounts, transfers, nonces, validator staking, and the relay
//! economy's actors (servicers, applications, fishermen) and sessions, as a
//! pure state machine.
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
//!
//! # Example
//!
//! From genesis, apply a block holding one signed transfer and read the balances:
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use netwright_ledger::{
//!     Address, Genesis, GenesisAccount, GenesisValidator, Ledger, Params, PublicKey, TxBody,
//!     TxPayload,
//! };
//!
//! let alice = SigningKey::from_bytes(&[1; 32]);
//! let alice_key = PublicKey::from(alice.verifying_key());
//! let alice_address = Address::from_public_key(&alice_key);
//! let bob = Address::from_public_key(&PublicKey::from(
//!     SigningKey::from_bytes(&[2; 32]).verifying_key(),
//! ));
//! let validator = PublicKey::from(SigningKey::from_bytes(&[3; 32]).verifying_key());
//!
//! let genesis = Genesis {
//!     chain_id: "demo-1".into(),
//!     initial_height: 1,
//!     genesis_time_ms: 1_000,
//!     params: Params {
//!         unbonding_period_blocks: 10,
//!         min_validator_stake: 100,
//!         max_txs_per_block: 1_000,
//!     },
//!     accounts: vec![GenesisAccount { address: alice_address, balance: 1_000 }],
//!     validators: vec![GenesisValidator { public_key: validator, stake: 500 }],
//!     economics: Default::default(),
//!     servicers: vec![],
//!     applications: vec![],
//!     fishermen: vec![],
//! };
//! let mut ledger = Ledger::from_genesis(&genesis)?;
//!
//! let transfer = TxPayload {
//!     chain_id: "demo-1".into(),
//!     signer: alice_key,
//!     nonce: 0,
//!     fee: 1,
//!     body: TxBody::Transfer { to: bob, amount: 250 },
//! }
//! .sign(&alice)
//! .encode();
//!
//! let outcome = ledger.apply_block(1, 2_000, &[transfer])?;
//! assert_eq!(outcome.tx_results[0].result, Ok(()));
//! assert_eq!(ledger.account(&bob).balance, 250);
//! let alice_now = ledger.account(&alice_address);
//! assert_eq!((alice_now.balance, alice_now.nonce), (749, 1)); // 250 sent, 1 fee
//! assert_eq!(ledger.state_root(), outcome.state_root);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actor_rules;
pub mod actors;
pub mod address;
pub mod codec;
pub mod crypto;
pub mod economics;
pub mod error;
mod exec;
pub mod genesis;
pub mod ledger;
pub mod merkle;
pub mod session;
pub mod signature;
pub mod state;
pub mod tx;

#[cfg(test)]
mod economy_props;

pub use actors::{ActorRecord, ActorRole, RelayChain};
pub use address::{Address, AddressError};
pub use codec::{decode_tx, decode_tx_cached, DecodedTx, KeyCache, TxDecodeError};
pub use crypto::{Hash, HexError, PublicKey, PublicKeyError};
pub use economics::{EconomicParams, ParamsHistory, SessionBounds};
pub use error::{BlockError, TxError};
pub use genesis::{
    Genesis, GenesisAccount, GenesisActor, GenesisError, GenesisValidator, Params, MAX_TOTAL_SUPPLY,
};
pub use ledger::{
    AccountView, ActorView, BlockOutcome, CheckedTx, KnownTxs, Ledger, NoKnownTxs, TxResult,
    UnbondingEntry, ValidatorUpdate, ValidatorView, WriteSet,
};
pub use session::{Session, SessionError};
pub use signature::{verify_one, verify_signatures};
pub use state::SnapshotError;
pub use tx::{SignedTx, TxBody, TxPayload, MAX_TX_BYTES, TX_SIGN_DOMAIN};
