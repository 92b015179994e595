//! The ledger: accounts, transfers, nonces and staking, as a pure state machine.
