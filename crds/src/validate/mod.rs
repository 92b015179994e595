//! Validation of `Network` documents, reporting every error with its YAML path, line and column.
//!
//! Per document, in order:
//! 1. YAML loading keeps positions and reports duplicate keys, unknown tags, alias bombs;
//! 2. the envelope (`apiVersion`, `kind`, `metadata`) is checked;
//! 3. `spec` is checked against the CRD's own OpenAPI schema ([`schema`]), collecting every
//!    type, range, enum, required and unknown-field error instead of stopping at the first;
//! 4. the spec is deserialized (nodes that failed step 3 are pruned first, so that the checks
//!    below still run on the rest when possible);
//! 5. semantic checks ([`semantic`]) run on the typed spec and its defaulted view.

pub mod names;
pub mod report;
pub mod schema;
pub mod semantic;
pub mod yaml;

use std::sync::OnceLock;

use serde_json::Value as J;

pub use report::{Diagnostic, DocumentReport, Path, Segment, Severity};

use crate::crd::{openapi_schema, CrdError};
use crate::spec::{Network, NetworkSpec, API_VERSION, KIND};
use names::is_dns_label;
use report::Sink;
use yaml::{quote, Document, Node, Value};

/// Why validation could not run at all (as opposed to finding the input invalid).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The schema could not be generated: a bug in the types, not in the input.
    #[error(transparent)]
    Schema(#[from] CrdError),
}

/// Metadata fields written by the API server: accepted (so that `kubectl get -o yaml` output
/// validates) and ignored.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "finalizers",
    "ownerReferences",
    "generateName",
];

fn spec_schema() -> Result<&'static J, ValidateError> {
    static SCHEMA: OnceLock<Result<J, String>> = OnceLock::new();
    let cached = SCHEMA.get_or_init(|| {
        openapi_schema()
            .map(|root| root.pointer("/properties/spec").cloned().unwrap_or(J::Null))
            .map_err(|e| e.to_string())
    });
    match cached {
        Ok(schema) if schema.is_object() => Ok(schema),
        Ok(_) => Err(CrdError::NoSchema.into()),
        Err(message) => Err(CrdError::Render(message.clone()).into()),
    }
}

/// Validates raw file content: invalid UTF-8 is reported like any other error.
pub fn validate_bytes(bytes: &[u8]) -> Result<Vec<DocumentReport>, ValidateError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => validate_source(text),
        Err(error) => {
            let good = &bytes[..error.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let column = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            Ok(vec![single_error(
                1,
                line,
                column,
                format!(
                    "the file is not valid UTF-8 (byte offset {})",
                    error.valid_up_to()
                ),
            )])
        }
    }
}

/// Validates every document of a YAML stream.
pub fn validate_source(source: &str) -> Result<Vec<DocumentReport>, ValidateError> {
    let schema = spec_schema()?;
    let stream = yaml::load(source);
    let total = stream.documents.len() + usize::from(stream.error.is_some());
    let mut reports = Vec::new();
    for (i, doc) in stream.documents.iter().enumerate() {
        let blank = matches!(doc.root.value, Value::Null) && doc.issues.is_empty();
        if blank && total > 1 {
            continue;
        }
        reports.push(validate_document(i + 1, doc, schema));
    }
    if let Some(error) = stream.error {
        let mut report = single_error(
            stream.documents.len() + 1,
            error.pos.line,
            error.pos.column,
            error.message,
        );
        for d in &mut report.diagnostics {
            d.path = error.path.to_string();
        }
        reports.push(report);
    }
    if reports.is_empty() {
        reports.push(single_error(
            1,
            1,
            1,
            "no Network document found: the file is empty".into(),
        ));
    }
    Ok(reports)
}

fn single_error(index: usize, line: usize, column: usize, message: String) -> DocumentReport {
    DocumentReport {
        index,
        name: None,
        valid: false,
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            path: String::new(),
            line,
            column,
            message,
            value: None,
        }],
        network: None,
    }
}

