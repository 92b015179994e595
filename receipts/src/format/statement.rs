//! The receipt content: an in-toto Statement v1 whose predicate is a netwright receipt.

use std::fmt;

use serde_json::{json, Map, Value};

use crate::format::digest::{parse_hex32, DigestSet};
use crate::format::jcs::{
    check_map_numbers, nesting_depth, value_depth, write_map, write_string, write_string_content,
    write_u64, CanonicalError, MAX_SAFE_INTEGER,
};
use crate::format::keys::KeyId;
use crate::format::time::Timestamp;

/// `_type` of every statement.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// `predicateType` of every receipt statement.
pub const PREDICATE_TYPE: &str = "https://netwright.dev/receipt/v1";
/// The only receipt format version this crate writes and reads.
pub const RECEIPT_VERSION: u64 = 1;
/// `parent` value of the first receipt of a log.
pub const GENESIS: &str = "genesis";
/// Deepest nesting of arrays and objects in `predicate.body`, the body object
/// itself counting as 1 (`{"a":[1]}` is nested 2 deep). Writers refuse deeper
/// bodies and readers report them as such: JSON parsers limit nesting (serde_json
/// to 128 levels), so a deeper body could not be read back everywhere.
pub const MAX_BODY_DEPTH: usize = 64;

/// What a receipt records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A reconciliation of the network.
    Reconcile,
    /// A milestone gate check.
    Gate,
    /// A plan computed from spec and observed state.
    Plan,
    /// An approval of a risky plan.
    Approval,
    /// A halt of the network.
    Stop,
    /// A checkpoint recorded in the chain.
    Checkpoint,
    /// Another kind: `[a-z][a-z0-9-]{0,31}`.
    Other(String),
}

impl Kind {
    /// Parses a kind name, rejecting names outside `[a-z][a-z0-9-]{0,31}`.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "reconcile" => Kind::Reconcile,
            "gate" => Kind::Gate,
            "plan" => Kind::Plan,
            "approval" => Kind::Approval,
            "stop" => Kind::Stop,
            "checkpoint" => Kind::Checkpoint,
            other => {
                check_kind(other)?;
                Kind::Other(other.to_owned())
            }
        })
    }

    /// The kind name as written in receipts.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Reconcile => "reconcile",
            Kind::Gate => "gate",
            Kind::Plan => "plan",
            Kind::Approval => "approval",
            Kind::Stop => "stop",
            Kind::Checkpoint => "checkpoint",
            Kind::Other(s) => s,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The link from a receipt to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parent {
    /// The first receipt of a log.
    Genesis,
    /// Both digests of the previous receipt's statement bytes.
    Receipt(DigestSet),
}

/// What the receipt is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Digests of the network spec bytes in force.
    pub spec_digest: DigestSet,
    /// The Git commit of the spec, when known (40 or 64 lowercase hex).
    pub git_commit: Option<String>,
}

/// The content a caller supplies; the log adds seq, network, actor and parent.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// What the receipt records.
    pub kind: Kind,
    /// When it happened.
    pub time: Timestamp,
    /// The spec it is about.
    pub subject: Subject,
    /// Free JSON object: what was observed, what was done, the verdict. Integers only
    /// (within ±(2^53−1)), nested at most [`MAX_BODY_DEPTH`] deep.
    pub body: Map<String, Value>,
}

/// A complete receipt statement (everything that is signed).
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Position in the log, from 0.
    pub seq: u64,
    /// What the receipt records.
    pub kind: Kind,
    /// When it happened.
    pub time: Timestamp,
    /// The network the log belongs to.
    pub network: String,
    /// Key id of the signer.
    pub actor: KeyId,
    /// The spec it is about.
    pub subject: Subject,
    /// The link to the previous receipt.
    pub parent: Parent,
    /// Free JSON object: observed, done, verdict.
    pub body: Map<String, Value>,
}

/// A statement does not follow the receipt format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field}: {reason}")]
pub struct StatementError {
    /// JSON Pointer of the field in the statement.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn err(field: &str, reason: impl Into<String>) -> StatementError {
    StatementError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Validates a kind name: `[a-z][a-z0-9-]{0,31}` (the named kinds all match it).
pub fn check_kind(name: &str) -> Result<(), String> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("kind {name:?} must match [a-z][a-z0-9-]{{0,31}}"))
    }
}

/// Validates a network name: 1 to 253 characters of `[a-z0-9.-]`.
pub fn check_network(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 253
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(format!(
            "network {name:?} must be 1 to 253 characters of [a-z0-9.-]"
        ));
    }
    Ok(())
}

