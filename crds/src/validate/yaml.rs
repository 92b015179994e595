//! A YAML loader that keeps the line and column of every node.
//!
//! Scalars are resolved with the YAML 1.2 core schema (so `yes` is a string, `0x1F` an
//! integer); quoted scalars are always strings. Duplicate keys, non-scalar keys, unknown tags,
//! nesting deeper than [`MAX_DEPTH`] and alias bombs are reported, never panicked on.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::report::Path;

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes one document may expand to (aliases included).
pub const MAX_NODES: usize = 200_000;

/// A position in the source: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Pos {
    fn of(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// A loaded YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer (wide enough to tell "too big" from "negative").
    Int(i128),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order, keys unique.
    Map(Vec<Entry>),
}

/// One key of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key text.
    pub key: String,
    /// Where the key is written.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// The entry under `key` when this node is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Converts the node to JSON (integers beyond 64 bits become floats).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => {
                if let Ok(u) = u64::try_from(*i) {
                    J::from(u)
                } else if let Ok(s) = i64::try_from(*i) {
                    J::from(s)
                } else {
                    serde_json::Number::from_f64(*i as f64).map_or(J::Null, J::Number)
                }
            }
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short rendering of the value for messages: scalars as JSON, collections by kind.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Str(s) => quote(s),
            Value::Seq(_) => "a sequence".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }

    /// The name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "mapping",
        }
    }
}

/// Quotes a string for messages, cutting it at 60 characters.
pub fn quote(s: &str) -> String {
    const LIMIT: usize = 60;
    if s.chars().count() > LIMIT {
        let cut: String = s.chars().take(LIMIT).collect();
        format!("{}...", serde_json::Value::String(cut))
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// A problem found while loading, tied to a position.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadIssue {
    /// Where.
    pub pos: Pos,
    /// The YAML path of the node being read (the document root when unknown).
    pub path: Path,
    /// What, for people.
    pub message: String,
}

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The root node (`Value::Null` for an empty document).
    pub root: Node,
    /// Problems that still let the document be loaded (duplicate keys, unknown tags, ...).
    pub issues: Vec<LoadIssue>,
}

/// The result of loading a stream: the documents read, then the syntax error that stopped
/// the parser, if any. The error belongs to document number `documents.len()` (0-based) when
/// it interrupted a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Documents fully read.
    pub documents: Vec<Document>,
    /// The syntax error that ended loading, if any.
    pub error: Option<LoadIssue>,
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        pending_key: Option<(String, Pos)>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    issues: Vec<LoadIssue>,
    nodes: usize,
    root: Option<Node>,
    failed: bool,
}

