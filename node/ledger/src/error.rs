//! Why a transaction or a block is refused.

use thiserror::Error;

use crate::actors::ActorRole;
use crate::codec::TxDecodeError;

/// Why a transaction is rejected by `check_tx` or failed inside a block.
///
/// Inside a block, failures with [`TxError::charges_fee`] true still consume
/// the nonce and the fee; the others change nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// The bytes are not a transaction.
    #[error("malformed transaction: {0}")]
    Decode(#[from] TxDecodeError),
    /// The signature does not verify for the signer key.
    #[error("signature does not verify")]
    BadSignature,
    /// The transaction names another chain.
    #[error("transaction is for chain {got:?}, this chain is {expected:?}")]
    WrongChain {
        /// This chain's id.
        expected: String,
        /// The id in the transaction.
        got: String,
    },
    /// The nonce was already used.
    #[error("nonce {got} already used; the account's next nonce is {expected}")]
    NonceTooLow {
        /// The account's next nonce.
        expected: u64,
        /// The nonce in the transaction.
        got: u64,
    },
    /// The nonce skips ahead (blocks require the exact next nonce).
    #[error("nonce {got} is ahead of the account's next nonce {expected}")]
    NonceTooHigh {
        /// The account's next nonce.
        expected: u64,
        /// The nonce in the transaction.
        got: u64,
    },
    /// The balance cannot pay the fee.
    #[error("balance {balance} cannot pay fee {fee}")]
    CannotPayFee {
        /// The fee asked.
        fee: u64,
        /// The sender's balance.
        balance: u64,
    },
    /// The balance cannot cover the amount (plus fee, for `check_tx`).
    #[error("balance {available} is below the {needed} required")]
    InsufficientFunds {
        /// Amount required.
        needed: u64,
        /// Balance available.
        available: u64,
    },
    /// Amounts must be positive.
    #[error("amount must be positive")]
    ZeroAmount,
    /// The resulting stake would be positive but under the role's minimum.
    #[error("resulting stake {stake} is below the minimum stake {minimum}")]
    StakeBelowMinimum {
        /// Stake after the transaction.
        stake: u64,
        /// `params.min_validator_stake`, or the actor role's minimum in the
        /// economic parameters.
        minimum: u64,
    },
    /// The signer has no validator stake.
    #[error("signer is not a validator")]
    NotAValidator,
    /// Unstaking more than is staked.
    #[error("cannot unstake {requested}: only {staked} is staked")]
    InsufficientStake {
        /// Stake held.
        staked: u64,
        /// Amount asked.
        requested: u64,
    },
    /// Removing the only remaining validator would halt the chain.
    #[error("the last validator cannot unstake fully")]
    LastValidator,
    /// An amount would exceed 2^64-1.
    #[error("amount overflows")]
    Overflow,
    /// The signer has no actor of this role.
    #[error("signer is not a staked {role}")]
    NotStaked {
        /// The role the transaction needs.
        role: ActorRole,
    },
    /// A declared actor field breaks its rule.
    #[error("field `{field}`: {reason}")]
    InvalidActorField {
        /// The body field.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The actor is jailed: it cannot unjail, unstake or lower its stake yet.
    #[error("the actor is jailed until height {until}")]
    Jailed {
        /// First height at which it may unjail.
        until: u64,
    },
    /// Unjailing an actor that is not jailed.
    #[error("the actor is not jailed")]
    NotJailed,
    /// Pausing a servicer that is already paused.
    #[error("the servicer is already paused")]
    AlreadyPaused,
    /// Unpausing a servicer that is not paused.
    #[error("the servicer is not paused")]
    NotPaused,
}

impl TxError {
    /// Stable numeric code reported in block results (0 means success).
    pub fn code(&self) -> u32 {
        match self {
            TxError::Decode(_) => 1,
            TxError::BadSignature => 2,
            TxError::WrongChain { .. } => 3,
            TxError::NonceTooLow { .. } => 4,
            TxError::NonceTooHigh { .. } => 5,
            TxError::CannotPayFee { .. } => 6,
            TxError::InsufficientFunds { .. } => 7,
            TxError::ZeroAmount => 8,
            TxError::StakeBelowMinimum { .. } => 9,
            TxError::NotAValidator => 10,
            TxError::InsufficientStake { .. } => 11,
            TxError::LastValidator => 12,
            TxError::Overflow => 13,
            TxError::NotStaked { .. } => 14,
            TxError::InvalidActorField { .. } => 15,
            TxError::Jailed { .. } => 16,
            TxError::NotJailed => 17,
            TxError::AlreadyPaused => 18,
            TxError::NotPaused => 19,
        }
    }

    /// Whether a block still charges the fee and consumes the nonce for a
    /// transaction failing this way (the body's own rules failed).
    pub fn charges_fee(&self) -> bool {
        self.code() >= 7
    }
}

/// Why a block cannot be applied at all; the ledger is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// Blocks must be applied in height order without gaps.
    #[error("block height {got} does not follow the last applied height; expected {expected}")]
    UnexpectedHeight {
        /// The next height.
        expected: u64,
        /// The height given.
        got: u64,
    },
    /// Block time must not go backwards.
    #[error("block time {got} ms is before the previous block time {last} ms")]
    TimeWentBack {
        /// Time of the last block.
        last: u64,
        /// Time given.
        got: u64,
    },
    /// More transactions than `params.max_txs_per_block`.
    #[error("block carries {count} transactions, the limit is {max}")]
    TooManyTxs {
        /// Transactions in the block.
        count: usize,
        /// The limit.
        max: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let all = [
            TxError::Decode(TxDecodeError::Empty),
            TxError::BadSignature,
            TxError::WrongChain {
                expected: "a".into(),
                got: "b".into(),
            },
            TxError::NonceTooLow {
                expected: 1,
                got: 0,
            },
            TxError::NonceTooHigh {
                expected: 1,
                got: 2,
            },
            TxError::CannotPayFee { fee: 1, balance: 0 },
            TxError::InsufficientFunds {
                needed: 1,
                available: 0,
            },
            TxError::ZeroAmount,
            TxError::StakeBelowMinimum {
                stake: 1,
                minimum: 2,
            },
            TxError::NotAValidator,
            TxError::InsufficientStake {
                staked: 1,
                requested: 2,
            },
            TxError::LastValidator,
            TxError::Overflow,
            TxError::NotStaked {
                role: ActorRole::Servicer,
            },
            TxError::InvalidActorField {
                field: "body.chains",
                reason: "x".into(),
            },
            TxError::Jailed { until: 3 },
            TxError::NotJailed,
            TxError::AlreadyPaused,
            TxError::NotPaused,
        ];
        let codes: std::collections::BTreeSet<u32> = all.iter().map(TxError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&0));
        assert!(!TxError::BadSignature.charges_fee());
        assert!(!TxError::CannotPayFee { fee: 1, balance: 0 }.charges_fee());
        assert!(TxError::ZeroAmount.charges_fee());
    }
}