/// Validates a Git commit id: 40 or 64 lowercase hex characters.
pub fn check_git_commit(commit: &str) -> Result<(), String> {
    let ok = (commit.len() == 40 || commit.len() == 64)
        && commit
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "git commit {commit:?} must be 40 or 64 lowercase hex characters"
        ))
    }
}

/// Checks that a body nests at most [`MAX_BODY_DEPTH`] deep; the error names
/// `/predicate/body`, the depth and the limit.
pub fn check_body_depth(body: &Map<String, Value>) -> Result<(), StatementError> {
    let depth = 1 + body.values().map(value_depth).max().unwrap_or(0);
    if depth > MAX_BODY_DEPTH {
        return Err(body_too_deep(depth));
    }
    Ok(())
}

fn body_too_deep(depth: usize) -> StatementError {
    err(
        "/predicate/body",
        format!("nested {depth} deep, limit {MAX_BODY_DEPTH}"),
    )
}

/// The nesting depth of `predicate.body` in statement bytes that begin as canonical
/// statements do (`{"_type":…,"predicate":{"actor":"<key id>","body":`), measured
/// without parsing; `None` when the bytes do not begin that way.
pub fn canonical_body_depth(payload: &[u8]) -> Option<usize> {
    let rest = payload
        .strip_prefix(b"{\"_type\":\"".as_slice())?
        .strip_prefix(STATEMENT_TYPE.as_bytes())?
        .strip_prefix(b"\",\"predicate\":{\"actor\":\"".as_slice())?;
    let rest = rest.get(64..)?.strip_prefix(b"\",\"body\":".as_slice())?;
    (rest.first() == Some(&b'{')).then(|| nesting_depth(rest))
}

/// Validates a draft before it is signed; the error names the field.
pub fn check_draft(draft: &Draft) -> Result<(), StatementError> {
    if let Some(commit) = &draft.subject.git_commit {
        check_git_commit(commit).map_err(|r| err("/predicate/subject/gitCommit", r))?;
    }
    check_body_depth(&draft.body)?;
    check_map_numbers(&draft.body)
        .map_err(|e| err(&format!("/predicate/body{}", e.pointer), e.reason))
}

/// Everything of a statement but its parent, borrowed: what a writer knows about
/// a receipt before it is chained.
#[derive(Debug, Clone, Copy)]
pub struct StatementFields<'a> {
    /// `predicate.seq`.
    pub seq: u64,
    /// `predicate.kind`.
    pub kind: &'a Kind,
    /// `predicate.time`.
    pub time: &'a Timestamp,
    /// `predicate.network`.
    pub network: &'a str,
    /// `predicate.actor`.
    pub actor: &'a KeyId,
    /// `predicate.subject`.
    pub subject: &'a Subject,
    /// `predicate.body`.
    pub body: &'a Map<String, Value>,
}

/// The canonical statement bytes with a gap where the parent goes: built in
/// parallel for a batch, then chained in order with [`StatementParts::write_with_parent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementParts {
    bytes: Vec<u8>,
    gap: usize,
}

impl StatementParts {
    /// Serializes the fields canonically (RFC 8785) around the parent gap. Errors
    /// name the offending value by JSON Pointer, as [`crate::format::jcs::to_canonical`] does.
    pub fn new(f: StatementFields<'_>) -> Result<Self, CanonicalError> {
        let mut out = Vec::with_capacity(768);
        out.extend_from_slice(b"{\"_type\":");
        write_string(&mut out, STATEMENT_TYPE);
        out.extend_from_slice(b",\"predicate\":{\"actor\":\"");
        out.extend_from_slice(hex::encode(f.actor.0).as_bytes());
        out.extend_from_slice(b"\",\"body\":");
        write_map(&mut out, f.body).map_err(|e| e.within("body").within("predicate"))?;
        out.extend_from_slice(b",\"kind\":");
        write_string(&mut out, f.kind.as_str());
        out.extend_from_slice(b",\"network\":");
        write_string(&mut out, f.network);
        out.extend_from_slice(b",\"parent\":");
        let gap = out.len();
        out.extend_from_slice(b",\"seq\":");
        write_u64(&mut out, f.seq, "/predicate/seq")?;
        out.extend_from_slice(b",\"subject\":{");
        if let Some(commit) = &f.subject.git_commit {
            out.extend_from_slice(b"\"gitCommit\":");
            write_string(&mut out, commit);
            out.push(b',');
        }
        out.extend_from_slice(b"\"specDigest\":");
        write_digest(&mut out, &f.subject.spec_digest);
        out.extend_from_slice(b"},\"time\":");
        write_string(&mut out, f.time.as_str());
        out.extend_from_slice(b",\"version\":");
        write_u64(&mut out, RECEIPT_VERSION, "/predicate/version")?;
        out.extend_from_slice(b"},\"predicateType\":");
        write_string(&mut out, PREDICATE_TYPE);
        out.extend_from_slice(b",\"subject\":[{\"digest\":");
        write_digest(&mut out, &f.subject.spec_digest);
        out.extend_from_slice(b",\"name\":\"spec:");
        write_string_content(&mut out, f.network);
        out.extend_from_slice(b"\"}]}");
        Ok(Self { bytes: out, gap })
    }

