//! DSSE envelopes: signing a receipt statement and reading one log line back.
//!
//! A log line is the canonical (RFC 8785) JSON of a DSSE envelope with exactly one
//! signature. Because every value in it is base64 or hex, the canonical form is one
//! fixed template, which is also how this module parses it quickly.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::Signature;
use serde_json::Value;

use crate::format::digest::DigestSet;
use crate::format::jcs::{to_canonical, write_decimal, CanonicalError};
use crate::format::keys::{KeyId, Signer};
use crate::format::statement::{canonical_body_depth, Receipt, StatementError, MAX_BODY_DEPTH};

/// DSSE payload type of receipt statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Envelope line up to the payload.
pub(crate) const HEAD: &[u8] = b"{\"payload\":\"";
/// Envelope line between the payload and the key id.
pub(crate) const MIDDLE: &[u8] =
    b"\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[{\"keyid\":\"";
/// Envelope line between the key id and the signature.
pub(crate) const SIG_FIELD: &[u8] = b"\",\"sig\":\"";
/// Envelope line after the signature.
pub(crate) const TAIL: &[u8] = b"\"}]}";

/// DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    write_pae_header(&mut out, payload_type, payload.len());
    out.extend_from_slice(payload);
    out
}

/// Appends the PAE header (everything before the body) for a body of `body_len` bytes.
pub fn write_pae_header(out: &mut Vec<u8>, payload_type: &str, body_len: usize) {
    out.extend_from_slice(b"DSSEv1 ");
    write_decimal(out, payload_type.len() as u64);
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    write_decimal(out, body_len as u64);
    out.push(b' ');
}

/// A log line that could not be read as a receipt envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The line is not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// The envelope JSON does not have the required fields and values.
    #[error("envelope field {field}: {reason}")]
    Envelope {
        /// JSON Pointer of the field in the envelope.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The envelope is valid JSON but not its canonical (RFC 8785) form.
    #[error("envelope is not in canonical (RFC 8785) form")]
    EnvelopeNotCanonical,
    /// The payload is not JSON.
    #[error("payload is not JSON: {0}")]
    PayloadJson(String),
    /// The payload carries a value that receipts forbid (for example a float).
    #[error("payload value {0}")]
    PayloadValue(CanonicalError),
    /// The payload is JSON but not its canonical (RFC 8785) form.
    #[error("payload is not in canonical (RFC 8785) form")]
    PayloadNotCanonical,
    /// The statement does not follow the receipt format.
    #[error("statement {0}")]
    Statement(StatementError),
    /// `predicate.body` nests deeper than the format allows.
    #[error("body nested {depth} deep, limit {limit}")]
    BodyTooDeep {
        /// How deeply the body nests (the body object counting as 1).
        depth: usize,
        /// The limit, [`MAX_BODY_DEPTH`].
        limit: usize,
    },
}

/// A receipt read from (or written as) one log line; its signature is not yet checked.
#[derive(Debug, Clone)]
pub struct SignedReceipt {
    /// The canonical envelope bytes (the log line without its newline).
    pub line: Vec<u8>,
    /// The canonical statement bytes (the decoded DSSE payload).
    pub payload: Vec<u8>,
    /// The statement.
    pub receipt: Receipt,
    /// Digests of `payload`: what the next receipt's `parent` must hold.
    pub digest: DigestSet,
    /// The key id in the envelope's signature.
    pub keyid: KeyId,
    /// The signature over `pae(PAYLOAD_TYPE, payload)`.
    pub signature: Signature,
}

/// Canonicalizes and signs `receipt`, producing its log line.
pub fn seal(receipt: Receipt, signer: &Signer) -> Result<SignedReceipt, CanonicalError> {
    let payload = receipt.canonical_bytes()?;
    let signature = signer.sign(&pae(PAYLOAD_TYPE, &payload));
    let keyid = signer.id();
    let line = encode_envelope(&payload, &keyid, &signature);
    Ok(SignedReceipt {
        digest: DigestSet::of(&payload),
        line,
        payload,
        receipt,
        keyid,
        signature,
    })
}

/// Builds the canonical envelope line for a payload and its signature.
pub fn encode_envelope(payload: &[u8], keyid: &KeyId, signature: &Signature) -> Vec<u8> {
    let mut line = Vec::with_capacity(envelope_len(payload.len()));
    write_envelope(&mut line, payload, &keyid.to_string(), signature);
    line
}

/// Length in bytes of the envelope line for a payload of `payload_len` bytes.
pub fn envelope_len(payload_len: usize) -> usize {
    HEAD.len() + payload_len.div_ceil(3) * 4 + MIDDLE.len() + 64 + SIG_FIELD.len() + 88 + TAIL.len()
}

