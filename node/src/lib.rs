//! The node runtime: wires the consensus and ledger cores to networking, storage and RPC.
