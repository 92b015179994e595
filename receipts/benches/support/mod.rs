//! What the receipt benches share: the receipts they write and how they write a log.

// Each bench takes the helpers it needs.
#![allow(dead_code)]

use std::path::Path;

use netwright_receipts::{
    DigestSet, Draft, Kind, LogOptions, LogWriter, Signer, Subject, Timestamp,
};
use serde_json::json;

/// Receipts in the log the verify benches read.
pub const LOG_SIZE: u64 = 4096;
/// Receipts per `append_batch` in the append benches.
pub const BATCH: usize = 1000;

/// The `i`-th bench receipt: a `reconcile` receipt of typical size.
pub fn draft(i: u64) -> Draft {
    Draft {
        kind: Kind::Reconcile,
        time: Timestamp::from_unix_seconds(1_735_689_600 + i),
        subject: Subject {
            spec_digest: DigestSet::of(b"kind: Network\n"),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        },
        body: json!({"observed": {"height": i, "peers": 3}, "done": ["apply"], "verdict": "pass"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

/// Options of every bench log.
pub fn options() -> LogOptions {
    LogOptions {
        network: "benchnet".into(),
        origin: None,
        checkpoint_every: None,
    }
}

/// Writes a log of `count` bench receipts signed by `signer` at `path` and returns its bytes.
pub fn write_log(path: &Path, signer: &Signer, count: u64) -> Vec<u8> {
    let mut writer = LogWriter::open(path, signer.clone(), options()).expect("open log");
    writer
        .append_batch((0..count).map(draft).collect())
        .expect("append");
    drop(writer);
    std::fs::read(path).expect("read log")
}
