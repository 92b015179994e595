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
    /// Servicers matched with each application on each relay chain per session (fewer when
    /// fewer serve the chain; 1 to 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_000))]
    pub servicers_per_session: Option<u32>,
    /// Blocks after a session's last block during which relays for it are still accepted
    /// (session rollover; 0 to 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000))]
    pub session_grace_blocks: Option<u64>,
    /// Relays per session an application may send per unit of its stake, shared among the
    /// session's servicers (each servicer's quota is stake x relaysPerStake / servicers;
    /// 1 to 1,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub relays_per_stake: Option<u64>,
    /// Blocks a jailed servicer, application or fisherman stays jailed before it may unjail
    /// (1 to 10,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub jail_blocks: Option<u64>,
    /// Most gateways an application may delegate relay signing to (0 to 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 16))]
    pub max_delegated_gateways: Option<u32>,
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
