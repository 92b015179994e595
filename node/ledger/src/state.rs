//! The ledger state, its key layout and the encoding of each stored value.
//!
//! Keys (one-byte prefix, then fixed-width parts; heights big-endian so
//! that byte order is height order):
//!
//! ```text
//! 00 01                 chain id             borsh String
//! 00 02                 params               borsh Params
//! 00 03                 last block           borsh LastBlock {height, time_ms}
//! 00 04                 fee pool             borsh u64
//! 00 05 || height_be(8) economic params      borsh EconomicParams, in force from `height`
//! 01 || address(20)     account              borsh Account {balance, nonce}
//! 02 || address(20)     validator            borsh ValidatorRecord {public_key, stake}
//! 03 || height_be(8) || address(20)
//!                       unbonding entry      borsh u64 amount, paid at end of `height`
//! 04 || address(20)     servicer             borsh ActorRecord
//! 05 || address(20)     application          borsh ActorRecord
//! 06 || address(20)     fisherman            borsh ActorRecord
//! 07 || start_be(8)     session snapshot     borsh SessionSnapshot (actors as of `start`)
//! 08 .. 0f              reserved: relay claims, reward pools, slashing records
//! ```

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use thiserror::Error;

use crate::actors::{ActorRecord, ActorRole};
use crate::address::{Address, ADDRESS_LEN};
use crate::crypto::{Hash, PublicKey};
use crate::economics::{EconomicParams, ParamsHistory};
use crate::genesis::Params;
use crate::session::SessionSnapshot;

/// Key prefix of the chain-wide metadata entries.
pub const PREFIX_META: u8 = 0x00;
/// Key prefix of accounts.
pub const PREFIX_ACCOUNT: u8 = 0x01;
/// Key prefix of validators.
pub const PREFIX_VALIDATOR: u8 = 0x02;
/// Key prefix of unbonding entries.
pub const PREFIX_UNBONDING: u8 = 0x03;
/// Key prefix of servicers; applications and fishermen follow (`0x04 + role tag`).
pub const PREFIX_ACTOR: u8 = 0x04;
/// Key prefix of session snapshots.
pub const PREFIX_SESSION: u8 = 0x07;
/// Second byte of the economic-parameter keys under [`PREFIX_META`].
pub const META_ECONOMICS: u8 = 0x05;

/// A spendable account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Account {
    /// Spendable balance in base units.
    pub balance: u64,
    /// Number of transactions this account has had executed; the next
    /// transaction must carry exactly this nonce.
    pub nonce: u64,
}

/// A bonded validator, keyed by its account address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorRecord {
    /// The consensus (and account) key.
    pub public_key: [u8; 32],
    /// Bonded stake in base units; also its voting power.
    pub stake: u64,
}

/// Height and time of the last applied block (genesis: `initial_height - 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
pub struct LastBlock {
    /// Height of the last applied block.
    pub height: u64,
    /// Its time in milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// One addressable piece of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateKey {
    /// The chain id.
    ChainId,
    /// The protocol parameters.
    Params,
    /// Height and time of the last block.
    LastBlock,
    /// Fees collected and not yet distributed.
    FeePool,
    /// The economic parameters in force from this height on.
    EconomicParams(u64),
    /// An account.
    Account(Address),
    /// A validator.
    Validator(Address),
    /// Funds of `Address` that return at the end of block `u64`.
    Unbonding(u64, Address),
    /// A servicer, application or fisherman.
    Actor(ActorRole, Address),
    /// The actors of the session starting at this height.
    Session(u64),
}

