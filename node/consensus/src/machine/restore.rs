//! Restart from the WAL: this validator's own votes and proposals of the height, and the
//! prevote quorum that justified its lock, back into the machine's state.

use super::{Machine, Validity};
use crate::block::Block;
use crate::crypto::SignatureVerifier;
use crate::messages::{SignedProposal, SignedVote};

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn absorb_own_records(&mut self) {
        if let Some((p, b, prevotes)) = self.own.polka().cloned() {
            let (r, h) = (p.proposal.round, p.proposal.block_hash);
            if b.hash() == h {
                self.proposals.entry(r).or_insert(p);
                self.proposed.entry((r, h)).or_insert(p);
                self.blocks.entry(h).or_insert(b);
                self.validity.insert(h, Validity::Valid);
                for pv in prevotes {
                    if let Some(i) = self.ctx.validators.index_of(&pv.vote.validator) {
                        let power = self.ctx.validators.validators()[i].power;
                        self.keeper.add(i, power, pv);
                    }
                }
                self.valid = Some((r, h));
            }
        }
        let Some(index) = self.is_validator() else {
            return;
        };
        let power = self.ctx.validators.validators()[index].power;
        let votes: Vec<SignedVote> = self.own.votes().copied().collect();
        for v in votes {
            self.keeper.add(index, power, v);
        }
        let props: Vec<(SignedProposal, Block)> = self.own.proposals().cloned().collect();
        for (p, b) in props {
            let h = p.proposal.block_hash;
            self.proposals.entry(p.proposal.round).or_insert(p);
            self.proposed.entry((p.proposal.round, h)).or_insert(p);
            self.blocks.entry(h).or_insert(b);
            self.validity.insert(h, Validity::Valid);
        }
    }
}
