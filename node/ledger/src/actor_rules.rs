//! The rules of the servicer, application and fisherman transactions:
//! stake and edit-stake, unstake, pause and unpause, unjail; and jailing,
//! which the slashing rules will call. As in [`crate::exec`], every mutation
//! is preceded by all of its checks, so a failing step changes nothing.

use crate::actors::{
    validate_chains, validate_gateways, validate_service_url, ActorRecord, ActorRole, RelayChain,
};
use crate::address::Address;
use crate::error::TxError;
use crate::exec::{add_unbonding, set_balance, Changes};
use crate::state::{State, StateKey};
use crate::tx::TxBody;

fn invalid(field: &'static str) -> impl Fn(String) -> TxError {
    move |reason| TxError::InvalidActorField { field, reason }
}

fn record<'a>(
    state: &'a State,
    role: ActorRole,
    sender: &Address,
) -> Result<&'a ActorRecord, TxError> {
    state
        .actors
        .get(&(role, *sender))
        .ok_or(TxError::NotStaked { role })
}

/// The stake, chains and role-specific fields a stake body asks for.
struct StakeRequest<'a> {
    role: ActorRole,
    stake: u64,
    chains: &'a [RelayChain],
    service_url: &'a str,
    gateways: &'a [crate::address::Address],
}

fn stake_request(body: &TxBody) -> Option<StakeRequest<'_>> {
    match body {
        TxBody::ServicerStake {
            stake,
            chains,
            service_url,
        } => Some(StakeRequest {
            role: ActorRole::Servicer,
            stake: *stake,
            chains,
            service_url,
            gateways: &[],
        }),
        TxBody::ApplicationStake {
            stake,
            chains,
            gateways,
        } => Some(StakeRequest {
            role: ActorRole::Application,
            stake: *stake,
            chains,
            service_url: "",
            gateways,
        }),
        TxBody::FishermanStake { stake, chains } => Some(StakeRequest {
            role: ActorRole::Fisherman,
            stake: *stake,
            chains,
            service_url: "",
            gateways: &[],
        }),
        _ => None,
    }
}

/// The balance a body takes from the sender: the raise of an actor stake
/// (0 for every other actor body).
pub(crate) fn funds_needed(state: &State, sender: &Address, body: &TxBody) -> u64 {
    match stake_request(body) {
        Some(req) => {
            let current = state
                .actors
                .get(&(req.role, *sender))
                .map_or(0, |r| r.stake);
            req.stake.saturating_sub(current)
        }
        None => 0,
    }
}

