//! The fast paths agree with the reference paths they replace.
//!
//! - `scan::read_line` (one-pass reader used by the verifier) accepts exactly the
//!   lines `open_line` (JSON tree, re-serialization) accepts, with the same values
//!   and digests, over random receipts and random mutations of them.
//! - `jcs::is_canonical` agrees with parse-then-`to_canonical`.
//! - `Receipt::canonical_bytes` and `LogWriter::append_batch` produce the bytes
//!   of `to_canonical(&receipt.to_value())` and `seal`.

mod common;

use common::{options, signer};
use netwright_receipts::envelope::{encode_envelope, pae, PAYLOAD_TYPE};
use netwright_receipts::jcs::{is_canonical, to_canonical, MAX_FAST_DEPTH};
use netwright_receipts::scan::read_line;
use netwright_receipts::statement::Receipt;
use netwright_receipts::statement::MAX_BODY_DEPTH;
use netwright_receipts::{
    open_line, seal, verify_bytes, DigestSet, Draft, FormatError, Kind, LogWriter, Parent, Signer,
    Subject, Timestamp, TrustedKeys, VerifyOptions,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

const MAX_SAFE: i64 = 9_007_199_254_740_991;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-MAX_SAFE..=MAX_SAFE).prop_map(Value::from),
        (0i64..20).prop_map(Value::from),
        "(?s).{0,6}".prop_map(Value::String),
        "[a-z\"\\\\/\u{1}\u{1f}\u{7f}é\u{2028}\u{e000}\u{10000}]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,3}",
        "(?s).{0,3}",
        "[a\u{0}\n\"\\\\\u{e000}\u{ffff}\u{10000}\u{1f600}]{0,3}",
    ]
}

fn body() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), json_value(), 0..5).prop_map(|m| m.into_iter().collect())
}

fn digest() -> impl Strategy<Value = DigestSet> {
    any::<[u8; 8]>().prop_map(|seed| DigestSet::of(&seed))
}

fn receipt(actor: netwright_receipts::KeyId) -> impl Strategy<Value = Receipt> {
    (
        prop_oneof![0u64..1000, Just(MAX_SAFE as u64)],
        prop_oneof![
            Just(Kind::Reconcile),
            Just(Kind::Gate),
            Just(Kind::Stop),
            "[a-z][a-z0-9-]{0,8}".prop_map(|k| Kind::parse(&k).unwrap_or(Kind::Plan)),
        ],
        (0u64..4_000_000_000, prop::option::of("[0-9]{1,9}")),
        "[a-z0-9.-]{1,12}",
        (
            digest(),
            prop::option::of(prop_oneof!["[0-9a-f]{40}", "[0-9a-f]{64}"]),
        ),
        prop::option::of(digest()),
        body(),
    )
        .prop_map(
            move |(seq, kind, (secs, fraction), network, (spec, commit), parent, body)| {
                let base = Timestamp::from_unix_seconds(secs);
                let time = match fraction {
                    Some(f) => Timestamp::parse(&base.as_str().replace('Z', &format!(".{f}Z")))
                        .unwrap_or(base),
                    None => base,
                };
                Receipt {
                    seq,
                    kind,
                    time,
                    network,
                    actor,
                    subject: Subject {
                        spec_digest: spec,
                        git_commit: commit,
                    },
                    parent: parent.map_or(Parent::Genesis, Parent::Receipt),
                    body,
                }
            },
        )
}

/// What the fast reader yields, in the reference reader's terms.
#[derive(Debug, PartialEq)]
struct Read {
    payload: Vec<u8>,
    message: Vec<u8>,
    digest: DigestSet,
    keyid: netwright_receipts::KeyId,
    signature: ed25519_dalek::Signature,
    receipt: Receipt,
}