fn validate_document(index: usize, doc: &Document, schema: &J) -> DocumentReport {
    let root = &doc.root;
    let mut sink = Sink::new(root);
    for issue in &doc.issues {
        sink.at(
            Severity::Error,
            issue.pos,
            &issue.path,
            issue.message.clone(),
        );
    }
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| match &n.value {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        });
    let mut network = None;
    if let Value::Map(entries) = &root.value {
        check_envelope(root, &mut sink);
        if let Some(spec) = root.get("spec") {
            let before = sink.error_paths().len();
            schema::check(spec, schema, &Path::root().key("spec"), &mut sink);
            let schema_errors = sink.error_paths().split_off(before);
            let mut json = spec.to_json();
            for path in &schema_errors {
                prune(&mut json, path);
            }
            match serde_json::from_value::<NetworkSpec>(json) {
                Ok(typed) => {
                    semantic::check(&typed, &mut sink);
                    if !sink.has_errors() {
                        network = Some(build_network(root, typed));
                    }
                }
                Err(error) if schema_errors.is_empty() => {
                    sink.error(
                        &Path::root().key("spec"),
                        format!("cannot read spec: {error}"),
                    );
                }
                Err(_) => {}
            }
        } else {
            sink.at(
                Severity::Error,
                root.pos,
                &Path::root(),
                "missing required field \"spec\"".into(),
            );
        }
        for entry in entries {
            if !matches!(
                entry.key.as_str(),
                "apiVersion" | "kind" | "metadata" | "spec" | "status"
            ) {
                sink.at(
                    Severity::Error,
                    entry.key_pos,
                    &Path::root().key(&entry.key),
                    format!(
                        "unknown field {}; a Network has apiVersion, kind, metadata and spec",
                        quote(&entry.key)
                    ),
                );
            }
        }
        if root.get("status").is_some() {
            sink.warn(
                &Path::root().key("status"),
                "status is ignored: the operator writes it",
            );
        }
    } else {
        let what = if matches!(root.value, Value::Null) {
            "the document is empty".to_owned()
        } else {
            format!("found {}", root.describe())
        };
        sink.at(
            Severity::Error,
            root.pos,
            &Path::root(),
            format!(
                "a Network document is a mapping with apiVersion, kind, metadata and spec; {what}"
            ),
        );
    }
    let diagnostics = sink.finish();
    let valid = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    DocumentReport {
        index,
        name,
        valid,
        diagnostics,
        network: if valid { network } else { None },
    }
}

fn check_envelope(root: &Node, sink: &mut Sink<'_>) {
    for (field, expected) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        match root.get(field).map(|n| &n.value) {
            None => sink.at(
                Severity::Error,
                root.pos,
                &Path::root(),
                format!(
                    "missing required field {} (expected {})",
                    quote(field),
                    quote(expected)
                ),
            ),
            Some(Value::Str(s)) if s == expected => {}
            Some(_) => sink.error(
                &Path::root().key(field),
                format!("expected {}", quote(expected)),
            ),
        }
    }
    let path = Path::root().key("metadata");
    let Some(meta) = root.get("metadata") else {
        sink.at(
            Severity::Error,
            root.pos,
            &Path::root(),
            "missing required field \"metadata\" (with a name)".into(),
        );
        return;
    };
    let Value::Map(entries) = &meta.value else {
        sink.error(
            &path,
            format!("expected a mapping, found {}", meta.describe()),
        );
        return;
    };
    match meta.get("name").map(|n| &n.value) {
        None => sink.at(
            Severity::Error,
            meta.pos,
            &path,
            "missing required field \"name\"".into(),
        ),
        Some(Value::Str(name)) if is_dns_label(name) => {}
        Some(_) => sink.error(
            &path.key("name"),
            "the name must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
        ),
    }
    for entry in entries {
        let at = path.key(&entry.key);
        match entry.key.as_str() {
            "name" => {}
            "namespace" => match &entry.value.value {
                Value::Str(ns) if is_dns_label(ns) => {}
                _ => sink.error(&at, "the namespace must be a DNS label"),
            },
            "labels" | "annotations" => string_map(&entry.value, &at, sink),
            key if SERVER_METADATA.contains(&key) => {}
            key => sink.at(
                Severity::Error,
                entry.key_pos,
                &at,
                format!(
                    "unknown field {}; metadata has name, namespace, labels and annotations",
                    quote(key)
                ),
            ),
        }
    }
}

fn string_map(node: &Node, path: &Path, sink: &mut Sink<'_>) {
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                if !matches!(entry.value.value, Value::Str(_)) {
                    sink.error(
                        &path.key(&entry.key),
                        format!(
                            "expected a string, found {} (quote the value)",
                            entry.value.describe()
                        ),
                    );
                }
            }
        }
        Value::Null => {}
        _ => sink.error(
            path,
            format!("expected a mapping of strings, found {}", node.describe()),
        ),
    }
}

