//! RFC 8785 (JSON Canonicalization Scheme) restricted to I-JSON safe integers.
//!
//! Receipts never carry floating-point numbers: every number must be an integer in
//! `-(2^53-1) ..= 2^53-1`. With that restriction the RFC 8785 number serialization
//! is plain decimal, and the whole scheme is: objects with members sorted by the
//! UTF-16 code units of their names, no insignificant whitespace, strings escaped
//! exactly as ECMAScript `JSON.stringify` does.

use std::cmp::Ordering;

use serde_json::{Map, Value};

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

    /// Prefixes the pointer with one more segment (the member or index containing it).
    pub(crate) fn within(mut self, segment: &str) -> Self {
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

/// Checks that every number inside the members of `map` is an integer in the safe range.
pub fn check_map_numbers(map: &Map<String, Value>) -> Result<(), CanonicalError> {
    map.iter()
        .try_for_each(|(k, v)| check_numbers(v).map_err(|e| e.within(k)))
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
        Value::Object(map) => write_map(out, map)?,
    }
    Ok(())
}

/// Appends the canonical form of a JSON object given as a map.
pub fn write_map(out: &mut Vec<u8>, map: &Map<String, Value>) -> Result<(), CanonicalError> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    // Maps usually iterate in UTF-8 order, which equals UTF-16 order unless names
    // mix U+E000..U+FFFF with supplementary characters: sort only when needed.
    let utf16 = |a: &str, b: &str| a.encode_utf16().cmp(b.encode_utf16());
    if !members.is_sorted_by(|a, b| utf16(a.0, b.0) != Ordering::Greater) {
        members.sort_by(|a, b| utf16(a.0, b.0));
    }
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
    Ok(())
}

/// Appends a canonical non-negative integer; `pointer` names it in the error.
pub(crate) fn write_u64(
    out: &mut Vec<u8>,
    value: u64,
    pointer: &str,
) -> Result<(), CanonicalError> {
    if value > MAX_SAFE_INTEGER {
        return Err(CanonicalError {
            pointer: pointer.to_owned(),
            reason: format!("integer {value} is outside the safe range ±{MAX_SAFE_INTEGER}"),
        });
    }
    write_decimal(out, value);
    Ok(())
}

/// Appends `value` in plain decimal ASCII, with no sign, separators or leading zeros.
pub(crate) fn write_decimal(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `s` as a canonical JSON string (with its quotes).
pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_string_content(out, s);
    out.push(b'"');
}

/// Appends the escaped characters of `s` without the surrounding quotes.
pub(crate) fn write_string_content(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(bytes);
        return;
    }
    for &byte in bytes {
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
}

