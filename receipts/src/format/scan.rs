//! The fast reader of log lines: one pass over the bytes, no JSON tree.
//!
//! [`read_line`] accepts a line only when it is a canonical envelope around a
//! canonical statement that follows the receipt format, checking canonical form
//! while it reads (the statement's members have a fixed order, so it is read as
//! a template; the free-form `body` is checked by [`crate::format::jcs`]'s validator).
//! It never explains a rejection: callers fall back to the reference reader
//! [`crate::format::envelope::open_line`], which says exactly what is wrong. It accepts
//! a subset of what `open_line` accepts and yields the same values; tests hold
//! it to that. Its base64 goes through `base64-simd` (vector decoding, strict:
//! standard alphabet, padding, zero trailing bits), the reference reader's
//! through the `base64` crate's standard engine, which has the same rules.

use std::ops::Range;

use base64_simd::AsOut as _;
use ed25519_dalek::Signature;

use crate::format::digest::{parse_hex32_bytes, DigestSet};
use crate::format::envelope::{write_pae_header, HEAD, MIDDLE, PAYLOAD_TYPE, SIG_FIELD, TAIL};
use crate::format::jcs::{Reader, MAX_FAST_DEPTH};
use crate::format::keys::KeyId;
use crate::format::statement::{
    check_git_commit, check_kind, check_network, Parent, GENESIS, MAX_BODY_DEPTH, PREDICATE_TYPE,
    STATEMENT_TYPE,
};

// The body is read as a top-level document (depth 1), so the fast reader follows
// exactly the nesting a body may have, and accepts every body the reference
// reader accepts.
const _: () = assert!(MAX_FAST_DEPTH == MAX_BODY_DEPTH);

/// The fields of a receipt statement, borrowed from its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementView<'a> {
    /// `predicate.seq`.
    pub seq: u64,
    /// `predicate.kind`, already checked against the kind syntax.
    pub kind: &'a str,
    /// `predicate.time`, already checked as an RFC 3339 UTC timestamp.
    pub time: &'a str,
    /// `predicate.network`, already checked as a network name.
    pub network: &'a str,
    /// `predicate.actor`.
    pub actor: KeyId,
    /// `predicate.subject.specDigest` (equal to the in-toto subject digest).
    pub spec_digest: DigestSet,
    /// `predicate.subject.gitCommit`, already checked.
    pub git_commit: Option<&'a str>,
    /// `predicate.parent`.
    pub parent: Parent,
    /// `predicate.body`: the canonical JSON text of the body object.
    pub body: &'a str,
}

/// A log line read by the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView<'a> {
    /// The key id in the envelope's signature.
    pub keyid: KeyId,
    /// The envelope's signature (not verified here).
    pub signature: Signature,
    /// Where the signed message `PAE(PAYLOAD_TYPE, payload)` sits in the buffer.
    pub message: Range<usize>,
    /// The canonical statement bytes (the decoded payload).
    pub payload: &'a [u8],
    /// The statement's fields.
    pub statement: StatementView<'a>,
}

/// Reads one log line (without its newline). On success the signed message
/// (the DSSE pre-authentication encoding of the payload) has been appended to
/// `buffer`, and the view borrows the payload from it. On `None` the line is not
/// something this fast path accepts: `buffer` may have grown (truncate it to its
/// old length), and the caller must use [`crate::format::envelope::open_line`] for a
/// verdict and its reason.
pub fn read_line<'b>(line: &[u8], buffer: &'b mut Vec<u8>) -> Option<LineView<'b>> {
    let (payload_b64, keyid_hex, sig_b64) = split_fixed(line)?;
    let keyid = KeyId(parse_hex32_bytes(keyid_hex)?);
    let mut sig_bytes = [0u8; 64];
    if base64_simd::STANDARD.decoded_length(sig_b64).ok()? != 64 {
        return None;
    }
    base64_simd::STANDARD
        .decode(sig_b64, sig_bytes.as_mut_slice().as_out())
        .ok()?;

    let start = buffer.len();
    let payload_len = decoded_len(payload_b64)?;
    write_pae_header(buffer, PAYLOAD_TYPE, payload_len);
    let payload_start = buffer.len();
    base64_simd::STANDARD
        .decode_append(payload_b64, buffer)
        .ok()?;
    if buffer.len() - payload_start != payload_len {
        return None;
    }
    let message = start..buffer.len();
    let payload: &'b [u8] = &buffer[payload_start..];
    let statement = scan_statement(payload)?;
    Some(LineView {
        keyid,
        signature: Signature::from_bytes(&sig_bytes),
        message,
        payload,
        statement,
    })
}

