//! Commit certificates: precommits for one block from more than 2/3 of the stake.

use crate::crypto::SignatureVerifier;
use crate::messages::{SignedVote, Vote};
use crate::types::{BlockHash, Height, Round, SignatureBytes, ValidatorId, VoteKind};
use crate::validators::ValidatorSet;
use borsh::{BorshDeserialize, BorshSerialize};

/// One precommit signature inside a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitSignature {
    /// The precommitting validator.
    pub validator: ValidatorId,
    /// Its signature over the precommit for (height, round, block_hash).
    pub signature: SignatureBytes,
}

/// Proof that a block was decided: precommits from more than 2/3 of the voting power.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitCertificate {
    /// Decided height.
    pub height: Height,
    /// Round of the precommits.
    pub round: Round,
    /// The decided block.
    pub block_hash: BlockHash,
    /// Signatures, sorted by validator key, one per validator.
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate does not prove a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Signatures are not strictly sorted by key (so duplicates or a non-canonical form).
    #[error("certificate.signatures[{index}]: not strictly sorted by validator key")]
    NotSorted {
        /// Position of the out-of-order entry.
        index: usize,
    },
    /// A signer is not in the validator set.
    #[error("certificate.signatures[{index}].validator: {validator} is not in the validator set")]
    UnknownValidator {
        /// Position of the entry.
        index: usize,
        /// The unknown key.
        validator: ValidatorId,
    },
    /// A signature is wrong.
    #[error("certificate.signatures[{index}].signature: does not verify for {validator}")]
    BadSignature {
        /// Position of the entry.
        index: usize,
        /// The claimed signer.
        validator: ValidatorId,
    },
    /// Not enough power.
    #[error("certificate: signed power {signed} of {total} is not more than 2/3")]
    NoQuorum {
        /// Power that signed.
        signed: u64,
        /// Total power of the set.
        total: u64,
    },
}

impl CommitCertificate {
    /// Builds a certificate from precommits for `block_hash` (sorted and deduplicated here).
    pub fn from_precommits<'a>(
        height: Height,
        round: Round,
        block_hash: BlockHash,
        precommits: impl IntoIterator<Item = &'a SignedVote>,
    ) -> Self {
        let mut signatures: Vec<CommitSignature> = precommits
            .into_iter()
            .filter(|p| {
                p.vote.height == height
                    && p.vote.round == round
                    && p.vote.kind == VoteKind::Precommit
                    && p.vote.block == Some(block_hash)
            })
            .map(|p| CommitSignature {
                validator: p.vote.validator,
                signature: p.signature,
            })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        signatures.dedup_by(|a, b| a.validator == b.validator);
        CommitCertificate {
            height,
            round,
            block_hash,
            signatures,
        }
    }

    /// The precommit vote that signature `sig` signs.
    pub fn precommit_of(&self, sig: &CommitSignature) -> SignedVote {
        SignedVote {
            vote: Vote {
                height: self.height,
                round: self.round,
                kind: VoteKind::Precommit,
                block: Some(self.block_hash),
                validator: sig.validator,
            },
            signature: sig.signature,
        }
    }

    /// Checks every signature against `validators` and that they carry more than 2/3 power.
    pub fn verify(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        verifier: &impl SignatureVerifier,
    ) -> Result<(), CertificateError> {
        let mut signed: u64 = 0;
        for (index, sig) in self.signatures.iter().enumerate() {
            if index > 0 && self.signatures[index - 1].validator >= sig.validator {
                return Err(CertificateError::NotSorted { index });
            }
            let power =
                validators
                    .power_of(&sig.validator)
                    .ok_or(CertificateError::UnknownValidator {
                        index,
                        validator: sig.validator,
                    })?;
            if !self.precommit_of(sig).verify(chain_id, verifier) {
                return Err(CertificateError::BadSignature {
                    index,
                    validator: sig.validator,
                });
            }
            signed += power;
        }
        if !validators.is_quorum(signed) {
            return Err(CertificateError::NoQuorum {
                signed,
                total: validators.total_power(),
            });
        }
        Ok(())
    }
}
