//! Sessions, rewards, slashing, unbonding and minimum stakes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The economic parameters written into genesis. Every field defaults from the profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EconomicsSpec {
    /// Length of a relay session in blocks: applications are matched with servicers per
    /// session (1 to 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub session_blocks: Option<u64>,
    /// Reward minted to a servicer for each relay proven on chain, in the smallest unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_per_relay: Option<u64>,
    /// Share of stake burned for each kind of misbehaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slash_fractions: Option<SlashFractions>,
    /// Blocks between an unstake request and the stake becoming liquid (1 to 10,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub unbonding_blocks: Option<u64>,
    /// Smallest stake each role may hold, in the smallest unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_stakes: Option<MinimumStakes>,
}

/// Share of stake burned per offence, each between 0 and 1. Genesis stores them as parts per
/// million, rounded down.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlashFractions {
    /// Signing two different blocks at the same height and round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub double_sign: Option<f64>,
    /// Missing too many blocks in a signing window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub downtime: Option<f64>,
    /// A servicer failing the fishermen's relay sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub relay_fault: Option<f64>,
}

/// Smallest stake per role, in the smallest unit. Each at least 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MinimumStakes {
    /// Minimum validator stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub validator: Option<u64>,
    /// Minimum servicer stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub servicer: Option<u64>,
    /// Minimum fisherman stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fisherman: Option<u64>,
    /// Minimum application stake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub application: Option<u64>,
}
