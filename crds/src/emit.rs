//! A small YAML emitter for JSON value trees, used to write the generated CRD.
//!
//! Why: the CRD is checked in and applied as YAML (`kubectl apply -f`, kustomize, reviews of
//! its diff), and the only YAML writer in reach, `serde_yaml`, is deprecated. Reading YAML
//! already goes through this crate's own loader ([`crate::validate::yaml`]); writing needs far
//! less, because the input is a `serde_json::Value` and the output only has to be read back
//! by YAML parsers, not written by hand.
//!
//! What it emits (a subset of YAML that YAML 1.1 and 1.2 parsers read the same way):
//! - block mappings (`key: value`, two spaces of indentation) and block sequences (`- item`,
//!   at the indentation of their key), in the value's own key order (sorted, as
//!   `serde_json` keeps objects); empty ones as `{}`/`[]`;
//! - `null`, `true`, `false` and numbers as JSON writes them;
//! - strings plain when they cannot be read as anything else: they start with an ASCII
//!   letter or `_`, hold only ASCII letters, digits, spaces and `_-./(),;'+`, do not end with a
//!   space and are none of YAML 1.1's booleans or nulls (`yes`, `off`, `n`, ...); every other
//!   string (and key) is double-quoted with JSON's escapes, which YAML's double-quoted style
//!   shares. No anchors, tags, comments, flow collections or block scalars.
//!
//! Reading the output back with [`crate::validate::yaml::load`] gives the same value (a test
//! checks it on the CRD and on generated trees).

use std::fmt::Write as _;

use serde_json::Value;

/// YAML 1.1 words that a parser would read as a boolean or null if written plain.
const RESERVED: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

/// `value` as a YAML document body (no `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => sequence(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        pad(out, indent);
        out.push_str(&string(key));
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                mapping(out, inner, indent + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                sequence(out, items, indent);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

fn sequence(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Value::Object(inner) if !inner.is_empty() => {
                // The first key goes on the dash's line, the others under it.
                let mut body = String::new();
                mapping(&mut body, inner, indent + 2);
                out.push(' ');
                out.push_str(&body[indent + 2..]);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                sequence(out, inner, indent + 2);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    let _ = write!(out, "{:indent$}", "");
}

/// A scalar or an empty collection, on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// `s` plain when that is unambiguous, else double-quoted.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        Value::String(s.to_owned()).to_string()
    }
}

fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-./(),;'+".contains(c))
        && !s.ends_with(' ')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::yaml;
    use proptest::prelude::*;
    use serde_json::json;

    fn read_back(text: &str) -> Value {
        let stream = yaml::load(text);
        assert!(stream.error.is_none(), "{:?}\n{text}", stream.error);
        assert_eq!(stream.documents.len(), 1, "{text}");
        let doc = &stream.documents[0];
        assert!(doc.issues.is_empty(), "{:?}\n{text}", doc.issues);
        doc.root.to_json()
    }

    #[test]
    fn nested_mappings_and_sequences_are_written_in_block_style() {
        let value = json!({
            "kind": "Network",
            "names": { "shortNames": ["net"], "plural": "networks" },
            "versions": [ { "name": "v1", "served": true }, [1, 2], [] ],
            "empty": {},
        });
        assert_eq!(
            to_yaml(&value),
            "empty: {}\nkind: Network\nnames:\n  plural: networks\n  shortNames:\n  - net\nversions:\n- name: v1\n  served: true\n-\n  - 1\n  - 2\n- []\n"
        );
    }

    #[test]
    fn strings_that_would_read_as_something_else_are_quoted() {
        for s in [
            "yes",
            "No",
            "off",
            "y",
            "null",
            "true",
            "1",
            "0x1F",
            "1.5",
            ".inf",
            "~",
            "",
            " a",
            "a ",
            "a: b",
            "a #b",
            "- a",
            "*x",
            "&x",
            "!x",
            "@x",
            "`x",
            "%x",
            "line\nbreak",
            "{a}",
            "[a]",
            "ünïcode",
            "<<",
        ] {
            let text = to_yaml(&json!({ "k": s }));
            assert!(text.starts_with("k: \""), "{s:?} written plain: {text}");
            assert_eq!(read_back(&text), json!({ "k": s }), "{s:?}");
        }
        assert_eq!(
            to_yaml(&json!({"k": "Whether it (still) runs."})),
            "k: Whether it (still) runs.\n"
        );
    }

    #[test]
    fn the_crd_reads_back_as_the_same_value() {
        let crd = serde_json::to_value(crate::crd::definition()).unwrap();
        assert_eq!(read_back(&to_yaml(&crd)), crd);
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[ -~\n\té]{0,12}".prop_map(Value::String),
            "(yes|no|on|off|null|true|[a-z]{1,8}( [a-z]{1,4})?)".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[ -~]{0,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_tree_reads_back_as_itself(value in arbitrary_json()) {
            prop_assert_eq!(read_back(&to_yaml(&value)), value);
        }
    }
}
