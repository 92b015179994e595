//! The relay-network actors: servicers, applications and fishermen, their
//! stored records and the rules on the fields they declare.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::address::Address;

/// Longest relay chain identifier, in bytes.
pub const MAX_RELAY_CHAIN_BYTES: usize = 32;
/// Most relay chains one actor may declare.
pub const MAX_CHAINS_PER_ACTOR: usize = 16;
/// Longest servicer URL, in bytes.
pub const MAX_SERVICE_URL_BYTES: usize = 256;

/// The kind of a relay-network actor. The tag is its byte in transactions;
/// the state key prefix is `0x04 + tag`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    BorshSerialize,
    BorshDeserialize,
)]
#[serde(rename_all = "lowercase")]
#[borsh(use_discriminant = true)]
pub enum ActorRole {
    /// Relays applications' requests to the chains it serves (tag 0).
    Servicer = 0,
    /// Stakes to buy relays (tag 1).
    Application = 1,
    /// Measures servicers (tag 2).
    Fisherman = 2,
}

impl ActorRole {
    /// Every role, in tag order.
    pub const ALL: [ActorRole; 3] = [
        ActorRole::Servicer,
        ActorRole::Application,
        ActorRole::Fisherman,
    ];

    /// The byte naming this role in transactions.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// The role with this tag.
    pub fn from_tag(tag: u8) -> Option<ActorRole> {
        ActorRole::ALL.into_iter().find(|r| r.tag() == tag)
    }

    /// Lowercase name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ActorRole::Servicer => "servicer",
            ActorRole::Application => "application",
            ActorRole::Fisherman => "fisherman",
        }
    }
}

impl fmt::Display for ActorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The identifier of an external chain relays are served for (for example
/// `eth-mainnet`): 1 to 32 characters from `A-Z a-z 0-9 . _ -`. Ordered by
/// its bytes.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    BorshSerialize,
    BorshDeserialize,
)]
#[serde(transparent)]
pub struct RelayChain(pub String);

impl RelayChain {
    /// The identifier's bytes (what session ids hash).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Checks the length and character rules.
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.0;
        if s.is_empty() {
            return Err("relay chain must not be empty".into());
        }
        if s.len() > MAX_RELAY_CHAIN_BYTES {
            return Err(format!(
                "relay chain {s:?} is {} bytes, the limit is {MAX_RELAY_CHAIN_BYTES}",
                s.len()
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "relay chain {s:?}: character {c:?} is not allowed (use A-Z a-z 0-9 . _ -)"
            ));
        }
        Ok(())
    }
}

impl fmt::Display for RelayChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RelayChain {
    fn from(s: &str) -> Self {
        RelayChain(s.to_owned())
    }
}

/// A staked servicer, application or fisherman as stored (state keys
/// `04`/`05`/`06 || address`). Fields that do not apply to a role are empty.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ActorRecord {
    /// The actor's key; its address is the derived one.
    pub public_key: [u8; 32],
    /// Bonded stake in base units (at least 1 while the record exists).
    pub stake: u64,
    /// Relay chains served (servicer), used (application) or measured
    /// (fisherman); strictly ascending.
    pub chains: Vec<RelayChain>,
    /// Servicers: the public URL relays are sent to. Empty for the others.
    pub service_url: String,
    /// Applications: gateways allowed to sign relays on its behalf, strictly
    /// ascending. Empty for the others.
    pub gateways: Vec<Address>,
    /// Servicers: paused by their own transaction (not a session candidate).
    pub paused: bool,
    /// Set while jailed: the height from which it may unjail.
    pub jailed_until: Option<u64>,
}

impl ActorRecord {
    /// Whether the actor may be chosen for a session: not paused, not jailed.
    pub fn is_active(&self) -> bool {
        !self.paused && self.jailed_until.is_none()
    }

    /// Whether it declares `chain`.
    pub fn has_chain(&self, chain: &RelayChain) -> bool {
        self.chains.binary_search(chain).is_ok()
    }
}

/// Checks a declared chain list: 1 to [`MAX_CHAINS_PER_ACTOR`] valid
/// identifiers in strictly ascending byte order (so no duplicates).
pub fn validate_chains(chains: &[RelayChain]) -> Result<(), String> {
    if chains.is_empty() {
        return Err("at least one relay chain is required".into());
    }
    if chains.len() > MAX_CHAINS_PER_ACTOR {
        return Err(format!(
            "{} relay chains, the limit is {MAX_CHAINS_PER_ACTOR}",
            chains.len()
        ));
    }
    for c in chains {
        c.validate()?;
    }
    if let Some(w) = chains.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!(
            "relay chains must be strictly ascending: {:?} is followed by {:?}",
            w[0].0, w[1].0
        ));
    }
    Ok(())
}

