//! Genesis documents, keys and transactions for the driver's unit tests.

use ed25519_dalek::SigningKey;
use netwright_ledger::{
    Address, Genesis, GenesisAccount, GenesisValidator, Params, PublicKey, TxBody, TxPayload,
};

/// Stake of every test validator.
pub const STAKE: u64 = 1_000;

/// The signing key of test seed `seed`.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The public key bytes of test seed `seed`.
pub fn public_key(seed: u8) -> [u8; 32] {
    key(seed).verifying_key().to_bytes()
}

/// The account address of test seed `seed`.
pub fn address(seed: u8) -> Address {
    Address::from_public_key(&PublicKey::from(key(seed).verifying_key()))
}

/// A genesis with validators `validators` (stake [`STAKE`]) and funded `accounts`.
pub fn genesis(validators: &[u8], accounts: &[(u8, u64)]) -> Genesis {
    Genesis {
        chain_id: "driver-test".into(),
        initial_height: 1,
        genesis_time_ms: 1_700_000_000_000,
        params: Params {
            unbonding_period_blocks: 5,
            min_validator_stake: STAKE,
            max_txs_per_block: 1_000,
        },
        accounts: accounts
            .iter()
            .map(|&(seed, balance)| GenesisAccount {
                address: address(seed),
                balance,
            })
            .collect(),
        validators: validators
            .iter()
            .map(|&seed| GenesisValidator {
                public_key: PublicKey::from(key(seed).verifying_key()),
                stake: STAKE,
            })
            .collect(),
        economics: Default::default(),
        servicers: Vec::new(),
        applications: Vec::new(),
        fishermen: Vec::new(),
    }
}

/// A signed transaction of `body` from seed `from`.
pub fn tx(g: &Genesis, from: u8, nonce: u64, body: TxBody) -> Vec<u8> {
    TxPayload {
        chain_id: g.chain_id.clone(),
        signer: PublicKey::from(key(from).verifying_key()),
        nonce,
        fee: 1,
        body,
    }
    .sign(&key(from))
    .encode()
}

/// A signed transfer of `amount` from seed `from` to seed `to`.
pub fn transfer(g: &Genesis, from: u8, nonce: u64, to: u8, amount: u64) -> Vec<u8> {
    tx(
        g,
        from,
        nonce,
        TxBody::Transfer {
            to: address(to),
            amount,
        },
    )
}
