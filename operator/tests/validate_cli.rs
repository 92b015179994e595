//! `netwright validate` and `netwright crd`, run as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn netwright(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("netwright runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn examples_are_valid() {
    let output = netwright(&[
        "validate",
        "examples/localnet.yaml",
        "examples/devnet.yaml",
        "examples/testnet.yaml",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    for name in ["localnet", "devnet", "testnet"] {
        assert!(
            text.contains(&format!("examples/{name}.yaml: valid (1 document)")),
            "{text}"
        );
    }
}

#[test]
fn every_fixture_fails_with_its_declared_error_path_and_line() {
    let dir = repo().join("crds/tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "only {} fixtures", names.len());
    for name in names {
        let relative = format!("crds/tests/fixtures/invalid/{name}");
        let source = std::fs::read_to_string(repo().join(&relative)).expect("fixture readable");
        let output = netwright(&["validate", &relative]);
        let text = stdout(&output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {text}{stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        // At least one error line of the form FILE:LINE:COLUMN: error: ...
        let located = text.lines().any(|l| {
            l.strip_prefix(&format!("{relative}:"))
                .and_then(|rest| rest.split_once(": error: "))
                .is_some_and(|(pos, _)| {
                    let mut parts = pos.split(':');
                    parts
                        .next()
                        .is_some_and(|l| l.parse::<usize>().is_ok_and(|n| n >= 1))
                        && parts
                            .next()
                            .is_some_and(|c| c.parse::<usize>().is_ok_and(|n| n >= 1))
                })
        });
        assert!(located, "{name}: no located error in {text}");
        let expectations: Vec<&str> = source
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expectations.is_empty(),
            "{name} declares no expected error"
        );
        for expected in expectations {
            assert!(
                text.contains(expected.trim()),
                "{name}: expected {expected:?} in:\n{text}"
            );
        }
    }
}

#[test]
fn human_output_names_file_line_column_path_and_value() {
    let output = netwright(&[
        "validate",
        "crds/tests/fixtures/invalid/duplicate-member-names.yaml",
    ]);
    let text = stdout(&output);
    assert!(
        text.contains("crds/tests/fixtures/invalid/duplicate-member-names.yaml:13:15: error: spec.validators.members[1].name: duplicate validator name \"v0\" (first at line 11)"),
        "{text}"
    );
    assert!(text.contains("invalid (1 document, 1 error)"), "{text}");
}

#[test]
fn json_output_lists_every_diagnostic() {
    let output = netwright(&[
        "validate",
        "--output",
        "json",
        "examples/localnet.yaml",
        "crds/tests/fixtures/invalid/many-errors.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(json["valid"], false);
    assert_eq!(json["files"][0]["valid"], true);
    let diagnostics = json["files"][1]["documents"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    let stake = &diagnostics[0];
    assert_eq!(stake["path"], "spec.validators.members[1].stake");
    assert_eq!(stake["severity"], "error");
    assert_eq!(stake["line"], 16);
    assert_eq!(stake["value"], -5);
}

#[test]
fn warnings_do_not_fail_validation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("small.yaml");
    std::fs::write(
        &path,
        "apiVersion: netwright.dev/v1alpha1\nkind: Network\nmetadata:\n  name: small\nspec:\n  chainId: small-1\n  validators:\n    replicas: 1\n",
    )
    .expect("write");
    let output = netwright(&["validate", &path.to_string_lossy()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            ":7:3: warning: spec.validators: 1 validator(s) cannot tolerate a faulty validator"
        ),
        "{text}"
    );
    assert!(text.contains("valid (1 document, 1 warning)"), "{text}");
}

#[test]
fn missing_file_is_a_usage_error() {
    let output = netwright(&["validate", "examples/localnet.yaml", "no/such/file.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no/such/file.yaml: error: cannot read")
    );
}

#[test]
fn no_file_is_a_usage_error() {
    assert_eq!(netwright(&["validate"]).status.code(), Some(2));
}

#[test]
fn crd_prints_the_checked_in_definition() {
    let output = netwright(&["crd"]);
    assert_eq!(output.status.code(), Some(0));
    let checked_in = std::fs::read_to_string(repo().join("crds/networks.netwright.dev.yaml"))
        .expect("checked-in CRD");
    assert_eq!(stdout(&output), checked_in);
}