/// Why a stored snapshot cannot become a ledger.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    /// A key does not belong to the layout.
    #[error("snapshot key {key}: {reason}")]
    BadKey {
        /// Hex of the key.
        key: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A value does not decode for its key.
    #[error("snapshot value at key {key}: {reason}")]
    BadValue {
        /// Hex of the key.
        key: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A required entry is absent.
    #[error("snapshot has no {0} entry")]
    Missing(&'static str),
    /// The recomputed root differs from the one expected.
    #[error("snapshot state root is {computed}, expected {expected}")]
    RootMismatch {
        /// The root the caller trusted (e.g. from a committed header).
        expected: Hash,
        /// The root of the entries given.
        computed: Hash,
    },
}

impl StateKey {
    /// The stored key bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            StateKey::ChainId => vec![PREFIX_META, 1],
            StateKey::Params => vec![PREFIX_META, 2],
            StateKey::LastBlock => vec![PREFIX_META, 3],
            StateKey::FeePool => vec![PREFIX_META, 4],
            StateKey::EconomicParams(h) => {
                let mut k = vec![PREFIX_META, META_ECONOMICS];
                k.extend_from_slice(&h.to_be_bytes());
                k
            }
            StateKey::Account(a) => prefixed(PREFIX_ACCOUNT, &[], a),
            StateKey::Validator(a) => prefixed(PREFIX_VALIDATOR, &[], a),
            StateKey::Unbonding(h, a) => prefixed(PREFIX_UNBONDING, &h.to_be_bytes(), a),
            StateKey::Actor(role, a) => prefixed(PREFIX_ACTOR + role.tag(), &[], a),
            StateKey::Session(start) => {
                let mut k = vec![PREFIX_SESSION];
                k.extend_from_slice(&start.to_be_bytes());
                k
            }
        }
    }

    /// Parses stored key bytes.
    pub fn decode(key: &[u8]) -> Result<StateKey, SnapshotError> {
        let bad = |reason: &str| SnapshotError::BadKey {
            key: hex::encode(key),
            reason: reason.to_owned(),
        };
        let addr = |rest: &[u8]| -> Result<Address, SnapshotError> {
            let arr: [u8; ADDRESS_LEN] = rest
                .try_into()
                .map_err(|_| bad("address part is not 20 bytes"))?;
            Ok(Address(arr))
        };
        match key {
            [PREFIX_META, 1] => Ok(StateKey::ChainId),
            [PREFIX_META, 2] => Ok(StateKey::Params),
            [PREFIX_META, 3] => Ok(StateKey::LastBlock),
            [PREFIX_META, 4] => Ok(StateKey::FeePool),
            [PREFIX_META, META_ECONOMICS, rest @ ..] => {
                Ok(StateKey::EconomicParams(be_u64(rest).ok_or_else(|| {
                    bad("economic parameter key is not 10 bytes")
                })?))
            }
            [PREFIX_META, ..] => Err(bad("unknown metadata key")),
            [PREFIX_ACCOUNT, rest @ ..] => Ok(StateKey::Account(addr(rest)?)),
            [PREFIX_VALIDATOR, rest @ ..] => Ok(StateKey::Validator(addr(rest)?)),
            [PREFIX_UNBONDING, rest @ ..] if rest.len() == 8 + ADDRESS_LEN => {
                let mut h = [0u8; 8];
                h.copy_from_slice(&rest[..8]);
                Ok(StateKey::Unbonding(
                    u64::from_be_bytes(h),
                    addr(&rest[8..])?,
                ))
            }
            [PREFIX_UNBONDING, ..] => Err(bad("unbonding key is not 29 bytes")),
            [p @ PREFIX_ACTOR..=0x06, rest @ ..] => {
                let role = ActorRole::from_tag(p - PREFIX_ACTOR)
                    .ok_or_else(|| bad("unknown actor prefix"))?;
                Ok(StateKey::Actor(role, addr(rest)?))
            }
            [PREFIX_SESSION, rest @ ..] => Ok(StateKey::Session(
                be_u64(rest).ok_or_else(|| bad("session key is not 9 bytes"))?,
            )),
            [] => Err(bad("empty key")),
            _ => Err(bad("unknown key prefix")),
        }
    }
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

fn prefixed(prefix: u8, middle: &[u8], addr: &Address) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + middle.len() + ADDRESS_LEN);
    k.push(prefix);
    k.extend_from_slice(middle);
    k.extend_from_slice(addr.as_bytes());
    k
}

