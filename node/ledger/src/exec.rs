//! Transaction rules against the state: the checks the mempool runs and the
//! execution a block performs. Every mutation is preceded by all of its
//! checks, so a failing step leaves the state untouched.

use std::collections::{BTreeMap, BTreeSet};

use crate::actor_rules;
use crate::address::Address;
use crate::error::TxError;
use crate::session::SessionSnapshot;
use crate::state::{Account, State, StateKey, ValidatorRecord};
use crate::tx::{SignedTx, TxBody};

/// What one block changed so far.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Keys written or deleted.
    pub dirty: BTreeSet<StateKey>,
    /// Validators touched, with their key and power before the block (0 if new).
    pub validators_before: BTreeMap<Address, ([u8; 32], u64)>,
}

impl Changes {
    fn touch_validator(&mut self, state: &State, addr: Address, key: [u8; 32]) {
        self.validators_before.entry(addr).or_insert_with(|| {
            let power = state.validators.get(&addr).map_or(0, |v| v.stake);
            (key, power)
        });
        self.dirty.insert(StateKey::Validator(addr));
    }
}

fn account(state: &State, addr: &Address) -> Account {
    state.accounts.get(addr).copied().unwrap_or_default()
}

/// Stateful checks for admission to the mempool. Nonces ahead of the
/// account's next nonce are accepted (they wait in the mempool); funds are
/// checked against the committed balance.
pub(crate) fn check(state: &State, sender: &Address, tx: &SignedTx) -> Result<(), TxError> {
    let p = &tx.payload;
    let acc = account(state, sender);
    if p.nonce < acc.nonce {
        return Err(TxError::NonceTooLow {
            expected: acc.nonce,
            got: p.nonce,
        });
    }
    if acc.balance < p.fee {
        return Err(TxError::CannotPayFee {
            fee: p.fee,
            balance: acc.balance,
        });
    }
    let spent = match p.body {
        TxBody::Transfer { amount, .. } | TxBody::Stake { amount } => amount,
        _ => actor_rules::funds_needed(state, sender, &p.body),
    };
    if spent > 0 {
        let needed = spent.checked_add(p.fee).ok_or(TxError::Overflow)?;
        if needed > acc.balance {
            return Err(TxError::InsufficientFunds {
                needed,
                available: acc.balance,
            });
        }
    }
    let next_height = state.last.height.saturating_add(1);
    check_body(state, sender, &p.body, acc.balance - p.fee, next_height)
}

/// The body's own rules at `height`, given the balance left after the fee.
fn check_body(
    state: &State,
    sender: &Address,
    body: &TxBody,
    balance: u64,
    height: u64,
) -> Result<(), TxError> {
    if body.actor_role().is_some() {
        return actor_rules::check(state, sender, body, balance, height);
    }
    if body.amount() == 0 {
        return Err(TxError::ZeroAmount);
    }
    let min = state.params.min_validator_stake;
    match *body {
        TxBody::Transfer { to, amount } => {
            if amount > balance {
                return Err(TxError::InsufficientFunds {
                    needed: amount,
                    available: balance,
                });
            }
            if to != *sender {
                account(state, &to)
                    .balance
                    .checked_add(amount)
                    .ok_or(TxError::Overflow)?;
            }
            Ok(())
        }
        TxBody::Stake { amount } => {
            if amount > balance {
                return Err(TxError::InsufficientFunds {
                    needed: amount,
                    available: balance,
                });
            }
            let current = state.validators.get(sender).map_or(0, |v| v.stake);
            let stake = current.checked_add(amount).ok_or(TxError::Overflow)?;
            if stake < min {
                return Err(TxError::StakeBelowMinimum {
                    stake,
                    minimum: min,
                });
            }
            Ok(())
        }
        TxBody::Unstake { amount } => {
            let v = state.validators.get(sender).ok_or(TxError::NotAValidator)?;
            if amount > v.stake {
                return Err(TxError::InsufficientStake {
                    staked: v.stake,
                    requested: amount,
                });
            }
            let rest = v.stake - amount;
            if rest > 0 && rest < min {
                return Err(TxError::StakeBelowMinimum {
                    stake: rest,
                    minimum: min,
                });
            }
            if rest == 0 && state.validators.len() == 1 {
                return Err(TxError::LastValidator);
            }
            Ok(())
        }
        // Actor bodies were handled above.
        _ => Ok(()),
    }
}

