//! The signature rule (ZIP-215) on crafted edge cases, and its independence from
//! whatever else a signature is checked with.
//!
//! - The vectors of `docs/receipts.md` ("Signature rule") are crafted here, each
//!   with its verdict; single verification gives that verdict, and the document
//!   holds exactly these vectors.
//! - A signature gets the same verdict alone and in any batch, at any position.
//! - A crafted receipt's finding in `verify_bytes` does not depend on the other
//!   lines of its log or of its 512-line chunk.

mod common;

use std::sync::OnceLock;

use common::{signer, trusted, write_log};
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use netwright_receipts::envelope::{encode_envelope, pae, PAYLOAD_TYPE};
use netwright_receipts::signature::{verify, verify_batch, Signed};
use netwright_receipts::{open_line, verify_bytes, Finding, VerifyOptions};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// The group order l, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The message every vector signs (except the wrong-message one).
const MESSAGE: &[u8] = b"netwright signature rule";

/// One test vector: inputs and the verdict the rule must give.
#[derive(Debug, Clone)]
struct Vector {
    name: &'static str,
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
    accept: bool,
}

/// A signer's secret scalar and public key encoding, from a seed.
fn keypair(seed: u8) -> (Scalar, [u8; 32]) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    (key.to_scalar(), key.verifying_key().to_bytes())
}

/// k = SHA-512(R || A || M) mod l, over the encodings as given.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(message)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&digest)
}

fn signature(r: &[u8; 32], s: &Scalar) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// `s + l` as a 256-bit integer (below 2^254, so the top bit stays clear).
fn plus_l(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// A signature by `secret` (public encoding `a`) whose `R` is `[r]B + extra`; `s`
/// is the honest `r + k·secret` plus `tweak`.
fn crafted(
    secret: &Scalar,
    a: &[u8; 32],
    r: u64,
    extra: EdwardsPoint,
    message: &[u8],
    tweak: u64,
) -> [u8; 64] {
    let r = Scalar::from(r);
    let big_r = (ED25519_BASEPOINT_POINT * r + extra).compress().to_bytes();
    let k = challenge(&big_r, a, message);
    signature(&big_r, &(r + k * secret + Scalar::from(tweak)))
}

/// The encoding `y = p + offset` (p = 2^255 - 19), sign bit clear: a non-canonical
/// encoding of the point whose y coordinate is `offset`.
fn unreduced_y(offset: u8) -> [u8; 32] {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed + offset;
    bytes[31] = 0x7f;
    bytes
}

fn vectors() -> Vec<Vector> {
    let (secret, a) = keypair(1);
    let honest = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let valid = {
        use ed25519_dalek::Signer as _;
        honest.sign(MESSAGE).to_bytes()
    };
    // Keys without a known secret: a signature (R = [r]B, S = r) satisfies the
    // cofactored equation for any message, because [8][k]A is the identity.
    let r = Scalar::from(7u64);
    let r_point = (ED25519_BASEPOINT_POINT * r).compress().to_bytes();
    let small_order_key = EIGHT_TORSION[1].compress().to_bytes();
    let non_canonical_key = unreduced_y(0);
    // R given as y = p + 1: a non-canonical encoding of the identity.
    let non_canonical_r = unreduced_y(1);
    let identity_r = EdwardsPoint::identity().compress().to_bytes();
    let not_a_point = (2u8..)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| CompressedEdwardsY(*bytes).decompress().is_none())
        .expect("some small y is off the curve");
    let mut s_plus_l = valid;
    s_plus_l[32..].copy_from_slice(&plus_l(&valid[32..]));
    let with_k = |big_r: [u8; 32]| signature(&big_r, &(challenge(&big_r, &a, MESSAGE) * secret));
    vec![
        Vector {
            name: "valid",
            key: a,
            message: MESSAGE.to_vec(),
            signature: valid,
            accept: true,
        },
        Vector {
            name: "wrong-message",
            key: a,
            message: b"netwright signature rulE".to_vec(),
            signature: valid,
            accept: false,
        },
        Vector {
            name: "non-canonical-A",
            key: non_canonical_key,
            message: MESSAGE.to_vec(),
            signature: signature(&r_point, &r),
            accept: true,
        },
        Vector {
            name: "non-canonical-R",
            key: a,
            message: MESSAGE.to_vec(),
            signature: with_k(non_canonical_r),
            accept: true,
        },
        Vector {
            name: "small-order-A",
            key: small_order_key,
            message: MESSAGE.to_vec(),
            signature: signature(&r_point, &r),
            accept: true,
        },
        Vector {
            name: "identity-R",
            key: a,
            message: MESSAGE.to_vec(),
            signature: with_k(identity_r),
            accept: true,
        },
        Vector {
            name: "torsion-in-R",
            key: a,
            message: MESSAGE.to_vec(),
            signature: crafted(&secret, &a, 11, EIGHT_TORSION[1], MESSAGE, 0),
            accept: true,
        },
        Vector {
            name: "S-plus-l",
            key: a,
            message: MESSAGE.to_vec(),
            signature: s_plus_l,
            accept: false,
        },
        Vector {
            name: "R-not-a-point",
            key: a,
            message: MESSAGE.to_vec(),
            signature: signature(&not_a_point, &Scalar::from(5u64)),
            accept: false,
        },
    ]
}