impl Builder {
    fn new() -> Self {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            issues: Vec::new(),
            nodes: 0,
            root: None,
            failed: false,
        }
    }

    fn count(&mut self, n: usize, pos: Pos) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            if !self.failed {
                let path = self.current_path();
                self.issues.push(LoadIssue {
                    pos,
                    path,
                    message: format!(
                        "document expands to more than {MAX_NODES} nodes (alias bomb?)"
                    ),
                });
            }
            self.failed = true;
        }
        !self.failed
    }

    /// The path of the node about to be added.
    fn current_path(&self) -> Path {
        let mut path = Path::root();
        for frame in &self.stack {
            path = match frame {
                Frame::Seq { items, .. } => path.index(items.len()),
                Frame::Map {
                    pending_key: Some((key, _)),
                    ..
                } => path.key(key),
                Frame::Map { .. } => path,
            };
        }
        path
    }

    fn push_node(&mut self, node: Node, anchor: usize) {
        let path = self.current_path();
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match &node.value {
                        Value::Str(s) => Some(s.clone()),
                        Value::Int(i) => Some(i.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        Value::Float(f) => Some(f.to_string()),
                        Value::Null => Some("null".to_owned()),
                        Value::Seq(_) | Value::Map(_) => None,
                    };
                    match key {
                        Some(key) => *pending_key = Some((key, node.pos)),
                        None => {
                            self.issues.push(LoadIssue {
                                pos: node.pos,
                                path,
                                message: "mapping keys must be scalars".into(),
                            });
                            *pending_key = Some((String::new(), node.pos));
                        }
                    }
                }
                Some((key, key_pos)) => {
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        self.issues.push(LoadIssue {
                            pos: key_pos,
                            path,
                            message: format!(
                                "duplicate key {} (first at line {})",
                                quote(&key),
                                first.key_pos.line
                            ),
                        });
                    } else {
                        entries.push(Entry {
                            key,
                            key_pos,
                            value: node,
                        });
                    }
                }
            },
        }
    }

    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, pos: Pos) -> Value {
        if let Some(tag) = tag {
            if tag.is_yaml_core_schema() {
                match tag.suffix.as_str() {
                    "str" => return Value::Str(text.to_owned()),
                    "null" | "bool" | "int" | "float" => {
                        let resolved = resolve_plain(text);
                        let matches = matches!(
                            (tag.suffix.as_str(), &resolved),
                            ("null", Value::Null)
                                | ("bool", Value::Bool(_))
                                | ("int", Value::Int(_))
                                | ("float", Value::Float(_) | Value::Int(_))
                        );
                        if matches {
                            return resolved;
                        }
                        let path = self.current_path();
                        self.issues.push(LoadIssue {
                            pos,
                            path,
                            message: format!("{} is not a valid !!{}", quote(text), tag.suffix),
                        });
                        return Value::Str(text.to_owned());
                    }
                    _ => {}
                }
            }
            let path = self.current_path();
            self.issues.push(LoadIssue {
                pos,
                path,
                message: format!("unsupported tag {}{}", tag.handle, tag.suffix),
            });
        }
        match style {
            ScalarStyle::Plain => resolve_plain(text),
            _ => Value::Str(text.to_owned()),
        }
    }

    fn unsupported_collection_tag(&mut self, tag: Option<&Tag>, pos: Pos, expected: &str) {
        if let Some(tag) = tag {
            let fine = tag.is_yaml_core_schema() && tag.suffix == expected;
            if !fine {
                let path = self.current_path();
                self.issues.push(LoadIssue {
                    pos,
                    path,
                    message: format!("unsupported tag {}{}", tag.handle, tag.suffix),
                });
            }
        }
    }

    /// Handles one event; returns false once the document can no longer be built.
    fn event(&mut self, event: Event<'_>, span: Span) -> bool {
        let pos = Pos::of(&span);
        if self.failed {
            return false;
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count(1, pos) {
                    return false;
                }
                let value = self.scalar(&text, style, tag.as_deref(), pos);
                self.push_node(Node { value, pos }, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    let size = node_count(&node);
                    if !self.count(size, pos) {
                        return false;
                    }
                    // The alias stands where it is written, with the anchored content.
                    self.push_node(
                        Node {
                            value: node.value,
                            pos,
                        },
                        0,
                    );
                }
                None => {
                    let path = self.current_path();
                    self.issues.push(LoadIssue {
                        pos,
                        path,
                        message: "alias to an unknown anchor".into(),
                    });
                    self.push_node(
                        Node {
                            value: Value::Null,
                            pos,
                        },
                        0,
                    );
                }
            },
            Event::SequenceStart(anchor, tag) => {
                self.unsupported_collection_tag(tag.as_deref(), pos, "seq");
                if !self.open(pos) {
                    return false;
                }
                self.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.unsupported_collection_tag(tag.as_deref(), pos, "map");
                if !self.open(pos) {
                    return false;
                }
                self.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => {
                    self.push_node(
                        Node {
                            value: Value::Seq(items),
                            pos,
                        },
                        anchor,
                    );
                }
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => {
                    self.push_node(
                        Node {
                            value: Value::Map(entries),
                            pos,
                        },
                        anchor,
                    );
                }
                None => {}
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
        true
    }

    fn open(&mut self, pos: Pos) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            let path = self.current_path();
            self.issues.push(LoadIssue {
                pos,
                path,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
            self.failed = true;
            return false;
        }
        self.count(1, pos)
    }
}

fn node_count(node: &Node) -> usize {
    // Iterative, so that a deep alias cannot exhaust the stack.
    let mut count = 0usize;
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => todo.extend(items.iter()),
            Value::Map(entries) => todo.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    count
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(int) = parse_int(text) {
        return int;
    }
    if is_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_owned())
}

fn parse_int(text: &str) -> Option<Value> {
    let (radix, digits, negative) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex, false)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (8, oct, false)
    } else if let Some(rest) = text.strip_prefix('-') {
        (10, rest, true)
    } else {
        (10, text.strip_prefix('+').unwrap_or(text), false)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Integers wider than i128 are still integers: saturate so that range checks report them.
    let magnitude = i128::from_str_radix(digits, radix).unwrap_or(i128::MAX);
    Some(Value::Int(if negative { -magnitude } else { magnitude }))
}

