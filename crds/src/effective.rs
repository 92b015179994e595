//! The effective spec: what a `Network` means once every left-out field takes its default.
//!
//! [`effective_spec`] is a pure function of the raw spec. It is meant for specs that passed
//! validation; on an invalid spec it still returns a value (for example `replicas` wins when
//! both `replicas` and `members` are set) but that value means nothing.

use std::collections::BTreeMap;

use crate::defaults::{anvil, defaults, DEFAULT_IMAGE};
use crate::duration::Duration;
use crate::metrics::GateMetric;
use crate::profile::Profile;
use crate::spec::{
    Condition, ConditionMode, Expectation, MissingMetric, NetworkSpec, OnViolation, RelayChainSpec,
};

/// A spec with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSpec {
    /// `chainId`.
    pub chain_id: String,
    /// Node container image.
    pub image: String,
    /// The profile whose defaults were applied.
    pub profile: Profile,
    /// Whether reconciliation is paused.
    pub paused: bool,
    /// Consensus timings and limits.
    pub consensus: EffectiveConsensus,
    /// Every validator, by name, in declaration order (`validator-0`, ... for `replicas`).
    pub validators: Vec<EffectiveMember>,
    /// The servicers.
    pub servicers: EffectiveServicers,
    /// The fishermen.
    pub fishermen: EffectiveFishermen,
    /// The applications, in declaration order.
    pub applications: Vec<EffectiveApplication>,
    /// The relay chains, in declaration order.
    pub relay_chains: Vec<EffectiveRelayChain>,
    /// Economic parameters.
    pub economics: EffectiveEconomics,
    /// The gates, in declaration order.
    pub gates: Vec<EffectiveGate>,
    /// Kubernetes-only settings.
    pub kubernetes: EffectiveKubernetes,
}

/// Consensus timings and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveConsensus {
    /// Target time between blocks.
    pub block_interval: Duration,
    /// Propose step timeout.
    pub propose: Duration,
    /// Prevote step timeout.
    pub prevote: Duration,
    /// Precommit step timeout.
    pub precommit: Duration,
    /// Commit wait.
    pub commit: Duration,
    /// Largest block in bytes.
    pub max_block_bytes: u64,
    /// Most transactions per block.
    pub max_txs_per_block: u64,
}

/// One validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveMember {
    /// Its name.
    pub name: String,
    /// Its stake in the smallest unit.
    pub stake: u64,
}

/// The servicers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveServicers {
    /// How many.
    pub replicas: u32,
    /// Stake of each.
    pub stake: u64,
    /// Relay chain ids each serves.
    pub chains: Vec<String>,
}

/// The fishermen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveFishermen {
    /// How many.
    pub replicas: u32,
    /// Stake of each.
    pub stake: u64,
}

/// One application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveApplication {
    /// Its name.
    pub name: String,
    /// Its stake.
    pub stake: u64,
    /// Relay chain ids it may use.
    pub chains: Vec<String>,
}

/// One relay chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveRelayChain {
    /// Four hex digits.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// JSON-RPC methods forwarded.
    pub allowed_methods: Vec<String>,
    /// Where requests go.
    pub source: RelaySource,
}

/// Where a relay chain's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelaySource {
    /// An existing JSON-RPC endpoint.
    Endpoint {
        /// Its URL.
        url: String,
    },
    /// A local `anvil` node run by netwright.
    Anvil {
        /// EVM chain id.
        chain_id: u64,
        /// Time between mined blocks.
        block_time: Duration,
        /// Funded development accounts.
        accounts: u32,
    },
}

/// Economic parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectiveEconomics {
    /// Session length in blocks.
    pub session_blocks: u64,
    /// Reward per relay.
    pub reward_per_relay: u64,
    /// Share of stake slashed for double signing.
    pub slash_double_sign: f64,
    /// Share of stake slashed for downtime.
    pub slash_downtime: f64,
    /// Share of stake slashed for a relay fault.
    pub slash_relay_fault: f64,
    /// Unbonding period in blocks.
    pub unbonding_blocks: u64,
    /// Minimum validator stake.
    pub min_stake_validator: u64,
    /// Minimum servicer stake.
    pub min_stake_servicer: u64,
    /// Minimum fisherman stake.
    pub min_stake_fisherman: u64,
    /// Minimum application stake.
    pub min_stake_application: u64,
    /// Servicers per session.
    pub servicers_per_session: u32,
    /// Grace blocks after a session.
    pub session_grace_blocks: u64,
    /// Relays per unit of application stake per session.
    pub relays_per_stake: u64,
    /// Jail time in blocks.
    pub jail_blocks: u64,
    /// Most delegated gateways per application.
    pub max_delegated_gateways: u32,
}

