//! The signature rule for receipts and checkpoints: Ed25519 verified under ZIP-215,
//! one signature at a time or many at once, with the same verdict either way.
//!
//! The rule (stated in full in `docs/receipts.md`, "Signature rule"): the key `A` and
//! the signature's `R` are decoded as Edwards points without requiring canonical
//! encodings and without a small-order check; `S` must be below the group order `l`;
//! and the cofactored equation `[8][S]B = [8]R + [8][k]A` must hold, with
//! `k = SHA-512(R || A || M)` over the encodings as given. The `ed25519-zebra`
//! crate implements exactly this rule, and under it a batch passes only when every
//! signature in it passes alone, so a signature's verdict never depends on the other
//! signatures it is checked with.
//!
//! Signing stays with `ed25519-dalek` (RFC 8032 deterministic signatures: the same
//! bytes any RFC 8032 signer produces); every verification in this crate goes
//! through this module.

use ed25519_zebra::{batch, Signature, VerificationKey, VerificationKeyBytes};

/// One signature to check: the signer's public key, the signed message and the
/// signature, all as their raw encodings.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The 32-byte public key encoding.
    pub key: [u8; 32],
    /// The signed message.
    pub message: &'a [u8],
    /// The 64-byte signature (`R || S`).
    pub signature: [u8; 64],
}

/// Whether `signature` is `key`'s signature over `message` under ZIP-215.
pub fn verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    VerificationKey::try_from(*key)
        .and_then(|key| key.verify(&Signature::from(*signature), message))
        .is_ok()
}

/// The verdict of each of `items`, in order: `true` when the signature verifies
/// (the same verdict [`verify`] gives it alone).
///
/// The whole set is checked as one batch; only when the batch fails is each
/// signature checked alone, to tell which ones fail. The batch's random
/// coefficients come from the thread's CSPRNG; under ZIP-215 they cannot change a
/// verdict (a batch with an invalid signature passes with probability below 2^-128).
pub fn verify_batch(items: &[Signed<'_>]) -> Vec<bool> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut verifier = batch::Verifier::new();
    for item in items {
        verifier.queue((
            VerificationKeyBytes::from(item.key),
            Signature::from(item.signature),
            item.message,
        ));
    }
    if verifier.verify(rand::thread_rng()).is_ok() {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|item| verify(&item.key, item.message, &item.signature))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::keys::Signer;

    fn signed(signer: &Signer, message: &[u8]) -> [u8; 64] {
        signer.sign(message).to_bytes()
    }

    #[test]
    fn a_signature_verifies_under_its_key_and_message_only() {
        let signer = Signer::from_seed(&[9; 32]);
        let key = signer.verifying_key().to_bytes();
        let other = Signer::from_seed(&[10; 32]).verifying_key().to_bytes();
        let sig = signed(&signer, b"statement");
        assert!(verify(&key, b"statement", &sig));
        assert!(!verify(&key, b"statemenT", &sig));
        assert!(!verify(&other, b"statement", &sig));
    }

    #[test]
    fn a_failing_batch_names_exactly_the_bad_signatures() {
        let signer = Signer::from_seed(&[9; 32]);
        let key = signer.verifying_key().to_bytes();
        let messages: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 40]).collect();
        let mut items: Vec<Signed<'_>> = messages
            .iter()
            .map(|m| Signed {
                key,
                message: m,
                signature: signed(&signer, m),
            })
            .collect();
        assert_eq!(verify_batch(&items), vec![true; 20]);
        items[4].signature[7] ^= 1;
        items[15].message = b"another message";
        let verdicts = verify_batch(&items);
        let bad: Vec<usize> = (0..20).filter(|&i| !verdicts[i]).collect();
        assert_eq!(bad, vec![4, 15]);
        assert!(verify_batch(&[]).is_empty());
    }
}