/// Appends the canonical envelope line (without newline) to `out`; `keyid_hex`
/// is the key id's 64-character hex form.
pub fn write_envelope(out: &mut Vec<u8>, payload: &[u8], keyid_hex: &str, signature: &Signature) {
    out.extend_from_slice(HEAD);
    append_base64(out, payload);
    out.extend_from_slice(MIDDLE);
    out.extend_from_slice(keyid_hex.as_bytes());
    out.extend_from_slice(SIG_FIELD);
    append_base64(out, &signature.to_bytes());
    out.extend_from_slice(TAIL);
}

fn append_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    // The slice has exactly the padded encoded length, so this cannot fail.
    let written = STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// Splits a canonical envelope line into (payload b64, keyid hex, sig b64).
fn split_template(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let rest = line.strip_prefix(HEAD)?;
    let payload_len = rest.iter().position(|&b| !is_b64(b))?;
    let (payload, rest) = rest.split_at(payload_len);
    let rest = rest.strip_prefix(MIDDLE)?;
    if rest.len() < 64 {
        return None;
    }
    let (keyid, rest) = rest.split_at(64);
    let rest = rest.strip_prefix(SIG_FIELD)?;
    let sig_len = rest.iter().position(|&b| !is_b64(b))?;
    let (sig, rest) = rest.split_at(sig_len);
    (rest == TAIL).then_some((payload, keyid, sig))
}

/// The signature parts of a line in the canonical envelope template, whatever its
/// statement holds: the key id, the signature, and where the signed message
/// `PAE(PAYLOAD_TYPE, payload)` was appended to `buffer`. `None` (with `buffer`
/// possibly grown) when the envelope itself is not canonical.
pub(crate) fn signed_parts(
    line: &[u8],
    buffer: &mut Vec<u8>,
) -> Option<(KeyId, Signature, std::ops::Range<usize>)> {
    let (payload_b64, keyid_hex, sig_b64) = split_template(line)?;
    let keyid = KeyId::parse(std::str::from_utf8(keyid_hex).ok()?)?;
    let sig_bytes: [u8; 64] = STANDARD.decode(sig_b64).ok()?.try_into().ok()?;
    let payload = STANDARD.decode(payload_b64).ok()?;
    let start = buffer.len();
    write_pae_header(buffer, PAYLOAD_TYPE, payload.len());
    buffer.extend_from_slice(&payload);
    Some((
        keyid,
        Signature::from_bytes(&sig_bytes),
        start..buffer.len(),
    ))
}

/// Explains why a line that does not match the canonical template is wrong.
fn diagnose(line: &[u8]) -> FormatError {
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => return FormatError::Json(e.to_string()),
    };
    let envelope = |field: &str, reason: &str| FormatError::Envelope {
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(map) = value.as_object() else {
        return envelope("/", "must be an object");
    };
    for name in map.keys() {
        if !["payload", "payloadType", "signatures"].contains(&name.as_str()) {
            return envelope(&format!("/{name}"), "is not a DSSE envelope field");
        }
    }
    match map.get("payload") {
        Some(Value::String(s)) if STANDARD.decode(s).is_ok() => {}
        Some(_) => return envelope("/payload", "must be a standard base64 string"),
        None => return envelope("/payload", "is missing"),
    }
    match map.get("payloadType") {
        Some(Value::String(s)) if s == PAYLOAD_TYPE => {}
        Some(other) => {
            return envelope(
                "/payloadType",
                &format!("is {other}, expected \"{PAYLOAD_TYPE}\""),
            )
        }
        None => return envelope("/payloadType", "is missing"),
    }
    let sigs = match map.get("signatures") {
        Some(Value::Array(sigs)) => sigs,
        Some(_) => return envelope("/signatures", "must be an array"),
        None => return envelope("/signatures", "is missing"),
    };
    if sigs.len() != 1 {
        return envelope(
            "/signatures",
            &format!("must hold exactly one signature, holds {}", sigs.len()),
        );
    }
    let Some(sig) = sigs[0].as_object() else {
        return envelope("/signatures/0", "must be an object");
    };
    for name in sig.keys() {
        if name != "keyid" && name != "sig" {
            return envelope(
                &format!("/signatures/0/{name}"),
                "is not a field of this format",
            );
        }
    }
    match sig.get("keyid") {
        Some(Value::String(s)) if KeyId::parse(s).is_some() => {}
        _ => return envelope("/signatures/0/keyid", "must be 64 lowercase hex characters"),
    }
    match sig.get("sig") {
        Some(Value::String(s)) if STANDARD.decode(s).map(|b| b.len()) == Ok(64) => {}
        _ => return envelope("/signatures/0/sig", "must be base64 of 64 bytes"),
    }
    FormatError::EnvelopeNotCanonical
}