/// Checks a servicer URL: `http://` or `https://`, a non-empty host, at most
/// [`MAX_SERVICE_URL_BYTES`] bytes, no whitespace or control characters.
pub fn validate_service_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_SERVICE_URL_BYTES {
        return Err(format!(
            "service URL is {} bytes, the limit is {MAX_SERVICE_URL_BYTES}",
            url.len()
        ));
    }
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "service URL {url:?}: character {c:?} is not allowed"
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("service URL {url:?} must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("service URL {url:?} has no host"));
    }
    Ok(())
}

/// Checks an application's delegated gateways: at most `max`, strictly
/// ascending, and not the application itself.
pub fn validate_gateways(app: &Address, gateways: &[Address], max: u32) -> Result<(), String> {
    if gateways.len() > max as usize {
        return Err(format!(
            "{} delegated gateways, the limit is {max} (economics.max_delegated_gateways)",
            gateways.len()
        ));
    }
    if let Some(w) = gateways.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!(
            "gateways must be strictly ascending: {} is followed by {}",
            w[0], w[1]
        ));
    }
    if gateways.contains(app) {
        return Err(format!(
            "the application {app} cannot be its own gateway (it may always sign)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chains(names: &[&str]) -> Vec<RelayChain> {
        names.iter().map(|n| RelayChain::from(*n)).collect()
    }

    #[test]
    fn chain_lists_must_be_valid_sorted_and_bounded() {
        assert!(validate_chains(&chains(&["eth", "gnosis"])).is_ok());
        assert!(validate_chains(&[]).is_err());
        assert!(validate_chains(&chains(&["gnosis", "eth"])).is_err());
        assert!(validate_chains(&chains(&["eth", "eth"])).is_err());
        assert!(validate_chains(&chains(&["eth main"])).is_err());
        assert!(validate_chains(&chains(&[""])).is_err());
        let at_limit = "a".repeat(MAX_RELAY_CHAIN_BYTES);
        assert!(validate_chains(&chains(&[&at_limit])).is_ok());
        let over = "a".repeat(MAX_RELAY_CHAIN_BYTES + 1);
        assert!(validate_chains(&chains(&[&over])).is_err());
        let many: Vec<RelayChain> = (0..MAX_CHAINS_PER_ACTOR)
            .map(|i| RelayChain(format!("c{i:02}")))
            .collect();
        assert!(validate_chains(&many).is_ok());
        let mut too_many = many.clone();
        too_many.push(RelayChain("z".into()));
        assert!(validate_chains(&too_many).is_err());
    }

    #[test]
    fn service_urls() {
        assert!(validate_service_url("https://relay.example.org:8545/v1").is_ok());
        assert!(validate_service_url("http://10.0.0.1").is_ok());
        assert!(validate_service_url("ftp://x").is_err());
        assert!(validate_service_url("https://").is_err());
        assert!(validate_service_url("https:///path").is_err());
        assert!(validate_service_url("https://a b").is_err());
        assert!(validate_service_url("").is_err());
        let long = format!("https://{}", "a".repeat(MAX_SERVICE_URL_BYTES - 8));
        assert!(validate_service_url(&long).is_ok());
        assert!(validate_service_url(&format!("{long}a")).is_err());
    }

    #[test]
    fn gateways_at_and_above_the_limit() {
        let app = Address([9; 20]);
        let g = [Address([1; 20]), Address([2; 20])];
        assert!(validate_gateways(&app, &g, 2).is_ok());
        assert!(validate_gateways(&app, &g, 1).is_err());
        assert!(validate_gateways(&app, &[], 0).is_ok());
        assert!(validate_gateways(&app, &[g[1], g[0]], 2).is_err());
        assert!(validate_gateways(&app, &[g[0], g[0]], 2).is_err());
        assert!(validate_gateways(&app, &[app], 2).is_err());
    }

    #[test]
    fn role_tags_round_trip() {
        for r in ActorRole::ALL {
            assert_eq!(ActorRole::from_tag(r.tag()), Some(r));
        }
        assert_eq!(ActorRole::from_tag(3), None);
        assert_eq!(ActorRole::Application.to_string(), "application");
    }
}
