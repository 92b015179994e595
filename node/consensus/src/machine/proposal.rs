//! Proposals: from the network, built from the application's block content, and judged by the
//! application.

use super::{BlockContent, Effect, Fx, InputError, Machine, Validity};
use crate::block::{Block, BlockHeader};
use crate::crypto::SignatureVerifier;
use crate::encoding::tx_root;
use crate::evidence::Evidence;
use crate::messages::SignedProposal;
use crate::types::{BlockHash, Height, Round, Step};

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn on_block_content(&mut self, now_ms: u64, c: BlockContent, fx: &mut Fx) {
        let me = self.signer.id();
        if c.height != self.ctx.height
            || c.round != self.round
            || self.step != Step::Propose
            || self.proposals.contains_key(&c.round)
            || self.proposer(c.round) != Some(me)
        {
            return;
        }
        let header = BlockHeader {
            height: self.ctx.height,
            round: c.round,
            parent_hash: self.ctx.parent_hash,
            proposer: me,
            time_ms: now_ms.max(self.ctx.parent_time_ms.saturating_add(1)),
            tx_root: tx_root(&c.txs),
            state_root: c.state_root,
            validator_set_hash: self.valset_hash,
            evidence_root: Block::evidence_root_of(&c.evidence),
        };
        let block = Block {
            header,
            txs: c.txs,
            evidence: c.evidence,
        };
        self.propose(block, None, now_ms, fx);
    }

    pub(super) fn on_proposal(
        &mut self,
        now_ms: u64,
        p: SignedProposal,
        block: Block,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        // Cheap checks first, the signature next, and only then anything whose cost grows with
        // the message: the proposer schedule and the block hash.
        let pr = p.proposal;
        let Some(index) = self.ctx.validators.index_of(&pr.proposer) else {
            return Err(InputError::UnknownValidator {
                what: "proposal",
                id: pr.proposer,
                height: self.ctx.height,
            });
        };
        self.unbounded_proposer_lookup(pr.round);
        if let Some(pol) = pr.pol_round {
            if pol >= pr.round {
                return Err(InputError::BadPolRound {
                    pol,
                    round: pr.round,
                });
            }
        }
        if self.proposed.get(&(pr.round, pr.block_hash)) == Some(&p) {
            return Ok(());
        }
        if !p.verify(&self.config.chain_id, &self.verifier) {
            return Err(InputError::BadSignature {
                what: "proposal",
                id: pr.proposer,
                height: pr.height,
                round: pr.round,
            });
        }
        let Some(expected) = self.proposer(pr.round) else {
            // Beyond the window: only its round is remembered (for the round-skip rule).
            self.keeper.note_round(index, pr.round);
            return Ok(());
        };
        if expected != pr.proposer {
            return Err(InputError::WrongProposer {
                height: pr.height,
                round: pr.round,
                expected,
                got: pr.proposer,
            });
        }
        // The same proposal under another signature (ed25519 signing can be re-randomised) is
        // the same proposal: not equivocation, and nothing new to process.
        if !broken!(self, EvidenceUnchecked)
            && self
                .proposed
                .get(&(pr.round, pr.block_hash))
                .map(|k| k.proposal)
                == Some(pr)
        {
            return Ok(());
        }
        let actual = block.hash();
        if actual != pr.block_hash {
            return Err(InputError::BlockHashMismatch {
                claimed: pr.block_hash,
                actual,
            });
        }
        self.keeper.note_round(index, pr.round);
        if let Some(first) = self.proposals.get(&pr.round) {
            // Equivocation: keep the first as the round's proposal, but remember the block so
            // a quorum formed on the other one can still be recognised.
            let first = *first;
            self.emit_evidence(Evidence::duplicate_proposal(first, p), fx);
            let in_round = self
                .proposed
                .range((pr.round, BlockHash([0; 32]))..)
                .take_while(|((r, _), _)| *r == pr.round)
                .count();
            if in_round >= crate::keeper::MAX_VALUES_PER_VALIDATOR {
                return Ok(());
            }
        } else {
            self.proposals.insert(pr.round, p);
        }
        self.proposed.insert((pr.round, actual), p);
        if !self.validity.contains_key(&actual) {
            let ok = block.header.round <= pr.round && self.check_proposed(now_ms, &block).is_ok();
            if ok {
                self.validity.insert(actual, Validity::Pending);
                fx.push(Effect::RequestValidation {
                    block: block.clone(),
                });
            } else {
                self.validity.insert(actual, Validity::Invalid);
            }
        }
        self.blocks.entry(actual).or_insert(block);
        Ok(())
    }

    /// Records the application's verdict on a block this machine asked it to validate.
    pub(super) fn on_validity(&mut self, height: Height, block_hash: BlockHash, valid: bool) {
        if height == self.ctx.height && self.validity.get(&block_hash) == Some(&Validity::Pending) {
            let v = if valid {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            self.validity.insert(block_hash, v);
        }
    }

    /// A proposed block must be well formed and not timed ahead of this validator's clock by
    /// more than the configured bound. (A synced block carries a commit certificate: its time
    /// was checked by the quorum that decided it.)
    fn check_proposed(&self, now_ms: u64, block: &Block) -> Result<(), String> {
        let latest = now_ms.saturating_add(self.config.max_block_time_ahead_ms);
        if block.header.time_ms > latest && !broken!(self, NoBlockTimeBound) {
            return Err(format!(
                "header.time_ms: {} is more than {} ms ahead of this validator's clock ({now_ms})",
                block.header.time_ms, self.config.max_block_time_ahead_ms
            ));
        }
        self.check_structure(block)
    }

    /// The broken variant's early lookup: the proposer schedule is grown to the message's
    /// round (capped at 10,000) before anything about the message is checked.
    fn unbounded_proposer_lookup(&mut self, _round: Round) {
        #[cfg(feature = "fault-injection")]
        {
            if self.config.mutation == crate::config::Mutation::UnboundedProposerLookup {
                self.proposers
                    .proposer(&self.ctx.validators, _round.min(10_000));
            }
        }
    }
}
