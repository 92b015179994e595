//! RFC 8785 (JSON Canonicalization Scheme) restricted to I-JSON safe integers.
//!
//! Receipts never carry floating-point numbers: every number must be an integer in
//! `-(2^53-1) ..= 2^53-1`. With that restriction the RFC 8785 number serialization
//! is plain decimal, and the whole scheme is: objects with members sorted by the
//! UTF-16 code units of their names, no insignificant whitespace, strings escaped
//! exactly as ECMAScript `JSON.stringify` does.

use serde_json::Value;

/// Largest integer magnitude a receipt may carry (I-JSON / IEEE 754 safe range).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Why a JSON value cannot be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {pointer}: {reason}")]
pub struct CanonicalError {
    /// JSON Pointer (RFC 6901) of the offending value, `""` for the root.
    pub pointer: String,
    /// What is wrong with it.
    pub reason: String,
}

impl CanonicalError {
    fn new(reason: String) -> Self {
        Self {
            pointer: String::new(),
            reason,
        }
    }

    fn within(mut self, segment: &str) -> Self {
        let escaped = segment.replace('~', "~0").replace('/', "~1");
        self.pointer = format!("/{escaped}{}", self.pointer);
        self
    }
}

/// Returns the canonical bytes of `value`, or where and why it is not allowed.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(512);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Checks that every number inside `value` is an integer in the safe range.
pub fn check_numbers(value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Number(n) => number_text(n).map(|_| ()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_numbers(v).map_err(|e| e.within(&i.to_string()))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_numbers(v).map_err(|e| e.within(k))),
        _ => Ok(()),
    }
}

fn number_text(n: &serde_json::Number) -> Result<String, CanonicalError> {
    if let Some(u) = n.as_u64() {
        if u <= MAX_SAFE_INTEGER {
            return Ok(u.to_string());
        }
        return Err(CanonicalError::new(format!(
            "integer {u} is outside the safe range ±{MAX_SAFE_INTEGER}"
        )));
    }
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= MAX_SAFE_INTEGER {
            return Ok(i.to_string());
        }
        return Err(CanonicalError::new(format!(
            "integer {i} is outside the safe range ±{MAX_SAFE_INTEGER}"
        )));
    }
    Err(CanonicalError::new(format!(
        "number {n} is not an integer; receipts carry integers only"
    )))
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(number_text(n)?.as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item).map_err(|e| e.within(&i.to_string()))?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, name);
                out.push(b':');
                write_value(out, item).map_err(|e| e.within(name))?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &byte in s.as_bytes() {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
            }
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(to_canonical(&v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_members_by_utf16_code_units() {
        // U+10000 is D800 DC00 in UTF-16 and sorts before U+E000, unlike in UTF-8.
        let v = json!({"\u{e000}": 1, "\u{10000}": 2, "b": 3, "a": [true, null]});
        assert_eq!(
            canon(v),
            "{\"a\":[true,null],\"b\":3,\"\u{10000}\":2,\"\u{e000}\":1}"
        );
    }

    #[test]
    fn escapes_like_ecmascript() {
        let v = json!("q\"b\\\u{8}\u{9}\n\u{c}\r\u{1}\u{1f}/é\u{2028}");
        assert_eq!(
            canon(v),
            "\"q\\\"b\\\\\\b\\t\\n\\f\\r\\u0001\\u001f/é\u{2028}\""
        );
    }

    #[test]
    fn integers_in_safe_range_only() {
        assert_eq!(
            canon(json!([0, -5, 9_007_199_254_740_991i64])),
            "[0,-5,9007199254740991]"
        );
        let err = to_canonical(&json!({"a": {"b": [1, 9_007_199_254_740_992u64]}})).unwrap_err();
        assert_eq!(err.pointer, "/a/b/1");
        assert!(err.reason.contains("safe range"), "{err}");
        let err = to_canonical(&json!({"x/y": 1.5})).unwrap_err();
        assert_eq!(err.pointer, "/x~1y");
        assert!(err.reason.contains("not an integer"), "{err}");
        assert!(check_numbers(&json!({"k": [-9_007_199_254_740_992i64]})).is_err());
        assert!(check_numbers(&json!({"k": [1, 2, {"z": -3}]})).is_ok());
    }
}