/// Splits a canonical envelope line into (payload b64, keyid hex, sig b64) using
/// the fixed length of everything after the payload (a 64-character key id and the
/// 88-character base64 of a 64-byte signature). The base64 parts are not checked
/// here; their decoding does that.
fn split_fixed(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let rest = line.strip_prefix(HEAD)?;
    let payload_len = rest
        .len()
        .checked_sub(MIDDLE.len() + 64 + SIG_FIELD.len() + 88 + TAIL.len())?;
    let (payload, rest) = rest.split_at(payload_len);
    let rest = rest.strip_prefix(MIDDLE)?;
    let (keyid, rest) = rest.split_at(64);
    let rest = rest.strip_prefix(SIG_FIELD)?;
    let (sig, rest) = rest.split_at(88);
    (rest == TAIL).then_some((payload, keyid, sig))
}

/// The decoded length of padded base64 text, or `None` when its length is not
/// a multiple of four.
fn decoded_len(b64: &[u8]) -> Option<usize> {
    if !b64.len().is_multiple_of(4) {
        return None;
    }
    let padding = b64.iter().rev().take(2).filter(|&&b| b == b'=').count();
    (b64.len() / 4 * 3).checked_sub(padding)
}

/// Reads canonical statement bytes that follow the receipt format (the same
/// rules as [`crate::format::statement::Receipt::from_value`] plus canonical form).
pub fn scan_statement(payload: &[u8]) -> Option<StatementView<'_>> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut r = Reader::new(text);
    r.lit(b"{\"_type\":\"")?;
    r.lit(STATEMENT_TYPE.as_bytes())?;
    r.lit(b"\",\"predicate\":{\"actor\":")?;
    let actor = KeyId(hex32(&mut r)?);
    r.lit(b",\"body\":")?;
    let body_start = r.pos();
    // The body's own nesting, the body object counting as 1.
    r.object(1)?;
    let body = r.since(body_start)?;
    r.lit(b",\"kind\":")?;
    let kind = r.plain_string()?;
    check_kind(kind).ok()?;
    r.lit(b",\"network\":")?;
    let network = r.plain_string()?;
    check_network(network).ok()?;
    r.lit(b",\"parent\":")?;
    let parent = if r.peek()? == b'"' {
        r.lit(b"\"")?;
        r.lit(GENESIS.as_bytes())?;
        r.lit(b"\"")?;
        Parent::Genesis
    } else {
        Parent::Receipt(digest_set(&mut r)?)
    };
    r.lit(b",\"seq\":")?;
    let seq = u64::try_from(r.integer()?).ok()?;
    r.lit(b",\"subject\":{")?;
    let git_commit = if r.lit(b"\"gitCommit\":").is_some() {
        let commit = r.plain_string()?;
        check_git_commit(commit).ok()?;
        r.lit(b",")?;
        Some(commit)
    } else {
        None
    };
    r.lit(b"\"specDigest\":")?;
    let spec_digest = digest_set(&mut r)?;
    r.lit(b"},\"time\":")?;
    let time = r.plain_string()?;
    crate::format::time::check(time).ok()?;
    r.lit(b",\"version\":1},\"predicateType\":\"")?;
    r.lit(PREDICATE_TYPE.as_bytes())?;
    r.lit(b"\",\"subject\":[{\"digest\":")?;
    if digest_set(&mut r)? != spec_digest {
        return None;
    }
    r.lit(b",\"name\":\"spec:")?;
    r.lit(network.as_bytes())?;
    r.lit(b"\"}]}")?;
    if !r.at_end() {
        return None;
    }
    Some(StatementView {
        seq,
        kind,
        time,
        network,
        actor,
        spec_digest,
        git_commit,
        parent,
        body,
    })
}

/// `"<64 lowercase hex>"`.
fn hex32(r: &mut Reader<'_>) -> Option<[u8; 32]> {
    r.lit(b"\"")?;
    let digits = r.take(64)?;
    r.lit(b"\"")?;
    parse_hex32_bytes(digits)
}

/// `{"blake3":"<hex>","sha256":"<hex>"}`.
fn digest_set(r: &mut Reader<'_>) -> Option<DigestSet> {
    r.lit(b"{\"blake3\":")?;
    let blake3 = hex32(r)?;
    r.lit(b",\"sha256\":")?;
    let sha256 = hex32(r)?;
    r.lit(b"}")?;
    Some(DigestSet { sha256, blake3 })
}
