//! The application's acknowledgement of a decision: the next height starts, and the messages
//! buffered for it are processed.

use super::{Fx, InputError, Machine};
use crate::context::HeightContext;
use crate::crypto::SignatureVerifier;
use crate::keeper::VoteKeeper;
use crate::proposer;
use crate::types::{Height, Step};
use crate::validators::ValidatorSet;
use crate::wal::SigningRecords;

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn on_ack(
        &mut self,
        now_ms: u64,
        height: Height,
        next: Option<ValidatorSet>,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        let pending = self.decision.as_ref().map(|(b, _)| b.header.height);
        if pending != Some(height) {
            return Err(InputError::UnexpectedAck {
                got: height,
                expected: pending,
            });
        }
        let Some((block, _)) = self.decision.take() else {
            return Ok(());
        };
        let ctx = self.ctx.next(&block, next)?;
        self.reset(ctx);
        self.start_round(0, now_ms, fx);
        let buffered = std::mem::take(&mut self.next_height);
        for m in buffered {
            // Buffered messages were never checked; invalid ones are dropped like any other.
            let _ = self.on_message(now_ms, m, fx);
        }
        Ok(())
    }

    fn reset(&mut self, ctx: HeightContext) {
        self.valset_hash = ctx.validators.hash();
        self.keeper = VoteKeeper::new(ctx.validators.len());
        self.ctx = ctx;
        self.proposers = proposer::Schedule::new(&self.ctx.priorities);
        self.round = 0;
        self.step = Step::Propose;
        self.locked = None;
        self.valid = None;
        self.blocks.clear();
        self.validity.clear();
        self.proposals.clear();
        self.proposed.clear();
        self.own = SigningRecords::default();
        self.fired.clear();
        self.evidence_sent.clear();
    }
}