fn fast(line: &[u8]) -> Option<Read> {
    let mut buffer = b"previous".to_vec();
    let view = read_line(line, &mut buffer)?;
    let s = &view.statement;
    let body: Value = serde_json::from_str(s.body).expect("fast path body is JSON");
    let Value::Object(body) = body else {
        panic!("fast path body is not an object")
    };
    let message = view.message.clone();
    let mut read = Read {
        payload: view.payload.to_vec(),
        message: Vec::new(),
        digest: DigestSet::of(view.payload),
        keyid: view.keyid,
        signature: view.signature,
        receipt: Receipt {
            seq: s.seq,
            kind: Kind::parse(s.kind).expect("fast path kind"),
            time: Timestamp::parse(s.time).expect("fast path time"),
            network: s.network.to_owned(),
            actor: s.actor,
            subject: Subject {
                spec_digest: s.spec_digest,
                git_commit: s.git_commit.map(str::to_owned),
            },
            parent: s.parent,
            body,
        },
    };
    assert!(buffer.starts_with(b"previous"), "earlier buffer bytes kept");
    read.message = buffer[message].to_vec();
    Some(read)
}

fn reference(line: &[u8]) -> Option<Read> {
    let r = open_line(line).ok()?;
    Some(Read {
        message: pae(PAYLOAD_TYPE, &r.payload),
        payload: r.payload,
        digest: r.digest,
        keyid: r.keyid,
        signature: r.signature,
        receipt: r.receipt,
    })
}

/// Applies edits (position, operation, byte) to `bytes`.
fn mutate(bytes: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(at, op, byte) in edits {
        if out.is_empty() {
            out.push(byte);
            continue;
        }
        let at = at % out.len();
        match op % 3 {
            0 => out[at] = byte,
            1 => out.insert(at, byte),
            _ => {
                out.remove(at);
            }
        }
    }
    out
}

/// Bytes that matter to JSON, base64 and UTF-8.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"\"\\{}[],:-+./0123456789aefnrtuEZ= \x00\x01\x1f\x7f".to_vec()),
        any::<u8>(),
    ]
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), interesting_byte()), 1..4)
}