/// Reads one log line: envelope and statement, both required canonical.
/// The signature is decoded but not verified. This is the reference reader: it
/// builds a JSON tree, re-serializes it and names what is wrong; the verifier
/// reads lines with the faster [`crate::format::scan::read_line`] and asks this function
/// only about the lines that one does not accept.
pub fn open_line(line: &[u8]) -> Result<SignedReceipt, FormatError> {
    let Some((payload_b64, keyid_hex, sig_b64)) = split_template(line) else {
        return Err(diagnose(line));
    };
    let payload = STANDARD
        .decode(payload_b64)
        .map_err(|e| FormatError::Envelope {
            field: "/payload".into(),
            reason: format!("not canonical standard base64: {e}"),
        })?;
    let keyid = std::str::from_utf8(keyid_hex)
        .ok()
        .and_then(KeyId::parse)
        .ok_or_else(|| FormatError::Envelope {
            field: "/signatures/0/keyid".into(),
            reason: "must be 64 lowercase hex characters".into(),
        })?;
    let sig_bytes: [u8; 64] = STANDARD
        .decode(sig_b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| FormatError::Envelope {
            field: "/signatures/0/sig".into(),
            reason: "must be canonical standard base64 of 64 bytes".into(),
        })?;
    // Measured before parsing: a body too deep for the parser is reported as
    // what it is, not as unreadable JSON.
    if let Some(depth) = canonical_body_depth(&payload).filter(|&d| d > MAX_BODY_DEPTH) {
        return Err(FormatError::BodyTooDeep {
            depth,
            limit: MAX_BODY_DEPTH,
        });
    }
    let value: Value =
        serde_json::from_slice(&payload).map_err(|e| FormatError::PayloadJson(e.to_string()))?;
    let canonical = to_canonical(&value).map_err(FormatError::PayloadValue)?;
    if canonical != payload {
        return Err(FormatError::PayloadNotCanonical);
    }
    let receipt = Receipt::from_value(value).map_err(FormatError::Statement)?;
    Ok(SignedReceipt {
        line: line.to_vec(),
        digest: DigestSet::of(&payload),
        payload,
        receipt,
        keyid,
        signature: Signature::from_bytes(&sig_bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::statement::{Kind, Parent, Subject};
    use crate::format::time::Timestamp;

    fn sealed() -> SignedReceipt {
        let signer = Signer::from_seed(&[9; 32]);
        let receipt = Receipt {
            seq: 0,
            kind: Kind::Plan,
            time: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
            network: "n".into(),
            actor: signer.id(),
            subject: Subject {
                spec_digest: DigestSet::of(b"x"),
                git_commit: None,
            },
            parent: Parent::Genesis,
            body: serde_json::Map::new(),
        };
        seal(receipt, &signer).unwrap()
    }

    #[test]
    fn pae_matches_dsse_definition() {
        assert_eq!(pae("t/x", b"hello"), b"DSSEv1 3 t/x 5 hello".to_vec());
    }

    #[test]
    fn line_is_canonical_json_and_reads_back() {
        let s = sealed();
        let v: Value = serde_json::from_slice(&s.line).unwrap();
        assert_eq!(to_canonical(&v).unwrap(), s.line);
        let back = open_line(&s.line).unwrap();
        assert_eq!(back.receipt, s.receipt);
        assert_eq!(back.digest, s.digest);
        assert_eq!(back.signature, s.signature);
    }

    #[test]
    fn non_canonical_envelope_is_rejected_with_reason() {
        let s = sealed();
        let v: Value = serde_json::from_slice(&s.line).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert_eq!(
            open_line(&pretty).unwrap_err(),
            FormatError::EnvelopeNotCanonical
        );
        let mut extra = v.clone();
        extra["x"] = Value::Null;
        let e = open_line(&serde_json::to_vec(&extra).unwrap()).unwrap_err();
        assert!(e.to_string().contains("/x"), "{e}");
        assert!(matches!(
            open_line(b"{\"payload\":"),
            Err(FormatError::Json(_))
        ));
    }

    #[test]
    fn non_canonical_payload_is_rejected() {
        let s = sealed();
        let mut payload = s.payload.clone();
        payload.push(b' ');
        let line = encode_envelope(&payload, &s.keyid, &s.signature);
        assert_eq!(
            open_line(&line).unwrap_err(),
            FormatError::PayloadNotCanonical
        );
        let float = br#"{"a":1.5}"#;
        let line = encode_envelope(float, &s.keyid, &s.signature);
        assert!(matches!(
            open_line(&line),
            Err(FormatError::PayloadValue(_))
        ));
    }
}