/// One gate.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveGate {
    /// Its name.
    pub name: String,
    /// Its description (empty when none).
    pub description: String,
    /// Its conditions.
    pub conditions: Vec<EffectiveCondition>,
    /// Deadline from eligibility, if any.
    pub within: Option<Duration>,
    /// Soak time.
    pub hold_for: Duration,
    /// Gates that must pass first.
    pub after: Vec<String>,
    /// What a violation does.
    pub on_violation: OnViolation,
    /// What a condition whose metric no node reports does.
    pub missing: MissingMetric,
    /// The verdict the gate expects.
    pub expect: Expectation,
}

/// One gate condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectiveCondition {
    /// The metric tested.
    pub metric: GateMetric,
    /// Whether the network's figure or its change since eligibility is compared.
    pub mode: ConditionMode,
    /// Holds when the compared value is at least this.
    pub gte: Option<f64>,
    /// Holds when the compared value is at most this.
    pub lte: Option<f64>,
    /// Holds when the compared value equals this.
    pub eq: Option<f64>,
}

impl From<&Condition> for EffectiveCondition {
    fn from(c: &Condition) -> Self {
        EffectiveCondition {
            metric: c.metric,
            mode: c.mode.unwrap_or_default(),
            gte: c.gte,
            lte: c.lte,
            eq: c.eq,
        }
    }
}

/// Kubernetes-only settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveKubernetes {
    /// CPU request.
    pub request_cpu: String,
    /// Memory request.
    pub request_memory: String,
    /// CPU limit, if any.
    pub limit_cpu: Option<String>,
    /// Memory limit, if any.
    pub limit_memory: Option<String>,
    /// Volume size.
    pub storage_size: String,
    /// Storage class, if not the cluster default.
    pub storage_class_name: Option<String>,
    /// Annotations on every node pod.
    pub pod_annotations: BTreeMap<String, String>,
}

