//! Round transitions: starting a round, the upon-rules of the paper re-evaluated until nothing
//! changes, and deciding.

use super::{Effect, Fx, Machine, Trigger, Validity};
use crate::block::Block;
use crate::certificate::CommitCertificate;
use crate::config::TimeoutStep;
use crate::crypto::SignatureVerifier;
use crate::messages::ConsensusMessage;
use crate::types::{BlockHash, Round, Step, VoteKind};

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn evaluate(&mut self, now_ms: u64, fx: &mut Fx) {
        loop {
            if self.step == Step::Decided || self.try_decide(fx) {
                return;
            }
            if let Some(r) = self.keeper.skip_target(self.round, &self.ctx.validators) {
                self.start_round(r, now_ms, fx);
                continue;
            }
            if !self.round_rules(fx) {
                return;
            }
        }
    }

    pub(super) fn start_round(&mut self, round: Round, now_ms: u64, fx: &mut Fx) {
        self.round = round;
        self.step = Step::Propose;
        self.fired.retain(|(r, _)| *r >= round);
        self.schedule(TimeoutStep::Propose, round, fx);
        self.schedule(TimeoutStep::Rebroadcast, round, fx);
        let me = self.signer.id();
        if self.proposer(round) == Some(me) {
            if let Some((p, b)) = self.own.proposal(round).cloned() {
                fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
                    proposal: p,
                    block: b,
                }));
            } else if let Some((vr, block)) = self.valid_block() {
                self.propose(block, Some(vr), now_ms, fx);
            } else {
                fx.push(Effect::RequestBlock {
                    height: self.ctx.height,
                    round,
                    parent_hash: self.ctx.parent_hash,
                });
            }
        }
        // After a restart, resume the step our own signatures imply.
        if let Some(v) = self.own.vote(round, VoteKind::Prevote).copied() {
            fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
            self.step = Step::Prevote;
        }
        if let Some(v) = self.own.vote(round, VoteKind::Precommit).copied() {
            fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
            self.step = Step::Precommit;
        }
    }

    /// The valid value to re-propose, unless the broken no-locking variant is active.
    fn valid_block(&self) -> Option<(Round, Block)> {
        if broken!(self, NoLocking) {
            return None;
        }
        let (vr, v) = self.valid?;
        self.blocks.get(&v).map(|b| (vr, b.clone()))
    }

    /// Rules 22, 28, 34, 36, 44 and 47 for the current round. True if the state changed.
    fn round_rules(&mut self, fx: &mut Fx) -> bool {
        let r = self.round;
        let proposal = self.proposals.get(&r).map(|p| p.proposal);
        let validity = proposal.and_then(|p| self.validity.get(&p.block_hash).copied());

        // Rules 22 and 28: prevote on the round's proposal.
        if self.step == Step::Propose {
            if let Some(p) = proposal {
                let v = p.block_hash;
                let eligible = match p.pol_round {
                    None => true,
                    Some(vr) => {
                        self.is_quorum(self.keeper.power_for(vr, VoteKind::Prevote, Some(v)))
                    }
                };
                if eligible {
                    let choice = match validity {
                        Some(Validity::Valid) => Some(if self.lock_allows(v, p.pol_round) {
                            Some(v)
                        } else {
                            None
                        }),
                        Some(Validity::Invalid) => Some(None),
                        _ => None,
                    };
                    if let Some(value) = choice {
                        self.cast_vote(VoteKind::Prevote, value, fx);
                        self.step = Step::Prevote;
                        return true;
                    }
                }
            }
        }

        // Rule 34: a quorum of prevotes of any kind starts the prevote timer.
        if self.step == Step::Prevote
            && self.is_quorum(self.keeper.total_power(r, VoteKind::Prevote))
            && self.fire_once(r, Trigger::PrevoteWait)
        {
            self.schedule(TimeoutStep::Prevote, r, fx);
        }

        // Rule 36: proposal + quorum of prevotes for it: lock and precommit, remember valid.
        if self.step >= Step::Prevote && !self.fired.contains(&(r, Trigger::LockOrValid)) {
            if let Some(v) = self.polka_value(r) {
                self.fired.insert((r, Trigger::LockOrValid));
                if self.step == Step::Prevote {
                    if !broken!(self, NoLocking) {
                        self.locked = Some((r, v));
                        self.persist_polka(r, v, fx);
                    }
                    self.cast_vote(VoteKind::Precommit, Some(v), fx);
                    self.step = Step::Precommit;
                }
                self.valid = Some((r, v));
                return true;
            }
        }

        // Valid value from an earlier round: a quorum of prevotes seen late (after leaving the
        // round) for a valid proposed block still makes it the value to re-propose. This only
        // changes what this validator proposes, never how it votes, so safety is unaffected;
        // it lets a proposer learn the lock of others and is what keeps rounds after GST few.
        let floor = self.valid.map(|(vr, _)| vr + 1).unwrap_or(0);
        for vr in self.keeper.rounds().into_iter().rev() {
            if vr < floor || vr >= r {
                continue;
            }
            if let Some(v) = self.polka_value(vr) {
                self.valid = Some((vr, v));
                return true;
            }
        }

        // Rule 44: a quorum of nil prevotes: precommit nil.
        if self.step == Step::Prevote
            && self.is_quorum(self.keeper.power_for(r, VoteKind::Prevote, None))
        {
            self.cast_vote(VoteKind::Precommit, None, fx);
            self.step = Step::Precommit;
            return true;
        }

        // Rule 47: a quorum of precommits of any kind starts the precommit timer.
        if self.is_quorum(self.keeper.total_power(r, VoteKind::Precommit))
            && self.fire_once(r, Trigger::PrecommitWait)
        {
            self.schedule(TimeoutStep::Precommit, r, fx);
        }
        false
    }

    /// Rule 49: a quorum of precommits for a known, valid block in any round decides it.
    fn try_decide(&mut self, fx: &mut Fx) -> bool {
        for r in self.keeper.rounds() {
            for (value, power) in self.keeper.values(r, VoteKind::Precommit) {
                let Some(v) = value else { continue };
                if !self.is_quorum(power) {
                    continue;
                }
                match self.validity.get(&v) {
                    Some(Validity::Valid) => {
                        let Some(block) = self.blocks.get(&v).cloned() else {
                            continue;
                        };
                        let votes = self.keeper.votes_for(r, VoteKind::Precommit, Some(v));
                        let cert =
                            CommitCertificate::from_precommits(self.ctx.height, r, v, votes.iter());
                        self.decide(block, cert, fx);
                        return true;
                    }
                    None => self.request_validation_if_needed(v, fx),
                    _ => {}
                }
            }
        }
        false
    }

    pub(super) fn decide(&mut self, block: Block, cert: CommitCertificate, fx: &mut Fx) {
        self.step = Step::Decided;
        self.decision = Some((block.clone(), cert.clone()));
        fx.push(Effect::Decide {
            block,
            certificate: cert,
        });
    }

    /// A block proposed by the designated proposer of `round`, accepted by the application,
    /// with a quorum of prevotes in `round`.
    fn polka_value(&self, round: Round) -> Option<BlockHash> {
        self.proposed
            .range((round, BlockHash([0; 32]))..)
            .take_while(|((pr, _), _)| *pr == round)
            .map(|((_, v), _)| *v)
            .find(|v| {
                self.validity.get(v) == Some(&Validity::Valid)
                    && self.is_quorum(self.keeper.power_for(round, VoteKind::Prevote, Some(*v)))
            })
    }

    fn lock_allows(&self, v: BlockHash, pol: Option<Round>) -> bool {
        if broken!(self, NoLocking) {
            return true;
        }
        match self.locked {
            None => true,
            Some((lr, lv)) => lv == v || pol.is_some_and(|vr| lr <= vr),
        }
    }

    fn fire_once(&mut self, round: Round, t: Trigger) -> bool {
        self.fired.insert((round, t))
    }

    fn request_validation_if_needed(&mut self, v: BlockHash, fx: &mut Fx) {
        if !self.validity.contains_key(&v) {
            if let Some(b) = self.blocks.get(&v) {
                self.validity.insert(v, Validity::Pending);
                fx.push(Effect::RequestValidation { block: b.clone() });
            }
        }
    }
}
