//! Timers: scheduling them, and what each does when it expires.

use super::{Effect, Fx, Machine, Timeout};
use crate::config::TimeoutStep;
use crate::crypto::SignatureVerifier;
use crate::messages::ConsensusMessage;
use crate::types::{Round, Step, VoteKind};

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn on_timeout(&mut self, now_ms: u64, t: Timeout, fx: &mut Fx) {
        if t.height != self.ctx.height || t.round != self.round || self.step == Step::Decided {
            return;
        }
        match t.step {
            TimeoutStep::Propose => {
                if self.step == Step::Propose {
                    self.cast_vote(VoteKind::Prevote, None, fx);
                    self.step = Step::Prevote;
                }
            }
            TimeoutStep::Prevote => {
                if self.step == Step::Prevote {
                    self.cast_vote(VoteKind::Precommit, None, fx);
                    self.step = Step::Precommit;
                }
            }
            TimeoutStep::Precommit => self.start_round(self.round + 1, now_ms, fx),
            TimeoutStep::Rebroadcast => {
                // Own messages of this round and the previous one: enough for lagging or
                // partitioned validators to rejoin (round skip) and to complete quorums.
                let recent = self.round.saturating_sub(1);
                if let Some((p, b)) = self.own.proposal(self.round) {
                    fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
                        proposal: *p,
                        block: b.clone(),
                    }));
                }
                for v in self.own.votes().filter(|v| v.vote.round >= recent) {
                    fx.push(Effect::Broadcast(ConsensusMessage::Vote(*v)));
                }
                if let Some((vr, v)) = self.valid {
                    // Relay the valid value's proposal and its prevote quorum, so validators
                    // that missed them can adopt it as their valid value and unlock.
                    if let (Some(p), Some(b)) = (self.proposed.get(&(vr, v)), self.blocks.get(&v)) {
                        if p.proposal.proposer != self.signer.id() {
                            fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
                                proposal: *p,
                                block: b.clone(),
                            }));
                        }
                    }
                    self.send_pol_proof(Some(vr), v, fx);
                }
                self.schedule(TimeoutStep::Rebroadcast, self.round, fx);
            }
        }
    }

    pub(super) fn schedule(&self, step: TimeoutStep, round: Round, fx: &mut Fx) {
        fx.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.ctx.height,
                round,
                step,
            },
            duration_ms: self.config.timeouts.duration_ms(step, round),
        });
    }
}
