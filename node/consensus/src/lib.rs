//! Stake-weighted BFT consensus as a pure state machine: inputs in, effects out.
