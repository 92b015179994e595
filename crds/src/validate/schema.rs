//! Checks a YAML tree against the CRD's structural OpenAPI schema, reporting every mismatch.
//!
//! Only the keywords the generated schema uses are understood (see [`SUPPORTED_KEYWORDS`]); a
//! test fails if the schema ever grows another one. Unlike the API server, which prunes unknown
//! fields, unknown fields are errors here: they are almost always typos. CEL rules
//! (`x-kubernetes-validations`) are not evaluated here: each has a semantic check in Rust.

use serde_json::Value as J;

use super::report::{Path, Severity, Sink};
use super::yaml::{quote, Node, Value};
use crate::duration::parse_duration;

/// Schema keywords this checker understands or deliberately ignores.
pub const SUPPORTED_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "nullable",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    // Documentation and server-side only:
    "description",
    "title",
    "default",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
];

/// Checks `node` (at `path`) against `schema`, recording every mismatch in `sink`.
pub fn check(node: &Node, schema: &J, path: &Path, sink: &mut Sink<'_>) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    let nullable = schema.get("nullable").and_then(J::as_bool).unwrap_or(false);
    let expected = schema.get("type").and_then(J::as_str).unwrap_or("");
    if matches!(node.value, Value::Null) {
        if !nullable && !expected.is_empty() {
            sink.error(
                path,
                format!("expected {}, found null", article(expected, schema)),
            );
        }
        return;
    }
    match expected {
        "object" => check_object(node, schema, path, sink),
        "array" => check_array(node, schema, path, sink),
        "string" => check_string(node, schema, path, sink),
        "integer" => check_integer(node, schema, path, sink),
        "number" => check_number(node, schema, path, sink),
        "boolean" if !matches!(node.value, Value::Bool(_)) => {
            mismatch(node, "a boolean (true or false)", path, sink);
        }
        _ => {}
    }
}

fn article(expected: &str, schema: &serde_json::Map<String, J>) -> String {
    match (expected, schema.get("format").and_then(J::as_str)) {
        ("integer", Some("uint64" | "uint32")) => "an unsigned integer".into(),
        ("integer", _) => "an integer".into(),
        ("string", Some("duration")) => "a duration string such as \"30s\"".into(),
        ("object", _) => "a mapping".into(),
        ("array", _) => "a sequence".into(),
        ("number", _) => "a number".into(),
        ("boolean", _) => "a boolean".into(),
        _ => "a string".into(),
    }
}

fn mismatch(node: &Node, expected: &str, path: &Path, sink: &mut Sink<'_>) {
    let hint = match (&node.value, expected.contains("string")) {
        (Value::Int(_) | Value::Float(_) | Value::Bool(_), true) => {
            " (quote the value to keep it a string)"
        }
        _ => "",
    };
    let found = match &node.value {
        Value::Seq(_) | Value::Map(_) => node.describe(),
        _ => format!("{} {}", node.type_name(), node.describe()),
    };
    sink.error(path, format!("expected {expected}, found {found}{hint}"));
}

