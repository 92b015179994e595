//! Signing through the write-ahead signing records: a vote or proposal is recorded before it
//! is sent, and a slot already signed is repeated, never signed again.

use super::{Effect, Fx, Machine, Validity};
use crate::block::Block;
use crate::crypto::SignatureVerifier;
use crate::messages::{ConsensusMessage, Proposal, Vote};
use crate::types::{BlockHash, Round, VoteKind};
use crate::wal::WalRecord;

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn cast_vote(&mut self, kind: VoteKind, block: Option<BlockHash>, fx: &mut Fx) {
        let Some(index) = self.is_validator() else {
            return;
        };
        let signed = match self.own.vote(self.round, kind) {
            Some(existing) if !broken!(self, IgnoreSigningRecords) => {
                // Never sign a second vote for a slot: repeat the first one.
                let v = *existing;
                fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
                v
            }
            _ => {
                let v = Vote {
                    height: self.ctx.height,
                    round: self.round,
                    kind,
                    block,
                    validator: self.signer.id(),
                }
                .sign(&self.config.chain_id, &self.signer);
                self.own.insert_vote(v);
                fx.push(Effect::PersistWal(WalRecord::Vote(v)));
                fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
                v
            }
        };
        let power = self.ctx.validators.validators()[index].power;
        self.keeper.add(index, power, signed);
    }

    pub(super) fn propose(
        &mut self,
        block: Block,
        pol_round: Option<Round>,
        _now_ms: u64,
        fx: &mut Fx,
    ) {
        if self.is_validator().is_none() {
            return;
        }
        let round = self.round;
        let (proposal, block) = match self.own.proposal(round) {
            Some((p, b)) if !broken!(self, IgnoreSigningRecords) => (*p, b.clone()),
            _ => {
                let p = Proposal {
                    height: self.ctx.height,
                    round,
                    pol_round,
                    block_hash: block.hash(),
                    proposer: self.signer.id(),
                }
                .sign(&self.config.chain_id, &self.signer);
                self.own.insert_proposal(p, block.clone());
                fx.push(Effect::PersistWal(WalRecord::Proposal {
                    proposal: p,
                    block: block.clone(),
                }));
                (p, block)
            }
        };
        let hash = proposal.proposal.block_hash;
        fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
            proposal,
            block: block.clone(),
        }));
        self.send_pol_proof(proposal.proposal.pol_round, hash, fx);
        self.proposals.entry(round).or_insert(proposal);
        self.proposed.entry((round, hash)).or_insert(proposal);
        self.blocks.entry(hash).or_insert(block);
        self.validity.insert(hash, Validity::Valid);
    }

    /// Relays the prevotes that justify `pol_round` for `v`, so validators that missed some of
    /// them (lost messages, or the other half of an equivocation) can accept the proposal.
    pub(super) fn send_pol_proof(&self, pol_round: Option<Round>, v: BlockHash, fx: &mut Fx) {
        if let Some(vr) = pol_round {
            for pv in self.keeper.votes_for(vr, VoteKind::Prevote, Some(v)) {
                if pv.vote.validator != self.signer.id() {
                    fx.push(Effect::Broadcast(ConsensusMessage::Vote(pv)));
                }
            }
        }
    }

    /// Writes the justification of a lock on `v` in `round` to the WAL (before the precommit).
    pub(super) fn persist_polka(&self, round: Round, v: BlockHash, fx: &mut Fx) {
        if self.is_validator().is_none() || self.own.vote(round, VoteKind::Precommit).is_some() {
            return;
        }
        if let (Some(p), Some(b)) = (self.proposed.get(&(round, v)), self.blocks.get(&v)) {
            fx.push(Effect::PersistWal(WalRecord::Polka {
                proposal: *p,
                block: b.clone(),
                prevotes: self.keeper.votes_for(round, VoteKind::Prevote, Some(v)),
            }));
        }
    }
}
