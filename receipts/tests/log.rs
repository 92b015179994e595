//! The log file: torn tails, repair, single writer, group commit, checkpoints, proofs.

mod common;

use common::*;
use netwright_receipts::{
    checkpoint::{checkpoints_dir, latest_note},
    merkle::{
        consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    },
    repair_torn_tail, verify_bytes, Checkpoint, LogError, LogOptions, LogWriter, VerifyOptions,
};

#[test]
fn appends_chain_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut w = LogWriter::open(&path, signer(), options()).unwrap();
    let a = w.append(draft(0)).unwrap();
    let b = w.append_batch(vec![draft(1), draft(2)]).unwrap();
    assert_eq!((a.seq, b[0].seq, b[1].seq), (0, 1, 2));
    drop(w);
    let mut w = LogWriter::open(&path, signer(), options()).unwrap();
    assert_eq!(w.len(), 3);
    assert_eq!(w.append(draft(3)).unwrap().seq, 3);
    drop(w);
    let trusted = trusted();
    let r = verify_bytes(
        &std::fs::read(&path).unwrap(),
        &VerifyOptions::new(&trusted),
    );
    assert!(r.is_ok(), "{:?}", r.findings);
    assert_eq!(r.lines, 4);
}

#[test]
fn torn_tail_is_reported_on_open_and_repaired_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let bytes = write_log(&path, 3);
    let sound_len = bytes.len();
    // Simulate a crash in the middle of appending a fourth line.
    let mut torn = bytes.clone();
    torn.extend_from_slice(&lines(&bytes)[1][..57]);
    std::fs::write(&path, &torn).unwrap();

    let err = LogWriter::open(&path, signer(), options()).unwrap_err();
    match &err {
        LogError::TornTail { tail, .. } => {
            assert_eq!(
                (tail.line, tail.offset, tail.bytes.len()),
                (4, sound_len as u64, 57)
            );
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("line 4 at byte offset {sound_len}")),
        "{text}"
    );
    // Opening did not change the file.
    assert_eq!(std::fs::read(&path).unwrap(), torn);

    let cut = repair_torn_tail(&path).unwrap().unwrap();
    assert_eq!(
        (cut.line, cut.offset, cut.bytes.len()),
        (4, sound_len as u64, 57)
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(repair_torn_tail(&path).unwrap(), None);
    let mut w = LogWriter::open(&path, signer(), options()).unwrap();
    assert_eq!(w.append(draft(3)).unwrap().seq, 3);
}

#[test]
fn second_writer_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let first = LogWriter::open(&path, signer(), options()).unwrap();
    let err = LogWriter::open(&path, signer(), options()).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("locked by another writer"),
        "{err}"
    );
    assert!(matches!(
        repair_torn_tail(&path),
        Err(LogError::Locked { .. })
    ));
    drop(first);
    assert!(LogWriter::open(&path, signer(), options()).is_ok());
}

#[test]
fn second_writer_thread_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let _first = LogWriter::open(&path, signer(), options()).unwrap();
    let p = path.clone();
    let res = std::thread::spawn(move || LogWriter::open(&p, signer(), options()).map(|_| ()))
        .join()
        .unwrap();
    assert!(matches!(res, Err(LogError::Locked { .. })));
}

#[test]
fn network_of_an_existing_log_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    write_log(&path, 1);
    let other = LogOptions {
        network: "devnet".into(),
        ..options()
    };
    let err = LogWriter::open(&path, signer(), other).unwrap_err();
    assert!(
        err.to_string().contains("\"localnet\", not \"devnet\""),
        "{err}"
    );
}

#[test]
fn float_in_body_is_refused_at_construction() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = LogWriter::open(&dir.path().join("log"), signer(), options()).unwrap();
    let mut d = draft(0);
    d.body.insert("ratio".into(), serde_json::json!(0.25));
    let err = w.append(d).unwrap_err();
    assert!(err.to_string().contains("/predicate/body/ratio"), "{err}");
    assert_eq!(w.len(), 0);
}

#[test]
fn checkpoints_every_n_and_proofs_against_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let opts = LogOptions {
        checkpoint_every: Some(8),
        ..options()
    };
    let mut w = LogWriter::open(&path, signer(), opts).unwrap();
    for i in 0..5 {
        w.append(draft(i)).unwrap();
    }
    assert!(latest_note(&checkpoints_dir(&path)).unwrap().is_none());
    w.append_batch((5..20).map(draft).collect()).unwrap();
    let trusted = trusted();
    let (_, old_note) = latest_note(&checkpoints_dir(&path)).unwrap().unwrap();
    let old = Checkpoint::verify(&old_note, &trusted).unwrap();
    assert_eq!(old.size, 20);
    w.append_batch((20..23).map(draft).collect()).unwrap();
    let (new, _) = w.checkpoint().unwrap();
    assert_eq!(new.size, 23);
    drop(w);

    let bytes = std::fs::read(&path).unwrap();
    let leaves: Vec<_> = lines(&bytes).iter().map(|l| leaf_hash(l)).collect();
    assert_eq!(root(&leaves), new.root);
    for i in [0u64, 7, 19, 22] {
        let p = inclusion_proof(&leaves, i).unwrap();
        verify_inclusion(&leaves[i as usize], &p, &new.root).unwrap();
    }
    let c = consistency_proof(&leaves, old.size).unwrap();
    verify_consistency(&old.root, &new.root, &c).unwrap();
}
