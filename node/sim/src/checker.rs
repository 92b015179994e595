//! The invariants checked on every step of a run.
//!
//! - agreement: no two honest nodes decide different blocks at one height;
//! - validity: every honest decision extends the decided chain, carries the right validator-set
//!   hash, executes on a reference ledger (kept here, independent of every node) to the state
//!   root its header claims, and (optionally) has a valid > 2/3 certificate of the validator set
//!   that the reference ledger says decides its height;
//! - no honest double-sign: an honest validator never signs two different proposals or votes for
//!   one (height, round, step), across restarts included;
//! - evidence, emitted or committed in a decided block, verifies and only ever names validators
//!   that really equivocated (byzantine ones);
//! - liveness after GST is checked by the runner with the data kept here.

use crate::verify_cache::SharedVerifier;
use netwright_consensus::{
    Block, BlockHash, CommitCertificate, ConsensusMessage, Height, Round, ValidatorId, ValidatorSet,
};
use netwright_driver::app::{consensus_set, genesis_hash};
use netwright_ledger::{Genesis, GenesisError, Ledger};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Which invariant broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// Two honest nodes decided different blocks at one height.
    Agreement,
    /// An honest node decided a block that is not a valid extension of the chain.
    Validity,
    /// An honest decision's certificate does not prove > 2/3 precommits.
    Certificate,
    /// An honest validator signed two different messages for one slot.
    DoubleSign,
    /// Evidence was produced against a validator that did not equivocate.
    FalseEvidence,
    /// The network did not make progress after GST as required.
    Liveness,
    /// A machine did work (or held memory) beyond what its window allows: a message made it
    /// compute proposers of rounds beyond its round plus `future_rounds`.
    Resource,
}

/// A broken invariant, with a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub kind: ViolationKind,
    /// Simulated time (µs).
    pub time_us: u64,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} violated at {:.3} ms: {}",
            self.kind,
            self.time_us as f64 / 1000.0,
            self.detail
        )
    }
}

/// State the checker keeps across the run.
pub struct Checker {
    chain_id: String,
    honest: Vec<bool>,
    nodes: HashMap<ValidatorId, usize>,
    verifier: SharedVerifier,
    check_certificates: bool,
    decided: BTreeMap<Height, (BlockHash, Round)>,
    /// The chain as decided so far, executed independently of every node.
    ledger: Ledger,
    /// Parent hash of the first block.
    genesis_hash: BlockHash,
    /// The validator set deciding the next height, from `ledger`.
    set: ValidatorSet,
    signed: HashMap<(usize, Height, Round, u8), [u8; 32]>,
    /// Evidence items emitted (each found by a node's consensus machine).
    pub evidence: u64,
    /// Evidence items committed in decided blocks.
    pub committed_evidence: u64,
    /// Transactions committed with effect (failed ones excluded).
    pub committed_txs: u64,
    /// Heights after which the validator set changed.
    pub set_changes: u64,
}

impl Checker {
    /// A checker for nodes where `honest[i]` tells whether node `i` is honest and `nodes`
    /// maps each validator key to its node index.
    pub fn new(
        genesis: &Genesis,
        honest: Vec<bool>,
        nodes: HashMap<ValidatorId, usize>,
        verifier: SharedVerifier,
        check_certificates: bool,
    ) -> Result<Self, GenesisError> {
        let ledger = Ledger::from_genesis(genesis)?;
        let set = consensus_set(&ledger).map_err(|e| GenesisError::Invalid {
            field: "validators".into(),
            value: String::new(),
            reason: e.to_string(),
        })?;
        Ok(Checker {
            chain_id: genesis.chain_id.clone(),
            honest,
            nodes,
            verifier,
            check_certificates,
            decided: BTreeMap::new(),
            genesis_hash: genesis_hash(&ledger, genesis.initial_height),
            ledger,
            set,
            signed: HashMap::new(),
            evidence: 0,
            committed_evidence: 0,
            committed_txs: 0,
            set_changes: 0,
        })
    }

    /// The decided chain's state (the reference ledger).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// First honest decision per height: (block, certificate round).
    pub fn decided(&self) -> &BTreeMap<Height, (BlockHash, Round)> {
        &self.decided
    }

