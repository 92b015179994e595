//! The genesis document (JSON): chain identity, parameters, initial balances,
//! the initial validator set and the relay-network actors staked from the
//! start, with validation that names what is wrong.

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::actors::{
    validate_chains, validate_gateways, validate_service_url, ActorRole, RelayChain,
};
use crate::address::Address;
use crate::crypto::PublicKey;
use crate::economics::EconomicParams;
use crate::tx::MAX_CHAIN_ID_BYTES;

/// Largest total supply (balances + stakes) a chain may have: 2^60 base units.
/// Voting power equals stake, and consensus caps total power at 2^60.
pub const MAX_TOTAL_SUPPLY: u64 = 1 << 60;

/// Protocol parameters fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Blocks between an unstake and the return of its funds.
    pub unbonding_period_blocks: u64,
    /// Smallest stake a validator may hold (a full unstake to zero is allowed).
    pub min_validator_stake: u64,
    /// Most transactions one block may carry.
    pub max_txs_per_block: u32,
}

/// An account funded at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// The account (40 hex digits).
    pub address: Address,
    /// Spendable balance in base units; must be positive.
    pub balance: u64,
}

/// A validator bonded at genesis. Its stake is in addition to any balance
/// its account holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The validator's ed25519 key (64 hex digits); its account is the derived address.
    pub public_key: PublicKey,
    /// Bonded stake in base units; at least `params.min_validator_stake`.
    pub stake: u64,
}

/// A servicer, application or fisherman staked at genesis. Its stake is in
/// addition to any balance its account holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisActor {
    /// The actor's ed25519 key (64 hex digits); its account is the derived address.
    pub public_key: PublicKey,
    /// Bonded stake; at least the role's minimum in `economics`.
    pub stake: u64,
    /// Relay chains served, used or measured (strictly ascending).
    pub chains: Vec<RelayChain>,
    /// Servicers only: the public relay URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_url: String,
    /// Applications only: delegated gateways (strictly ascending).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<Address>,
}

/// The genesis document the orchestrator writes and every node reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain identity; every transaction must name it.
    pub chain_id: String,
    /// Height of the first block applied on top of genesis (at least 1).
    pub initial_height: u64,
    /// Genesis time in milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Protocol parameters.
    pub params: Params,
    /// Initial balances.
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    /// Initial validator set (must not be empty).
    pub validators: Vec<GenesisValidator>,
    /// Parameters of the relay economy: [`EconomicParams::default`] when the
    /// section is absent, and left out of the JSON when equal to it.
    #[serde(default, skip_serializing_if = "EconomicParams::is_default")]
    pub economics: EconomicParams,
    /// Servicers staked at genesis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servicers: Vec<GenesisActor>,
    /// Applications staked at genesis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<GenesisActor>,
    /// Fishermen staked at genesis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fishermen: Vec<GenesisActor>,
}

/// Why a genesis document is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GenesisError {
    /// The text is not a genesis document.
    #[error("genesis JSON is invalid at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A field has a value the ledger cannot accept.
    #[error("genesis field `{field}` = {value}: {reason}")]
    Invalid {
        /// Path of the field, e.g. `validators[2].stake`.
        field: String,
        /// The offending value.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
}

fn invalid(
    field: impl Into<String>,
    value: impl ToString,
    reason: impl Into<String>,
) -> GenesisError {
    GenesisError::Invalid {
        field: field.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Checks a chain id: 1 to 64 characters from `A-Z a-z 0-9 . _ -`.
pub fn validate_chain_id(chain_id: &str) -> Result<(), String> {
    if chain_id.is_empty() {
        return Err("must not be empty".into());
    }
    if chain_id.len() > MAX_CHAIN_ID_BYTES {
        return Err(format!("longer than {MAX_CHAIN_ID_BYTES} bytes"));
    }
    if let Some(c) = chain_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "character {c:?} is not allowed (use A-Z a-z 0-9 . _ -)"
        ));
    }
    Ok(())
}

