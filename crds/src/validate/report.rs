//! Diagnostics: what is wrong, where (YAML path, line, column) and how bad.

use std::fmt;

use serde::Serialize;

use super::yaml::{Node, Pos, Value};
use crate::spec::Network;

/// How bad a diagnostic is. Only errors make a document invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document is invalid.
    Error,
    /// Allowed, but probably not what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One segment of a YAML path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index (0-based).
    Index(usize),
}

/// A path into a document, such as `spec.validators.members[2].stake`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The document root.
    pub fn root() -> Path {
        Path(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Path(segments)
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> Path {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Path(segments)
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Finds the node at this path. Returns the deepest node found and whether it is the
    /// node of the full path.
    pub fn locate<'a>(&self, root: &'a Node) -> (&'a Node, bool) {
        let mut node = root;
        for segment in &self.0 {
            let next = match (segment, &node.value) {
                (Segment::Key(k), Value::Map(_)) => node.get(k),
                (Segment::Index(i), Value::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if !plain {
                        write!(f, "[{}]", serde_json::Value::String(k.clone()))?;
                    } else {
                        if i > 0 {
                            f.write_str(".")?;
                        }
                        f.write_str(k)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// One finding about a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// YAML path of the offending node (empty for the document itself).
    pub path: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// What is wrong and why, naming the offending value.
    pub message: String,
    /// The offending value, when it is a scalar written in the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// The verdict on one document of a file.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// Position of the document in the file, from 1.
    pub index: usize,
    /// `metadata.name`, when readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True when there is no error (warnings allowed).
    pub valid: bool,
    /// Errors, then warnings, each in document order.
    pub diagnostics: Vec<Diagnostic>,
    /// The parsed resource, when valid.
    #[serde(skip)]
    pub network: Option<Network>,
}

impl DocumentReport {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Collects diagnostics for one document, locating paths in its YAML tree.
pub struct Sink<'a> {
    root: &'a Node,
    diagnostics: Vec<Diagnostic>,
    error_paths: Vec<Path>,
}

impl<'a> Sink<'a> {
    /// A sink for the document whose root is `root`.
    pub fn new(root: &'a Node) -> Self {
        Sink {
            root,
            diagnostics: Vec::new(),
            error_paths: Vec::new(),
        }
    }

    /// The document root.
    pub fn root(&self) -> &'a Node {
        self.root
    }

    /// Records a diagnostic at an explicit position.
    pub fn at(&mut self, severity: Severity, pos: Pos, path: &Path, message: String) {
        if severity == Severity::Error {
            self.error_paths.push(path.clone());
        }
        self.diagnostics.push(Diagnostic {
            severity,
            path: path.to_string(),
            line: pos.line,
            column: pos.column,
            message,
            value: None,
        });
    }

    /// Records a diagnostic about the node at `path` (or its closest existing ancestor).
    ///
    /// Scalars are located at their value; mappings and sequences at the key that holds them.
    pub fn report(&mut self, severity: Severity, path: &Path, message: String) {
        if severity == Severity::Error {
            self.error_paths.push(path.clone());
        }
        let (node, exact) = path.locate(self.root);
        let (value, pos) = match (&node.value, exact) {
            (Value::Seq(_) | Value::Map(_), true) => (None, self.key_pos(path).unwrap_or(node.pos)),
            (_, false) => (None, node.pos),
            _ => (Some(node.to_json()), node.pos),
        };
        self.diagnostics.push(Diagnostic {
            severity,
            path: path.to_string(),
            line: pos.line,
            column: pos.column,
            message,
            value,
        });
    }

    /// Where the key of the last segment of `path` is written, when it is a mapping key.
    fn key_pos(&self, path: &Path) -> Option<Pos> {
        let (last, parent) = path.0.split_last()?;
        let Segment::Key(key) = last else { return None };
        let (parent_node, exact) = Path(parent.to_vec()).locate(self.root);
        exact
            .then(|| parent_node.entry(key).map(|e| e.key_pos))
            .flatten()
    }

    /// Records an error about the node at `path`.
    pub fn error(&mut self, path: &Path, message: impl Into<String>) {
        self.report(Severity::Error, path, message.into());
    }

    /// Records a warning about the node at `path`.
    pub fn warn(&mut self, path: &Path, message: impl Into<String>) {
        self.report(Severity::Warning, path, message.into());
    }

    /// The line where the node at `path` is written, if it is.
    pub fn line_of(&self, path: &Path) -> Option<usize> {
        match path.locate(self.root) {
            (node, true) => Some(node.pos.line),
            _ => None,
        }
    }

    /// The paths of the errors recorded so far, in recording order.
    pub fn error_paths(&self) -> Vec<Path> {
        self.error_paths.clone()
    }

    /// True when an error has been recorded.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics: errors first, each kind in document order.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        self.diagnostics
            .sort_by_key(|d| (d.severity, d.line, d.column));
        self.diagnostics.dedup();
        self.diagnostics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_yaml_paths() {
        let path = Path::root()
            .key("spec")
            .key("validators")
            .key("members")
            .index(2)
            .key("stake");
        assert_eq!(path.to_string(), "spec.validators.members[2].stake");
        let odd = Path::root()
            .key("podAnnotations")
            .key("prometheus.io/scrape");
        assert_eq!(odd.to_string(), "podAnnotations[\"prometheus.io/scrape\"]");
    }
}
