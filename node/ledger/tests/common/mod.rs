//! Shared fixtures for the integration tests: deterministic keys, a genesis
//! and signed transactions.

#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use netwright_ledger::{
    Address, Genesis, GenesisAccount, GenesisValidator, Params, PublicKey, TxBody, TxPayload,
};

pub const CHAIN: &str = "netwright-test";
pub const UNBONDING: u64 = 5;
pub const MIN_STAKE: u64 = 100;

pub fn key(seed: u64) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[31] = 0x5a;
    SigningKey::from_bytes(&bytes)
}

pub fn public(seed: u64) -> PublicKey {
    PublicKey::from(key(seed).verifying_key())
}

pub fn addr(seed: u64) -> Address {
    Address::from_public_key(&public(seed))
}

/// Accounts 1..=accounts each hold `balance`; keys 1000..1000+validators are
/// validators with stake 1_000 each.
pub fn genesis(accounts: u64, balance: u64, validators: u64) -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        initial_height: 1,
        genesis_time_ms: 1_000,
        params: Params {
            unbonding_period_blocks: UNBONDING,
            min_validator_stake: MIN_STAKE,
            max_txs_per_block: 10_000,
        },
        accounts: (1..=accounts)
            .map(|i| GenesisAccount {
                address: addr(i),
                balance,
            })
            .collect(),
        validators: (0..validators)
            .map(|i| GenesisValidator {
                public_key: public(1000 + i),
                stake: 1_000,
            })
            .collect(),
        economics: Default::default(),
        servicers: vec![],
        applications: vec![],
        fishermen: vec![],
    }
}

pub fn signed(seed: u64, nonce: u64, fee: u64, body: TxBody) -> Vec<u8> {
    let sk = key(seed);
    TxPayload {
        chain_id: CHAIN.into(),
        signer: PublicKey::from(sk.verifying_key()),
        nonce,
        fee,
        body,
    }
    .sign(&sk)
    .encode()
}

pub fn transfer(seed: u64, nonce: u64, to: u64, amount: u64) -> Vec<u8> {
    signed(
        seed,
        nonce,
        1,
        TxBody::Transfer {
            to: addr(to),
            amount,
        },
    )
}