    /// Length of the statement bytes once the parent is filled in.
    pub fn len_with(&self, parent: &Parent) -> usize {
        self.bytes.len()
            + match parent {
                Parent::Genesis => GENESIS.len() + 2,
                Parent::Receipt(_) => DIGEST_JSON_LEN,
            }
    }

    /// Appends the complete canonical statement bytes with `parent` filled in.
    pub fn write_with_parent(&self, out: &mut Vec<u8>, parent: &Parent) {
        out.extend_from_slice(&self.bytes[..self.gap]);
        match parent {
            Parent::Genesis => write_string(out, GENESIS),
            Parent::Receipt(d) => write_digest(out, d),
        }
        out.extend_from_slice(&self.bytes[self.gap..]);
    }
}

/// Length of `{"blake3":"<64 hex>","sha256":"<64 hex>"}`.
const DIGEST_JSON_LEN: usize = 12 + 64 + 12 + 64 + 2;

fn write_digest(out: &mut Vec<u8>, d: &DigestSet) {
    let mut hex = [0u8; 64];
    out.extend_from_slice(b"{\"blake3\":\"");
    // Both buffers are exactly 64 bytes for 32 input bytes, so encoding cannot fail.
    if hex::encode_to_slice(d.blake3, &mut hex).is_ok() {
        out.extend_from_slice(&hex);
    }
    out.extend_from_slice(b"\",\"sha256\":\"");
    if hex::encode_to_slice(d.sha256, &mut hex).is_ok() {
        out.extend_from_slice(&hex);
    }
    out.extend_from_slice(b"\"}");
}

fn digest_value(d: &DigestSet) -> Value {
    json!({"sha256": hex::encode(d.sha256), "blake3": hex::encode(d.blake3)})
}

