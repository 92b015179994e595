//! Every tampering case is detected and located.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use netwright_receipts::{
    envelope::encode_envelope, merkle, open_line, verify_bytes, Algorithm, Checkpoint, Finding,
    Parent, Signer, StopReason, StopRule, VerifyOptions,
};

fn verify(bytes: &[u8]) -> netwright_receipts::Report {
    let trusted = trusted();
    verify_bytes(bytes, &VerifyOptions::new(&trusted))
}

fn messages(report: &netwright_receipts::Report) -> String {
    report
        .findings
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn base(n: u64) -> (tempfile::TempDir, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_log(&dir.path().join("log"), n);
    (dir, lines(&bytes))
}

#[test]
fn sound_log_verifies_in_parallel_and_serially() {
    let (_d, l) = base(300);
    let trusted = trusted();
    for threads in [1, 2, 4] {
        let mut o = VerifyOptions::new(&trusted);
        o.threads = threads;
        let r = verify_bytes(&join(&l), &o);
        assert!(r.is_ok(), "{}", messages(&r));
        assert_eq!((r.lines, r.valid_signatures), (300, 300));
        assert_eq!(r.head.unwrap().seq, 299);
    }
    assert!(StopRule::from_report(&verify(&join(&l))).is_none());
}

/// Changes the body of receipt `index` without re-signing.
fn modify_body(line: &[u8]) -> Vec<u8> {
    let r = open_line(line).unwrap();
    let text = String::from_utf8(r.payload.clone()).unwrap();
    let changed = text.replacen("\"verdict\":\"pass\"", "\"verdict\":\"fail\"", 1);
    assert_ne!(changed, text);
    encode_envelope(changed.as_bytes(), &r.keyid, &r.signature)
}

#[test]
fn modified_statement_byte_names_receipt_and_digests() {
    let (_d, mut l) = base(6);
    l[3] = modify_body(&l[3]);
    let r = verify(&join(&l));
    let text = messages(&r);
    assert!(
        r.findings.contains(&Finding::BadSignature {
            line: 4,
            seq: 3,
            keyid: signer().id()
        }),
        "{text}"
    );
    let parent = r
        .findings
        .iter()
        .find_map(|f| match f {
            Finding::ParentMismatch {
                line,
                prev_line,
                algorithms,
                ..
            } => Some((*line, *prev_line, algorithms.clone())),
            _ => None,
        })
        .expect(&text);
    assert_eq!(parent, (5, 4, vec![Algorithm::Sha256, Algorithm::Blake3]));
    assert!(
        text.contains("line 5 (seq 4): parent sha256 and blake3 do not match line 4 (seq 3)"),
        "{text}"
    );
    assert_eq!(
        StopRule::from_report(&r).unwrap().reason,
        StopReason::Tampered
    );
}

#[test]
fn modified_signature_byte_is_located() {
    let (_d, mut l) = base(4);
    let r0 = open_line(&l[2]).unwrap();
    let mut sig = r0.signature.to_bytes();
    sig[10] ^= 0x01;
    l[2] = encode_envelope(
        &r0.payload,
        &r0.keyid,
        &ed25519_dalek::Signature::from_bytes(&sig),
    );
    let r = verify(&join(&l));
    assert_eq!(r.findings.len(), 1, "{}", messages(&r));
    assert!(
        messages(&r).contains("line 3 (seq 2): signature by key"),
        "{}",
        messages(&r)
    );
}

#[test]
fn modified_envelope_byte_is_malformed_at_its_line() {
    let (_d, mut l) = base(4);
    let at = l[1].len() - 3;
    l[1][at] = b'!';
    let r = verify(&join(&l));
    assert!(
        messages(&r).starts_with("line 2: malformed receipt"),
        "{}",
        messages(&r)
    );
}

#[test]
fn only_one_parent_digest_wrong_names_that_algorithm() {
    let (_d, mut l) = base(4);
    let mut r2 = open_line(&l[2]).unwrap().receipt;
    let Parent::Receipt(mut d) = r2.parent else {
        panic!("not genesis")
    };
    d.blake3[0] ^= 0xff;
    r2.parent = Parent::Receipt(d);
    l[2] = sign_line(&r2, &signer());
    // Re-chain the following receipt so only the blake3 link of line 3 is wrong.
    let mut r3 = open_line(&l[3]).unwrap().receipt;
    r3.parent = Parent::Receipt(open_line(&l[2]).unwrap().digest);
    l[3] = sign_line(&r3, &signer());
    let r = verify(&join(&l));
    assert_eq!(r.findings.len(), 1, "{}", messages(&r));
    match &r.findings[0] {
        Finding::ParentMismatch {
            line: 3,
            algorithms,
            ..
        } => {
            assert_eq!(algorithms, &vec![Algorithm::Blake3])
        }
        other => panic!("{other}"),
    }
    assert!(
        messages(&r).contains("parent blake3 does not match line 2"),
        "{}",
        messages(&r)
    );
}

#[test]
fn missing_receipt_is_reported_with_the_gap() {
    let (_d, mut l) = base(6);
    l.remove(2);
    let r = verify(&join(&l));
    assert_eq!(
        r.findings,
        vec![Finding::Missing {
            line: 3,
            expected_seq: 2,
            found_seq: 3
        }],
        "{}",
        messages(&r)
    );
    assert!(messages(&r).contains("receipt seq 2 is missing"));
    assert_eq!(
        StopRule::from_report(&r).unwrap().reason,
        StopReason::ChainBroken
    );
}

#[test]
fn missing_first_receipt_is_reported() {
    let (_d, mut l) = base(3);
    l.remove(0);
    let r = verify(&join(&l));
    assert_eq!(
        r.findings,
        vec![Finding::Missing {
            line: 1,
            expected_seq: 0,
            found_seq: 1
        }]
    );
}

#[test]
fn duplicated_receipt_is_reported() {
    let (_d, mut l) = base(4);
    l.insert(3, l[2].clone());
    let r = verify(&join(&l));
    assert_eq!(
        r.findings,
        vec![Finding::Duplicate {
            line: 4,
            seq: 2,
            first_line: 3
        }],
        "{}",
        messages(&r)
    );
}

#[test]
fn reordered_receipts_are_reported() {
    let (_d, mut l) = base(5);
    l.swap(2, 3);
    let r = verify(&join(&l));
    let text = messages(&r);
    assert!(
        r.findings.contains(&Finding::Reordered {
            line: 3,
            seq: 3,
            parent_line: 4
        }),
        "{text}"
    );
    assert!(text.contains("line 3 (seq 3): out of order"), "{text}");
    assert!(
        r.findings
            .iter()
            .all(|f| matches!(f, Finding::Reordered { .. })),
        "{text}"
    );
}

#[test]
fn wrong_sequence_with_intact_chain_is_reported() {
    let (_d, mut l) = base(4);
    let mut r2 = open_line(&l[2]).unwrap().receipt;
    r2.seq = 7;
    l[2] = sign_line(&r2, &signer());
    let mut r3 = open_line(&l[3]).unwrap().receipt;
    r3.parent = Parent::Receipt(open_line(&l[2]).unwrap().digest);
    r3.seq = 8;
    l[3] = sign_line(&r3, &signer());
    let r = verify(&join(&l));
    assert_eq!(
        r.findings,
        vec![Finding::WrongSequence {
            line: 3,
            expected_seq: 2,
            found_seq: 7
        }],
        "{}",
        messages(&r)
    );
}

#[test]
fn unknown_key_is_reported() {
    let (_d, mut l) = base(4);
    let intruder = Signer::from_seed(&[1; 32]);
    let mut r2 = open_line(&l[2]).unwrap().receipt;
    r2.actor = intruder.id();
    l[2] = sign_line(&r2, &intruder);
    let mut r3 = open_line(&l[3]).unwrap().receipt;
    r3.parent = Parent::Receipt(open_line(&l[2]).unwrap().digest);
    l[3] = sign_line(&r3, &signer());
    let r = verify(&join(&l));
    assert_eq!(
        r.findings,
        vec![Finding::UnknownKey {
            line: 3,
            seq: 2,
            keyid: intruder.id()
        }],
        "{}",
        messages(&r)
    );
    assert!(messages(&r).contains("line 3 (seq 2): signed by unknown key"));
    assert_eq!(
        StopRule::from_report(&r).unwrap().reason,
        StopReason::UntrustedSigner
    );
}

#[test]
fn fork_is_reported() {
    let (_d, mut l) = base(4);
    let mut alt = open_line(&l[3]).unwrap().receipt;
    alt.body.insert("verdict".into(), serde_json::json!("fail"));
    l.push(sign_line(&alt, &signer()));
    let r = verify(&join(&l));
    assert!(
        r.findings.contains(&Finding::Fork {
            parent_line: Some(3),
            first_line: 4,
            second_line: 5
        }),
        "{}",
        messages(&r)
    );
    assert!(messages(&r).contains("fork: lines 4 and 5 both claim line 3 as parent"));
    assert_eq!(
        StopRule::from_report(&r).unwrap().reason,
        StopReason::Forked
    );
}

#[test]
fn truncated_log_is_reported_against_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut w = netwright_receipts::LogWriter::open(&path, signer(), options()).unwrap();
    w.append_batch((0..10).map(draft).collect()).unwrap();
    let (cp, note_path) = w.checkpoint().unwrap();
    drop(w);
    let note = std::fs::read_to_string(note_path).unwrap();
    let trusted = trusted();
    assert_eq!(Checkpoint::verify(&note, &trusted).unwrap(), cp);
    let l = lines(&std::fs::read(&path).unwrap());
    let mut o = VerifyOptions::new(&trusted);
    o.checkpoint = Some(&cp);
    assert!(verify_bytes(&join(&l), &o).is_ok());
    let r = verify_bytes(&join(&l[..7]), &o);
    assert_eq!(
        r.findings,
        vec![Finding::Truncated {
            checkpoint_size: 10,
            log_size: 7
        }]
    );
    assert!(
        messages(&r).contains("lines 8..=10 are missing"),
        "{}",
        messages(&r)
    );
    assert_eq!(
        StopRule::from_report(&r).unwrap().reason,
        StopReason::Truncated
    );
    // Rewriting an early receipt (even re-signed, re-chained) breaks the checkpoint root.
    let mut rewritten = l.clone();
    let mut r0 = open_line(&rewritten[0]).unwrap().receipt;
    r0.body.insert("verdict".into(), serde_json::json!("fail"));
    rewritten[0] = sign_line(&r0, &signer());
    for i in 1..rewritten.len() {
        let mut ri = open_line(&rewritten[i]).unwrap().receipt;
        ri.parent = Parent::Receipt(open_line(&rewritten[i - 1]).unwrap().digest);
        rewritten[i] = sign_line(&ri, &signer());
    }
    let r = verify_bytes(&join(&rewritten), &o);
    assert!(
        matches!(
            r.findings.as_slice(),
            [Finding::CheckpointRootMismatch { size: 10, .. }]
        ),
        "{}",
        messages(&r)
    );
}

