//! Transaction signatures: the system's one signature rule, ZIP-215 via `ed25519-zebra`
//! (stated in `docs/receipts.md`, "Signature rule"), applied to one transaction or to many as
//! one batch.
//!
//! Under ZIP-215 a batch passes only when every signature in it passes alone, so a
//! transaction's verdict depends on the transaction alone, never on what else is in its
//! batch. That is what lets a node verify each transaction once (at mempool admission) and
//! reuse the verdict when it executes a block, while every node reaches the same verdicts.
//!
//! The batch's coefficients come from a ChaCha20 generator seeded with a BLAKE3 hash of the
//! whole batch (keys, signatures and messages), so the ledger reads no randomness and the
//! same batch is always checked the same way; coefficients fixed by the batch's content
//! are as good as random ones against a batch that hides an invalid signature, and under
//! ZIP-215 they cannot change a verdict either way.
//!
//! Transactions are signed with `ed25519-dalek` (RFC 8032, [`crate::tx::TxPayload::sign`]);
//! verification happens only here.

use ed25519_zebra::{batch, Signature, VerificationKeyBytes};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::codec::DecodedTx;

/// Domain of the batch coefficients' seed.
const BATCH_DOMAIN: &str = "netwright/ledger/ed25519-zip215-batch/v1";

/// Verifies the signatures of `txs`; element `i` of the result is `true` when `txs[i]`
/// carries a valid signature (the same verdict [`verify_one`] gives it).
///
/// All signatures are checked as one batch; only when the batch fails is each checked alone,
/// which tells which ones are bad.
pub fn verify_signatures(txs: &[&DecodedTx]) -> Vec<bool> {
    if txs.is_empty() {
        return Vec::new();
    }
    let mut seed = blake3::Hasher::new_derive_key(BATCH_DOMAIN);
    let mut verifier = batch::Verifier::new();
    for tx in txs {
        let key = tx.tx.payload.signer.as_bytes();
        seed.update(key);
        seed.update(&tx.tx.signature);
        seed.update(&(tx.message.len() as u64).to_le_bytes());
        seed.update(&tx.message);
        verifier.queue((
            VerificationKeyBytes::from(*key),
            Signature::from(tx.tx.signature),
            &tx.message,
        ));
    }
    let rng = ChaCha20Rng::from_seed(*seed.finalize().as_bytes());
    if verifier.verify(rng).is_ok() {
        return vec![true; txs.len()];
    }
    txs.iter().map(|tx| verify_one(tx)).collect()
}

/// Verifies one transaction's signature (the rule of [`verify_signatures`]), with the signer
/// key decoded when the transaction was.
pub fn verify_one(tx: &DecodedTx) -> bool {
    tx.tx
        .payload
        .signer
        .verification_key()
        .verify(&Signature::from(tx.tx.signature), &tx.message)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_tx;
    use crate::crypto::PublicKey;
    use crate::tx::{TxBody, TxPayload};
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use ed25519_dalek::SigningKey;
    use ed25519_zebra::VerificationKey;
    use sha2::{Digest, Sha512};

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

    /// A valid signature whose `R` carries a small-order component (`verify_strict` refuses
    /// it; ZIP-215 accepts it).
    fn torsioned(seed: u8) -> DecodedTx {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let mut d = tx(seed, 0);
        let r_secret = Scalar::from(1234567u64 + u64::from(seed));
        let r = (ED25519_BASEPOINT_POINT * r_secret + EIGHT_TORSION[1]).compress();
        let digest: [u8; 64] = Sha512::new()
            .chain_update(r.as_bytes())
            .chain_update(d.tx.payload.signer.as_bytes())
            .chain_update(&d.message)
            .finalize()
            .into();
        let k = Scalar::from_bytes_mod_order_wide(&digest);
        let s = r_secret + k * sk.to_scalar();
        d.tx.signature[..32].copy_from_slice(r.as_bytes());
        d.tx.signature[32..].copy_from_slice(s.as_bytes());
        d
    }

    #[test]
    fn verdicts_do_not_depend_on_the_other_transactions_of_a_batch() {
        let odd = torsioned(40);
        assert!(verify_one(&odd), "ZIP-215 accepts a torsioned R");
        let mut bad = tx(9, 0);
        bad.tx.signature[1] ^= 1;
        let others: Vec<DecodedTx> = (0..12).map(|i| tx(i, 5)).collect();
        for n in 0..others.len() {
            let mut batch: Vec<&DecodedTx> = others[..n].iter().collect();
            batch.push(&odd);
            let v = verify_signatures(&batch);
            assert!(v.iter().all(|ok| *ok), "batch of {}", n + 1);
            batch.push(&bad);
            let v = verify_signatures(&batch);
            assert!(v[n], "the torsioned one stays valid next to a bad one");
            assert!(!v[n + 1]);
        }
    }

    #[test]
    fn non_canonical_s_and_undecodable_r_are_refused() {
        let mut t = tx(3, 0);
        t.tx.signature[63] |= 0xf0; // s >= l
        assert!(!verify_one(&t));
        let mut u = tx(4, 0);
        u.tx.signature[..32].copy_from_slice(&[0xff; 32]);
        let good = tx(5, 0);
        assert!(!verify_one(&u));
        assert_eq!(
            verify_signatures(&[&good, &t, &u]),
            vec![true, false, false]
        );
    }

    /// The vectors of `docs/receipts.md` ("Signature rule") get their stated verdicts from the
    /// verification this module performs (the ledger itself refuses small-order signer keys
    /// when it decodes a transaction, before any signature is checked).
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
            let key: [u8; 32] = bytes("key ").try_into().expect("32 bytes");
            let sig: [u8; 64] = bytes("signature ").try_into().expect("64 bytes");
            let accept = field("verdict ") == "accept";
            let verdict = VerificationKey::try_from(key)
                .and_then(|k| k.verify(&Signature::from(sig), &bytes("message ")))
                .is_ok();
            assert_eq!(verdict, accept, "vector {}", field("vector "));
            checked += 1;
        }
        assert_eq!(checked, 9);
    }
}
