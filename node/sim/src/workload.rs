//! The simulated chain: its genesis (validators, spare nodes, client accounts), the keys behind
//! it, and the signed transactions the simulator submits: client transfers, and the staking
//! transactions through which validators join, leave and re-stake.
//!
//! Everything is derived from node and client indices, so two runs of one seed build the same
//! genesis and sign the same bytes.

use ed25519_dalek::SigningKey;
use netwright_ledger::{
    Address, Genesis, GenesisAccount, GenesisValidator, Params, PublicKey, TxBody, TxPayload,
};

/// Chain id of simulated networks.
pub const SIM_CHAIN_ID: &str = "netwright-sim";

/// Client accounts that send transfers.
pub const CLIENTS: usize = 8;

/// Balance of each client account at genesis.
pub const CLIENT_BALANCE: u64 = 1 << 40;

/// Spendable balance of every node's own account at genesis: fees and stake to add.
pub const NODE_BALANCE: u64 = 1_000_000;

/// Blocks between an unstake and the return of its funds.
pub const UNBONDING_BLOCKS: u64 = 3;

/// Fee of every simulated transaction.
pub const FEE: u64 = 1;

/// The ed25519 secret seed of node `i` (a validator or a spare that may join).
pub fn node_seed(i: usize) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"netwright-sim validator key");
    h.update(&(i as u64).to_le_bytes());
    *h.finalize().as_bytes()
}

/// The ed25519 secret seed of client account `c`.
pub fn client_seed(c: usize) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"netwright-sim client key");
    h.update(&(c as u64).to_le_bytes());
    *h.finalize().as_bytes()
}

/// The account address of the key with secret `seed`.
pub fn address_of(seed: &[u8; 32]) -> Address {
    Address::from_public_key(&PublicKey::from(
        SigningKey::from_bytes(seed).verifying_key(),
    ))
}

/// The genesis of a run: nodes `0..powers.len()` are validators with stake equal to their
/// power; nodes `powers.len()..nodes` are spares with funds but no stake. Every node's account
/// and every client account is funded.
pub fn genesis(powers: &[u64], nodes: usize) -> Genesis {
    let mut accounts: Vec<GenesisAccount> = (0..nodes)
        .map(|i| GenesisAccount {
            address: address_of(&node_seed(i)),
            balance: NODE_BALANCE,
        })
        .collect();
    accounts.extend((0..CLIENTS).map(|c| GenesisAccount {
        address: address_of(&client_seed(c)),
        balance: CLIENT_BALANCE,
    }));
    Genesis {
        chain_id: SIM_CHAIN_ID.into(),
        initial_height: 1,
        genesis_time_ms: 0,
        params: Params {
            unbonding_period_blocks: UNBONDING_BLOCKS,
            min_validator_stake: 1,
            max_txs_per_block: 1_000,
        },
        accounts,
        validators: powers
            .iter()
            .enumerate()
            .map(|(i, &stake)| GenesisValidator {
                public_key: PublicKey::from(SigningKey::from_bytes(&node_seed(i)).verifying_key()),
                stake,
            })
            .collect(),
        economics: Default::default(),
        servicers: Vec::new(),
        applications: Vec::new(),
        fishermen: Vec::new(),
    }
}

/// A transaction of `body` signed by the key with secret `seed`, encoded.
pub fn signed_tx(seed: &[u8; 32], nonce: u64, body: TxBody) -> Vec<u8> {
    let key = SigningKey::from_bytes(seed);
    TxPayload {
        chain_id: SIM_CHAIN_ID.into(),
        signer: PublicKey::from(key.verifying_key()),
        nonce,
        fee: FEE,
        body,
    }
    .sign(&key)
    .encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netwright_ledger::Ledger;

    #[test]
    fn genesis_is_valid_and_funds_spares_without_stake() {
        let g = genesis(&[5, 7, 11], 5);
        g.validate().unwrap();
        let ledger = Ledger::from_genesis(&g).unwrap();
        assert_eq!(ledger.validators().len(), 3);
        let spare = ledger.account(&address_of(&node_seed(4)));
        assert_eq!((spare.balance, spare.staked), (NODE_BALANCE, 0));
        assert_eq!(
            ledger.account(&address_of(&client_seed(0))).balance,
            CLIENT_BALANCE
        );
    }

    #[test]
    fn a_spare_that_stakes_becomes_a_validator() {
        let g = genesis(&[5, 7, 11], 4);
        let mut ledger = Ledger::from_genesis(&g).unwrap();
        let tx = signed_tx(&node_seed(3), 0, TxBody::Stake { amount: 9 });
        let out = ledger.apply_block(1, 10, &[tx]).unwrap();
        assert!(out.tx_results[0].result.is_ok(), "{:?}", out.tx_results[0]);
        assert_eq!(ledger.validators().len(), 4);
    }
}
