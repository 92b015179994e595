//! Signing and signature verification. The machine signs with a real ed25519 key and verifies
//! through [`SignatureVerifier`], so a host may share verification results between machines
//! (the simulator does) without weakening what is checked.

use crate::types::{SignatureBytes, ValidatorId};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

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

/// Plain ed25519 verification (strict: rejects small-order keys and malleable signatures).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

impl SignatureVerifier for Ed25519Verifier {
    fn verify(&self, key: &ValidatorId, msg: &[u8], sig: &SignatureBytes) -> bool {
        verify_ed25519(key, msg, sig)
    }
}

/// Strict ed25519 verification of one signature.
pub fn verify_ed25519(key: &ValidatorId, msg: &[u8], sig: &SignatureBytes) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(&key.0) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
    vk.verify_strict(msg, &sig).is_ok()
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
}
