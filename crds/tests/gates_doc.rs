//! Every gate example of `docs/gates.md` validates.

mod common;

use netwright_crds::validate::{validate_source, Severity};

const HEADER: &str = "apiVersion: netwright.dev/v1alpha1\nkind: Network\nmetadata:\n  name: doc\nspec:\n  chainId: doc-1\n  validators:\n    replicas: 4\n  gates:\n";

const POS: &str = "- name: pos\n  conditions:\n    - {metric: height, gte: 50}\n";

/// The YAML blocks of the page that declare gates, each as a list of gates.
fn gate_blocks() -> Vec<String> {
    let text = std::fs::read_to_string(common::repo_root().join("docs/gates.md"))
        .expect("docs/gates.md exists");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
        .into_iter()
        .filter_map(|b| {
            if let Some(list) = b.strip_prefix("gates:\n") {
                // Indented by two already.
                Some(
                    list.lines()
                        .map(|l| l.strip_prefix("  ").unwrap_or(l).to_owned() + "\n")
                        .collect(),
                )
            } else if b.starts_with("- name:") {
                Some(b)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn every_gate_example_validates() {
    let blocks = gate_blocks();
    assert!(blocks.len() >= 7, "found {} gate examples", blocks.len());
    for block in blocks {
        let mut gates = block.clone();
        let declares_pos = block
            .lines()
            .any(|l| l.split('#').next().map(str::trim) == Some("- name: pos"));
        if !declares_pos {
            gates.insert_str(0, POS);
        }
        let indented: String = gates.lines().map(|l| format!("  {l}\n")).collect();
        let source = format!("{HEADER}{indented}");
        let reports = validate_source(&source).expect("validation runs");
        let errors: Vec<_> = reports[0]
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{source}\n{errors:#?}");
    }
}
