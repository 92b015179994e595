//! Genesis construction: once per network, from the topology and the identities' public keys.
//!
//! Two steps keep planning pure while keys are still to be generated:
//! 1. [`GenesisRecipe::from_topology`]: everything genesis will hold, with identities named
//!    instead of keyed. Its digest is what a plan's `write-genesis` action names.
//! 2. [`GenesisRecipe::build`]: the recipe plus the keys (generated once by the backend and
//!    never regenerated) and the genesis time give a [`Genesis`] that passed the ledger's own
//!    validation. Same inputs, same bytes ([`genesis_bytes`]) and same [`genesis_digest`].
//!
//! Funding: every node and application account gets [`FEE_ALLOWANCE`] for transaction fees,
//! plus its declared stake for servicers, fishermen and applications (they stake it themselves
//! once the ledger has those roles). Genesis validators get their stake bonded. The treasury
//! (the orchestrator's account) funds validators added later: it holds
//! `max(100, 10 * genesis validators)` times (largest validator stake + fee allowance),
//! reduced if needed so that the total supply stays within the ledger's maximum.

use std::collections::BTreeMap;
use std::fmt;

use netwright_ledger::{
    Address, EconomicParams, Genesis, GenesisAccount, GenesisError, GenesisValidator, Params,
    PublicKey, MAX_TOTAL_SUPPLY,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::digest::Digest;
use super::topology::{canonical_json, Role, Topology};

/// Balance given to every node and application account for transaction fees.
pub const FEE_ALLOWANCE: u64 = 1_000_000;

/// Fewest validator stakes the treasury can fund after genesis.
pub const TREASURY_MIN_SLOTS: u64 = 100;

/// Height of the first block of every network netwright creates.
pub const INITIAL_HEIGHT: u64 = 1;

/// Whose key an account belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOwner {
    /// A node of the topology, by name.
    Node(String),
    /// An application, by name.
    Application(String),
    /// The orchestrator's treasury.
    Treasury,
}

impl fmt::Display for KeyOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOwner::Node(name) => write!(f, "node/{name}"),
            KeyOwner::Application(name) => write!(f, "application/{name}"),
            KeyOwner::Treasury => f.write_str("treasury"),
        }
    }
}

/// A genesis validator, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeValidator {
    /// Node name.
    pub node: String,
    /// Bonded stake.
    pub stake: u64,
}

/// A genesis account, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeAccount {
    /// Whose account.
    pub owner: KeyOwner,
    /// Spendable balance.
    pub balance: u64,
}

/// Everything a genesis holds except keys and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisRecipe {
    /// Chain id.
    pub chain_id: String,
    /// Ledger parameters.
    pub params: Params,
    /// Relay-economy parameters.
    pub economics: EconomicParams,
    /// Genesis validators, in topology order.
    pub validators: Vec<RecipeValidator>,
    /// Funded accounts: nodes in topology order, applications, then the treasury.
    pub accounts: Vec<RecipeAccount>,
}

/// The public keys of a network's identities, as the backend holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    /// Node keys by node name.
    pub nodes: BTreeMap<String, PublicKey>,
    /// Application keys by application name.
    pub applications: BTreeMap<String, PublicKey>,
    /// The treasury key.
    pub treasury: Option<PublicKey>,
}

impl KeySet {
    /// The key of `owner`, if known.
    pub fn get(&self, owner: &KeyOwner) -> Option<&PublicKey> {
        match owner {
            KeyOwner::Node(name) => self.nodes.get(name),
            KeyOwner::Application(name) => self.applications.get(name),
            KeyOwner::Treasury => self.treasury.as_ref(),
        }
    }
}

/// Why a genesis cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GenesisBuildError {
    /// An identity named by the recipe has no key yet.
    #[error("no public key for {owner}: its key must be created before genesis is written")]
    MissingKey {
        /// Whose key is missing.
        owner: KeyOwner,
    },
    /// The declared stakes and balances alone exceed the ledger's maximum supply.
    #[error("declared stakes and balances total {supply}, above the ledger's maximum supply {max}; lower the stakes")]
    SupplyTooLarge {
        /// The total without the treasury.
        supply: u128,
        /// The ledger's maximum.
        max: u64,
    },
    /// The ledger refused the document.
    #[error(transparent)]
    Invalid(#[from] GenesisError),
}

/// One genesis-bound value that differs between a recipe and an existing genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundChange {
    /// Genesis field, e.g. `chain_id` or `params.unbonding_period_blocks`.
    pub field: String,
    /// Value in the existing genesis.
    pub current: String,
    /// Value the spec asks for.
    pub desired: String,
}

impl fmt::Display for BoundChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.field, self.current, self.desired)
    }
}

