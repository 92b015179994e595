//! Block sync: a decided block with its commit certificate, checked and decided.

use super::{Fx, InputError, Machine};
use crate::block::Block;
use crate::certificate::CommitCertificate;
use crate::crypto::SignatureVerifier;
use crate::types::Step;

impl<V: SignatureVerifier> Machine<V> {
    pub(super) fn on_synced(
        &mut self,
        block: Block,
        cert: CommitCertificate,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        if block.header.height != self.ctx.height || self.step == Step::Decided {
            return Ok(());
        }
        let hash = block.hash();
        if cert.height != self.ctx.height || cert.block_hash != hash {
            return Err(InputError::BadSync {
                field: "certificate",
                reason: format!(
                    "certifies height {} block {:?}, not height {} block {:?}",
                    cert.height, cert.block_hash, self.ctx.height, hash
                ),
            });
        }
        if let Err(reason) = self.check_structure(&block) {
            return Err(InputError::BadSync {
                field: "block",
                reason,
            });
        }
        cert.verify(&self.config.chain_id, &self.ctx.validators, &self.verifier)?;
        self.decide(block, cert, fx);
        Ok(())
    }
}