#[test]
fn torn_tail_is_reported_by_the_verifier() {
    let (_d, l) = base(3);
    let mut bytes = join(&l);
    let full = bytes.len();
    bytes.extend_from_slice(&l[0][..20]);
    let r = verify(&bytes);
    assert_eq!(
        r.findings,
        vec![Finding::TornTail {
            line: 4,
            offset: full as u64,
            len: 20
        }]
    );
}

#[test]
fn network_and_actor_mismatches_are_reported() {
    let (_d, mut l) = base(3);
    let mut r2 = open_line(&l[2]).unwrap().receipt;
    r2.network = "devnet".into();
    r2.actor = Signer::from_seed(&[5; 32]).id();
    l[2] = sign_line(&r2, &signer());
    let text = messages(&verify(&join(&l)));
    assert!(
        text.contains("line 3 (seq 2): network \"devnet\""),
        "{text}"
    );
    assert!(text.contains("line 3 (seq 2): actor"), "{text}");
}

#[test]
fn non_canonical_payload_is_rejected_even_if_signed() {
    let (_d, mut l) = base(2);
    let r1 = open_line(&l[1]).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&r1.payload).unwrap();
    value["predicate"]["body"]["ratio"] = serde_json::json!(0.5);
    let payload = serde_json::to_vec(&value).unwrap();
    let s = signer();
    let sig = s.sign(&netwright_receipts::envelope::pae(
        netwright_receipts::envelope::PAYLOAD_TYPE,
        &payload,
    ));
    l[1] = encode_envelope(&payload, &s.id(), &sig);
    let text = messages(&verify(&join(&l)));
    assert!(
        text.contains("line 2: malformed receipt: payload value at /predicate/body/ratio"),
        "{text}"
    );
    let _ = STANDARD.encode(b"");
}

