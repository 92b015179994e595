//! Every malformed fixture is rejected with the error it declares, and no input panics.

mod common;

use netwright_crds::validate::{validate_bytes, validate_source, Severity};
use proptest::prelude::*;

fn fixtures() -> Vec<(String, String)> {
    let dir = common::repo_root().join("crds/tests/fixtures/invalid");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture readable");
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                text,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn at_least_thirty_fixtures_each_invalid_with_its_declared_error() {
    let all = fixtures();
    assert!(all.len() >= 30, "only {} fixtures", all.len());
    for (name, text) in all {
        let expectations: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expectations.is_empty(),
            "{name} declares no expected error"
        );
        let reports = validate_source(&text).expect("validation runs");
        assert!(reports.iter().any(|r| !r.valid), "{name} was accepted");
        // Rendered as the CLI renders them (the file name comes first there).
        let several = reports.len() > 1 || reports.iter().any(|r| r.index > 1);
        let rendered: Vec<String> = reports
            .iter()
            .flat_map(|r| {
                r.diagnostics.iter().map(move |d| {
                    let doc = if several {
                        format!("document {}: ", r.index)
                    } else {
                        String::new()
                    };
                    let path = if d.path.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", d.path)
                    };
                    format!(
                        ":{}:{}: {}: {doc}{path}{}",
                        d.line, d.column, d.severity, d.message
                    )
                })
            })
            .collect();
        for expected in expectations {
            let expected = expected.trim();
            assert!(
                rendered.iter().any(|r| r.contains(expected)),
                "{name}: expected {expected:?} in {rendered:#?}"
            );
        }
        let errors: Vec<_> = reports
            .iter()
            .flat_map(|r| &r.diagnostics)
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(
            errors.iter().all(|d| d.line >= 1 && d.column >= 1),
            "{name}: positions"
        );
    }
}

fn seeds() -> Vec<String> {
    let mut out: Vec<String> = fixtures().into_iter().map(|(_, t)| t).collect();
    for example in ["localnet.yaml", "devnet.yaml", "testnet.yaml"] {
        let path = common::repo_root().join("examples").join(example);
        out.push(std::fs::read_to_string(path).expect("example readable"));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("NETWRIGHT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    /// Cutting, splicing and corrupting real documents never panics.
    #[test]
    fn mutated_documents_never_panic(
        seed in 0usize..64,
        cut in 0usize..4096,
        len in 0usize..64,
        insert in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let seeds = seeds();
        let text = seeds[seed % seeds.len()].as_bytes();
        let cut = cut.min(text.len());
        let end = (cut + len).min(text.len());
        let mut bytes = text[..cut].to_vec();
        bytes.extend_from_slice(&insert);
        bytes.extend_from_slice(&text[end..]);
        let reports = validate_bytes(&bytes).expect("validation runs");
        prop_assert!(!reports.is_empty());
    }

    /// Arbitrary text never panics.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let reports = validate_source(&text).expect("validation runs");
        prop_assert!(!reports.is_empty());
    }
}