/// Consumes the nonce and charges the fee; the nonce must be exactly the
/// next one. On error nothing changes.
pub(crate) fn charge(
    state: &mut State,
    changes: &mut Changes,
    sender: &Address,
    tx: &SignedTx,
) -> Result<u64, TxError> {
    let p = &tx.payload;
    let acc = account(state, sender);
    if p.nonce < acc.nonce {
        return Err(TxError::NonceTooLow {
            expected: acc.nonce,
            got: p.nonce,
        });
    }
    if p.nonce > acc.nonce {
        return Err(TxError::NonceTooHigh {
            expected: acc.nonce,
            got: p.nonce,
        });
    }
    if acc.balance < p.fee {
        return Err(TxError::CannotPayFee {
            fee: p.fee,
            balance: acc.balance,
        });
    }
    let fee_pool = state.fee_pool.checked_add(p.fee).ok_or(TxError::Overflow)?;
    // The nonce counts executed transactions; 2^64 of them cannot happen.
    let nonce = acc.nonce.saturating_add(1);
    state.accounts.insert(
        *sender,
        Account {
            balance: acc.balance - p.fee,
            nonce,
        },
    );
    changes.dirty.insert(StateKey::Account(*sender));
    if p.fee > 0 {
        state.fee_pool = fee_pool;
        changes.dirty.insert(StateKey::FeePool);
    }
    Ok(p.fee)
}

/// Executes the body after [`charge`]. On error nothing changes.
pub(crate) fn execute_body(
    state: &mut State,
    changes: &mut Changes,
    sender: &Address,
    tx: &SignedTx,
    height: u64,
) -> Result<(), TxError> {
    let body = &tx.payload.body;
    let balance = account(state, sender).balance;
    check_body(state, sender, body, balance, height)?;
    // All checks passed: the arithmetic below cannot fail.
    match *body {
        TxBody::Transfer { to, amount } => {
            set_balance(state, changes, sender, balance - amount);
            let to_balance = account(state, &to).balance;
            set_balance(state, changes, &to, to_balance.saturating_add(amount));
        }
        TxBody::Stake { amount } => {
            let key = *tx.payload.signer.as_bytes();
            changes.touch_validator(state, *sender, key);
            set_balance(state, changes, sender, balance - amount);
            let v = state.validators.entry(*sender).or_insert(ValidatorRecord {
                public_key: key,
                stake: 0,
            });
            v.stake = v.stake.saturating_add(amount);
        }
        TxBody::Unstake { amount } => {
            let key = *tx.payload.signer.as_bytes();
            changes.touch_validator(state, *sender, key);
            if let Some(v) = state.validators.get_mut(sender) {
                v.stake -= amount;
                if v.stake == 0 {
                    state.validators.remove(sender);
                }
            }
            let maturity = height.saturating_add(state.params.unbonding_period_blocks);
            add_unbonding(state, changes, sender, amount, maturity);
        }
        _ => {
            let key = *tx.payload.signer.as_bytes();
            actor_rules::execute(state, changes, sender, key, body, height);
        }
    }
    Ok(())
}

pub(crate) fn set_balance(state: &mut State, changes: &mut Changes, addr: &Address, balance: u64) {
    state.accounts.entry(*addr).or_default().balance = balance;
    changes.dirty.insert(StateKey::Account(*addr));
}

/// Holds `amount` of `addr` until the end of block `maturity`; several
/// amounts with the same maturity merge into one entry.
pub(crate) fn add_unbonding(
    state: &mut State,
    changes: &mut Changes,
    addr: &Address,
    amount: u64,
    maturity: u64,
) {
    let entry = state.unbonding.entry((maturity, *addr)).or_insert(0);
    // Total supply fits in u64 (checked at genesis and snapshot load).
    *entry = entry.saturating_add(amount);
    changes.dirty.insert(StateKey::Unbonding(maturity, *addr));
}

/// Session bookkeeping at the end of block `height`: when `height + 1`
/// starts a session, snapshots the actors for it; drops the snapshots of
/// sessions whose relays are no longer acceptable at `height` or later.
pub(crate) fn roll_sessions(state: &mut State, changes: &mut Changes, height: u64) {
    let next = height.saturating_add(1);
    if state.economics.is_session_start(next) {
        take_session_snapshot(state, changes, next);
    }
    let expired: Vec<u64> = state
        .sessions
        .keys()
        .copied()
        .filter(|start| {
            state
                .economics
                .acceptance_end(*start)
                .is_none_or(|last| last < height)
        })
        .collect();
    for start in expired {
        state.sessions.remove(&start);
        changes.dirty.insert(StateKey::Session(start));
    }
}

/// Records the actors as they stand now as those of the session starting at `start`.
pub(crate) fn take_session_snapshot(state: &mut State, changes: &mut Changes, start: u64) {
    let snapshot = SessionSnapshot::of(&state.actors);
    state.sessions.insert(start, snapshot);
    changes.dirty.insert(StateKey::Session(start));
}

