//! The rules `docs/receipts.md` settles, each held to the code: the body's nesting
//! limit and values, the checkpoint origin, seq as the line index, receipt times,
//! the empty log, and which bytes an inclusion proof's leaf hashes.

mod common;

use common::*;
use netwright_receipts::checkpoint::Checkpoint;
use netwright_receipts::merkle::{inclusion_proof, leaf_hash, root, verify_inclusion};
use netwright_receipts::statement::MAX_BODY_DEPTH;
use netwright_receipts::{
    open_line, seal, verify_bytes, DigestSet, Finding, FormatError, LogError, LogWriter, Parent,
    Receipt, StopReason, StopRule, Timestamp, VerifyOptions,
};
use serde_json::{json, Map, Value};

/// A body whose containers nest `depth` deep (the body object counting as 1).
fn body_nested(depth: usize) -> Map<String, Value> {
    let mut deep = json!("leaf");
    for _ in 1..depth {
        deep = Value::Array(vec![deep]);
    }
    let mut body = Map::new();
    body.insert("deep".into(), deep);
    body
}

fn verify(bytes: &[u8]) -> netwright_receipts::Report {
    let trusted = trusted();
    verify_bytes(bytes, &VerifyOptions::new(&trusted))
}

#[test]
fn writer_refuses_a_body_nested_beyond_the_limit_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut w = LogWriter::open(&path, signer(), options()).unwrap();
    let mut at_limit = draft(0);
    at_limit.body = body_nested(MAX_BODY_DEPTH);
    w.append(at_limit).unwrap();
    let before = std::fs::read(&path).unwrap();
    for depth in [MAX_BODY_DEPTH + 1, 125] {
        let mut deep = draft(1);
        deep.body = body_nested(depth);
        let e = w.append(deep).unwrap_err();
        assert!(matches!(e, LogError::Invalid(_)), "{e}");
        let text = e.to_string();
        assert!(
            text.contains(&format!(
                "field /predicate/body: nested {depth} deep, limit 64"
            )),
            "{text}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    // The writer is not poisoned by a refused draft.
    w.append(draft(1)).unwrap();
    drop(w);
    assert!(verify(&std::fs::read(&path).unwrap()).is_ok());
}

/// A log of `n` good receipts followed by a properly chained and signed one
/// whose body nests `depth` deep (written around the writer's check).
fn log_ending_in_deep_body(n: u64, depth: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_log(&dir.path().join("log"), n);
    let last = lines(&bytes).pop().unwrap();
    let parent = open_line(&last).unwrap();
    let d = draft(n);
    let receipt = Receipt {
        seq: n,
        kind: d.kind,
        time: d.time,
        network: "localnet".into(),
        actor: signer().id(),
        subject: d.subject,
        parent: Parent::Receipt(parent.digest),
        body: body_nested(depth),
    };
    let mut out = bytes;
    out.extend_from_slice(&seal(receipt, &signer()).unwrap().line);
    out.push(b'\n');
    out
}

#[test]
fn a_body_too_deep_in_a_log_is_reported_as_such_not_as_tampering() {
    // 125: what serde_json still parses; 200: what it does not.
    for depth in [MAX_BODY_DEPTH + 1, 125, 200] {
        let report = verify(&log_ending_in_deep_body(2, depth));
        assert_eq!(
            report.findings,
            vec![Finding::BodyTooDeep {
                line: 3,
                depth,
                limit: MAX_BODY_DEPTH
            }],
            "depth {depth}"
        );
        let message = report.findings[0].to_string();
        assert!(
            message.starts_with(&format!("line 3: body nested {depth} deep, limit 64")),
            "{message}"
        );
        // Its signature was checked with the others.
        assert_eq!(report.valid_signatures, 3);
        let rule = StopRule::from_report(&report).unwrap();
        assert_eq!(rule.reason, StopReason::OutOfFormat);
        assert_eq!(rule.reason.to_string(), "out-of-format");
    }
}

#[test]
fn a_body_too_deep_without_a_trusted_signature_is_tampering() {
    for depth in [MAX_BODY_DEPTH + 1, 200] {
        let bytes = log_ending_in_deep_body(2, depth);
        let mut l = lines(&bytes);
        let deep = open_line(&l[2]).map(|_| ()).unwrap_err();
        assert!(matches!(deep, FormatError::BodyTooDeep { .. }));
        // Signed by a key nobody trusts, or with a signature that does not verify.
        let r = netwright_receipts::envelope::pae(
            netwright_receipts::envelope::PAYLOAD_TYPE,
            b"another message",
        );
        let stranger = netwright_receipts::Signer::from_seed(&[7; 32]);
        for (keyid, signer) in [(stranger.id(), &stranger), (signer().id(), &signer())] {
            let text = String::from_utf8(l[2].clone()).unwrap();
            let payload_b64 = text
                .strip_prefix("{\"payload\":\"")
                .and_then(|t| t.split('"').next())
                .unwrap();
            let payload = base64_decode(payload_b64);
            let signature = signer.sign(&r);
            l[2] = netwright_receipts::envelope::encode_envelope(&payload, &keyid, &signature);
            let report = verify(&join(&l));
            assert!(
                matches!(
                    report.findings.as_slice(),
                    [Finding::Malformed {
                        line: 3,
                        error: FormatError::BodyTooDeep { .. }
                    }]
                ),
                "{:?}",
                report.findings
            );
            assert_eq!(
                StopRule::from_report(&report).unwrap().reason,
                StopReason::Tampered
            );
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn a_body_too_deep_stops_the_writer_with_the_same_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    std::fs::write(&path, log_ending_in_deep_body(1, 125)).unwrap();
    let e = LogWriter::open(&path, signer(), options()).unwrap_err();
    match e {
        LogError::Malformed { line, error, .. } => {
            assert_eq!(line, 2);
            assert_eq!(
                error,
                FormatError::BodyTooDeep {
                    depth: 125,
                    limit: MAX_BODY_DEPTH
                }
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_checkpoint_of_another_network_does_not_vouch_for_this_log() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_log(&dir.path().join("log"), 3);
    let leaves: Vec<_> = lines(&bytes).iter().map(|l| leaf_hash(l)).collect();
    let trusted = trusted();
    let check = |origin: &str| {
        let cp = Checkpoint {
            origin: origin.into(),
            size: 3,
            root: root(&leaves),
        };
        let note = cp.sign(&signer());
        let cp = Checkpoint::verify(&note, &trusted).unwrap();
        let mut options = VerifyOptions::new(&trusted);
        options.checkpoint = Some(&cp);
        verify_bytes(&bytes, &options)
    };
    assert!(check("netwright/localnet").is_ok());
    let report = check("netwright/othernet");
    assert_eq!(
        report.findings,
        vec![Finding::CheckpointOriginMismatch {
            origin: "netwright/othernet".into(),
            expected: "netwright/localnet".into(),
        }]
    );
    assert!(
        report.findings[0].to_string().contains(
            "checkpoint origin \"netwright/othernet\" is not this log's \"netwright/localnet\""
        ),
        "{}",
        report.findings[0]
    );
    assert_eq!(
        StopRule::from_report(&report).unwrap().reason,
        StopReason::Tampered
    );
}

#[test]
fn seq_is_the_zero_based_line_index() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_log(&dir.path().join("log"), 5);
    let l = lines(&bytes);
    for (index, line) in l.iter().enumerate() {
        assert_eq!(open_line(line).unwrap().receipt.seq, index as u64);
    }
    // Without its first line, line 1 holds seq 1: not the log's first receipt.
    let report = verify(&join(&l[1..]));
    assert_eq!(
        report.findings,
        vec![Finding::Missing {
            line: 1,
            expected_seq: 0,
            found_seq: 1
        }]
    );
}

#[test]
fn receipt_times_may_go_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut w = LogWriter::open(&path, signer(), options()).unwrap();
    for (i, seconds) in [2_000_000_000u64, 1_000_000_000, 1_500_000_000]
        .iter()
        .enumerate()
    {
        let mut d = draft(i as u64);
        d.time = Timestamp::from_unix_seconds(*seconds);
        w.append(d).unwrap();
    }
    drop(w);
    let report = verify(&std::fs::read(&path).unwrap());
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.lines, 3);
}

#[test]
fn an_empty_log_is_valid_with_the_empty_root() {
    let report = verify(b"");
    assert!(report.is_ok());
    assert_eq!((report.lines, report.valid_signatures), (0, 0));
    assert_eq!(report.head, None);
    assert_eq!(
        hex::encode(report.root),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // A writer extends it from genesis.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    std::fs::write(&path, b"").unwrap();
    let mut w = LogWriter::open(&path, signer(), options()).unwrap();
    assert_eq!(w.append(draft(0)).unwrap().seq, 0);
}

#[test]
fn body_values_follow_the_documented_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = LogWriter::open(&dir.path().join("log"), signer(), options()).unwrap();
    let with = |body: Value| {
        let mut d = draft(0);
        d.body = body.as_object().cloned().unwrap();
        d
    };
    let max = 9_007_199_254_740_991i64;
    let accepted = json!({
        "int": [0, -1, max, -max],
        "text": "any Unicode: é \u{2028} \u{10000} \u{0}",
        "nested": {"null": null, "bools": [true, false], "empty": {}, "list": []},
    });
    w.append(with(accepted)).unwrap();
    for (body, pointer, reason) in [
        (
            json!({"n": max + 1}),
            "/predicate/body/n",
            "outside the safe range",
        ),
        (
            json!({"n": -max - 1}),
            "/predicate/body/n",
            "outside the safe range",
        ),
        (
            json!({"a": [{"f": 0.5}]}),
            "/predicate/body/a/0/f",
            "not an integer",
        ),
    ] {
        let e = w.append(with(body)).unwrap_err().to_string();
        assert!(e.contains(pointer) && e.contains(reason), "{e}");
    }
    // Number syntax as a JSON parser reads it: an exponent, even when the value
    // is integral, and -0 are floats.
    for (text, pointer) in [
        (r#"{"e":1e3}"#, "/predicate/body/e"),
        (r#"{"z":-0}"#, "/predicate/body/z"),
    ] {
        let parsed: Value = serde_json::from_str(text).unwrap();
        let e = w.append(with(parsed)).unwrap_err().to_string();
        assert!(e.contains(pointer) && e.contains("not an integer"), "{e}");
    }
    drop(w);
    assert!(verify(&std::fs::read(dir.path().join("log")).unwrap()).is_ok());
}

#[test]
fn duplicate_member_names_in_a_body_are_refused_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_log(&dir.path().join("log"), 1);
    let line = lines(&bytes).pop().unwrap();
    let r = open_line(&line).unwrap();
    let text = String::from_utf8(r.payload.clone()).unwrap();
    let doubled = text.replacen("\"body\":{", "\"body\":{\"done\":[],", 1);
    assert_ne!(doubled, text);
    let signature = signer().sign(&netwright_receipts::envelope::pae(
        netwright_receipts::envelope::PAYLOAD_TYPE,
        doubled.as_bytes(),
    ));
    let forged =
        netwright_receipts::envelope::encode_envelope(doubled.as_bytes(), &r.keyid, &signature);
    assert!(matches!(
        open_line(&forged),
        Err(FormatError::PayloadNotCanonical)
    ));
    let mut log = forged;
    log.push(b'\n');
    assert!(matches!(
        verify(&log).findings.as_slice(),
        [Finding::Malformed { line: 1, .. }]
    ));
}

#[test]
fn an_inclusion_proof_leaf_is_the_hash_of_the_whole_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_log(&dir.path().join("log"), 6);
    let l = lines(&bytes);
    let report = verify(&bytes);
    let leaves: Vec<_> = l.iter().map(|line| leaf_hash(line)).collect();
    assert_eq!(root(&leaves), report.root);
    for (index, line) in l.iter().enumerate() {
        // SHA-256(0x00 || envelope line without "\n").
        let mut prefixed = vec![0u8];
        prefixed.extend_from_slice(line);
        assert_eq!(leaves[index], netwright_receipts::digest::sha256(&prefixed));
        let proof = inclusion_proof(&leaves, index as u64).unwrap();
        assert!(verify_inclusion(&leaves[index], &proof, &report.root).is_ok());
        // The statement bytes (or its digest) are not the leaf.
        let statement = open_line(line).unwrap();
        assert!(verify_inclusion(&leaf_hash(&statement.payload), &proof, &report.root).is_err());
        assert_ne!(DigestSet::of(line).sha256, leaves[index]);
    }
}