/// Removes the node at `path` (relative to the document root, under `spec`) from `json`, or
/// the closest mapping entry containing it, so that the rest can still be deserialized.
fn prune(json: &mut J, path: &Path) {
    let segments = path.segments();
    // Skip the leading `spec`; find the last key segment whose parent is reachable.
    let inner = segments.get(1..).unwrap_or_default();
    let Some(cut) = inner.iter().rposition(|s| matches!(s, Segment::Key(_))) else {
        return;
    };
    let mut node = &mut *json;
    for segment in &inner[..cut] {
        let next = match (segment, node) {
            (Segment::Key(k), J::Object(map)) => map.get_mut(k),
            (Segment::Index(i), J::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    if let (Segment::Key(k), J::Object(map)) = (&inner[cut], node) {
        map.remove(k);
    }
}

fn build_network(root: &Node, spec: NetworkSpec) -> Network {
    let meta = root.get("metadata");
    let text = |key: &str| {
        meta.and_then(|m| m.get(key)).and_then(|n| match &n.value {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        })
    };
    let map = |key: &str| {
        meta.and_then(|m| m.get(key)).and_then(|n| match &n.value {
            Value::Map(entries) => Some(
                entries
                    .iter()
                    .filter_map(|e| match &e.value.value {
                        Value::Str(v) => Some((e.key.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        })
    };
    let mut network = Network::new(&text("name").unwrap_or_default(), spec);
    network.metadata.namespace = text("namespace");
    network.metadata.labels = map("labels");
    network.metadata.annotations = map("annotations");
    network
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "apiVersion: netwright.dev/v1alpha1\nkind: Network\nmetadata:\n  name: n1\nspec:\n  chainId: c1\n";

    #[test]
    fn minimal_document_is_valid_and_parsed() {
        let reports = validate_source(MINIMAL).expect("validation runs");
        assert_eq!(reports.len(), 1);
        assert!(reports[0].valid, "{:?}", reports[0].diagnostics);
        let network = reports[0].network.as_ref().expect("network parsed");
        assert_eq!(network.spec.chain_id, "c1");
        assert_eq!(network.metadata.name.as_deref(), Some("n1"));
    }

    #[test]
    fn schema_errors_do_not_hide_semantic_errors() {
        let source = format!(
            "{MINIMAL}  paused: maybe\n  gates:\n  - name: a\n    after: [b]\n    conditions: [{{metric: height, gte: 1}}]\n"
        );
        let reports = validate_source(&source).expect("validation runs");
        let messages: Vec<&str> = reports[0]
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert!(
            messages.iter().any(|m| m.contains("expected a boolean")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("unknown gate \"b\"")),
            "{messages:?}"
        );
    }

    const GATES: &str = "  gates:
  - name: pos
    within: 5m
    conditions: [{metric: height, gte: 10}]
  - name: halts
    after: [pos]
    within: 30s
    expect: fail
    missing: wait
    conditions: [{metric: height, mode: delta, gte: 3}]
  - name: no-slash
    after: [pos]
    missing: fail
    conditions: [{metric: slashes_applied, mode: delta, eq: 0}]
  - name: validator-leaves
    after: [pos]
    within: 1m
    conditions: [{metric: validators_active, mode: delta, lte: -1}, {metric: validators_signing_ratio, mode: delta, gte: -0.5}]
";

    fn messages(source: &str) -> Vec<(Severity, String, usize, String)> {
        let reports = validate_source(source).expect("validation runs");
        reports[0]
            .diagnostics
            .iter()
            .map(|d| (d.severity, d.path.clone(), d.line, d.message.clone()))
            .collect()
    }

    #[test]
    fn gate_modes_policies_and_expectations_are_accepted() {
        let source = format!("{MINIMAL}{GATES}");
        let found = messages(&source);
        assert!(found.iter().all(|m| m.0 != Severity::Error), "{found:#?}");
    }

    #[test]
    fn negative_thresholds_are_changes_only_in_delta_mode() {
        let source = format!("{MINIMAL}{GATES}").replace(
            "validators_active, mode: delta, lte: -1",
            "validators_active, lte: -1",
        );
        let found = messages(&source);
        assert!(
            found.iter().any(|m| m.1 == "spec.gates[3].conditions[0].lte" && m.3.contains("never negative")),
            "{found:#?}"
        );
        let source = format!("{MINIMAL}{GATES}").replace("lte: -1}", "lte: -1.5}");
        let found = messages(&source);
        assert!(
            found
                .iter()
                .any(|m| m.1 == "spec.gates[3].conditions[0].lte" && m.3.contains("whole numbers")),
            "{found:#?}"
        );
    }

    #[test]
    fn expect_fail_needs_a_deadline_and_ignores_on_violation() {
        let source =
            format!("{MINIMAL}{GATES}").replace("    within: 30s\n", "    onViolation: warn\n");
        let found = messages(&source);
        let error = found
            .iter()
            .find(|m| m.0 == Severity::Error)
            .expect("an error");
        assert_eq!(error.1, "spec.gates[1].expect");
        assert_eq!(error.2, 14, "the line of `expect: fail`");
        assert!(
            found
                .iter()
                .any(|m| m.0 == Severity::Warning && m.1 == "spec.gates[1].onViolation"),
            "{found:#?}"
        );
    }

    #[test]
    fn syntax_error_in_second_document_keeps_the_first() {
        let source = format!("{MINIMAL}---\nkind: [\n");
        let reports = validate_source(&source).expect("validation runs");
        assert_eq!(reports.len(), 2);
        assert!(reports[0].valid);
        assert!(!reports[1].valid);
        assert_eq!(reports[1].index, 2);
        assert!(reports[1].diagnostics[0].message.contains("syntax"));
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_line() {
        let mut bytes = MINIMAL.as_bytes().to_vec();
        bytes.extend_from_slice(b"  image: \xff\n");
        let reports = validate_bytes(&bytes).expect("validation runs");
        assert_eq!(reports[0].diagnostics[0].line, 7);
    }

    #[test]
    fn empty_input_is_invalid() {
        for source in ["", "---\n", "# only a comment\n"] {
            let reports = validate_source(source).expect("validation runs");
            assert!(!reports[0].valid, "{source:?}");
        }
    }
}
