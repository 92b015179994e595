//! Signature verification for many transactions at once.
//!
//! The rule is the **cofactored** ed25519 equation, checked per transaction:
//! a signature `(R, s)` by key `A` on message `M` is valid when `s` is a
//! canonical scalar, `R` decodes to a curve point, and
//! `[8]([s]B - R - [k]A)` is the identity, with `k = SHA-512(R || A || M)`.
//! Many signatures are checked as one random linear combination of their
//! equations, multiplied by the cofactor; only when that fails is each checked
//! on its own, which tells exactly which ones are bad. Because the equation is
//! cofactored, the batch passes exactly when every single check passes (up to
//! a 2^-128 chance), whatever else is in the batch: a transaction's verdict
//! depends on the transaction alone. That is what lets a node verify each
//! transaction once (at mempool admission) and reuse the verdict when it
//! executes a block, while every node still reaches the same verdicts. The
//! coefficients are derived from the batch contents (BLAKE3), so the check is
//! deterministic.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use crate::codec::DecodedTx;

/// Domain of the batch coefficients' derivation.
const BATCH_DOMAIN: &str = "netwright/ledger/ed25519-batch/v1";

/// A signature equation's parts: `s`, `R`, `k`, `A`.
struct Equation {
    s: Scalar,
    r: EdwardsPoint,
    k: Scalar,
    a: EdwardsPoint,
}

/// The parts of `tx`'s equation, or `None` when `s` is not canonical or `R` is not a point.
fn equation(tx: &DecodedTx) -> Option<Equation> {
    let sig = &tx.tx.signature;
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    let signer = &tx.tx.payload.signer;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(signer.as_bytes());
    h.update(&tx.message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Some(Equation {
        s,
        r,
        k,
        a: signer.verifying_key().to_edwards(),
    })
}

fn single(e: &Equation) -> bool {
    let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&e.k, &(-e.a), &e.s) - e.r;
    check.mul_by_cofactor().is_identity()
}

fn batch(eqs: &[&Equation]) -> bool {
    let mut transcript = blake3::Hasher::new_derive_key(BATCH_DOMAIN);
    // `k` commits to R, A and the message; `s` is the rest of the signature.
    for e in eqs {
        transcript.update(e.k.as_bytes());
        transcript.update(e.s.as_bytes());
    }
    let mut rng = transcript.finalize_xof();
    let zs: Vec<Scalar> = eqs
        .iter()
        .map(|_| {
            let mut z = [0u8; 32];
            rng.fill(&mut z[..16]);
            Scalar::from_bytes_mod_order(z)
        })
        .collect();
    let b_coefficient: Scalar = eqs.iter().zip(&zs).map(|(e, z)| z * e.s).sum();
    let scalars = std::iter::once(b_coefficient)
        .chain(zs.iter().map(|z| -z))
        .chain(eqs.iter().zip(&zs).map(|(e, z)| -(z * e.k)));
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(eqs.iter().map(|e| e.r))
        .chain(eqs.iter().map(|e| e.a));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// Verifies the signatures of `txs`; element `i` of the result is `true`
/// when `txs[i]` carries a valid signature (the cofactored rule above).
pub fn verify_signatures(txs: &[&DecodedTx]) -> Vec<bool> {
    let eqs: Vec<Option<Equation>> = txs.iter().map(|t| equation(t)).collect();
    let well_formed: Vec<&Equation> = eqs.iter().flatten().collect();
    if well_formed.len() == eqs.len() && (well_formed.is_empty() || batch(&well_formed)) {
        return vec![true; txs.len()];
    }
    eqs.iter().map(|e| e.as_ref().is_some_and(single)).collect()
}

/// Verifies one transaction's signature (the same rule as [`verify_signatures`]).
pub fn verify_one(tx: &DecodedTx) -> bool {
    equation(tx).as_ref().is_some_and(single)
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

    /// A signature whose `R` carries a small-order component: invalid under the cofactorless
    /// equation, valid under the cofactored one.
    fn torsioned(seed: u8) -> DecodedTx {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let payload = TxPayload {
            chain_id: "c".into(),
            signer: PublicKey::from(sk.verifying_key()),
            nonce: 0,
            fee: 0,
            body: TxBody::Stake { amount: 1 },
        };
        let mut d = decode_tx(&payload.clone().sign(&sk).encode()).unwrap();
        let r_secret = Scalar::from(1234567u64 + u64::from(seed));
        let torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
        let r = (ED25519_BASEPOINT_POINT * r_secret + torsion).compress();
        let mut h = Sha512::new();
        h.update(r.as_bytes());
        h.update(payload.signer.as_bytes());
        h.update(&d.message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r_secret + k * sk.to_scalar();
        d.tx.signature[..32].copy_from_slice(r.as_bytes());
        d.tx.signature[32..].copy_from_slice(s.as_bytes());
        d
    }

    #[test]
    fn verdicts_do_not_depend_on_the_other_transactions_of_a_batch() {
        let odd = torsioned(40);
        let sig = ed25519_dalek::Signature::from_bytes(&odd.tx.signature);
        assert!(
            odd.tx
                .payload
                .signer
                .verifying_key()
                .verify_strict(&odd.message, &sig)
                .is_err(),
            "the cofactorless check refuses it"
        );
        assert!(verify_one(&odd), "the cofactored rule accepts it");
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
}