fn check_object(
    node: &Node,
    schema: &serde_json::Map<String, J>,
    path: &Path,
    sink: &mut Sink<'_>,
) {
    let Value::Map(entries) = &node.value else {
        mismatch(node, "a mapping", path, sink);
        return;
    };
    let properties = schema.get("properties").and_then(J::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    if let Some(required) = schema.get("required").and_then(J::as_array) {
        for name in required.iter().filter_map(J::as_str) {
            if !entries.iter().any(|e| e.key == name) {
                sink.at(
                    Severity::Error,
                    node.pos,
                    path,
                    format!("missing required field {}", quote(name)),
                );
            }
        }
    }
    for entry in entries {
        let child = path.key(&entry.key);
        if let Some(sub) = properties.and_then(|p| p.get(&entry.key)) {
            check(&entry.value, sub, &child, sink);
        } else if let Some(sub) = additional {
            if entry.key.is_empty() {
                sink.at(Severity::Error, entry.key_pos, &child, "empty key".into());
            }
            check(&entry.value, sub, &child, sink);
        } else {
            let known: Vec<&str> = properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            sink.at(
                Severity::Error,
                entry.key_pos,
                &child,
                unknown_field(&entry.key, &known),
            );
        }
    }
}

fn unknown_field(key: &str, known: &[&str]) -> String {
    let mut message = format!("unknown field {}", quote(key));
    if let Some(best) = closest(key, known) {
        message.push_str(&format!("; did you mean {}?", quote(best)));
    } else if !known.is_empty() {
        message.push_str(&format!("; expected one of: {}", known.join(", ")));
    }
    message
}

/// The known name closest to `word`, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

fn check_array(node: &Node, schema: &serde_json::Map<String, J>, path: &Path, sink: &mut Sink<'_>) {
    let Value::Seq(items) = &node.value else {
        mismatch(node, "a sequence", path, sink);
        return;
    };
    if let Some(min) = schema.get("minItems").and_then(J::as_u64) {
        if (items.len() as u64) < min {
            sink.error(
                path,
                format!("needs at least {min} item(s), found {}", items.len()),
            );
        }
    }
    if let Some(max) = schema.get("maxItems").and_then(J::as_u64) {
        if items.len() as u64 > max {
            sink.error(
                path,
                format!("allows at most {max} items, found {}", items.len()),
            );
        }
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item, item_schema, &path.index(i), sink);
        }
    }
}