/// Pays out every unbonding entry that matures at or before `height`.
pub(crate) fn mature_unbonding(state: &mut State, changes: &mut Changes, height: u64) {
    let due: Vec<(u64, Address)> = state
        .unbonding
        .range(..=(height, Address([0xff; 20])))
        .map(|(k, _)| *k)
        .collect();
    for key in due {
        if let Some(amount) = state.unbonding.remove(&key) {
            let (h, addr) = key;
            changes.dirty.insert(StateKey::Unbonding(h, addr));
            let balance = account(state, &addr).balance;
            // Total supply fits in u64 (checked at genesis and snapshot load).
            set_balance(state, changes, &addr, balance.saturating_add(amount));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::PublicKey;
    use crate::genesis::Params;
    use crate::state::LastBlock;
    use crate::tx::TxPayload;
    use ed25519_dalek::SigningKey;

    fn state_with(sk: &SigningKey, balance: u64) -> (State, Address) {
        let pk = PublicKey::from(sk.verifying_key());
        let a = Address::from_public_key(&pk);
        let mut s = State {
            chain_id: "c".into(),
            params: Params {
                unbonding_period_blocks: 2,
                min_validator_stake: 10,
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
            economics: crate::economics::ParamsHistory::new(
                1,
                crate::economics::EconomicParams::default(),
            ),
            actors: BTreeMap::new(),
            sessions: BTreeMap::new(),
        };
        s.accounts.insert(a, Account { balance, nonce: 0 });
        (s, a)
    }

    fn tx(sk: &SigningKey, nonce: u64, body: TxBody) -> SignedTx {
        TxPayload {
            chain_id: "c".into(),
            signer: PublicKey::from(sk.verifying_key()),
            nonce,
            fee: 0,
            body,
        }
        .sign(sk)
    }

    fn run(
        s: &mut State,
        c: &mut Changes,
        a: &Address,
        t: &SignedTx,
        h: u64,
    ) -> Result<(), TxError> {
        charge(s, c, a, t)?;
        execute_body(s, c, a, t, h)
    }

    #[test]
    fn self_transfer_keeps_balance() {
        let sk = SigningKey::from_bytes(&[1; 32]);
        let (mut s, a) = state_with(&sk, 50);
        let mut c = Changes::default();
        run(
            &mut s,
            &mut c,
            &a,
            &tx(&sk, 0, TxBody::Transfer { to: a, amount: 50 }),
            1,
        )
        .unwrap();
        assert_eq!(
            s.accounts[&a],
            Account {
                balance: 50,
                nonce: 1
            }
        );
    }

    #[test]
    fn unstakes_in_one_block_merge_and_mature_together() {
        let sk = SigningKey::from_bytes(&[2; 32]);
        let (mut s, a) = state_with(&sk, 100);
        // A second validator so that a full unstake is allowed.
        s.validators.insert(
            Address([0; 20]),
            ValidatorRecord {
                public_key: [0; 32],
                stake: 10,
            },
        );
        let mut c = Changes::default();
        run(
            &mut s,
            &mut c,
            &a,
            &tx(&sk, 0, TxBody::Stake { amount: 40 }),
            1,
        )
        .unwrap();
        run(
            &mut s,
            &mut c,
            &a,
            &tx(&sk, 1, TxBody::Unstake { amount: 15 }),
            1,
        )
        .unwrap();
        run(
            &mut s,
            &mut c,
            &a,
            &tx(&sk, 2, TxBody::Unstake { amount: 25 }),
            1,
        )
        .unwrap();
        assert!(!s.validators.contains_key(&a));
        assert_eq!(s.unbonding.get(&(3, a)), Some(&40));
        assert_eq!(c.validators_before.get(&a).map(|v| v.1), Some(0));
        mature_unbonding(&mut s, &mut c, 2);
        assert_eq!(s.accounts[&a].balance, 60);
        mature_unbonding(&mut s, &mut c, 3);
        assert_eq!(s.accounts[&a].balance, 100);
        assert!(s.unbonding.is_empty());
        assert!(c.dirty.contains(&StateKey::Unbonding(3, a)));
    }

    #[test]
    fn failed_checks_change_nothing() {
        let sk = SigningKey::from_bytes(&[3; 32]);
        let (mut s, a) = state_with(&sk, 5);
        let before = s.clone();
        let mut c = Changes::default();
        let stake = tx(&sk, 0, TxBody::Stake { amount: 5 });
        charge(&mut s, &mut c, &a, &stake).unwrap();
        let after_charge = s.clone();
        assert_eq!(
            execute_body(&mut s, &mut c, &a, &stake, 1),
            Err(TxError::StakeBelowMinimum {
                stake: 5,
                minimum: 10
            })
        );
        assert_eq!(s, after_charge);
        assert_ne!(s, before);
        assert_eq!(
            check(&before, &a, &stake),
            Err(TxError::StakeBelowMinimum {
                stake: 5,
                minimum: 10
            })
        );
    }
}