/// Checks an actor body against the state at `height`, given the balance
/// left after the fee. Bodies that are not actor bodies pass.
pub(crate) fn check(
    state: &State,
    sender: &Address,
    body: &TxBody,
    balance: u64,
    height: u64,
) -> Result<(), TxError> {
    let params = state.economics.at(height);
    if let Some(req) = stake_request(body) {
        if req.stake == 0 {
            return Err(TxError::ZeroAmount);
        }
        validate_chains(req.chains).map_err(invalid("body.chains"))?;
        match req.role {
            ActorRole::Servicer => {
                validate_service_url(req.service_url).map_err(invalid("body.service_url"))?
            }
            ActorRole::Application => {
                validate_gateways(sender, req.gateways, params.max_delegated_gateways)
                    .map_err(invalid("body.gateways"))?
            }
            ActorRole::Fisherman => {}
        }
        let minimum = params.min_stake(req.role);
        if req.stake < minimum {
            return Err(TxError::StakeBelowMinimum {
                stake: req.stake,
                minimum,
            });
        }
        let existing = state.actors.get(&(req.role, *sender));
        let current = existing.map_or(0, |r| r.stake);
        if req.stake > current {
            let raise = req.stake - current;
            if raise > balance {
                return Err(TxError::InsufficientFunds {
                    needed: raise,
                    available: balance,
                });
            }
        } else if let Some(until) = existing.and_then(|r| r.jailed_until) {
            if req.stake < current {
                return Err(TxError::Jailed { until });
            }
        }
        return Ok(());
    }
    match body {
        TxBody::ServicerUnstake | TxBody::ApplicationUnstake | TxBody::FishermanUnstake => {
            let role = body.actor_role().unwrap_or(ActorRole::Servicer);
            let r = record(state, role, sender)?;
            match r.jailed_until {
                Some(until) if height < until => Err(TxError::Jailed { until }),
                _ => Ok(()),
            }
        }
        TxBody::ServicerPause => {
            if record(state, ActorRole::Servicer, sender)?.paused {
                return Err(TxError::AlreadyPaused);
            }
            Ok(())
        }
        TxBody::ServicerUnpause => {
            if !record(state, ActorRole::Servicer, sender)?.paused {
                return Err(TxError::NotPaused);
            }
            Ok(())
        }
        TxBody::Unjail { role } => {
            let r = record(state, *role, sender)?;
            let until = r.jailed_until.ok_or(TxError::NotJailed)?;
            if height < until {
                return Err(TxError::Jailed { until });
            }
            let minimum = params.min_stake(*role);
            if r.stake < minimum {
                return Err(TxError::StakeBelowMinimum {
                    stake: r.stake,
                    minimum,
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Executes an actor body that [`check`] accepted at `height`; `signer` is
/// the sender's key. Bodies that are not actor bodies change nothing.
pub(crate) fn execute(
    state: &mut State,
    changes: &mut Changes,
    sender: &Address,
    signer: [u8; 32],
    body: &TxBody,
    height: u64,
) {
    let unbonding_blocks = state.economics.at(height).unbonding_blocks;
    let maturity = height.saturating_add(unbonding_blocks);
    if let Some(req) = stake_request(body) {
        let key = (req.role, *sender);
        let current = state.actors.get(&key).map_or(0, |r| r.stake);
        if req.stake > current {
            let balance = state.accounts.get(sender).map_or(0, |a| a.balance);
            set_balance(state, changes, sender, balance - (req.stake - current));
        } else if req.stake < current {
            add_unbonding(state, changes, sender, current - req.stake, maturity);
        }
        let record = state.actors.entry(key).or_insert_with(|| ActorRecord {
            public_key: signer,
            stake: 0,
            chains: Vec::new(),
            service_url: String::new(),
            gateways: Vec::new(),
            paused: false,
            jailed_until: None,
        });
        record.stake = req.stake;
        record.chains = req.chains.to_vec();
        record.service_url = req.service_url.to_owned();
        record.gateways = req.gateways.to_vec();
        changes.dirty.insert(StateKey::Actor(req.role, *sender));
        return;
    }
    let Some(role) = body.actor_role() else {
        return;
    };
    let key = (role, *sender);
    match body {
        TxBody::ServicerUnstake | TxBody::ApplicationUnstake | TxBody::FishermanUnstake => {
            if let Some(r) = state.actors.remove(&key) {
                add_unbonding(state, changes, sender, r.stake, maturity);
            }
        }
        TxBody::ServicerPause | TxBody::ServicerUnpause => {
            if let Some(r) = state.actors.get_mut(&key) {
                r.paused = matches!(body, TxBody::ServicerPause);
            }
        }
        TxBody::Unjail { .. } => {
            if let Some(r) = state.actors.get_mut(&key) {
                r.jailed_until = None;
            }
        }
        _ => return,
    }
    changes.dirty.insert(StateKey::Actor(role, *sender));
}

/// Jails an actor at `height` for the jail time in force then (extending a
/// jail already running, never shortening it). Returns false if there is no
/// such actor. The slashing rules will call this; today only tests do.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn jail(
    state: &mut State,
    changes: &mut Changes,
    role: ActorRole,
    address: &Address,
    height: u64,
) -> bool {
    let until = height.saturating_add(state.economics.at(height).jail_blocks);
    let Some(r) = state.actors.get_mut(&(role, *address)) else {
        return false;
    };
    r.jailed_until = Some(r.jailed_until.map_or(until, |u| u.max(until)));
    changes.dirty.insert(StateKey::Actor(role, *address));
    true
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::crypto::PublicKey;
    use crate::economics::{EconomicParams, ParamsHistory};
    use crate::exec::{charge, execute_body, mature_unbonding};
    use crate::genesis::Params;
    use crate::state::{Account, LastBlock};
    use crate::tx::{SignedTx, TxPayload};

    const MIN_SERVICER: u64 = 100;
    const MIN_APP: u64 = 50;
    const UNBONDING: u64 = 3;
    const JAIL: u64 = 4;

    struct World {
        state: State,
        key: SigningKey,
        me: Address,
        nonce: u64,
    }

    impl World {
        fn new(balance: u64) -> World {
            let key = SigningKey::from_bytes(&[7; 32]);
            let me = Address::from_public_key(&PublicKey::from(key.verifying_key()));
            let mut state = State {
                chain_id: "c".into(),
                params: Params {
                    unbonding_period_blocks: 1,
                    min_validator_stake: 1,
                    max_txs_per_block: 10,
                },
                last: LastBlock {
                    height: 0,
                    time_ms: 0,
                },
                fee_pool: 0,
                accounts: BTreeMap::new(),
                validators: BTreeMap::new(),
                unbonding: BTreeMap::new(),
                economics: ParamsHistory::new(
                    1,
                    EconomicParams {
                        min_servicer_stake: MIN_SERVICER,
                        min_application_stake: MIN_APP,
                        min_fisherman_stake: 80,
                        unbonding_blocks: UNBONDING,
                        jail_blocks: JAIL,
                        max_delegated_gateways: 2,
                        ..EconomicParams::default()
                    },
                ),
                actors: BTreeMap::new(),
                sessions: BTreeMap::new(),
            };
            state.accounts.insert(me, Account { balance, nonce: 0 });
            World {
                state,
                key,
                me,
                nonce: 0,
            }
        }

        /// Runs one transaction at `height`; the state is unchanged on error
        /// (the fee is 0).
        fn run(&mut self, height: u64, body: TxBody) -> Result<(), TxError> {
            let tx: SignedTx = TxPayload {
                chain_id: "c".into(),
                signer: PublicKey::from(self.key.verifying_key()),
                nonce: self.nonce,
                fee: 0,
                body,
            }
            .sign(&self.key);
            let mut changes = Changes::default();
            charge(&mut self.state, &mut changes, &self.me, &tx)?;
            self.nonce += 1;
            let before = self.state.clone();
            let result = execute_body(&mut self.state, &mut changes, &self.me, &tx, height);
            if result.is_err() {
                assert_eq!(self.state, before, "a failed body changes nothing");
            }
            result
        }

        fn balance(&self) -> u64 {
            self.state.accounts[&self.me].balance
        }

        fn servicer(&self) -> Option<&ActorRecord> {
            self.state.actors.get(&(ActorRole::Servicer, self.me))
        }

        fn jail(&mut self, height: u64) {
            assert!(jail(
                &mut self.state,
                &mut Changes::default(),
                ActorRole::Servicer,
                &self.me.clone(),
                height
            ));
        }
    }

    fn servicer_stake(stake: u64) -> TxBody {
        TxBody::ServicerStake {
            stake,
            chains: vec!["eth".into()],
            service_url: "https://relay.example".into(),
        }
    }

    #[test]
    fn stake_minimum_is_inclusive_for_every_role() {
        for (role, min) in [
            (ActorRole::Servicer, MIN_SERVICER),
            (ActorRole::Application, MIN_APP),
            (ActorRole::Fisherman, 80),
        ] {
            let body = |stake| match role {
                ActorRole::Servicer => servicer_stake(stake),
                ActorRole::Application => TxBody::ApplicationStake {
                    stake,
                    chains: vec!["eth".into()],
                    gateways: vec![],
                },
                ActorRole::Fisherman => TxBody::FishermanStake {
                    stake,
                    chains: vec!["eth".into()],
                },
            };
            let mut w = World::new(1_000);
            assert_eq!(w.run(1, body(0)), Err(TxError::ZeroAmount));
            assert_eq!(
                w.run(1, body(min - 1)),
                Err(TxError::StakeBelowMinimum {
                    stake: min - 1,
                    minimum: min
                }),
                "{role}"
            );
            assert_eq!(w.run(1, body(min)), Ok(()), "{role}");
            assert_eq!(w.balance(), 1_000 - min);
            let mut w = World::new(1_000);
            assert_eq!(w.run(1, body(min + 1)), Ok(()), "{role}");
            assert_eq!(w.state.actors[&(role, w.me)].stake, min + 1);
        }
    }

    #[test]
    fn stake_raise_needs_the_balance_and_a_decrease_unbonds() {
        let mut w = World::new(300);
        assert_eq!(
            w.run(1, servicer_stake(301)),
            Err(TxError::InsufficientFunds {
                needed: 301,
                available: 300
            })
        );
        assert_eq!(w.run(1, servicer_stake(200)), Ok(()));
        // A raise takes only the difference.
        assert_eq!(
            w.run(2, servicer_stake(301)),
            Err(TxError::InsufficientFunds {
                needed: 101,
                available: 100
            })
        );
        assert_eq!(w.run(2, servicer_stake(300)), Ok(()));
        assert_eq!((w.balance(), w.servicer().map(|s| s.stake)), (0, Some(300)));
        // Lowering: to the minimum is fine, below it is refused.
        assert_eq!(
            w.run(3, servicer_stake(MIN_SERVICER - 1)),
            Err(TxError::StakeBelowMinimum {
                stake: MIN_SERVICER - 1,
                minimum: MIN_SERVICER
            })
        );
        assert_eq!(w.run(3, servicer_stake(MIN_SERVICER)), Ok(()));
        assert_eq!(w.state.unbonding.get(&(3 + UNBONDING, w.me)), Some(&200));
        let mut c = Changes::default();
        mature_unbonding(&mut w.state, &mut c, 3 + UNBONDING - 1);
        assert_eq!(w.balance(), 0, "not before maturity");
        mature_unbonding(&mut w.state, &mut c, 3 + UNBONDING);
        assert_eq!(w.balance(), 200);
    }

    #[test]
    fn edit_replaces_fields_and_keeps_pause() {
        let mut w = World::new(1_000);
        w.run(1, servicer_stake(100)).unwrap();
        w.run(1, TxBody::ServicerPause).unwrap();
        w.run(
            2,
            TxBody::ServicerStake {
                stake: 100,
                chains: vec!["a".into(), "b".into()],
                service_url: "http://other.example".into(),
            },
        )
        .unwrap();
        let s = w.servicer().unwrap();
        assert_eq!(s.chains, vec![RelayChain::from("a"), RelayChain::from("b")]);
        assert_eq!(s.service_url, "http://other.example");
        assert!(s.paused);
        assert!(matches!(
            w.run(
                2,
                TxBody::ServicerStake {
                    stake: 100,
                    chains: vec!["b".into(), "a".into()],
                    service_url: "http://other.example".into(),
                }
            ),
            Err(TxError::InvalidActorField {
                field: "body.chains",
                ..
            })
        ));
        assert!(matches!(
            w.run(
                2,
                TxBody::ServicerStake {
                    stake: 100,
                    chains: vec!["a".into()],
                    service_url: "other.example".into(),
                }
            ),
            Err(TxError::InvalidActorField {
                field: "body.service_url",
                ..
            })
        ));
    }

    #[test]
    fn gateways_up_to_the_parameter() {
        let mut w = World::new(1_000);
        let app = |gateways: Vec<Address>| TxBody::ApplicationStake {
            stake: MIN_APP,
            chains: vec!["eth".into()],
            gateways,
        };
        let g = |b: u8| Address([b; 20]);
        assert_eq!(w.run(1, app(vec![g(1), g(2)])), Ok(()));
        assert!(matches!(
            w.run(1, app(vec![g(1), g(2), g(3)])),
            Err(TxError::InvalidActorField {
                field: "body.gateways",
                ..
            })
        ));
        let me = w.me;
        assert!(matches!(
            w.run(1, app(vec![me])),
            Err(TxError::InvalidActorField {
                field: "body.gateways",
                ..
            })
        ));
        assert_eq!(
            w.state.actors[&(ActorRole::Application, me)].gateways,
            vec![g(1), g(2)]
        );
    }

    #[test]
    fn pause_and_unpause_rules() {
        let mut w = World::new(1_000);
        assert_eq!(
            w.run(1, TxBody::ServicerPause),
            Err(TxError::NotStaked {
                role: ActorRole::Servicer
            })
        );
        w.run(1, servicer_stake(100)).unwrap();
        assert_eq!(w.run(1, TxBody::ServicerUnpause), Err(TxError::NotPaused));
        assert_eq!(w.run(1, TxBody::ServicerPause), Ok(()));
        assert_eq!(w.run(1, TxBody::ServicerPause), Err(TxError::AlreadyPaused));
        assert!(!w.servicer().unwrap().is_active());
        assert_eq!(w.run(2, TxBody::ServicerUnpause), Ok(()));
        assert!(w.servicer().unwrap().is_active());
    }

    #[test]
    fn unstake_moves_the_whole_stake_to_unbonding() {
        let mut w = World::new(1_000);
        assert_eq!(
            w.run(1, TxBody::FishermanUnstake),
            Err(TxError::NotStaked {
                role: ActorRole::Fisherman
            })
        );
        w.run(1, servicer_stake(150)).unwrap();
        assert_eq!(w.run(5, TxBody::ServicerUnstake), Ok(()));
        assert!(w.servicer().is_none());
        assert_eq!(w.state.unbonding.get(&(5 + UNBONDING, w.me)), Some(&150));
        // Staking again is a fresh record.
        assert_eq!(w.run(6, servicer_stake(100)), Ok(()));
        assert_eq!(w.servicer().map(|s| s.stake), Some(100));
    }

    #[test]
    fn jail_time_thresholds() {
        let mut w = World::new(1_000);
        w.run(1, servicer_stake(150)).unwrap();
        assert_eq!(
            w.run(
                2,
                TxBody::Unjail {
                    role: ActorRole::Servicer
                }
            ),
            Err(TxError::NotJailed)
        );
        w.jail(10);
        let until = 10 + JAIL;
        assert_eq!(w.servicer().unwrap().jailed_until, Some(until));
        // Jailing again earlier never shortens the time.
        w.jail(9);
        assert_eq!(w.servicer().unwrap().jailed_until, Some(until));
        let unjail = TxBody::Unjail {
            role: ActorRole::Servicer,
        };
        // Lowering the stake while jailed is refused, raising it is not.
        assert_eq!(
            w.run(11, servicer_stake(149)),
            Err(TxError::Jailed { until })
        );
        assert_eq!(w.run(11, servicer_stake(160)), Ok(()));
        assert_eq!(
            w.run(until - 1, TxBody::ServicerUnstake),
            Err(TxError::Jailed { until })
        );
        assert_eq!(
            w.run(until - 1, unjail.clone()),
            Err(TxError::Jailed { until })
        );
        assert_eq!(w.run(until, unjail.clone()), Ok(()));
        assert_eq!(w.servicer().unwrap().jailed_until, None);
        // Just above the jail time, and a jailed actor past it may unstake.
        w.jail(20);
        assert_eq!(w.run(20 + JAIL + 1, unjail.clone()), Ok(()));
        w.jail(30);
        assert_eq!(w.run(30 + JAIL, TxBody::ServicerUnstake), Ok(()));
    }

    #[test]
    fn unjail_needs_the_minimum_stake() {
        let mut w = World::new(1_000);
        w.run(1, servicer_stake(MIN_SERVICER)).unwrap();
        w.jail(1);
        // What slashing will do: the stake falls below the minimum.
        w.state
            .actors
            .get_mut(&(ActorRole::Servicer, w.me))
            .unwrap()
            .stake = MIN_SERVICER - 1;
        let unjail = TxBody::Unjail {
            role: ActorRole::Servicer,
        };
        assert_eq!(
            w.run(1 + JAIL, unjail.clone()),
            Err(TxError::StakeBelowMinimum {
                stake: MIN_SERVICER - 1,
                minimum: MIN_SERVICER
            })
        );
        assert_eq!(w.run(1 + JAIL, servicer_stake(MIN_SERVICER)), Ok(()));
        assert_eq!(w.run(1 + JAIL, unjail), Ok(()));
    }
}
