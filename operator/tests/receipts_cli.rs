//! The `netwright receipts` and `netwright keys` commands, run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netwright_receipts::keys::load_signer;
use netwright_receipts::{LogOptions, LogWriter};

fn netwright(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(args)
        .output()
        .expect("run netwright")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let o = netwright(&["keys", "generate", "--out", s(&keys)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        std::fs::write(dir.path().join("spec.yaml"), "kind: Network\n").unwrap();
        Setup { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn append(&self, count: u64) -> Output {
        netwright(&[
            "receipts",
            "append",
            s(&self.path("log")),
            "--key",
            s(&self.path("keys/receipts.key")),
            "--network",
            "localnet",
            "--kind",
            "reconcile",
            "--spec",
            s(&self.path("spec.yaml")),
            "--body",
            r#"{"verdict":"pass","observed":{"height":3}}"#,
            "--time",
            "2025-01-01T00:00:00Z",
            "--count",
            &count.to_string(),
        ])
    }
    fn verify(&self, extra: &[&str]) -> Output {
        let log = self.path("log");
        let key = self.path("keys/receipts.pub");
        let mut args = vec!["receipts", "verify", s(&log), "--key", s(&key)];
        args.extend_from_slice(extra);
        netwright(&args)
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn keys_generate_is_private_and_never_overwrites() {
    let setup = Setup::new();
    let key = setup.path("keys/receipts.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&key).unwrap();
    let o = netwright(&["keys", "generate", "--out", s(&setup.path("keys"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("refusing to overwrite"), "{}", text(&o));
    assert_eq!(std::fs::read(&key).unwrap(), before);
    let id_pub = netwright(&["keys", "id", s(&setup.path("keys/receipts.pub"))]);
    let id_key = netwright(&["keys", "id", s(&key)]);
    assert_eq!(id_pub.stdout, id_key.stdout);
    assert_eq!(String::from_utf8_lossy(&id_pub.stdout).trim().len(), 64);
}

#[test]
fn append_show_verify_and_detect_tampering() {
    let setup = Setup::new();
    assert_eq!(setup.append(5).status.code(), Some(0));
    let o = setup.verify(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).starts_with("ok: 5 receipts, head seq 4"),
        "{}",
        text(&o)
    );

    let o = netwright(&["receipts", "show", s(&setup.path("log"))]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o).lines().count(), 5, "{}", text(&o));
    let o = netwright(&["receipts", "show", s(&setup.path("log")), "--seq", "2"]);
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["statement"]["predicate"]["seq"], 2);
    assert_eq!(shown["line"], 3);
    let o = netwright(&["receipts", "show", s(&setup.path("log")), "--seq", "9"]);
    assert_eq!(o.status.code(), Some(2));

    // Remove receipt seq 2: exit 1 with the location.
    let log = std::fs::read_to_string(setup.path("log")).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.remove(2);
    std::fs::write(setup.path("log"), lines.join("\n") + "\n").unwrap();
    let o = setup.verify(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("line 3 (seq 3): receipt seq 2 is missing"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("FAIL"), "{}", text(&o));
}

#[test]
fn verify_with_another_key_reports_unknown_signer() {
    let setup = Setup::new();
    setup.append(2);
    let other = setup.path("other");
    netwright(&["keys", "generate", "--out", s(&other)]);
    let o = netwright(&[
        "receipts",
        "verify",
        s(&setup.path("log")),
        "--key",
        s(&other.join("receipts.pub")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("line 1 (seq 0): signed by unknown key"),
        "{}",
        text(&o)
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let setup = Setup::new();
    let o = setup.verify(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = netwright(&["receipts", "verify", s(&setup.path("log"))]);
    assert_eq!(o.status.code(), Some(2), "missing --key: {}", text(&o));
}

#[test]
fn checkpoint_prove_and_truncation() {
    let setup = Setup::new();
    setup.append(4);
    let ck = |setup: &Setup| {
        netwright(&[
            "receipts",
            "checkpoint",
            s(&setup.path("log")),
            "--key",
            s(&setup.path("keys/receipts.key")),
        ])
    };
    assert_eq!(ck(&setup).status.code(), Some(0));
    let old_note = setup.path("log.checkpoints/00000000000000000004.note");
    assert!(old_note.exists());
    setup.append(3);
    assert_eq!(ck(&setup).status.code(), Some(0));
    let new_note = setup.path("log.checkpoints/00000000000000000007.note");

    let o = netwright(&[
        "receipts",
        "prove",
        s(&setup.path("log")),
        "--seq",
        "5",
        "--key",
        s(&setup.path("keys/receipts.pub")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let proof: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(proof["treeSize"], 7);
    assert_eq!(proof["leafIndex"], 5);
    assert_eq!(proof["path"].as_array().unwrap().len(), 3);

    let o = netwright(&[
        "receipts",
        "prove",
        s(&setup.path("log")),
        "--from",
        s(&old_note),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let proof: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (proof["oldSize"].clone(), proof["newSize"].clone()),
        (4.into(), 7.into())
    );

    // Cut the last two receipts: the newest checkpoint proves truncation.
    let log = std::fs::read_to_string(setup.path("log")).unwrap();
    let kept: Vec<&str> = log.lines().take(5).collect();
    std::fs::write(setup.path("log"), kept.join("\n") + "\n").unwrap();
    let o = setup.verify(&["--checkpoint", s(&new_note)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("checkpoint covers 7 receipts but the log has 5"),
        "{}",
        text(&o)
    );
    let o = setup.verify(&["--checkpoint", s(&old_note)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn second_process_cannot_write_while_the_lock_is_held() {
    let setup = Setup::new();
    setup.append(1);
    let signer = load_signer(&setup.path("keys/receipts.key")).unwrap();
    let options = LogOptions {
        network: "localnet".into(),
        origin: None,
        checkpoint_every: None,
    };
    let writer = LogWriter::open(&setup.path("log"), signer, options).unwrap();
    let o = setup.append(1);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("locked by another writer"),
        "{}",
        text(&o)
    );
    drop(writer);
    assert_eq!(setup.append(1).status.code(), Some(0));
}

#[test]
fn torn_tail_is_reported_then_repaired() {
    let setup = Setup::new();
    setup.append(2);
    let mut bytes = std::fs::read(setup.path("log")).unwrap();
    let sound = bytes.len();
    bytes.extend_from_slice(b"{\"payload\":\"eyJ");
    std::fs::write(setup.path("log"), &bytes).unwrap();
    let o = setup.verify(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains(&format!(
            "line 3: torn tail: 15 bytes at byte offset {sound}"
        )),
        "{}",
        text(&o)
    );
    let o = setup.append(1);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("line 3 at byte offset"), "{}", text(&o));
    let o = netwright(&["receipts", "repair", s(&setup.path("log"))]);
    assert!(
        text(&o).contains(&format!(
            "cut incomplete line 3 at byte offset {sound} (15 bytes)"
        )),
        "{}",
        text(&o)
    );
    assert_eq!(setup.verify(&[]).status.code(), Some(0));
}

/// `{"deep":[[…"x"…]]}` nested `depth` deep, the body object counting as 1.
fn body_nested(depth: usize) -> String {
    format!(
        "{{\"deep\":{}\"x\"{}}}",
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

fn append_body(setup: &Setup, body: &str) -> Output {
    netwright(&[
        "receipts",
        "append",
        s(&setup.path("log")),
        "--key",
        s(&setup.path("keys/receipts.key")),
        "--network",
        "localnet",
        "--kind",
        "gate",
        "--spec",
        s(&setup.path("spec.yaml")),
        "--body",
        body,
    ])
}

#[test]
fn append_refuses_a_body_nested_beyond_the_limit_and_writes_nothing() {
    let setup = Setup::new();
    assert_eq!(setup.append(2).status.code(), Some(0));
    let before = std::fs::read(setup.path("log")).unwrap();
    // 125 parses as JSON (and used to be written, then read back as tampered);
    // 300 is past what the JSON parser reads.
    for depth in [65, 125, 300] {
        let o = append_body(&setup, &body_nested(depth));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains(&format!("body nested {depth} deep, limit 64")),
            "{}",
            text(&o)
        );
        assert_eq!(std::fs::read(setup.path("log")).unwrap(), before);
    }
    let o = append_body(&setup, &body_nested(64));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = setup.verify(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).starts_with("ok: 3 receipts"), "{}", text(&o));
}

fn checkpoint(setup: &Setup, log: &str) -> Output {
    netwright(&[
        "receipts",
        "checkpoint",
        s(&setup.path(log)),
        "--key",
        s(&setup.path("keys/receipts.key")),
    ])
}

#[test]
fn verify_refuses_a_checkpoint_of_another_network() {
    let setup = Setup::new();
    setup.append(3);
    // A log of another network, signed by the same key, of the same size.
    let o = netwright(&[
        "receipts",
        "append",
        s(&setup.path("other.log")),
        "--key",
        s(&setup.path("keys/receipts.key")),
        "--network",
        "othernet",
        "--kind",
        "reconcile",
        "--spec",
        s(&setup.path("spec.yaml")),
        "--count",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(checkpoint(&setup, "other.log").status.code(), Some(0));
    let note = setup.path("other.log.checkpoints/00000000000000000003.note");
    let o = setup.verify(&["--checkpoint", s(&note)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "checkpoint origin \"netwright/othernet\" is not this log's \"netwright/localnet\""
        ),
        "{}",
        text(&o)
    );
}

/// A log of 7 receipts with a checkpoint, and the inclusion proof of seq 5.
fn proven(setup: &Setup) -> serde_json::Value {
    setup.append(7);
    assert_eq!(checkpoint(setup, "log").status.code(), Some(0));
    let o = netwright(&["receipts", "prove", s(&setup.path("log")), "--seq", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn verify_proof(setup: &Setup, proof: &serde_json::Value, extra: &[&str]) -> Output {
    let path = setup.path("proof.json");
    std::fs::write(&path, serde_json::to_vec_pretty(proof).unwrap()).unwrap();
    let key = setup.path("keys/receipts.pub");
    let mut args = vec!["receipts", "verify-proof", s(&path), "--key", s(&key)];
    args.extend_from_slice(extra);
    netwright(&args)
}

#[test]
fn verify_proof_accepts_what_prove_prints() {
    let setup = Setup::new();
    let proof = proven(&setup);
    let o = verify_proof(&setup, &proof, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).starts_with("ok: receipt seq 5 is leaf 5 of the tree of size 7"),
        "{}",
        text(&o)
    );
    let log = setup.path("log");
    let o = verify_proof(&setup, &proof, &["--log", s(&log)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("and is line 6 of"), "{}", text(&o));

    // A consistency proof between two checkpoints, too.
    let old = setup.path("log.checkpoints/00000000000000000007.note");
    setup.append(2);
    assert_eq!(checkpoint(&setup, "log").status.code(), Some(0));
    let o = netwright(&["receipts", "prove", s(&log), "--from", s(&old)]);
    let consistency: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let o = verify_proof(&setup, &consistency, &["--log", s(&log)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).starts_with(
            "ok: checkpoint size 7 of netwright/localnet is a prefix of checkpoint size 9"
        ),
        "{}",
        text(&o)
    );
}

#[test]
fn verify_proof_fails_on_a_tampered_proof_leaf_key_or_log() {
    let setup = Setup::new();
    let proof = proven(&setup);
    let fails = |proof: &serde_json::Value, extra: &[&str], expected: &str| {
        let o = verify_proof(&setup, proof, extra);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).starts_with("FAIL "), "{}", text(&o));
        assert!(text(&o).contains(expected), "{expected}: {}", text(&o));
    };

    // A path node changed.
    let mut tampered = proof.clone();
    let node = tampered["path"][1].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        if node.starts_with('0') { "1" } else { "0" },
        &node[1..]
    );
    tampered["path"][1] = flipped.into();
    fails(&tampered, &[], "inclusion proof does not hold");
    // A path node removed.
    let mut short = proof.clone();
    short["path"].as_array_mut().unwrap().pop();
    fails(&short, &[], "inclusion proof does not hold");

    // The leaf: another receipt's line, or a hash that is not the line's.
    let log = std::fs::read_to_string(setup.path("log")).unwrap();
    let other_line = log.lines().nth(4).unwrap();
    let mut leaf = proof.clone();
    leaf["line"] = other_line.into();
    fails(&leaf, &[], "field line does not hash to field leafHash");
    let mut leaf = proof.clone();
    leaf["leafHash"] = "00".repeat(32).into();
    fails(&leaf, &[], "field line does not hash to field leafHash");
    // The claimed index moved to another leaf.
    let mut index = proof.clone();
    index["leafIndex"] = 4.into();
    fails(&index, &[], "but the leaf index is 4");
    // The claimed root or size is not the signed checkpoint's.
    let mut size = proof.clone();
    size["treeSize"] = 8.into();
    fails(
        &size,
        &[],
        "field treeSize is 8 but the signed checkpoint covers 7",
    );
    // The checkpoint note altered.
    let mut note = proof.clone();
    note["checkpoint"] = proof["checkpoint"]
        .as_str()
        .unwrap()
        .replacen("\n7\n", "\n6\n", 1)
        .into();
    fails(&note, &[], "checkpoint signature does not verify");
    // Not a proof at all.
    fails(
        &serde_json::json!({"type": "inclusion"}),
        &[],
        "field checkpoint is missing",
    );

    // Another key.
    let other = setup.path("other");
    netwright(&["keys", "generate", "--out", s(&other)]);
    let path = setup.path("proof.json");
    std::fs::write(&path, serde_json::to_vec(&proof).unwrap()).unwrap();
    let o = netwright(&[
        "receipts",
        "verify-proof",
        s(&path),
        "--key",
        s(&other.join("receipts.pub")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("signed by an unknown key"),
        "{}",
        text(&o)
    );

    // Another log: the same key and network, other receipts.
    let another = Setup::new();
    std::fs::copy(
        setup.path("keys/receipts.key"),
        another.path("keys/receipts.key"),
    )
    .unwrap();
    let o = netwright(&[
        "receipts",
        "append",
        s(&another.path("log")),
        "--key",
        s(&another.path("keys/receipts.key")),
        "--network",
        "localnet",
        "--kind",
        "plan",
        "--spec",
        s(&another.path("spec.yaml")),
        "--count",
        "7",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    fails(&proof, &["--log", s(&another.path("log"))], "line 6 of");
    fails(
        &proof,
        &["--log", s(&another.path("log"))],
        "is not the proven leaf",
    );
}

#[test]
fn verify_proof_usage_and_io_errors_exit_2() {
    let setup = Setup::new();
    let missing = setup.path("missing.json");
    let key = setup.path("keys/receipts.pub");
    let o = netwright(&["receipts", "verify-proof", s(&missing), "--key", s(&key)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = netwright(&["receipts", "verify-proof", s(&missing)]);
    assert_eq!(o.status.code(), Some(2), "missing --key: {}", text(&o));
}
