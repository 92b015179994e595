//! Signing and signature verification. The machine signs with a real ed25519 key and verifies
//! through [`SignatureVerifier`], so a host may share verification results between machines
//! (the simulator does) without weakening what is checked.
//!
//! Signing uses `ed25519-dalek` (RFC 8032 deterministic signatures). Verification follows the
//! system's one signature rule, ZIP-215 via `ed25519-zebra` (stated in `docs/receipts.md`,
//! "Signature rule"): non-canonical point encodings and small-order points are accepted, `S`
//! must be below the group order, and the equation is the cofactored one. Validator keys are
//! vetted where they enter the validator set (the ledger refuses small-order keys).

use crate::types::{SignatureBytes, ValidatorId};
use ed25519_dalek::{Signer as _, SigningKey};
use ed25519_zebra::{Signature, VerificationKey};

/// A validator's signing key.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    id: ValidatorId,
}

impl Signer {
    /// Builds a signer from a 32-byte ed25519 secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let id = ValidatorId(key.verifying_key().to_bytes());
        Signer { key, id }
    }

    /// The public key, which is the validator's identity.
    pub fn id(&self) -> ValidatorId {
        self.id
    }

    /// Signs `msg` (already domain separated by the caller).
    pub fn sign(&self, msg: &[u8]) -> SignatureBytes {
        SignatureBytes(self.key.sign(msg).to_bytes())
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({:?})", self.id)
    }
}

/// Checks that `sig` is `key`'s signature over `msg`.
pub trait SignatureVerifier {
    /// True if the signature is valid.
    fn verify(&self, key: &ValidatorId, msg: &[u8], sig: &SignatureBytes) -> bool;
}

/// ed25519 verification under the ZIP-215 rule ([`verify_ed25519`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

impl SignatureVerifier for Ed25519Verifier {
    fn verify(&self, key: &ValidatorId, msg: &[u8], sig: &SignatureBytes) -> bool {
        verify_ed25519(key, msg, sig)
    }
}

/// ed25519 verification of one signature under ZIP-215: a key that is not a curve point,
/// a non-canonical `S` or a failing cofactored equation gives `false`.
pub fn verify_ed25519(key: &ValidatorId, msg: &[u8], sig: &SignatureBytes) -> bool {
    VerificationKey::try_from(key.0)
        .and_then(|vk| vk.verify(&Signature::from(sig.0), msg))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let s = Signer::from_seed([7; 32]);
        let sig = s.sign(b"hello");
        assert!(Ed25519Verifier.verify(&s.id(), b"hello", &sig));
        assert!(!Ed25519Verifier.verify(&s.id(), b"hellp", &sig));
        let other = Signer::from_seed([8; 32]);
        assert!(!Ed25519Verifier.verify(&other.id(), b"hello", &sig));
    }

    /// The vectors of `docs/receipts.md` ("Signature rule") get their stated verdicts: votes
    /// and proposals follow the same rule as receipts and transactions.
    #[test]
    fn signature_rule_vectors_get_their_verdicts() {
        let doc = include_str!("../../../docs/receipts.md");
        let block = doc
            .split_once("<!-- signature-rule-vectors -->\n```text\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(block, _)| block)
            .expect("vectors block");
        let mut checked = 0;
        for vector in block.split("\n\n") {
            let field = |name: &str| {
                vector
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .expect("field present")
            };
            let bytes = |name: &str| hex::decode(field(name)).expect("hex");
            let key = ValidatorId(bytes("key ").try_into().expect("32 bytes"));
            let sig = SignatureBytes(bytes("signature ").try_into().expect("64 bytes"));
            let accept = field("verdict ") == "accept";
            assert_eq!(
                verify_ed25519(&key, &bytes("message "), &sig),
                accept,
                "vector {}",
                field("vector ")
            );
            checked += 1;
        }
        assert_eq!(checked, 9);
    }
}