fn sign_payload(payload: &[u8], signer: &Signer) -> Vec<u8> {
    let sig = signer.sign(&pae(PAYLOAD_TYPE, payload));
    encode_envelope(payload, &signer.id(), &sig)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn fast_reader_reads_every_sealed_receipt_like_the_reference(r in receipt(signer().id())) {
        let s = signer();
        match seal(r.clone(), &s) {
            Ok(sealed) => {
                let f = fast(&sealed.line);
                prop_assert!(f.is_some(), "fast path declined a sealed receipt");
                prop_assert_eq!(f, reference(&sealed.line));
            }
            // Only out-of-range numbers stop sealing; the generator keeps them in range.
            Err(e) => prop_assert!(false, "seal failed: {}", e),
        }
    }

    #[test]
    fn fast_reader_agrees_on_mutated_payloads(
        r in receipt(signer().id()),
        edits in edits(),
    ) {
        let s = signer();
        let payload = r.canonical_bytes().unwrap();
        let line = sign_payload(&mutate(&payload, &edits), &s);
        prop_assert_eq!(fast(&line), reference(&line));
    }

    #[test]
    fn fast_reader_agrees_on_mutated_lines(r in receipt(signer().id()), edits in edits()) {
        let sealed = seal(r, &signer()).unwrap();
        let line = mutate(&sealed.line, &edits);
        prop_assert_eq!(fast(&line), reference(&line));
    }

    #[test]
    fn canonical_check_agrees_with_reserialization(v in json_value(), edits in edits()) {
        let canonical = to_canonical(&v).unwrap();
        prop_assert!(is_canonical(&canonical));
        for text in [
            mutate(&canonical, &edits),
            serde_json::to_vec(&v).unwrap(),
            serde_json::to_vec_pretty(&v).unwrap(),
        ] {
            let reference = serde_json::from_slice::<Value>(&text)
                .ok()
                .and_then(|parsed| to_canonical(&parsed).ok())
                .is_some_and(|c| c == text);
            prop_assert_eq!(is_canonical(&text), reference, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn direct_statement_bytes_equal_the_json_tree_route(
        r in receipt(signer().id()),
        seq in prop_oneof![Just(None), (0u64..u64::MAX).prop_map(Some)],
        float in prop::option::of(-1e9f64..1e9),
    ) {
        let mut r = r;
        if let Some(seq) = seq {
            r.seq = seq;
        }
        if let Some(x) = float {
            r.body.insert("x".into(), Value::from(x));
        }
        prop_assert_eq!(r.canonical_bytes(), to_canonical(&r.to_value()));
    }
}

#[test]
fn hand_picked_texts_agree_with_reserialization() {
    let texts: &[&str] = &[
        "{}",
        "[]",
        "{\"a\":1,\"b\":[true,false,null]}",
        "{\"b\":1,\"a\":2}",
        "{\"a\":1,\"a\":1}",
        "{\"a\" :1}",
        "-0",
        "0",
        "01",
        "1.0",
        "1e3",
        "9007199254740991",
        "9007199254740992",
        "-9007199254740991",
        "-9007199254740992",
        "\"\\/\"",
        "\"\\u0041\"",
        "\"\\u001F\"",
        "\"\\u001f\"",
        "\"\\u0008\"",
        "\"\\b\\t\\n\\f\\r\\\"\\\\\"",
        "\"\u{2028}é\u{10000}\"",
        "\"\\ud800\"",
        "{\"\u{10000}\":1,\"\u{e000}\":2}",
        "{\"\u{e000}\":1,\"\u{10000}\":2}",
        "{\"\\n\":1,\"a\":2}",
        "{\"a\":2,\"\\n\":1}",
        "{\"\\u0001\":1,\"\\u0002\":2}",
        "[1,]",
        "",
        " 1",
        "true ",
    ];
    for text in texts {
        let bytes = text.as_bytes();
        let reference = serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| to_canonical(&v).ok())
            .is_some_and(|c| c == bytes);
        assert_eq!(is_canonical(bytes), reference, "{text}");
    }
    assert!(!is_canonical(b"\"\xff\""), "invalid UTF-8");
}

fn sample_receipt(body: Map<String, Value>) -> Receipt {
    let s = signer();
    Receipt {
        seq: 0,
        kind: Kind::Gate,
        time: Timestamp::from_unix_seconds(0),
        network: "localnet".into(),
        actor: s.id(),
        subject: Subject {
            spec_digest: DigestSet::of(b"spec"),
            git_commit: None,
        },
        parent: Parent::Genesis,
        body,
    }
}

/// A body whose containers nest `depth` deep (the body object counting as 1).
fn body_nested(depth: usize) -> Map<String, Value> {
    let mut deep = Value::from(1);
    for _ in 1..depth {
        deep = Value::Array(vec![deep]);
    }
    let mut body = Map::new();
    body.insert("deep".into(), deep);
    body
}

#[test]
fn bodies_at_the_depth_limit_take_the_fast_path_and_verify() {
    let s = signer();
    let sealed = seal(sample_receipt(body_nested(MAX_BODY_DEPTH)), &s).unwrap();
    assert!(fast(&sealed.line).is_some());
    assert!(reference(&sealed.line).is_some());
    let mut log = sealed.line.clone();
    log.push(b'\n');
    let mut trusted = TrustedKeys::new();
    trusted.insert(s.verifying_key());
    let report = verify_bytes(&log, &VerifyOptions::new(&trusted));
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.valid_signatures, 1);
}

#[test]
fn bodies_beyond_the_depth_limit_are_refused_by_both_readers_by_name() {
    assert_eq!(MAX_FAST_DEPTH, MAX_BODY_DEPTH);
    let s = signer();
    // 65: just past the limit; 127: the deepest serde_json parses as a whole
    // statement; 200: past what serde_json parses at all.
    for depth in [MAX_BODY_DEPTH + 1, 127, 200] {
        let sealed = seal(sample_receipt(body_nested(depth)), &s).unwrap();
        assert!(fast(&sealed.line).is_none(), "{depth}");
        assert_eq!(
            open_line(&sealed.line).unwrap_err(),
            FormatError::BodyTooDeep {
                depth,
                limit: MAX_BODY_DEPTH
            }
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn group_commit_writes_what_seal_writes(bodies in prop::collection::vec(body(), 1..20)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let s = signer();
        let drafts: Vec<Draft> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| Draft {
                kind: Kind::Reconcile,
                time: Timestamp::from_unix_seconds(i as u64),
                subject: Subject {
                    spec_digest: DigestSet::of(b"spec"),
                    git_commit: None,
                },
                body,
            })
            .collect();
        let mut w = LogWriter::open(&path, s.clone(), options()).unwrap();
        let first = w.append(drafts[0].clone()).unwrap();
        let rest = w.append_batch(drafts[1..].to_vec()).unwrap();
        drop(w);
        let bytes = std::fs::read(&path).unwrap();
        let mut expected = Vec::new();
        let mut parent = Parent::Genesis;
        for (i, d) in drafts.iter().enumerate() {
            let sealed = seal(
                Receipt {
                    seq: i as u64,
                    kind: d.kind.clone(),
                    time: d.time.clone(),
                    network: options().network,
                    actor: s.id(),
                    subject: d.subject.clone(),
                    parent,
                    body: d.body.clone(),
                },
                &s,
            )
            .unwrap();
            let appended = if i == 0 { &first } else { &rest[i - 1] };
            prop_assert_eq!(appended.seq, i as u64);
            prop_assert_eq!(appended.digest, sealed.digest);
            prop_assert_eq!(
                appended.leaf,
                netwright_receipts::merkle::leaf_hash(&sealed.line)
            );
            parent = Parent::Receipt(sealed.digest);
            expected.extend_from_slice(&sealed.line);
            expected.push(b'\n');
        }
        prop_assert_eq!(bytes, expected);
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `line` with the base64 character at `at` replaced by the next one of the
/// alphabet, which sets the lowest of the bits it carries.
fn next_base64_char(line: &[u8], at: usize) -> Vec<u8> {
    let mut out = line.to_vec();
    let value = BASE64.iter().position(|&c| c == line[at]).unwrap();
    out[at] = BASE64[(value + 1) % 64];
    out
}

#[test]
fn base64_only_a_lenient_decoder_accepts_is_refused_by_both_readers() {
    let s = signer();
    // A body length whose payload base64 ends in padding, so its last character
    // carries bits that canonical base64 requires to be zero.
    let line = (0..3)
        .map(|n| {
            let mut body = Map::new();
            body.insert("pad".into(), Value::String("x".repeat(n)));
            seal(sample_receipt(body), &s).unwrap().line
        })
        .find(|line| {
            let end = line.windows(2).position(|w| w == b"\",").unwrap();
            line[end - 1] == b'='
        })
        .unwrap();
    assert!(fast(&line).is_some());
    let text = std::str::from_utf8(&line).unwrap();
    let payload_end = text.find("\",").unwrap();
    let payload_last = text[..payload_end].trim_end_matches('=').len() - 1;
    let sig_end = text.rfind("\"}]}").unwrap();
    let sig_last = text[..sig_end].trim_end_matches('=').len() - 1;
    let payload_start = "{\"payload\":\"".len();
    let url_safe = {
        let mut l = line.clone();
        l[payload_start + 5] = b'-';
        l
    };
    let space = {
        let mut l = line.clone();
        l[payload_start + 5] = b' ';
        l
    };
    let unpadded = text.replacen("=\",", "\",", 1).into_bytes();
    let bad = [
        (
            "payload trailing bits",
            next_base64_char(&line, payload_last),
        ),
        ("signature trailing bits", next_base64_char(&line, sig_last)),
        ("url-safe alphabet", url_safe),
        ("space", space),
        ("missing padding", unpadded),
    ];
    for (what, bad) in bad {
        assert_ne!(bad, line, "{what}");
        assert!(fast(&bad).is_none(), "fast reader accepts {what}");
        assert!(reference(&bad).is_none(), "reference reader accepts {what}");
    }
}