/// How deeply arrays and objects nest in `value`: 0 for a scalar, 1 for a
/// container holding only scalars, and so on. Iterative, so any depth is safe.
pub fn value_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((v, level)) = pending.pop() {
        match v {
            Value::Array(items) => {
                deepest = deepest.max(level);
                pending.extend(items.iter().map(|item| (item, level + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(level);
                pending.extend(map.values().map(|item| (item, level + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// How deeply arrays and objects nest in the JSON text at the start of `bytes`,
/// counted as [`value_depth`] does, without parsing it: brackets are counted
/// outside strings until the first value closes (or the bytes end). Meant for
/// text a parser refuses or that is too deep to parse; it does not validate.
pub fn nesting_depth(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    deepest
}

/// Deepest nesting of arrays and objects [`is_canonical`] follows. Deeper documents
/// are rejected by it; callers with a fallback parser leave them to that parser.
pub const MAX_FAST_DEPTH: usize = 64;

/// Whether `bytes` is, in one pass and without building a tree, a JSON document
/// in the canonical form of this module: RFC 8785 with safe integers only, no
/// duplicate member names, nesting at most [`MAX_FAST_DEPTH`]. When it returns
/// `true`, parsing `bytes` and calling [`to_canonical`] gives `bytes` back.
pub fn is_canonical(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut r = Reader::new(text);
    r.value(0).is_some() && r.at_end()
}

/// A cursor over UTF-8 text that accepts canonical JSON only. Every method returns
/// `None` (leaving the position unspecified) when the text there is not canonical.
pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    /// Whether all input has been consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// The next byte, not consumed.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes exactly `expected`.
    pub(crate) fn lit(&mut self, expected: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.pos..)?;
        if rest.starts_with(expected) {
            self.pos += expected.len();
            Some(())
        } else {
            None
        }
    }

    /// Consumes the next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len;
        Some(taken)
    }

    /// The text between `from` and the current position.
    pub(crate) fn since(&self, from: usize) -> Option<&'a str> {
        self.text.get(from..self.pos)
    }

    /// The current byte offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Consumes a string without escapes or control characters and returns its content.
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if self.bytes[start + len] != b'"' {
            return None;
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
    }

    /// Consumes any canonical value; `depth` is the nesting of its container.
    pub(crate) fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(|_| ()),
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            b'-' | b'0'..=b'9' => self.integer().map(|_| ()),
            _ => None,
        }
    }

    /// Consumes a canonical object at nesting `depth` (1 for a top-level object).
    pub(crate) fn object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_FAST_DEPTH {
            return None;
        }
        self.lit(b"{")?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        let mut previous: Option<&str> = None;
        loop {
            let name = self.string()?;
            if let Some(p) = previous {
                if name_order(p, name) != Ordering::Less {
                    return None;
                }
            }
            previous = Some(name);
            self.lit(b":")?;
            self.value(depth)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_FAST_DEPTH {
            return None;
        }
        self.lit(b"[")?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.value(depth)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Consumes a canonically escaped string and returns its raw (escaped) content.
    fn string(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let start = self.pos;
        loop {
            let b = *self.bytes.get(self.pos)?;
            match b {
                b'"' => {
                    let content = self.text.get(start..self.pos)?;
                    self.pos += 1;
                    return Some(content);
                }
                b'\\' => {
                    let escape = *self.bytes.get(self.pos + 1)?;
                    match escape {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 2,
                        b'u' => {
                            let code = control_escape(self.bytes.get(self.pos + 2..self.pos + 6)?)?;
                            if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.pos += 6;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => self.pos += 1,
            }
        }
    }

    /// Consumes a canonical integer in the safe range.
    pub(crate) fn integer(&mut self) -> Option<i64> {
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        let first = self.peek()?;
        if first == b'0' {
            self.pos += 1;
            // `-0` is not canonical; `0` must not be followed by more digits.
            return (!negative && !self.peek().is_some_and(|b| b.is_ascii_digit())).then_some(0);
        }
        if !(b'1'..=b'9').contains(&first) {
            return None;
        }
        let mut value: u64 = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start >= 16 {
                return None;
            }
            value = value * 10 + u64::from(d - b'0');
            self.pos += 1;
        }
        if value > MAX_SAFE_INTEGER {
            return None;
        }
        let value = i64::try_from(value).ok()?;
        Some(if negative { -value } else { value })
    }
}

/// Reads the four hex digits of a `\u` escape that canonical JSON may contain:
/// `00` followed by two lowercase hex digits of a control character.
fn control_escape(hex: &[u8]) -> Option<u8> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    if hex[0] != b'0' || hex[1] != b'0' || hex[2] > b'1' {
        return None;
    }
    Some(digit(hex[2])? << 4 | digit(hex[3])?)
}

/// Orders two raw (escaped, canonical) member names as RFC 8785 does: by the
/// UTF-16 code units of the names they denote.
fn name_order(a: &str, b: &str) -> Ordering {
    let simple = |s: &str| s.bytes().all(|c| c.is_ascii() && c != b'\\');
    if simple(a) && simple(b) {
        return a.as_bytes().cmp(b.as_bytes());
    }
    unescape(a).encode_utf16().cmp(unescape(b).encode_utf16())
}

/// Decodes the escapes a canonical string may contain (see [`Reader::string`]).
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                out.extend(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
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
    fn validator_accepts_canonical_output_only() {
        let v = json!({"\u{e000}": 1, "\u{10000}": [-3, "a\u{1}\n"], "b": {}, "a": [null, true]});
        assert!(is_canonical(&to_canonical(&v).unwrap()));
        for bad in [
            &b"{\"b\":1,\"a\":2}"[..],
            b"{\"a\":1,\"a\":1}",
            b"[1, 2]",
            b"-0",
            b"1.0",
            b"9007199254740992",
            b"\"\\u0041\"",
            b"\"\\/\"",
            b"\"\x01\"",
            b"{\"\xe0\x80\":1}",
        ] {
            assert!(!is_canonical(bad), "{}", String::from_utf8_lossy(bad));
        }
        let mut deep = Value::from(0);
        for _ in 0..=MAX_FAST_DEPTH {
            deep = Value::Array(vec![deep]);
        }
        assert!(is_canonical(&to_canonical(&deep[0]).unwrap()));
        assert!(!is_canonical(&to_canonical(&deep).unwrap()));
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
