//! The default values each profile gives to the fields a spec leaves out.

use crate::duration::Duration;
use crate::profile::Profile;

/// The version of the node image used when `spec.image` is left out.
pub const DEFAULT_IMAGE: &str = concat!(
    "ghcr.io/netwright/netwright-node:v",
    env!("CARGO_PKG_VERSION")
);

/// Every default of one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// `consensus.blockInterval`.
    pub block_interval: Duration,
    /// `consensus.timeouts.propose`.
    pub timeout_propose: Duration,
    /// `consensus.timeouts.prevote`.
    pub timeout_prevote: Duration,
    /// `consensus.timeouts.precommit`.
    pub timeout_precommit: Duration,
    /// `consensus.timeouts.commit`.
    pub timeout_commit: Duration,
    /// `consensus.maxBlockBytes`.
    pub max_block_bytes: u64,
    /// `consensus.maxTxsPerBlock`.
    pub max_txs_per_block: u64,
    /// `validators.replicas` when `validators` is left out.
    pub validator_replicas: u32,
    /// `economics.sessionBlocks`.
    pub session_blocks: u64,
    /// `economics.rewardPerRelay`.
    pub reward_per_relay: u64,
    /// `economics.servicersPerSession`.
    pub servicers_per_session: u32,
    /// `economics.sessionGraceBlocks`.
    pub session_grace_blocks: u64,
    /// `economics.relaysPerStake`.
    pub relays_per_stake: u64,
    /// `economics.jailBlocks`.
    pub jail_blocks: u64,
    /// `economics.maxDelegatedGateways`.
    pub max_delegated_gateways: u32,
    /// `economics.slashFractions.doubleSign`.
    pub slash_double_sign: f64,
    /// `economics.slashFractions.downtime`.
    pub slash_downtime: f64,
    /// `economics.slashFractions.relayFault`.
    pub slash_relay_fault: f64,
    /// `economics.unbondingBlocks`.
    pub unbonding_blocks: u64,
    /// `economics.minimumStakes.validator`; also the default validator stake.
    pub min_stake_validator: u64,
    /// `economics.minimumStakes.servicer`; also the default servicer stake.
    pub min_stake_servicer: u64,
    /// `economics.minimumStakes.fisherman`; also the default fisherman stake.
    pub min_stake_fisherman: u64,
    /// `economics.minimumStakes.application`; also the default application stake.
    pub min_stake_application: u64,
    /// `kubernetes.storage.size`.
    pub storage_size: &'static str,
    /// `kubernetes.resources.requests.cpu`.
    pub request_cpu: &'static str,
    /// `kubernetes.resources.requests.memory`.
    pub request_memory: &'static str,
}

/// The defaults of `profile`.
pub fn defaults(profile: Profile) -> Defaults {
    match profile {
        Profile::Localnet => Defaults {
            block_interval: Duration::from_secs(1),
            timeout_propose: Duration::from_secs(1),
            timeout_prevote: Duration::from_millis(500),
            timeout_precommit: Duration::from_millis(500),
            timeout_commit: Duration::from_millis(100),
            max_block_bytes: 1_048_576,
            max_txs_per_block: 1_000,
            validator_replicas: 4,
            session_blocks: 4,
            reward_per_relay: 1_000,
            servicers_per_session: 4,
            session_grace_blocks: 1,
            relays_per_stake: 100,
            jail_blocks: 10,
            max_delegated_gateways: 7,
            slash_double_sign: 0.05,
            slash_downtime: 0.0001,
            slash_relay_fault: 0.001,
            unbonding_blocks: 10,
            min_stake_validator: 1_000_000,
            min_stake_servicer: 1_000_000,
            min_stake_fisherman: 1_000_000,
            min_stake_application: 1_000_000,
            storage_size: "1Gi",
            request_cpu: "100m",
            request_memory: "256Mi",
        },
        Profile::Devnet => Defaults {
            block_interval: Duration::from_secs(2),
            timeout_propose: Duration::from_secs(2),
            timeout_prevote: Duration::from_secs(1),
            timeout_precommit: Duration::from_secs(1),
            timeout_commit: Duration::from_millis(500),
            max_block_bytes: 4_194_304,
            max_txs_per_block: 5_000,
            validator_replicas: 4,
            session_blocks: 8,
            reward_per_relay: 1_000,
            servicers_per_session: 8,
            session_grace_blocks: 1,
            relays_per_stake: 100,
            jail_blocks: 100,
            max_delegated_gateways: 7,
            slash_double_sign: 0.05,
            slash_downtime: 0.001,
            slash_relay_fault: 0.01,
            unbonding_blocks: 100,
            min_stake_validator: 10_000_000,
            min_stake_servicer: 10_000_000,
            min_stake_fisherman: 10_000_000,
            min_stake_application: 1_000_000,
            storage_size: "10Gi",
            request_cpu: "500m",
            request_memory: "1Gi",
        },
        Profile::Testnet => Defaults {
            block_interval: Duration::from_secs(5),
            timeout_propose: Duration::from_secs(3),
            timeout_prevote: Duration::from_secs(1),
            timeout_precommit: Duration::from_secs(1),
            timeout_commit: Duration::from_secs(1),
            max_block_bytes: 4_194_304,
            max_txs_per_block: 10_000,
            validator_replicas: 4,
            session_blocks: 16,
            reward_per_relay: 100,
            servicers_per_session: 24,
            session_grace_blocks: 2,
            relays_per_stake: 100,
            jail_blocks: 1_000,
            max_delegated_gateways: 7,
            slash_double_sign: 0.05,
            slash_downtime: 0.001,
            slash_relay_fault: 0.01,
            unbonding_blocks: 10_000,
            min_stake_validator: 15_000_000_000,
            min_stake_servicer: 15_000_000_000,
            min_stake_fisherman: 15_000_000_000,
            min_stake_application: 1_000_000_000,
            storage_size: "50Gi",
            request_cpu: "1",
            request_memory: "4Gi",
        },
    }
}

/// Defaults that do not depend on the profile: managed `anvil` nodes.
pub mod anvil {
    use crate::duration::Duration;

    /// `managed.anvil.chainId`.
    pub const CHAIN_ID: u64 = 31_337;
    /// `managed.anvil.blockTime`.
    pub const BLOCK_TIME: Duration = Duration::from_secs(1);
    /// `managed.anvil.accounts`.
    pub const ACCOUNTS: u32 = 10;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_has_sane_defaults() {
        for profile in Profile::ALL {
            let d = defaults(profile);
            assert!(
                d.validator_replicas >= 4,
                "{profile}: BFT needs 4 validators"
            );
            assert!(!d.timeout_propose.is_zero());
            assert!(d.session_blocks >= 1);
            for fraction in [d.slash_double_sign, d.slash_downtime, d.slash_relay_fault] {
                assert!((0.0..=1.0).contains(&fraction));
            }
        }
    }

    #[test]
    fn profiles_scale_stakes_up() {
        let local = defaults(Profile::Localnet);
        let test = defaults(Profile::Testnet);
        assert!(test.min_stake_validator > local.min_stake_validator);
        assert!(test.block_interval > local.block_interval);
    }
}