/// Applies the profile's defaults to every field `spec` leaves out.
pub fn effective_spec(spec: &NetworkSpec) -> EffectiveSpec {
    let profile = spec.profile.unwrap_or_default();
    let d = defaults(profile);
    let all_chain_ids: Vec<String> = spec
        .relay_chains
        .iter()
        .flatten()
        .map(|c| c.id.clone())
        .collect();

    let consensus = spec.consensus.clone().unwrap_or_default();
    let timeouts = consensus.timeouts.unwrap_or_default();
    let economics = spec.economics.clone().unwrap_or_default();
    let slash = economics.slash_fractions.unwrap_or_default();
    let minimums = economics.minimum_stakes.unwrap_or_default();
    let min_stake_validator = minimums.validator.unwrap_or(d.min_stake_validator);
    let min_stake_servicer = minimums.servicer.unwrap_or(d.min_stake_servicer);
    let min_stake_fisherman = minimums.fisherman.unwrap_or(d.min_stake_fisherman);
    let min_stake_application = minimums.application.unwrap_or(d.min_stake_application);

    let validators_spec = spec.validators.clone().unwrap_or_default();
    let validator_stake = validators_spec.stake.unwrap_or(min_stake_validator);
    let validators = match (validators_spec.replicas, validators_spec.members) {
        (None, Some(members)) => members
            .into_iter()
            .map(|m| EffectiveMember {
                name: m.name,
                stake: m.stake.unwrap_or(validator_stake),
            })
            .collect(),
        (replicas, _) => (0..replicas.unwrap_or(d.validator_replicas))
            .map(|i| EffectiveMember {
                name: format!("validator-{i}"),
                stake: validator_stake,
            })
            .collect(),
    };

    let servicers_spec = spec.servicers.clone().unwrap_or_default();
    let fishermen_spec = spec.fishermen.clone().unwrap_or_default();
    let kubernetes = spec.kubernetes.clone().unwrap_or_default();
    let resources = kubernetes.resources.unwrap_or_default();
    let requests = resources.requests.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    let storage = kubernetes.storage.unwrap_or_default();

    EffectiveSpec {
        chain_id: spec.chain_id.clone(),
        image: spec
            .image
            .clone()
            .unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
        profile,
        paused: spec.paused.unwrap_or(false),
        consensus: EffectiveConsensus {
            block_interval: consensus.block_interval.unwrap_or(d.block_interval),
            propose: timeouts.propose.unwrap_or(d.timeout_propose),
            prevote: timeouts.prevote.unwrap_or(d.timeout_prevote),
            precommit: timeouts.precommit.unwrap_or(d.timeout_precommit),
            commit: timeouts.commit.unwrap_or(d.timeout_commit),
            max_block_bytes: consensus.max_block_bytes.unwrap_or(d.max_block_bytes),
            max_txs_per_block: consensus.max_txs_per_block.unwrap_or(d.max_txs_per_block),
        },
        validators,
        servicers: EffectiveServicers {
            replicas: servicers_spec.replicas.unwrap_or(0),
            stake: servicers_spec.stake.unwrap_or(min_stake_servicer),
            chains: servicers_spec
                .chains
                .unwrap_or_else(|| all_chain_ids.clone()),
        },
        fishermen: EffectiveFishermen {
            replicas: fishermen_spec.replicas.unwrap_or(0),
            stake: fishermen_spec.stake.unwrap_or(min_stake_fisherman),
        },
        applications: spec
            .applications
            .iter()
            .flatten()
            .map(|a| EffectiveApplication {
                name: a.name.clone(),
                stake: a.stake.unwrap_or(min_stake_application),
                chains: a.chains.clone().unwrap_or_else(|| all_chain_ids.clone()),
            })
            .collect(),
        relay_chains: spec
            .relay_chains
            .iter()
            .flatten()
            .map(relay_chain)
            .collect(),
        economics: EffectiveEconomics {
            session_blocks: economics.session_blocks.unwrap_or(d.session_blocks),
            reward_per_relay: economics.reward_per_relay.unwrap_or(d.reward_per_relay),
            slash_double_sign: slash.double_sign.unwrap_or(d.slash_double_sign),
            slash_downtime: slash.downtime.unwrap_or(d.slash_downtime),
            slash_relay_fault: slash.relay_fault.unwrap_or(d.slash_relay_fault),
            unbonding_blocks: economics.unbonding_blocks.unwrap_or(d.unbonding_blocks),
            min_stake_validator,
            min_stake_servicer,
            min_stake_fisherman,
            min_stake_application,
            servicers_per_session: economics
                .servicers_per_session
                .unwrap_or(d.servicers_per_session),
            session_grace_blocks: economics
                .session_grace_blocks
                .unwrap_or(d.session_grace_blocks),
            relays_per_stake: economics.relays_per_stake.unwrap_or(d.relays_per_stake),
            jail_blocks: economics.jail_blocks.unwrap_or(d.jail_blocks),
            max_delegated_gateways: economics
                .max_delegated_gateways
                .unwrap_or(d.max_delegated_gateways),
        },
        gates: spec
            .gates
            .iter()
            .flatten()
            .map(|g| EffectiveGate {
                name: g.name.clone(),
                description: g.description.clone().unwrap_or_default(),
                conditions: g.conditions.iter().map(EffectiveCondition::from).collect(),
                within: g.within,
                hold_for: g.hold_for.unwrap_or_default(),
                after: g.after.clone().unwrap_or_default(),
                on_violation: g.on_violation.unwrap_or(OnViolation::Halt),
                missing: g.missing.unwrap_or_default(),
                expect: g.expect.unwrap_or_default(),
            })
            .collect(),
        kubernetes: EffectiveKubernetes {
            request_cpu: requests.cpu.unwrap_or_else(|| d.request_cpu.to_owned()),
            request_memory: requests
                .memory
                .unwrap_or_else(|| d.request_memory.to_owned()),
            limit_cpu: limits.cpu,
            limit_memory: limits.memory,
            storage_size: storage.size.unwrap_or_else(|| d.storage_size.to_owned()),
            storage_class_name: storage.storage_class_name,
            pod_annotations: kubernetes.pod_annotations.unwrap_or_default(),
        },
    }
}