#[test]
fn long_logs_are_checked_and_hashed_across_chunks() {
    // 1300 receipts span three chunks of the verifier's parallel work; receipt
    // 700 has a statement longer than one BLAKE3 chunk (1024 bytes).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut w = netwright_receipts::LogWriter::open(&path, signer(), options()).unwrap();
    let drafts = (0..1300)
        .map(|i| {
            let mut d = draft(i);
            if i == 700 {
                d.body.insert("notes".into(), "n".repeat(1500).into());
            }
            d
        })
        .collect();
    w.append_batch(drafts).unwrap();
    drop(w);
    let mut l = lines(&std::fs::read(&path).unwrap());
    assert!(open_line(&l[700]).unwrap().payload.len() > 1024);
    let trusted = trusted();
    let run = |l: &[Vec<u8>], threads: usize| {
        let mut o = VerifyOptions::new(&trusted);
        o.threads = threads;
        verify_bytes(&join(l), &o)
    };
    let leaves = |l: &[Vec<u8>]| {
        let hashes: Vec<_> = l.iter().map(|x| merkle::leaf_hash(x)).collect();
        merkle::root(&hashes)
    };
    for threads in [1, 2] {
        let r = run(&l, threads);
        assert!(r.is_ok(), "{}", messages(&r));
        assert_eq!((r.lines, r.valid_signatures), (1300, 1300));
        assert_eq!(r.root, leaves(&l));
    }

    // A modified statement in the second chunk, a modified signature and a
    // malformed line in the third.
    l[600] = modify_body(&l[600]);
    let r0 = open_line(&l[1100]).unwrap();
    let mut sig = r0.signature.to_bytes();
    sig[5] ^= 0x40;
    l[1100] = encode_envelope(
        &r0.payload,
        &r0.keyid,
        &ed25519_dalek::Signature::from_bytes(&sig),
    );
    l[1200] = b"{\"payload\":\"\"}".to_vec();
    let serial = run(&l, 1);
    assert_eq!(serial, run(&l, 2));
    assert_eq!(serial.root, leaves(&l));
    let text = messages(&serial);
    for expected in [
        "line 601 (seq 600): signature by key",
        "line 602 (seq 601): parent sha256 and blake3 do not match line 601 (seq 600)",
        "line 1101 (seq 1100): signature by key",
        "line 1201: malformed receipt",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert_eq!(serial.valid_signatures, 1297, "{text}");
}