fn check_string(
    node: &Node,
    schema: &serde_json::Map<String, J>,
    path: &Path,
    sink: &mut Sink<'_>,
) {
    let Value::Str(text) = &node.value else {
        mismatch(node, &article("string", schema), path, sink);
        return;
    };
    if let Some(allowed) = schema.get("enum").and_then(J::as_array) {
        let names: Vec<&str> = allowed.iter().filter_map(J::as_str).collect();
        if !names.contains(&text.as_str()) {
            let mut message = format!("unknown value {}", quote(text));
            if let Some(best) = closest(text, &names) {
                message.push_str(&format!("; did you mean {}?", quote(best)));
            }
            message.push_str(&format!(" (expected one of: {})", names.join(", ")));
            sink.error(path, message);
            return;
        }
    }
    let length = text.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(J::as_u64) {
        if length < min {
            let message = if length == 0 {
                "must not be empty".to_owned()
            } else {
                format!("{} is shorter than {min} characters", quote(text))
            };
            sink.error(path, message);
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(J::as_u64) {
        if length > max {
            sink.error(
                path,
                format!("{} is longer than {max} characters", quote(text)),
            );
            return;
        }
    }
    if schema.get("format").and_then(J::as_str) == Some("duration") {
        if let Err(error) = parse_duration(text) {
            sink.error(path, error.to_string());
        }
    }
}

fn check_integer(
    node: &Node,
    schema: &serde_json::Map<String, J>,
    path: &Path,
    sink: &mut Sink<'_>,
) {
    let value = match &node.value {
        Value::Int(i) => *i,
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
            sink.error(
                path,
                format!("expected {}, found number {f:?} (write it without a decimal point or exponent)", article("integer", schema)),
            );
            return;
        }
        _ => {
            mismatch(node, &article("integer", schema), path, sink);
            return;
        }
    };
    let (low, high): (i128, i128) = match schema.get("format").and_then(J::as_str) {
        Some("uint64") => (0, u64::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    if value < 0 && low == 0 {
        sink.error(path, format!("must not be negative, found {value}"));
        return;
    }
    if value < low || value > high {
        sink.error(path, format!("{value} is out of range (at most {high})"));
        return;
    }
    check_bounds(value as f64, &value.to_string(), schema, path, sink);
}

fn check_number(
    node: &Node,
    schema: &serde_json::Map<String, J>,
    path: &Path,
    sink: &mut Sink<'_>,
) {
    let value = match &node.value {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => {
            mismatch(node, "a number", path, sink);
            return;
        }
    };
    if !value.is_finite() {
        sink.error(
            path,
            format!("must be a finite number, found {}", node.describe()),
        );
        return;
    }
    check_bounds(value, &node.describe(), schema, path, sink);
}

fn check_bounds(
    value: f64,
    shown: &str,
    schema: &serde_json::Map<String, J>,
    path: &Path,
    sink: &mut Sink<'_>,
) {
    let min = schema.get("minimum").and_then(J::as_f64);
    let max = schema.get("maximum").and_then(J::as_f64);
    let out_of_range = min.is_some_and(|m| value < m) || max.is_some_and(|m| value > m);
    if out_of_range {
        let range = match (min, max) {
            (Some(lo), Some(hi)) => format!("between {} and {}", number(lo), number(hi)),
            (Some(lo), None) => format!("at least {}", number(lo)),
            (None, Some(hi)) => format!("at most {}", number(hi)),
            (None, None) => String::new(),
        };
        sink.error(path, format!("must be {range}, found {shown}"));
    }
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::yaml::load;

    fn errors(schema: J, source: &str) -> Vec<String> {
        let stream = load(source);
        let doc = &stream.documents[0];
        let mut sink = Sink::new(&doc.root);
        check(&doc.root, &schema, &Path::root(), &mut sink);
        sink.finish()
            .into_iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.path, d.message))
            .collect()
    }

    fn schema() -> J {
        serde_json::json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "stake": {"type": "integer", "format": "uint64", "minimum": 0.0, "nullable": true},
                "ratio": {"type": "number", "minimum": 0.0, "maximum": 1.0},
                "wait": {"type": "string", "format": "duration"},
                "kind": {"type": "string", "enum": ["anvil"]},
                "list": {"type": "array", "maxItems": 1, "items": {"type": "boolean"}}
            }
        })
    }

    #[test]
    fn reports_every_error_with_position() {
        let found = errors(
            schema(),
            "stake: -3\nratio: 2\nwait: 5\nkind: anvl\nlist: [true, 1]\nstakes: 1\n",
        );
        assert_eq!(
            found,
            vec![
                "1:1: : missing required field \"name\"".to_owned(),
                "1:8: stake: must not be negative, found -3".into(),
                "2:8: ratio: must be between 0 and 1, found 2".into(),
                "3:7: wait: expected a duration string such as \"30s\", found integer 5 (quote the value to keep it a string)".into(),
                "4:7: kind: unknown value \"anvl\"; did you mean \"anvil\"? (expected one of: anvil)".into(),
                "5:1: list: allows at most 1 items, found 2".into(),
                "5:14: list[1]: expected a boolean (true or false), found integer 1".into(),
                "6:1: stakes: unknown field \"stakes\"; did you mean \"stake\"?".into(),
            ]
        );
    }

    #[test]
    fn null_is_allowed_only_where_nullable() {
        assert!(errors(schema(), "name: x\nstake: ~\n").is_empty());
        assert_eq!(
            errors(schema(), "name:\n"),
            vec!["1:5: name: expected a string, found null".to_owned()]
        );
    }

    #[test]
    fn integers_reject_floats_and_overflow() {
        let found = errors(schema(), "name: x\nstake: 1.0\n");
        assert!(found[0].contains("without a decimal point"), "{found:?}");
        let found = errors(schema(), "name: x\nstake: 99999999999999999999\n");
        assert!(found[0].contains("out of range"), "{found:?}");
    }

    #[test]
    fn generated_schema_uses_only_supported_keywords() {
        fn walk(schema: &J, path: &str, bad: &mut Vec<String>) {
            let Some(obj) = schema.as_object() else {
                return;
            };
            for (key, value) in obj {
                if !SUPPORTED_KEYWORDS.contains(&key.as_str()) {
                    bad.push(format!("{path}: {key}"));
                }
                match key.as_str() {
                    "properties" => {
                        for (name, sub) in value.as_object().into_iter().flatten() {
                            walk(sub, &format!("{path}.{name}"), bad);
                        }
                    }
                    "items" | "additionalProperties" => walk(value, &format!("{path}[]"), bad),
                    _ => {}
                }
            }
        }
        let schema = crate::crd::openapi_schema().expect("schema renders");
        let mut bad = Vec::new();
        walk(&schema, "", &mut bad);
        assert!(bad.is_empty(), "unsupported schema keywords: {bad:?}");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("replica", &["replicas", "members"]),
            Some("replicas")
        );
        assert_eq!(closest("zzz", &["replicas", "members"]), None);
    }
}