fn clamp(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

impl GenesisRecipe {
    /// The recipe of `topology`'s genesis.
    pub fn from_topology(topology: &Topology) -> Result<GenesisRecipe, GenesisBuildError> {
        let validators: Vec<RecipeValidator> = topology
            .nodes
            .iter()
            .filter(|n| n.role == Role::Validator)
            .map(|n| RecipeValidator {
                node: n.name.clone(),
                stake: n.stake,
            })
            .collect();
        let mut accounts = Vec::new();
        for node in &topology.nodes {
            let funded = match node.role {
                Role::Validator => 0,
                Role::Servicer | Role::Fisherman => node.stake,
            };
            accounts.push(RecipeAccount {
                owner: KeyOwner::Node(node.name.clone()),
                balance: funded.saturating_add(FEE_ALLOWANCE),
            });
        }
        for app in &topology.applications {
            accounts.push(RecipeAccount {
                owner: KeyOwner::Application(app.name.clone()),
                balance: app.stake.saturating_add(FEE_ALLOWANCE),
            });
        }
        let supply: u128 = accounts.iter().map(|a| u128::from(a.balance)).sum::<u128>()
            + validators.iter().map(|v| u128::from(v.stake)).sum::<u128>();
        let max = u128::from(MAX_TOTAL_SUPPLY);
        if supply >= max {
            return Err(GenesisBuildError::SupplyTooLarge {
                supply,
                max: MAX_TOTAL_SUPPLY,
            });
        }
        let largest = validators.iter().map(|v| v.stake).max().unwrap_or(0);
        let unit = u128::from(largest.max(topology.params.min_validator_stake))
            + u128::from(FEE_ALLOWANCE);
        let slots =
            u128::from(TREASURY_MIN_SLOTS.max((validators.len() as u64).saturating_mul(10)));
        let treasury = (slots * unit).min(max - supply);
        accounts.push(RecipeAccount {
            owner: KeyOwner::Treasury,
            balance: clamp(treasury),
        });
        Ok(GenesisRecipe {
            chain_id: topology.chain_id.clone(),
            params: topology.params.clone(),
            economics: topology.economics.clone(),
            validators,
            accounts,
        })
    }

    /// Digest of the canonical (compact JSON, declared field order) encoding.
    pub fn digest(&self) -> Digest {
        Digest::of(&canonical_json(self))
    }

    /// Balance the recipe gives the treasury.
    pub fn treasury_balance(&self) -> u64 {
        self.accounts
            .iter()
            .find(|a| a.owner == KeyOwner::Treasury)
            .map_or(0, |a| a.balance)
    }

    /// The genesis document, validated by the ledger's own rules.
    pub fn build(&self, keys: &KeySet, genesis_time_ms: u64) -> Result<Genesis, GenesisBuildError> {
        let key = |owner: KeyOwner| {
            keys.get(&owner)
                .copied()
                .ok_or(GenesisBuildError::MissingKey { owner })
        };
        let mut validators = Vec::with_capacity(self.validators.len());
        for v in &self.validators {
            validators.push(GenesisValidator {
                public_key: key(KeyOwner::Node(v.node.clone()))?,
                stake: v.stake,
            });
        }
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for a in &self.accounts {
            let public_key = key(a.owner.clone())?;
            accounts.push(GenesisAccount {
                address: Address::from_public_key(&public_key),
                balance: a.balance,
            });
        }
        let genesis = Genesis {
            chain_id: self.chain_id.clone(),
            initial_height: INITIAL_HEIGHT,
            genesis_time_ms,
            params: self.params.clone(),
            accounts,
            validators,
            economics: self.economics.clone(),
            servicers: Vec::new(),
            applications: Vec::new(),
            fishermen: Vec::new(),
        };
        genesis.validate()?;
        Ok(genesis)
    }

    /// The genesis-bound values (chain id, ledger parameters) on which `existing` differs from
    /// this recipe. Validators and balances are not among them: after genesis, validators
    /// change on-chain.
    pub fn bound_changes(&self, existing: &Genesis) -> Vec<BoundChange> {
        let mut out = Vec::new();
        let mut diff = |field: &str, current: String, desired: String| {
            if current != desired {
                out.push(BoundChange {
                    field: field.into(),
                    current,
                    desired,
                });
            }
        };
        diff("chain_id", existing.chain_id.clone(), self.chain_id.clone());
        let (now, want) = (&existing.params, &self.params);
        diff(
            "params.unbonding_period_blocks",
            now.unbonding_period_blocks.to_string(),
            want.unbonding_period_blocks.to_string(),
        );
        diff(
            "params.min_validator_stake",
            now.min_validator_stake.to_string(),
            want.min_validator_stake.to_string(),
        );
        diff(
            "params.max_txs_per_block",
            now.max_txs_per_block.to_string(),
            want.max_txs_per_block.to_string(),
        );
        let fields = |e: &EconomicParams| match serde_json::to_value(e) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let (now, want) = (fields(&existing.economics), fields(&self.economics));
        for (name, value) in &want {
            let current = now.get(name).map_or("none".to_owned(), ToString::to_string);
            diff(&format!("economics.{name}"), current, value.to_string());
        }
        out
    }
}

/// The canonical bytes of a genesis document: the ledger's pretty JSON and a final newline.
/// This is what the backend writes to disk.
pub fn genesis_bytes(genesis: &Genesis) -> Vec<u8> {
    let mut bytes = genesis.to_json().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// BLAKE3 of [`genesis_bytes`].
pub fn genesis_digest(genesis: &Genesis) -> Digest {
    Digest::of(&genesis_bytes(genesis))
}