impl Receipt {
    /// The fields other than the parent, borrowed.
    pub fn fields(&self) -> StatementFields<'_> {
        StatementFields {
            seq: self.seq,
            kind: &self.kind,
            time: &self.time,
            network: &self.network,
            actor: &self.actor,
            subject: &self.subject,
            body: &self.body,
        }
    }

    /// The canonical (RFC 8785) statement bytes: what is hashed and signed. Equal to
    /// `jcs::to_canonical(&self.to_value())`, written directly without a JSON tree.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        let parts = StatementParts::new(self.fields())?;
        let mut out = Vec::with_capacity(parts.len_with(&self.parent));
        parts.write_with_parent(&mut out, &self.parent);
        Ok(out)
    }

    /// The statement as JSON (to be canonicalized before hashing or signing).
    pub fn to_value(&self) -> Value {
        let mut subject = Map::new();
        subject.insert("specDigest".into(), digest_value(&self.subject.spec_digest));
        if let Some(commit) = &self.subject.git_commit {
            subject.insert("gitCommit".into(), Value::String(commit.clone()));
        }
        let parent = match &self.parent {
            Parent::Genesis => Value::String(GENESIS.into()),
            Parent::Receipt(d) => digest_value(d),
        };
        json!({
            "_type": STATEMENT_TYPE,
            "subject": [{
                "name": format!("spec:{}", self.network),
                "digest": digest_value(&self.subject.spec_digest),
            }],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "version": RECEIPT_VERSION,
                "seq": self.seq,
                "kind": self.kind.as_str(),
                "time": self.time.as_str(),
                "network": self.network,
                "actor": self.actor.to_string(),
                "subject": Value::Object(subject),
                "parent": parent,
                "body": Value::Object(self.body.clone()),
            }
        })
    }

    /// Reads a statement, checking every field and rejecting unknown ones.
    pub fn from_value(value: Value) -> Result<Self, StatementError> {
        let mut top = object(value, "")?;
        let type_ = take_str(&mut top, "", "_type")?;
        if type_ != STATEMENT_TYPE {
            return Err(err(
                "/_type",
                format!("is {type_:?}, expected {STATEMENT_TYPE:?}"),
            ));
        }
        let predicate_type = take_str(&mut top, "", "predicateType")?;
        if predicate_type != PREDICATE_TYPE {
            return Err(err(
                "/predicateType",
                format!("is {predicate_type:?}, expected {PREDICATE_TYPE:?}"),
            ));
        }
        let subjects = match take(&mut top, "", "subject")? {
            Value::Array(items) => items,
            _ => return Err(err("/subject", "must be an array")),
        };
        let mut p = object(take(&mut top, "", "predicate")?, "/predicate")?;
        no_more(top, "")?;

        let version = take_u64(&mut p, "/predicate", "version")?;
        if version != RECEIPT_VERSION {
            return Err(err(
                "/predicate/version",
                format!("is {version}, this verifier reads version {RECEIPT_VERSION}"),
            ));
        }
        let seq = take_u64(&mut p, "/predicate", "seq")?;
        let kind = Kind::parse(&take_str(&mut p, "/predicate", "kind")?)
            .map_err(|r| err("/predicate/kind", r))?;
        let time = Timestamp::parse(&take_str(&mut p, "/predicate", "time")?)
            .map_err(|e| err("/predicate/time", e.to_string()))?;
        let network = take_str(&mut p, "/predicate", "network")?;
        check_network(&network).map_err(|r| err("/predicate/network", r))?;
        let actor_text = take_str(&mut p, "/predicate", "actor")?;
        let actor = KeyId::parse(&actor_text).ok_or_else(|| {
            err(
                "/predicate/actor",
                format!("{actor_text:?} is not 64 lowercase hex characters"),
            )
        })?;
        let mut s = object(take(&mut p, "/predicate", "subject")?, "/predicate/subject")?;
        let spec_digest = digest_from(
            take(&mut s, "/predicate/subject", "specDigest")?,
            "/predicate/subject/specDigest",
        )?;
        let git_commit = match s.remove("gitCommit") {
            None => None,
            Some(Value::String(c)) => {
                check_git_commit(&c).map_err(|r| err("/predicate/subject/gitCommit", r))?;
                Some(c)
            }
            Some(_) => return Err(err("/predicate/subject/gitCommit", "must be a string")),
        };
        no_more(s, "/predicate/subject")?;
        let parent = match take(&mut p, "/predicate", "parent")? {
            Value::String(g) if g == GENESIS => Parent::Genesis,
            Value::String(other) => {
                return Err(err(
                    "/predicate/parent",
                    format!("is {other:?}; expected \"genesis\" or a digest set"),
                ))
            }
            other => Parent::Receipt(digest_from(other, "/predicate/parent")?),
        };
        let body = match take(&mut p, "/predicate", "body")? {
            Value::Object(map) => map,
            _ => return Err(err("/predicate/body", "must be an object")),
        };
        check_body_depth(&body)?;
        no_more(p, "/predicate")?;

        if subjects.len() != 1 {
            return Err(err(
                "/subject",
                format!("must hold exactly one entry, holds {}", subjects.len()),
            ));
        }
        let mut entry = object(
            subjects.into_iter().next().unwrap_or(Value::Null),
            "/subject/0",
        )?;
        let name = take_str(&mut entry, "/subject/0", "name")?;
        let expected_name = format!("spec:{network}");
        if name != expected_name {
            return Err(err(
                "/subject/0/name",
                format!("is {name:?}, expected {expected_name:?}"),
            ));
        }
        let digest = digest_from(
            take(&mut entry, "/subject/0", "digest")?,
            "/subject/0/digest",
        )?;
        no_more(entry, "/subject/0")?;
        if digest != spec_digest {
            return Err(err(
                "/subject/0/digest",
                "differs from /predicate/subject/specDigest",
            ));
        }
        Ok(Receipt {
            seq,
            kind,
            time,
            network,
            actor,
            subject: Subject {
                spec_digest,
                git_commit,
            },
            parent,
            body,
        })
    }
}

fn object(value: Value, at: &str) -> Result<Map<String, Value>, StatementError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(err(
            if at.is_empty() { "/" } else { at },
            "must be an object",
        )),
    }
}

fn take(map: &mut Map<String, Value>, at: &str, name: &str) -> Result<Value, StatementError> {
    map.remove(name)
        .ok_or_else(|| err(&format!("{at}/{name}"), "is missing"))
}

