//! Votes from the network: verified, tallied, and reported as evidence when they conflict.

use super::{Fx, InputError, Machine};
use crate::crypto::SignatureVerifier;
use crate::evidence::Evidence;
use crate::keeper::AddOutcome;
use crate::messages::SignedVote;

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn on_vote(&mut self, v: SignedVote, fx: &mut Fx) -> Result<(), InputError> {
        let id = v.vote.validator;
        let Some(index) = self.ctx.validators.index_of(&id) else {
            return Err(InputError::UnknownValidator {
                what: "vote",
                id,
                height: self.ctx.height,
            });
        };
        if self.keeper.contains(index, &v) {
            return Ok(());
        }
        if !v.verify(&self.config.chain_id, &self.verifier) {
            return Err(InputError::BadSignature {
                what: "vote",
                id,
                height: v.vote.height,
                round: v.vote.round,
            });
        }
        if v.vote.round > self.round.saturating_add(self.config.future_rounds) {
            self.keeper.note_round(index, v.vote.round);
            return Ok(());
        }
        let power = self.ctx.validators.validators()[index].power;
        if let AddOutcome::Conflict(old) = self.keeper.add(index, power, v) {
            self.emit_evidence(Evidence::duplicate_vote(old, v), fx);
        }
        Ok(())
    }
}