    /// Called for every message a node sends; `signer` is the node index of the message's
    /// signer (a node may relay other validators' votes).
    pub fn on_send(
        &mut self,
        signer: usize,
        m: &ConsensusMessage,
        now: u64,
    ) -> Result<(), Violation> {
        let node = signer;
        if !self.honest[node] {
            return Ok(());
        }
        let (slot, digest) = match m {
            ConsensusMessage::Proposal { proposal, .. } => {
                let p = proposal.proposal;
                let mut h = blake3::Hasher::new();
                h.update(&p.block_hash.0);
                h.update(&p.pol_round.map(|r| r as i64).unwrap_or(-1).to_le_bytes());
                ((node, p.height, p.round, 0u8), *h.finalize().as_bytes())
            }
            ConsensusMessage::Vote(v) => {
                let kind = match v.vote.kind {
                    netwright_consensus::VoteKind::Prevote => 1u8,
                    netwright_consensus::VoteKind::Precommit => 2u8,
                };
                let d = v.vote.block.map(|b| b.0).unwrap_or([0; 32]);
                ((node, v.vote.height, v.vote.round, kind), d)
            }
        };
        match self.signed.get(&slot) {
            Some(prev) if *prev != digest => Err(Violation {
                kind: ViolationKind::DoubleSign,
                time_us: now,
                detail: format!(
                    "honest node n{node} signed two different {} at height {} round {}",
                    ["proposals", "prevotes", "precommits"][slot.3 as usize],
                    slot.1,
                    slot.2
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.signed.insert(slot, digest);
                Ok(())
            }
        }
    }

    /// Called for every evidence item a node's driver reports (it verified the evidence before
    /// pooling it; the committed copies are verified again in [`Checker::on_decide`]);
    /// `offender` is the offender's node index.
    pub fn on_evidence(
        &mut self,
        offender: Option<usize>,
        height: Height,
        now: u64,
    ) -> Result<(), Violation> {
        let fail = |detail: String| Violation {
            kind: ViolationKind::FalseEvidence,
            time_us: now,
            detail,
        };
        match offender {
            Some(i) if self.honest[i] => Err(fail(format!(
                "evidence against honest node n{i} at height {height}"
            ))),
            None => Err(fail("evidence against an unknown validator".into())),
            Some(_) => {
                self.evidence += 1;
                Ok(())
            }
        }
    }

    /// Called when node `node` decides.
    pub fn on_decide(
        &mut self,
        node: usize,
        block: &Block,
        cert: &CommitCertificate,
        now: u64,
    ) -> Result<(), Violation> {
        if !self.honest[node] {
            return Ok(());
        }
        let h = block.header.height;
        let hash = block.hash();
        let fail = |kind, detail: String| Violation {
            kind,
            time_us: now,
            detail: format!("n{node} height {h}: {detail}"),
        };
        if let Some((first, _)) = self.decided.get(&h) {
            if *first != hash {
                return Err(fail(
                    ViolationKind::Agreement,
                    format!("decided {hash:?} but another honest node decided {first:?}"),
                ));
            }
            return Ok(());
        }
        if cert.height != h || cert.block_hash != hash {
            return Err(fail(
                ViolationKind::Certificate,
                format!(
                    "certificate is for height {} block {:?}",
                    cert.height, cert.block_hash
                ),
            ));
        }
        let set = &self.set;
        if self.check_certificates {
            if let Err(e) = cert.verify(&self.chain_id, set, &self.verifier) {
                return Err(fail(ViolationKind::Certificate, e.to_string()));
            }
        }
        let parent = if self.decided.is_empty() {
            self.genesis_hash
        } else {
            match self.decided.get(&(h - 1)) {
                Some((p, _)) => *p,
                None => {
                    return Err(fail(
                        ViolationKind::Validity,
                        "decided before any honest decision of the previous height".into(),
                    ))
                }
            }
        };
        if block.header.parent_hash != parent {
            return Err(fail(
                ViolationKind::Validity,
                format!(
                    "parent {:?} is not the decided {parent:?}",
                    block.header.parent_hash
                ),
            ));
        }
        if block.header.validator_set_hash != set.hash() {
            return Err(fail(
                ViolationKind::Validity,
                "wrong validator-set hash".into(),
            ));
        }
        if set.index_of(&block.header.proposer).is_none() {
            return Err(fail(
                ViolationKind::Validity,
                "proposer is not a validator".into(),
            ));
        }
        if h != self.ledger.height() + 1 {
            return Err(fail(
                ViolationKind::Validity,
                format!("the decided chain ends at height {}", self.ledger.height()),
            ));
        }
        for (k, e) in block.evidence.iter().enumerate() {
            if let Err(err) = e.verify(&self.chain_id, &self.verifier) {
                return Err(fail(
                    ViolationKind::FalseEvidence,
                    format!("committed evidence[{k}] does not verify: {err}"),
                ));
            }
            match self.nodes.get(&e.offender()) {
                Some(&i) if !self.honest[i] => {}
                Some(&i) => {
                    return Err(fail(
                        ViolationKind::FalseEvidence,
                        format!("committed evidence[{k}] names honest node n{i}"),
                    ))
                }
                None => {
                    return Err(fail(
                        ViolationKind::FalseEvidence,
                        format!("committed evidence[{k}] names an unknown validator"),
                    ))
                }
            }
        }
        // On error the ledger is unchanged; on any violation the run ends.
        let outcome = match self.ledger.apply_block(h, block.header.time_ms, &block.txs) {
            Ok(outcome) => outcome,
            Err(e) => {
                return Err(fail(
                    ViolationKind::Validity,
                    format!("the ledger refuses it: {e}"),
                ))
            }
        };
        if outcome.state_root.0 != block.header.state_root {
            return Err(fail(
                ViolationKind::Validity,
                format!(
                    "header state root {} but executing it gives {}",
                    hex::encode(&block.header.state_root[..4]),
                    hex::encode(&outcome.state_root.0[..4])
                ),
            ));
        }
        self.committed_evidence += block.evidence.len() as u64;
        self.committed_txs += outcome
            .tx_results
            .iter()
            .filter(|r| r.result.is_ok())
            .count() as u64;
        if !outcome.validator_updates.is_empty() {
            self.set = consensus_set(&self.ledger)
                .map_err(|e| fail(ViolationKind::Validity, format!("next validator set: {e}")))?;
            self.set_changes += 1;
        }
        self.decided.insert(h, (hash, cert.round));
        Ok(())
    }
}