fn borsh_bytes<T: BorshSerialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = value.serialize(&mut out);
    out
}

/// The whole ledger state in typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Chain id.
    pub chain_id: String,
    /// Protocol parameters.
    pub params: Params,
    /// Last applied block.
    pub last: LastBlock,
    /// Fees collected.
    pub fee_pool: u64,
    /// Accounts by address.
    pub accounts: BTreeMap<Address, Account>,
    /// Validators by address.
    pub validators: BTreeMap<Address, ValidatorRecord>,
    /// Unbonding amounts by (maturity height, address).
    pub unbonding: BTreeMap<(u64, Address), u64>,
    /// Economic parameters by the height from which they apply.
    pub economics: ParamsHistory,
    /// Servicers, applications and fishermen by (role, address).
    pub actors: BTreeMap<(ActorRole, Address), ActorRecord>,
    /// Session snapshots by session start height (kept while relays for the
    /// session are acceptable).
    pub sessions: BTreeMap<u64, SessionSnapshot>,
}

impl State {
    /// The stored value for `key`, `None` when absent.
    pub fn value(&self, key: &StateKey) -> Option<Vec<u8>> {
        match key {
            StateKey::ChainId => Some(borsh_bytes(&self.chain_id)),
            StateKey::Params => Some(borsh_bytes(&self.params)),
            StateKey::LastBlock => Some(borsh_bytes(&self.last)),
            StateKey::FeePool => Some(borsh_bytes(&self.fee_pool)),
            StateKey::EconomicParams(h) => self
                .economics
                .entries()
                .find(|(from, _)| from == h)
                .map(|(_, p)| borsh_bytes(p)),
            StateKey::Account(a) => self.accounts.get(a).map(borsh_bytes),
            StateKey::Validator(a) => self.validators.get(a).map(borsh_bytes),
            StateKey::Unbonding(h, a) => self.unbonding.get(&(*h, *a)).map(borsh_bytes),
            StateKey::Actor(role, a) => self.actors.get(&(*role, *a)).map(borsh_bytes),
            StateKey::Session(start) => self.sessions.get(start).map(borsh_bytes),
        }
    }

    /// Every present key.
    pub fn keys(&self) -> Vec<StateKey> {
        let mut keys = vec![
            StateKey::ChainId,
            StateKey::Params,
            StateKey::LastBlock,
            StateKey::FeePool,
        ];
        keys.extend(
            self.economics
                .entries()
                .map(|(h, _)| StateKey::EconomicParams(h)),
        );
        keys.extend(self.accounts.keys().map(|a| StateKey::Account(*a)));
        keys.extend(self.validators.keys().map(|a| StateKey::Validator(*a)));
        keys.extend(
            self.unbonding
                .keys()
                .map(|(h, a)| StateKey::Unbonding(*h, *a)),
        );
        keys.extend(self.actors.keys().map(|(r, a)| StateKey::Actor(*r, *a)));
        keys.extend(self.sessions.keys().map(|s| StateKey::Session(*s)));
        keys
    }