/// The vectors in the text form `docs/receipts.md` holds.
fn render(vectors: &[Vector]) -> String {
    vectors
        .iter()
        .map(|v| {
            format!(
                "vector    {}\nkey       {}\nmessage   {}\nsignature {}\nverdict   {}\n",
                v.name,
                hex::encode(v.key),
                hex::encode(&v.message),
                hex::encode(v.signature),
                if v.accept { "accept" } else { "reject" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_crafted_cases_are_what_they_claim() {
    let v = vectors();
    let by_name = |name: &str| v.iter().find(|x| x.name == name).unwrap();
    let decoded = |bytes: &[u8]| {
        CompressedEdwardsY(bytes.try_into().unwrap())
            .decompress()
            .unwrap()
    };
    let a = by_name("non-canonical-A").key;
    assert_ne!(decoded(&a).compress().to_bytes(), a, "A is not canonical");
    let r: [u8; 32] = by_name("non-canonical-R").signature[..32]
        .try_into()
        .unwrap();
    assert_ne!(decoded(&r).compress().to_bytes(), r, "R is not canonical");
    assert!(decoded(&by_name("small-order-A").key).is_small_order());
    assert!(decoded(&by_name("identity-R").signature[..32]) == EdwardsPoint::identity());
    let torsioned = decoded(&by_name("torsion-in-R").signature[..32]);
    assert!(!torsioned.is_small_order() && !torsioned.is_torsion_free());
    let s = &by_name("S-plus-l").signature[32..];
    assert!(Option::<Scalar>::from(Scalar::from_canonical_bytes(s.try_into().unwrap())).is_none());
    assert_eq!(
        Scalar::from_bytes_mod_order(s.try_into().unwrap()).as_bytes()[..],
        by_name("valid").signature[32..],
        "S - l is the valid signature's S"
    );
}

#[test]
fn single_verification_gives_each_vector_its_verdict() {
    for v in vectors() {
        assert_eq!(
            verify(&v.key, &v.message, &v.signature),
            v.accept,
            "vector {}",
            v.name
        );
    }
}

#[test]
fn docs_hold_exactly_these_vectors() {
    let doc = include_str!("../../docs/receipts.md");
    let block = doc
        .split_once("<!-- signature-rule-vectors -->\n```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("docs/receipts.md has the signature rule vectors block");
    let expected = render(&vectors());
    assert_eq!(block, expected, "docs/receipts.md should hold:\n{expected}");
}

/// A pool of signatures of every kind: the vectors, honest ones by several keys,
/// and crafted valid and invalid ones with small-order components.
fn pool() -> &'static [Vector] {
    static POOL: OnceLock<Vec<Vector>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = vectors();
        for seed in 2..6u8 {
            let (secret, a) = keypair(seed);
            let message = vec![seed; 100];
            for (i, &torsion) in EIGHT_TORSION.iter().enumerate() {
                let i = i as u64;
                pool.push(Vector {
                    name: "torsion",
                    key: a,
                    message: message.clone(),
                    signature: crafted(&secret, &a, 100 + i, torsion, &message, 0),
                    accept: true,
                });
                pool.push(Vector {
                    name: "torsion, wrong S",
                    key: a,
                    message: message.clone(),
                    signature: crafted(&secret, &a, 200 + i, torsion, &message, 1),
                    accept: false,
                });
            }
            // R a small-order point itself.
            let big_r = EIGHT_TORSION[3].compress().to_bytes();
            let s = challenge(&big_r, &a, &message) * secret;
            pool.push(Vector {
                name: "small-order R",
                key: a,
                message: message.clone(),
                signature: signature(&big_r, &s),
                accept: true,
            });
        }
        pool
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every signature gets its own verdict in a batch of any size, at any position.
    #[test]
    fn batch_verdicts_equal_single_verdicts(picks in prop::collection::vec(any::<prop::sample::Index>(), 1..80)) {
        let pool = pool();
        let chosen: Vec<&Vector> = picks.iter().map(|i| &pool[i.index(pool.len())]).collect();
        let items: Vec<Signed<'_>> = chosen
            .iter()
            .map(|v| Signed { key: v.key, message: &v.message, signature: v.signature })
            .collect();
        let verdicts = verify_batch(&items);
        for (v, verdict) in chosen.iter().zip(verdicts) {
            prop_assert_eq!(verdict, v.accept, "{}", v.name);
            prop_assert_eq!(verify(&v.key, &v.message, &v.signature), v.accept, "{}", v.name);
        }
    }
}

/// How a receipt's signature is replaced.
#[derive(Debug, Clone, Copy)]
enum Craft {
    /// R carries a small-order component; S honest: valid.
    Torsion,
    /// R is the identity, S = k·a: valid.
    IdentityR,
    /// R carries a small-order component; S off by one: invalid.
    TorsionWrongS,
    /// The honest signature with S + l: invalid.
    SPlusL,
}

impl Craft {
    fn valid(self) -> bool {
        matches!(self, Craft::Torsion | Craft::IdentityR)
    }
}

/// `line` (a receipt signed by the common signer) with its signature replaced.
fn craft_line(line: &[u8], craft: Craft, r: u64) -> Vec<u8> {
    let receipt = open_line(line).unwrap();
    let message = pae(PAYLOAD_TYPE, &receipt.payload);
    let (secret, a) = keypair(42);
    assert_eq!(a, signer().verifying_key().to_bytes());
    let sig = match craft {
        Craft::Torsion => crafted(&secret, &a, r, EIGHT_TORSION[5], &message, 0),
        Craft::TorsionWrongS => crafted(&secret, &a, r, EIGHT_TORSION[2], &message, 1),
        Craft::IdentityR => {
            let big_r = EdwardsPoint::identity().compress().to_bytes();
            signature(&big_r, &(challenge(&big_r, &a, &message) * secret))
        }
        Craft::SPlusL => {
            let mut sig = receipt.signature.to_bytes();
            let s = plus_l(&sig[32..]);
            sig[32..].copy_from_slice(&s);
            sig
        }
    };
    encode_envelope(
        &receipt.payload,
        &receipt.keyid,
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
}

/// The lines of one honest log, long enough for three chunks of 512.
fn honest_lines() -> &'static [Vec<u8>] {
    static LINES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        common::lines(&write_log(&dir.path().join("log"), 1100))
    })
}

/// The log made of the first `n` honest lines with `crafts` applied (line index, how).
fn log_with(n: usize, crafts: &[(usize, Craft)]) -> Vec<u8> {
    let mut lines = honest_lines()[..n].to_vec();
    for &(at, craft) in crafts {
        lines[at] = craft_line(&lines[at], craft, 1000 + at as u64);
    }
    common::join(&lines)
}

fn findings(log: &[u8]) -> (Vec<Finding>, usize) {
    let trusted = trusted();
    let mut options = VerifyOptions::new(&trusted);
    options.threads = 2;
    let report = verify_bytes(log, &options);
    (report.findings, report.valid_signatures)
}

fn bad_signature(index: usize) -> Finding {
    Finding::BadSignature {
        line: index + 1,
        seq: index as u64,
        keyid: signer().id(),
    }
}

#[test]
fn a_crafted_receipt_gets_the_same_findings_alone_and_among_600_lines() {
    for craft in [
        Craft::Torsion,
        Craft::IdentityR,
        Craft::TorsionWrongS,
        Craft::SPlusL,
    ] {
        let expected = if craft.valid() {
            vec![]
        } else {
            vec![bad_signature(0)]
        };
        let (alone, _) = findings(&log_with(1, &[(0, craft)]));
        let (among, valid) = findings(&log_with(600, &[(0, craft)]));
        assert_eq!(alone, expected, "{craft:?} alone");
        assert_eq!(among, expected, "{craft:?} among 600 lines");
        assert_eq!(valid, 600 - expected.len(), "{craft:?}");
        // Next to a bad signature in the same chunk, a valid crafted one stays valid.
        let (mixed, _) = findings(&log_with(600, &[(0, craft), (300, Craft::SPlusL)]));
        let mut with_neighbour = expected.clone();
        with_neighbour.push(bad_signature(300));
        assert_eq!(mixed, with_neighbour, "{craft:?} next to a bad line");
    }
}

fn craft_strategy() -> impl Strategy<Value = Craft> {
    prop_oneof![
        Just(Craft::Torsion),
        Just(Craft::IdentityR),
        Just(Craft::TorsionWrongS),
        Just(Craft::SPlusL),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// In a log of any length, crafted receipts at any positions are found bad
    /// exactly when their signatures are invalid on their own.
    #[test]
    fn log_findings_depend_on_each_receipt_alone(
        n in 1usize..=1100,
        crafts in prop::collection::vec((any::<prop::sample::Index>(), craft_strategy()), 1..5),
    ) {
        let mut placed: Vec<(usize, Craft)> = Vec::new();
        for (at, craft) in crafts {
            let at = at.index(n);
            placed.retain(|(other, _)| *other != at);
            placed.push((at, craft));
        }
        let mut expected: Vec<Finding> = placed
            .iter()
            .filter(|(_, craft)| !craft.valid())
            .map(|(at, _)| *at)
            .collect::<std::collections::BTreeSet<usize>>()
            .into_iter()
            .map(bad_signature)
            .collect();
        let (found, valid) = findings(&log_with(n, &placed));
        prop_assert_eq!(valid, n - expected.len());
        expected.sort_by_key(|f| match f {
            Finding::BadSignature { line, .. } => *line,
            _ => 0,
        });
        prop_assert_eq!(found, expected);
    }
}
