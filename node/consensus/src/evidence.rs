//! Equivocation evidence: two conflicting messages signed by one validator for the same slot.

use crate::crypto::SignatureVerifier;
use crate::messages::{SignedProposal, SignedVote};
use crate::types::{Height, ValidatorId};
use borsh::{BorshDeserialize, BorshSerialize};

/// Proof that a validator signed two different messages for one (height, round, step).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Evidence {
    /// Two different votes of one kind for the same height and round.
    DuplicateVote {
        /// The first vote (canonical order: smaller encoding first).
        a: SignedVote,
        /// The second vote.
        b: SignedVote,
    },
    /// Two different proposals for the same height and round.
    DuplicateProposal {
        /// The first proposal (canonical order: smaller encoding first).
        a: SignedProposal,
        /// The second proposal.
        b: SignedProposal,
    },
}

/// Why evidence does not prove equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The two messages are not for the same slot and signer, or are identical.
    #[error("evidence: messages do not conflict ({0})")]
    NotConflicting(&'static str),
    /// A signature does not verify.
    #[error("evidence.{which}.signature: does not verify for validator {validator}")]
    BadSignature {
        /// `a` or `b`.
        which: &'static str,
        /// The claimed signer.
        validator: ValidatorId,
    },
}

impl Evidence {
    /// Builds canonical duplicate-vote evidence (order independent).
    pub fn duplicate_vote(x: SignedVote, y: SignedVote) -> Evidence {
        let (a, b) = order(x, y);
        Evidence::DuplicateVote { a, b }
    }

    /// Builds canonical duplicate-proposal evidence (order independent).
    pub fn duplicate_proposal(x: SignedProposal, y: SignedProposal) -> Evidence {
        let (a, b) = order(x, y);
        Evidence::DuplicateProposal { a, b }
    }

    /// The equivocating validator.
    pub fn offender(&self) -> ValidatorId {
        match self {
            Evidence::DuplicateVote { a, .. } => a.vote.validator,
            Evidence::DuplicateProposal { a, .. } => a.proposal.proposer,
        }
    }

    /// Height of the equivocation.
    pub fn height(&self) -> Height {
        match self {
            Evidence::DuplicateVote { a, .. } => a.vote.height,
            Evidence::DuplicateProposal { a, .. } => a.proposal.height,
        }
    }

    /// Round of the equivocation.
    pub fn round(&self) -> crate::types::Round {
        match self {
            Evidence::DuplicateVote { a, .. } => a.vote.round,
            Evidence::DuplicateProposal { a, .. } => a.proposal.round,
        }
    }

    /// The kind of equivocation, as a stable lower-case name (`duplicate_vote`,
    /// `duplicate_proposal`), for APIs and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::DuplicateVote { .. } => "duplicate_vote",
            Evidence::DuplicateProposal { .. } => "duplicate_proposal",
        }
    }

    /// Checks that the evidence proves equivocation on `chain_id`.
    pub fn verify(
        &self,
        chain_id: &str,
        verifier: &impl SignatureVerifier,
    ) -> Result<(), EvidenceError> {
        let (sig_a, sig_b, who) = match self {
            Evidence::DuplicateVote { a, b } => {
                let (x, y) = (&a.vote, &b.vote);
                if x.height != y.height
                    || x.round != y.round
                    || x.kind != y.kind
                    || x.validator != y.validator
                {
                    return Err(EvidenceError::NotConflicting("different slot or signer"));
                }
                if x.block == y.block {
                    return Err(EvidenceError::NotConflicting("same vote"));
                }
                (
                    a.verify(chain_id, verifier),
                    b.verify(chain_id, verifier),
                    x.validator,
                )
            }
            Evidence::DuplicateProposal { a, b } => {
                let (x, y) = (&a.proposal, &b.proposal);
                if x.height != y.height || x.round != y.round || x.proposer != y.proposer {
                    return Err(EvidenceError::NotConflicting("different slot or signer"));
                }
                if x == y {
                    return Err(EvidenceError::NotConflicting("same proposal"));
                }
                (
                    a.verify(chain_id, verifier),
                    b.verify(chain_id, verifier),
                    x.proposer,
                )
            }
        };
        if !sig_a {
            return Err(EvidenceError::BadSignature {
                which: "a",
                validator: who,
            });
        }
        if !sig_b {
            return Err(EvidenceError::BadSignature {
                which: "b",
                validator: who,
            });
        }
        Ok(())
    }
}

fn order<T: BorshSerialize>(x: T, y: T) -> (T, T) {
    let ex = borsh::to_vec(&x).unwrap_or_default();
    let ey = borsh::to_vec(&y).unwrap_or_default();
    if ex <= ey {
        (x, y)
    } else {
        (y, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Ed25519Verifier, Signer};
    use crate::messages::Vote;
    use crate::types::{BlockHash, VoteKind};

    #[test]
    fn duplicate_vote_verifies_and_is_canonical() {
        let s = Signer::from_seed([1; 32]);
        let mk = |b: Option<BlockHash>| {
            Vote {
                height: 3,
                round: 1,
                kind: VoteKind::Prevote,
                block: b,
                validator: s.id(),
            }
            .sign("c", &s)
        };
        let x = mk(Some(BlockHash([1; 32])));
        let y = mk(None);
        let e1 = Evidence::duplicate_vote(x, y);
        assert_eq!(e1, Evidence::duplicate_vote(y, x));
        assert_eq!(e1.verify("c", &Ed25519Verifier), Ok(()));
        assert!(e1.verify("other-chain", &Ed25519Verifier).is_err());
        assert!(Evidence::duplicate_vote(x, x)
            .verify("c", &Ed25519Verifier)
            .is_err());
        assert_eq!(e1.offender(), s.id());
    }
}