    /// Every (key bytes, value bytes) pair, in ascending key order.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.keys()
            .into_iter()
            .filter_map(|k| self.value(&k).map(|v| (k.encode(), v)))
            .collect()
    }

    /// Rebuilds the typed state from stored pairs, checking every key and value.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> Result<State, SnapshotError> {
        let mut chain_id = None;
        let mut params = None;
        let mut last = None;
        let mut fee_pool = None;
        let mut accounts = BTreeMap::new();
        let mut validators = BTreeMap::new();
        let mut unbonding = BTreeMap::new();
        let mut economics = Vec::new();
        let mut actors = BTreeMap::new();
        let mut sessions = BTreeMap::new();
        for (key, value) in entries {
            let parsed = StateKey::decode(&key)?;
            let bad = |reason: String| SnapshotError::BadValue {
                key: hex::encode(&key),
                reason,
            };
            match parsed {
                StateKey::ChainId => chain_id = Some(decode_value::<String>(&value).map_err(bad)?),
                StateKey::Params => params = Some(decode_value::<Params>(&value).map_err(bad)?),
                StateKey::LastBlock => last = Some(decode_value::<LastBlock>(&value).map_err(bad)?),
                StateKey::FeePool => fee_pool = Some(decode_value::<u64>(&value).map_err(bad)?),
                StateKey::Account(a) => {
                    let acc = decode_value::<Account>(&value).map_err(bad)?;
                    accounts.insert(a, acc);
                }
                StateKey::Validator(a) => {
                    let v = decode_value::<ValidatorRecord>(&value).map_err(bad)?;
                    let pk = PublicKey::from_bytes(v.public_key).map_err(|e| bad(e.to_string()))?;
                    if Address::from_public_key(&pk) != a {
                        return Err(bad(
                            "validator key does not derive the address in the key".into()
                        ));
                    }
                    if v.stake == 0 {
                        return Err(bad("validator with zero stake".into()));
                    }
                    validators.insert(a, v);
                }
                StateKey::Unbonding(h, a) => {
                    let amount = decode_value::<u64>(&value).map_err(bad)?;
                    unbonding.insert((h, a), amount);
                }
                StateKey::EconomicParams(h) => {
                    let p = decode_value::<EconomicParams>(&value).map_err(bad)?;
                    p.validate()
                        .map_err(|v| bad(format!("{} = {}: {}", v.field, v.value, v.reason)))?;
                    economics.push((h, p));
                }
                StateKey::Actor(role, a) => {
                    let r = decode_value::<ActorRecord>(&value).map_err(bad)?;
                    let pk = PublicKey::from_bytes(r.public_key).map_err(|e| bad(e.to_string()))?;
                    if Address::from_public_key(&pk) != a {
                        return Err(bad(
                            "actor key does not derive the address in the key".into()
                        ));
                    }
                    if r.stake == 0 {
                        return Err(bad(format!("{role} with zero stake")));
                    }
                    actors.insert((role, a), r);
                }
                StateKey::Session(start) => {
                    let snapshot = decode_value::<SessionSnapshot>(&value).map_err(bad)?;
                    sessions.insert(start, snapshot);
                }
            }
        }
        Ok(State {
            chain_id: chain_id.ok_or(SnapshotError::Missing("chain id"))?,
            params: params.ok_or(SnapshotError::Missing("params"))?,
            last: last.ok_or(SnapshotError::Missing("last block"))?,
            fee_pool: fee_pool.ok_or(SnapshotError::Missing("fee pool"))?,
            accounts,
            validators,
            unbonding,
            economics: ParamsHistory::from_entries(economics)
                .ok_or(SnapshotError::Missing("economic parameters"))?,
            actors,
            sessions,
        })
    }
}