fn take_str(map: &mut Map<String, Value>, at: &str, name: &str) -> Result<String, StatementError> {
    match take(map, at, name)? {
        Value::String(s) => Ok(s),
        other => Err(err(
            &format!("{at}/{name}"),
            format!("must be a string, found {other}"),
        )),
    }
}

fn take_u64(map: &mut Map<String, Value>, at: &str, name: &str) -> Result<u64, StatementError> {
    match take(map, at, name)? {
        Value::Number(n) => match n.as_u64() {
            Some(v) if v <= MAX_SAFE_INTEGER => Ok(v),
            _ => Err(err(
                &format!("{at}/{name}"),
                format!("{n} is not an integer in 0..={MAX_SAFE_INTEGER}"),
            )),
        },
        other => Err(err(
            &format!("{at}/{name}"),
            format!("must be an integer, found {other}"),
        )),
    }
}

fn no_more(map: Map<String, Value>, at: &str) -> Result<(), StatementError> {
    match map.keys().next() {
        None => Ok(()),
        Some(extra) => Err(err(
            &format!("{at}/{extra}"),
            "is not a field of this format",
        )),
    }
}

fn digest_from(value: Value, at: &str) -> Result<DigestSet, StatementError> {
    let mut map = object(value, at)?;
    let mut get = |name: &str| -> Result<[u8; 32], StatementError> {
        let text = take_str(&mut map, at, name)?;
        parse_hex32(&text).ok_or_else(|| {
            err(
                &format!("{at}/{name}"),
                format!("{text:?} is not 64 lowercase hex characters"),
            )
        })
    };
    let sha256 = get("sha256")?;
    let blake3 = get("blake3")?;
    no_more(map, at)?;
    Ok(DigestSet { sha256, blake3 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Receipt {
        Receipt {
            seq: 3,
            kind: Kind::Gate,
            time: Timestamp::parse("2025-01-02T03:04:05Z").unwrap(),
            network: "localnet".into(),
            actor: KeyId([1; 32]),
            subject: Subject {
                spec_digest: DigestSet::of(b"spec"),
                git_commit: Some("a".repeat(40)),
            },
            parent: Parent::Receipt(DigestSet::of(b"prev")),
            body: json!({"verdict": "pass", "observed": {"height": 12}})
                .as_object()
                .cloned()
                .unwrap(),
        }
    }

    #[test]
    fn round_trips() {
        let r = sample();
        assert_eq!(Receipt::from_value(r.to_value()).unwrap(), r);
        let g = Receipt {
            parent: Parent::Genesis,
            seq: 0,
            ..sample()
        };
        assert_eq!(Receipt::from_value(g.to_value()).unwrap(), g);
    }

    #[test]
    fn rejects_unknown_and_missing_fields_by_pointer() {
        let mut v = sample().to_value();
        v["predicate"]["extra"] = json!(1);
        assert_eq!(
            Receipt::from_value(v).unwrap_err().field,
            "/predicate/extra"
        );
        let mut v = sample().to_value();
        v["predicate"].as_object_mut().unwrap().remove("seq");
        assert_eq!(Receipt::from_value(v).unwrap_err().field, "/predicate/seq");
        let mut v = sample().to_value();
        v["subject"][0]["digest"]["blake3"] = json!("00".repeat(32));
        assert_eq!(
            Receipt::from_value(v).unwrap_err().field,
            "/subject/0/digest"
        );
        let mut v = sample().to_value();
        v["predicate"]["parent"] = json!("root");
        assert_eq!(
            Receipt::from_value(v).unwrap_err().field,
            "/predicate/parent"
        );
    }

    #[test]
    fn draft_rejects_floats_in_body() {
        let draft = Draft {
            kind: Kind::Reconcile,
            time: Timestamp::parse("2025-01-02T03:04:05Z").unwrap(),
            subject: Subject {
                spec_digest: DigestSet::of(b"s"),
                git_commit: None,
            },
            body: json!({"observed": {"ratio": 0.5}})
                .as_object()
                .cloned()
                .unwrap(),
        };
        let e = check_draft(&draft).unwrap_err();
        assert_eq!(e.field, "/predicate/body/observed/ratio");
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::parse("gate").unwrap(), Kind::Gate);
        assert_eq!(
            Kind::parse("rollout-2").unwrap(),
            Kind::Other("rollout-2".into())
        );
        assert!(Kind::parse("Bad").is_err());
        assert!(Kind::parse("").is_err());
    }
}
