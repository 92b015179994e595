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