fn decode_value<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, String> {
    borsh::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut s = State {
            chain_id: "c".into(),
            params: Params {
                unbonding_period_blocks: 3,
                min_validator_stake: 1,
                max_txs_per_block: 10,
            },
            last: LastBlock {
                height: 4,
                time_ms: 9,
            },
            fee_pool: 2,
            accounts: BTreeMap::new(),
            validators: BTreeMap::new(),
            unbonding: BTreeMap::new(),
            economics: ParamsHistory::new(1, EconomicParams::default()),
            actors: BTreeMap::new(),
            sessions: BTreeMap::new(),
        };
        let pk = PublicKey::from(ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key());
        let a = Address::from_public_key(&pk);
        s.accounts.insert(
            a,
            Account {
                balance: 5,
                nonce: 1,
            },
        );
        s.validators.insert(
            a,
            ValidatorRecord {
                public_key: *pk.as_bytes(),
                stake: 10,
            },
        );
        s.unbonding.insert((7, a), 3);
        for role in ActorRole::ALL {
            s.actors.insert(
                (role, a),
                ActorRecord {
                    public_key: *pk.as_bytes(),
                    stake: 4 + u64::from(role.tag()),
                    chains: vec!["eth".into()],
                    service_url: String::new(),
                    gateways: Vec::new(),
                    paused: false,
                    jailed_until: None,
                },
            );
        }
        s.sessions.insert(5, SessionSnapshot::default());
        s.sessions.insert(9, SessionSnapshot::default());
        s
    }

    #[test]
    fn keys_round_trip_and_sort_like_bytes() {
        let s = sample();
        let keys = s.keys();
        let mut encoded: Vec<Vec<u8>> = keys.iter().map(|k| k.encode()).collect();
        for (k, e) in keys.iter().zip(&encoded) {
            assert_eq!(StateKey::decode(e).unwrap(), *k);
        }
        let before = encoded.clone();
        encoded.sort();
        assert_eq!(before, encoded, "keys() must list keys in byte order");
    }

    #[test]
    fn entries_round_trip() {
        let s = sample();
        assert_eq!(State::from_entries(s.entries()).unwrap(), s);
    }

    #[test]
    fn bad_snapshots_are_rejected() {
        let s = sample();
        let mut e = s.entries();
        e.push((vec![0x09, 1], vec![]));
        assert!(matches!(
            State::from_entries(e),
            Err(SnapshotError::BadKey { .. })
        ));
        let mut e = s.entries();
        e.retain(|(k, _)| k != &StateKey::Params.encode());
        assert_eq!(
            State::from_entries(e),
            Err(SnapshotError::Missing("params"))
        );
        let mut e = s.entries();
        let last = e.len() - 1;
        e[last].1.push(0);
        assert!(matches!(
            State::from_entries(e),
            Err(SnapshotError::BadValue { .. })
        ));
        // A validator stored under an address its key does not derive.
        let mut e = s.entries();
        let vkey = e
            .iter()
            .position(|(k, _)| k[0] == PREFIX_VALIDATOR)
            .unwrap();
        e[vkey].0[5] ^= 1;
        assert!(matches!(
            State::from_entries(e),
            Err(SnapshotError::BadValue { .. })
        ));
        // An actor stored under an address its key does not derive.
        let mut e = s.entries();
        let akey = e.iter().position(|(k, _)| k[0] == PREFIX_ACTOR).unwrap();
        e[akey].0[5] ^= 1;
        assert!(matches!(
            State::from_entries(e),
            Err(SnapshotError::BadValue { .. })
        ));
        // Economic parameters that break their rules.
        let mut e = s.entries();
        let pkey = e
            .iter()
            .position(|(k, _)| k[..2] == [PREFIX_META, META_ECONOMICS])
            .unwrap();
        let bad = EconomicParams {
            session_blocks: 0,
            ..EconomicParams::default()
        };
        e[pkey].1 = borsh_bytes(&bad);
        assert!(matches!(
            State::from_entries(e),
            Err(SnapshotError::BadValue { .. })
        ));
        let mut e = s.entries();
        e.retain(|(k, _)| k[..2] != [PREFIX_META, META_ECONOMICS]);
        assert_eq!(
            State::from_entries(e),
            Err(SnapshotError::Missing("economic parameters"))
        );
        assert!(StateKey::decode(&[PREFIX_SESSION, 1]).is_err());
        assert!(StateKey::decode(&[PREFIX_META, META_ECONOMICS, 1]).is_err());
        assert!(StateKey::decode(&[0x08, 1]).is_err());
        assert!(StateKey::decode(&[PREFIX_ACCOUNT, 1, 2]).is_err());
        assert!(StateKey::decode(&[]).is_err());
    }
}
