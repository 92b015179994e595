//! Signature verification for many transactions at once.
//!
//! One ed25519 batch check covers all transactions; only when it fails is
//! each transaction checked on its own, which tells exactly which ones are bad.
//! The batch check is deterministic (its random coefficients are derived from
//! the batch contents), so every node verifying the same block in the same
//! order reaches the same verdicts.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::codec::DecodedTx;

/// Verifies the signatures of `txs`; element `i` of the result is `true`
/// when `txs[i]` carries a valid signature.
pub fn verify_signatures(txs: &[&DecodedTx]) -> Vec<bool> {
    if txs.is_empty() {
        return Vec::new();
    }
    let messages: Vec<&[u8]> = txs.iter().map(|t| t.message.as_slice()).collect();
    let signatures: Vec<Signature> = txs
        .iter()
        .map(|t| Signature::from_bytes(&t.tx.signature))
        .collect();
    let keys: Vec<VerifyingKey> = txs
        .iter()
        .map(|t| *t.tx.payload.signer.verifying_key())
        .collect();
    if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
        return vec![true; txs.len()];
    }
    txs.iter()
        .zip(signatures.iter())
        .map(|(t, sig)| {
            t.tx.payload
                .signer
                .verifying_key()
                .verify_strict(&t.message, sig)
                .is_ok()
        })
        .collect()
}

/// Verifies one transaction's signature (strict ed25519 rules).
pub fn verify_one(tx: &DecodedTx) -> bool {
    tx.tx
        .payload
        .signer
        .verifying_key()
        .verify_strict(&tx.message, &Signature::from_bytes(&tx.tx.signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_tx;
    use crate::crypto::PublicKey;
    use crate::tx::{TxBody, TxPayload};
    use ed25519_dalek::SigningKey;

    fn tx(seed: u8, nonce: u64) -> DecodedTx {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let signed = TxPayload {
            chain_id: "c".into(),
            signer: PublicKey::from(sk.verifying_key()),
            nonce,
            fee: 0,
            body: TxBody::Stake { amount: 1 },
        }
        .sign(&sk);
        decode_tx(&signed.encode()).unwrap()
    }

    #[test]
    fn all_good_batch_passes() {
        let txs: Vec<DecodedTx> = (0..20).map(|i| tx(i, u64::from(i))).collect();
        let refs: Vec<&DecodedTx> = txs.iter().collect();
        assert_eq!(verify_signatures(&refs), vec![true; 20]);
        assert!(verify_signatures(&[]).is_empty());
    }

    #[test]
    fn fallback_pinpoints_bad_signatures() {
        let mut txs: Vec<DecodedTx> = (0..10).map(|i| tx(i, 0)).collect();
        txs[3].tx.signature[0] ^= 1;
        txs[7].message.push(0);
        let refs: Vec<&DecodedTx> = txs.iter().collect();
        let verdicts = verify_signatures(&refs);
        let bad: Vec<usize> = (0..10).filter(|i| !verdicts[*i]).collect();
        assert_eq!(bad, vec![3, 7]);
        assert!(!verify_one(&txs[3]));
        assert!(verify_one(&txs[4]));
    }
}
