//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Compares a checked-in generated file with what the code generates now. With
/// `NETWRIGHT_BLESS=1` the file is rewritten instead.
#[allow(dead_code)] // Not every test binary regenerates a file.
pub fn check_generated(relative: &str, generated: &str) {
    let path = repo_root().join(relative);
    if std::env::var_os("NETWRIGHT_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("cannot write {relative}: {e}"));
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != generated {
        let first_difference = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "length differs".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "{relative} is stale ({first_difference}); regenerate it with NETWRIGHT_BLESS=1 cargo test -p netwright-crds"
        );
    }
}