fn relay_chain(chain: &RelayChainSpec) -> EffectiveRelayChain {
    let source = match (&chain.endpoint, &chain.managed) {
        (Some(endpoint), _) => RelaySource::Endpoint {
            url: endpoint.url.clone(),
        },
        (None, managed) => {
            let settings = managed
                .as_ref()
                .and_then(|m| m.anvil.clone())
                .unwrap_or_default();
            RelaySource::Anvil {
                chain_id: settings.chain_id.unwrap_or(anvil::CHAIN_ID),
                block_time: settings.block_time.unwrap_or(anvil::BLOCK_TIME),
                accounts: settings.accounts.unwrap_or(anvil::ACCOUNTS),
            }
        }
    };
    EffectiveRelayChain {
        id: chain.id.clone(),
        name: chain.name.clone(),
        allowed_methods: chain.allowed_methods.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MemberSpec, ValidatorsSpec};

    fn minimal(profile: Option<Profile>) -> NetworkSpec {
        serde_json::from_value(serde_json::json!({
            "chainId": "c1",
            "profile": profile.map(|p| p.name()),
        }))
        .expect("minimal spec deserializes")
    }

    #[test]
    fn minimal_spec_takes_profile_defaults() {
        for profile in Profile::ALL {
            let eff = effective_spec(&minimal(Some(profile)));
            let d = defaults(profile);
            assert_eq!(eff.profile, profile);
            assert_eq!(eff.consensus.block_interval, d.block_interval);
            assert_eq!(eff.validators.len(), d.validator_replicas as usize);
            assert!(eff
                .validators
                .iter()
                .all(|v| v.stake == d.min_stake_validator));
            assert_eq!(eff.economics.unbonding_blocks, d.unbonding_blocks);
            assert_eq!(eff.kubernetes.storage_size, d.storage_size);
            assert_eq!(eff.image, DEFAULT_IMAGE);
            assert!(!eff.paused);
        }
        assert_eq!(effective_spec(&minimal(None)).profile, Profile::Localnet);
    }

    #[test]
    fn explicit_values_win_over_defaults() {
        let mut spec = minimal(Some(Profile::Testnet));
        spec.validators = Some(ValidatorsSpec {
            replicas: None,
            stake: Some(7),
            members: Some(vec![
                MemberSpec {
                    name: "a".into(),
                    stake: Some(9),
                },
                MemberSpec {
                    name: "b".into(),
                    stake: None,
                },
            ]),
        });
        let eff = effective_spec(&spec);
        assert_eq!(
            eff.validators,
            vec![
                EffectiveMember {
                    name: "a".into(),
                    stake: 9
                },
                EffectiveMember {
                    name: "b".into(),
                    stake: 7
                },
            ]
        );
    }

    #[test]
    fn gates_default_to_absolute_wait_pass_and_halt() {
        let spec: NetworkSpec = serde_json::from_value(serde_json::json!({
            "chainId": "c1",
            "gates": [
                {"name": "a", "conditions": [{"metric": "height", "gte": 1}]},
                {"name": "b", "within": "1m", "missing": "fail", "expect": "fail",
                 "conditions": [{"metric": "height", "mode": "delta", "gte": 3}]}
            ]
        }))
        .expect("spec deserializes");
        let eff = effective_spec(&spec);
        let (a, b) = (&eff.gates[0], &eff.gates[1]);
        assert_eq!(a.conditions[0].mode, ConditionMode::Absolute);
        assert_eq!(
            (a.missing, a.expect),
            (MissingMetric::Wait, Expectation::Pass)
        );
        assert_eq!(a.on_violation, OnViolation::Halt);
        assert!(a.hold_for.is_zero());
        assert_eq!(b.conditions[0].mode, ConditionMode::Delta);
        assert_eq!(b.conditions[0].gte, Some(3.0));
        assert_eq!(
            (b.missing, b.expect),
            (MissingMetric::Fail, Expectation::Fail)
        );
    }

    #[test]
    fn servicers_and_applications_default_to_every_relay_chain() {
        let spec: NetworkSpec = serde_json::from_value(serde_json::json!({
            "chainId": "c1",
            "servicers": {"replicas": 2},
            "applications": [{"name": "app"}],
            "relayChains": [
                {"id": "0021", "name": "eth", "allowedMethods": ["eth_call"], "managed": {"kind": "anvil"}},
                {"id": "0001", "name": "x", "allowedMethods": ["m"], "endpoint": {"url": "http://x:1"}}
            ]
        }))
        .expect("spec deserializes");
        let eff = effective_spec(&spec);
        assert_eq!(eff.servicers.chains, ["0021", "0001"]);
        assert_eq!(eff.applications[0].chains, ["0021", "0001"]);
        assert_eq!(
            eff.relay_chains[0].source,
            RelaySource::Anvil {
                chain_id: 31_337,
                block_time: Duration::from_secs(1),
                accounts: 10
            }
        );
        assert_eq!(
            eff.relay_chains[1].source,
            RelaySource::Endpoint {
                url: "http://x:1".into()
            }
        );
    }
}