impl Genesis {
    /// Parses and validates a genesis JSON document.
    pub fn from_json(text: &str) -> Result<Genesis, GenesisError> {
        let genesis: Genesis = serde_json::from_str(text).map_err(|e| GenesisError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Pretty JSON text of this document.
    pub fn to_json(&self) -> String {
        // Every field serialises to plain JSON values; this cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every rule a genesis must satisfy; the first violation is returned.
    pub fn validate(&self) -> Result<(), GenesisError> {
        validate_chain_id(&self.chain_id)
            .map_err(|reason| invalid("chain_id", format!("{:?}", self.chain_id), reason))?;
        if self.initial_height == 0 {
            return Err(invalid("initial_height", 0, "must be at least 1"));
        }
        let p = &self.params;
        if p.unbonding_period_blocks == 0 {
            return Err(invalid(
                "params.unbonding_period_blocks",
                0,
                "must be at least 1",
            ));
        }
        if p.min_validator_stake == 0 {
            return Err(invalid(
                "params.min_validator_stake",
                0,
                "must be at least 1",
            ));
        }
        if p.max_txs_per_block == 0 {
            return Err(invalid("params.max_txs_per_block", 0, "must be at least 1"));
        }
        let mut supply: u64 = 0;
        let mut seen = BTreeSet::new();
        for (i, a) in self.accounts.iter().enumerate() {
            if a.balance == 0 {
                return Err(invalid(
                    format!("accounts[{i}].balance"),
                    0,
                    "must be positive (leave the account out instead)",
                ));
            }
            if !seen.insert(a.address) {
                return Err(invalid(
                    format!("accounts[{i}].address"),
                    a.address,
                    "duplicate account",
                ));
            }
            supply = supply.checked_add(a.balance).ok_or_else(|| {
                invalid(
                    format!("accounts[{i}].balance"),
                    a.balance,
                    "total supply exceeds 2^64-1",
                )
            })?;
        }
        if self.validators.is_empty() {
            return Err(invalid(
                "validators",
                "[]",
                "at least one validator is required",
            ));
        }
        let mut keys = BTreeSet::new();
        for (i, v) in self.validators.iter().enumerate() {
            if v.stake == 0 {
                return Err(invalid(
                    format!("validators[{i}].stake"),
                    0,
                    "must be positive",
                ));
            }
            if v.stake < p.min_validator_stake {
                return Err(invalid(
                    format!("validators[{i}].stake"),
                    v.stake,
                    format!(
                        "below params.min_validator_stake ({})",
                        p.min_validator_stake
                    ),
                ));
            }
            if !keys.insert(v.public_key) {
                return Err(invalid(
                    format!("validators[{i}].public_key"),
                    v.public_key,
                    "duplicate validator",
                ));
            }
            supply = supply.checked_add(v.stake).ok_or_else(|| {
                invalid(
                    format!("validators[{i}].stake"),
                    v.stake,
                    "total supply exceeds 2^64-1",
                )
            })?;
        }
        let e = &self.economics;
        e.validate()
            .map_err(|v| invalid(format!("economics.{}", v.field), v.value, v.reason))?;
        for role in ActorRole::ALL {
            let list = self.actors(role);
            let section = list_name(role);
            let mut keys = BTreeSet::new();
            for (i, a) in list.iter().enumerate() {
                let at = |field: &str| format!("{section}[{i}].{field}");
                let min = e.min_stake(role);
                if a.stake < min {
                    return Err(invalid(
                        at("stake"),
                        a.stake,
                        format!("below economics.min_{role}_stake ({min})"),
                    ));
                }
                if !keys.insert(a.public_key) {
                    return Err(invalid(
                        at("public_key"),
                        a.public_key,
                        format!("duplicate {role}"),
                    ));
                }
                validate_chains(&a.chains)
                    .map_err(|r| invalid(at("chains"), format!("{:?}", a.chains), r))?;
                let address = Address::from_public_key(&a.public_key);
                match role {
                    ActorRole::Servicer => validate_service_url(&a.service_url).map_err(|r| {
                        invalid(at("service_url"), format!("{:?}", a.service_url), r)
                    })?,
                    _ if !a.service_url.is_empty() => {
                        return Err(invalid(
                            at("service_url"),
                            format!("{:?}", a.service_url),
                            "only servicers have a service URL",
                        ))
                    }
                    _ => {}
                }
                match role {
                    ActorRole::Application => {
                        validate_gateways(&address, &a.gateways, e.max_delegated_gateways)
                            .map_err(|r| invalid(at("gateways"), a.gateways.len(), r))?
                    }
                    _ if !a.gateways.is_empty() => {
                        return Err(invalid(
                            at("gateways"),
                            a.gateways.len(),
                            "only applications delegate to gateways",
                        ))
                    }
                    _ => {}
                }
                supply = supply
                    .checked_add(a.stake)
                    .ok_or_else(|| invalid(at("stake"), a.stake, "total supply exceeds 2^64-1"))?;
            }
        }
        if supply > MAX_TOTAL_SUPPLY {
            return Err(invalid(
                "accounts + validators + actors",
                supply,
                format!("total supply exceeds the maximum {MAX_TOTAL_SUPPLY}"),
            ));
        }
        Ok(())
    }

    /// Sum of all balances and stakes: the supply the ledger conserves.
    pub fn total_supply(&self) -> u128 {
        let balances: u128 = self.accounts.iter().map(|a| u128::from(a.balance)).sum();
        let stakes: u128 = self.validators.iter().map(|v| u128::from(v.stake)).sum();
        let actors: u128 = ActorRole::ALL
            .into_iter()
            .flat_map(|r| self.actors(r))
            .map(|a| u128::from(a.stake))
            .sum();
        balances + stakes + actors
    }

    /// The genesis actors of one role.
    pub fn actors(&self, role: ActorRole) -> &[GenesisActor] {
        match role {
            ActorRole::Servicer => &self.servicers,
            ActorRole::Application => &self.applications,
            ActorRole::Fisherman => &self.fishermen,
        }
    }
}

/// The genesis field listing actors of `role`.
fn list_name(role: ActorRole) -> &'static str {
    match role {
        ActorRole::Servicer => "servicers",
        ActorRole::Application => "applications",
        ActorRole::Fisherman => "fishermen",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        PublicKey::from(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    fn sample() -> Genesis {
        Genesis {
            chain_id: "netwright-local".into(),
            initial_height: 1,
            genesis_time_ms: 1_700_000_000_000,
            params: Params {
                unbonding_period_blocks: 10,
                min_validator_stake: 100,
                max_txs_per_block: 5000,
            },
            accounts: vec![GenesisAccount {
                address: Address::from_public_key(&key(1)),
                balance: 1000,
            }],
            validators: vec![GenesisValidator {
                public_key: key(2),
                stake: 500,
            }],
            economics: Default::default(),
            servicers: vec![],
            applications: vec![],
            fishermen: vec![],
        }
    }

    fn field_of(err: GenesisError) -> String {
        match err {
            GenesisError::Invalid { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_round_trip() {
        let g = sample();
        let text = g.to_json();
        assert_eq!(Genesis::from_json(&text).unwrap(), g);
        assert_eq!(g.total_supply(), 1500);
    }

    #[test]
    fn json_errors_carry_position() {
        let text = sample()
            .to_json()
            .replace("\"balance\": 1000", "\"balance\": -1");
        match Genesis::from_json(&text) {
            Err(GenesisError::Json { line, .. }) => assert!(line > 1),
            other => panic!("{other:?}"),
        }
        let text = sample().to_json().replace("\"stake\"", "\"stak\"");
        assert!(matches!(
            Genesis::from_json(&text),
            Err(GenesisError::Json { .. })
        ));
        let bad_addr =
            sample()
                .to_json()
                .replacen(&sample().accounts[0].address.to_string(), "zz", 1);
        let err = Genesis::from_json(&bad_addr).unwrap_err().to_string();
        assert!(err.contains("invalid address \"zz\""), "{err}");
    }

    #[test]
    fn duplicate_accounts_rejected() {
        let mut g = sample();
        g.accounts.push(g.accounts[0].clone());
        assert_eq!(field_of(g.validate().unwrap_err()), "accounts[1].address");
    }

    #[test]
    fn zero_or_low_stake_rejected() {
        let mut g = sample();
        g.validators[0].stake = 0;
        let err = g.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "genesis field `validators[0].stake` = 0: must be positive"
        );
        g.validators[0].stake = 99;
        assert!(g
            .validate()
            .unwrap_err()
            .to_string()
            .contains("min_validator_stake"));
    }

    #[test]
    fn other_rules() {
        let mut g = sample();
        g.validators.clear();
        assert_eq!(field_of(g.validate().unwrap_err()), "validators");
        let mut g = sample();
        g.validators.push(g.validators[0].clone());
        assert_eq!(
            field_of(g.validate().unwrap_err()),
            "validators[1].public_key"
        );
        let mut g = sample();
        g.chain_id = "bad id".into();
        assert_eq!(field_of(g.validate().unwrap_err()), "chain_id");
        let mut g = sample();
        g.initial_height = 0;
        assert_eq!(field_of(g.validate().unwrap_err()), "initial_height");
        let mut g = sample();
        g.params.unbonding_period_blocks = 0;
        assert_eq!(
            field_of(g.validate().unwrap_err()),
            "params.unbonding_period_blocks"
        );
        let mut g = sample();
        g.accounts[0].balance = 0;
        assert_eq!(field_of(g.validate().unwrap_err()), "accounts[0].balance");
        let mut g = sample();
        g.accounts[0].balance = u64::MAX;
        assert_eq!(field_of(g.validate().unwrap_err()), "validators[0].stake");
        let mut g = sample();
        g.accounts[0].balance = MAX_TOTAL_SUPPLY;
        assert_eq!(
            field_of(g.validate().unwrap_err()),
            "accounts + validators + actors"
        );
        g.accounts[0].balance = MAX_TOTAL_SUPPLY - 500;
        assert!(g.validate().is_ok());
    }
}