fn is_float(text: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.chars().all(|c| c.is_ascii_digit())
                && frac.chars().all(|c| c.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// Loads every document of `source`.
pub fn load(source: &str) -> Stream {
    let mut parser = Parser::new_from_str(source);
    let mut documents = Vec::new();
    let mut builder: Option<Builder> = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(pair) => pair,
            Err(error) => {
                let path = builder
                    .as_ref()
                    .map(Builder::current_path)
                    .unwrap_or_default();
                return Stream {
                    documents,
                    error: Some(LoadIssue {
                        path,
                        pos: Pos {
                            line: error.marker().line(),
                            column: error.marker().col() + 1,
                        },
                        message: format!("YAML syntax error: {}", error.info()),
                    }),
                };
            }
        };
        match event {
            Event::DocumentStart(_) => builder = Some(Builder::new()),
            Event::DocumentEnd => {
                if let Some(done) = builder.take() {
                    documents.push(finish(done, Pos::of(&span)));
                }
            }
            Event::StreamEnd => break,
            other => {
                if let Some(b) = builder.as_mut() {
                    b.event(other, span);
                }
            }
        }
    }
    Stream {
        documents,
        error: None,
    }
}

fn finish(builder: Builder, end: Pos) -> Document {
    let root = builder.root.unwrap_or(Node {
        value: Value::Null,
        pos: end,
    });
    Document {
        root,
        issues: builder.issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(source: &str) -> Document {
        let stream = load(source);
        assert!(stream.error.is_none(), "{:?}", stream.error);
        assert_eq!(stream.documents.len(), 1);
        stream.documents.into_iter().next().expect("one document")
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = one("a: 1\nb:\n  c: [x, \"y\"]\n");
        let b = doc.root.entry("b").expect("b");
        assert_eq!(b.key_pos, Pos { line: 2, column: 1 });
        let c = b.value.get("c").expect("c");
        assert_eq!(c.pos, Pos { line: 3, column: 6 });
        match &c.value {
            Value::Seq(items) => assert_eq!(
                items[1].pos,
                Pos {
                    line: 3,
                    column: 10
                }
            ),
            other => panic!("expected a sequence, got {other:?}"),
        }
    }

    #[test]
    fn resolves_core_schema_scalars() {
        assert_eq!(resolve_plain("42"), Value::Int(42));
        assert_eq!(resolve_plain("-7"), Value::Int(-7));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("yes"), Value::Str("yes".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("0021"), Value::Int(21));
        assert_eq!(resolve_plain("1.2.3"), Value::Str("1.2.3".into()));
        assert_eq!(resolve_plain("."), Value::Str(".".into()));
        assert_eq!(
            resolve_plain("123456789012345678901234567890123456789012345"),
            Value::Int(i128::MAX)
        );
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let doc = one("id: \"0021\"\nn: '5'\n");
        assert_eq!(
            doc.root.get("id").map(|n| &n.value),
            Some(&Value::Str("0021".into()))
        );
        assert_eq!(
            doc.root.get("n").map(|n| &n.value),
            Some(&Value::Str("5".into()))
        );
    }

    #[test]
    fn reports_duplicate_keys_with_first_line() {
        let doc = one("a: 1\nb: 2\na: 3\n");
        assert_eq!(doc.issues.len(), 1);
        assert_eq!(doc.issues[0].pos.line, 3);
        assert_eq!(doc.issues[0].path.to_string(), "a");
        assert!(doc.issues[0].message.contains("first at line 1"));
    }

    #[test]
    fn splits_documents_and_reports_syntax_errors_with_line() {
        let stream = load("a: 1\n---\nb: [1, 2\n");
        assert_eq!(stream.documents.len(), 1);
        let error = stream.error.expect("syntax error");
        assert!(error.pos.line >= 3, "{error:?}");
        assert_eq!(error.path.to_string(), "b[2]");
    }

    #[test]
    fn expands_aliases_and_stops_bombs() {
        let doc = one("base: &b {x: 1}\ncopy: *b\n");
        assert_eq!(
            doc.root
                .get("copy")
                .and_then(|c| c.get("x"))
                .map(|x| &x.value),
            Some(&Value::Int(1))
        );

        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let doc = one(&bomb);
        assert!(doc.issues.iter().any(|i| i.message.contains("alias bomb")));
    }

    #[test]
    fn limits_nesting() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let doc = one(&deep);
        assert!(doc
            .issues
            .iter()
            .any(|i| i.message.contains("nesting deeper")));
    }

    #[test]
    fn flags_unsupported_tags() {
        let doc = one("a: !custom 1\nb: !!str 2\n");
        assert_eq!(doc.issues.len(), 1);
        assert_eq!(
            doc.root.get("b").map(|n| &n.value),
            Some(&Value::Str("2".into()))
        );
    }
}
