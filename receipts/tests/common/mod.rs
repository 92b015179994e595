//! Shared helpers: deterministic logs built through the library.
#![allow(dead_code)]

use std::path::Path;

use netwright_receipts::{
    envelope::{encode_envelope, pae, PAYLOAD_TYPE},
    jcs::to_canonical,
    DigestSet, Draft, Kind, LogOptions, LogWriter, Receipt, Signer, Subject, Timestamp,
    TrustedKeys,
};
use serde_json::json;

pub fn signer() -> Signer {
    Signer::from_seed(&[42; 32])
}

pub fn trusted() -> TrustedKeys {
    let mut t = TrustedKeys::new();
    t.insert(signer().verifying_key());
    t
}

pub fn draft(i: u64) -> Draft {
    Draft {
        kind: if i.is_multiple_of(2) {
            Kind::Reconcile
        } else {
            Kind::Gate
        },
        time: Timestamp::from_unix_seconds(1_735_689_600 + i),
        subject: Subject {
            spec_digest: DigestSet::of(b"apiVersion: netwright.dev/v1\nkind: Network\n"),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        },
        body: json!({"observed": {"height": i}, "done": ["apply"], "verdict": "pass"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

pub fn options() -> LogOptions {
    LogOptions {
        network: "localnet".into(),
        origin: None,
        checkpoint_every: None,
    }
}

/// Writes a log of `n` receipts and returns its bytes.
pub fn write_log(path: &Path, n: u64) -> Vec<u8> {
    let mut w = LogWriter::open(path, signer(), options()).unwrap();
    w.append_batch((0..n).map(draft).collect()).unwrap();
    drop(w);
    std::fs::read(path).unwrap()
}

pub fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.to_vec())
        .collect()
}

pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

/// Signs an arbitrary statement with `signer` into a log line.
pub fn sign_line(receipt: &Receipt, signer: &Signer) -> Vec<u8> {
    let payload = to_canonical(&receipt.to_value()).unwrap();
    let sig = signer.sign(&pae(PAYLOAD_TYPE, &payload));
    encode_envelope(&payload, &signer.id(), &sig)
}
