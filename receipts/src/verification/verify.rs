//! The verifier: reads a whole log and reports every problem with its location.

use std::sync::Arc;

use std::ops::Range;

use ed25519_dalek::Signature;

use crate::format::digest::DigestSet;
use crate::format::envelope::{
    open_line, signed_parts, write_pae_header, FormatError, PAYLOAD_TYPE,
};
use crate::format::keys::{KeyId, TrustedKeys};
use crate::format::scan::read_line;
use crate::format::signature::{verify_batch, Signed};
use crate::format::statement::Parent;
use crate::log::split_lines;
use crate::proofs::checkpoint::{origin_for, Checkpoint};
use crate::proofs::merkle::{leaf_hash, root, Hash};
use crate::verification::digest_map::{self, DigestMap};
use crate::verification::parallel::{default_threads, map_chunks_dynamic};

pub use crate::verification::findings::Finding;

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// Keys whose signatures are accepted.
    pub trusted: &'a TrustedKeys,
    /// A checkpoint (already signature-checked) the log must be consistent with.
    pub checkpoint: Option<&'a Checkpoint>,
    /// The origin the checkpoint must carry; `None` means `netwright/<network>`,
    /// with the network of the log's first receipt.
    pub origin: Option<&'a str>,
    /// Worker threads; 0 means the machine's available parallelism.
    pub threads: usize,
    /// Stop listing findings after this many (the count of the rest is kept).
    pub max_findings: usize,
}

impl<'a> VerifyOptions<'a> {
    /// Defaults: all cores, no checkpoint, at most 1000 findings listed.
    pub fn new(trusted: &'a TrustedKeys) -> Self {
        Self {
            trusted,
            checkpoint: None,
            origin: None,
            threads: 0,
            max_findings: 1000,
        }
    }
}

/// The last receipt of a sound log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number.
    pub seq: u64,
    /// Digests of its statement bytes.
    pub digest: DigestSet,
}

/// The outcome of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Complete lines read.
    pub lines: usize,
    /// Signatures that verified.
    pub valid_signatures: usize,
    /// Problems, in log order (checkpoint problems last).
    pub findings: Vec<Finding>,
    /// Findings beyond `max_findings` that were counted but not kept.
    pub omitted: usize,
    /// The last receipt, when it parsed.
    pub head: Option<Head>,
    /// Merkle root over all complete lines.
    pub root: Hash,
}

impl Report {
    /// Whether everything holds.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty() && self.omitted == 0
    }
}

struct Entry {
    seq: u64,
    parent: Parent,
    digest: DigestSet,
    leaf: Hash,
    /// Shared between consecutive entries of a chunk that name the same network.
    network: Arc<str>,
    actor: KeyId,
    keyid: KeyId,
}

/// What reading a line yields before its digests are computed.
struct Read {
    seq: u64,
    parent: Parent,
    network: Arc<str>,
    actor: KeyId,
    keyid: KeyId,
    signature: Signature,
    /// Where the signed message sits in the chunk's buffer.
    message: Range<usize>,
    /// Length of the statement bytes, which end the signed message.
    statement_len: usize,
    /// The statement digests, when the reference reader already computed them.
    digest: Option<DigestSet>,
}

/// Returns `network` as a shared string, reusing `last` when it is the same.
fn shared(last: &mut Option<Arc<str>>, network: &str) -> Arc<str> {
    match last {
        Some(n) if &**n == network => n.clone(),
        _ => {
            let n: Arc<str> = Arc::from(network);
            *last = Some(n.clone());
            n
        }
    }
}

/// Reads one line with the fast reader, or with the reference reader when the
/// fast one declines (which then names the problem). The signed message is
/// appended to `buffer`.
fn read_entry(
    line: &[u8],
    buffer: &mut Vec<u8>,
    network: &mut Option<Arc<str>>,
) -> Result<Read, FormatError> {
    let start = buffer.len();
    if let Some(view) = read_line(line, buffer) {
        let s = &view.statement;
        return Ok(Read {
            seq: s.seq,
            parent: s.parent,
            network: shared(network, s.network),
            actor: s.actor,
            keyid: view.keyid,
            signature: view.signature,
            statement_len: view.payload.len(),
            message: view.message,
            digest: None,
        });
    }
    buffer.truncate(start);
    let r = open_line(line)?;
    write_pae_header(buffer, PAYLOAD_TYPE, r.payload.len());
    buffer.extend_from_slice(&r.payload);
    Ok(Read {
        seq: r.receipt.seq,
        parent: r.receipt.parent,
        network: shared(network, &r.receipt.network),
        actor: r.receipt.actor,
        keyid: r.keyid,
        signature: r.signature,
        message: start..buffer.len(),
        statement_len: r.payload.len(),
        digest: Some(r.digest),
    })
}

/// Lines per signature batch (and per unit of parallel work). A power of two,
/// so that each chunk is a whole subtree of the Merkle tree (RFC 9162 splits a
/// tree at the largest power of two below its size).
const BATCH: usize = 512;
const _: () = assert!(BATCH.is_power_of_two());

/// What one chunk of lines yields.
struct Chunk {
    entries: Vec<Result<Entry, FormatError>>,
    /// Signatures checked (those by trusted keys).
    checked: usize,
    /// Indices (into the whole log) of lines whose signature fails.
    bad: Vec<usize>,
    /// Indices of lines whose body is too deep to read but whose signature
    /// names a trusted key (and is checked with the others).
    deep_trusted: Vec<usize>,
    /// The Merkle tree hash of the chunk's lines.
    root: Hash,
}

impl Read {
    /// The statement bytes: the end of the signed message.
    fn statement<'b>(&self, buffer: &'b [u8]) -> &'b [u8] {
        &buffer[self.message.end - self.statement_len..self.message.end]
    }
}

/// Reads a chunk of lines, hashes them (statement digests and Merkle leaves)
/// and checks their signatures with one batch verification; when the batch
/// fails, each signature is checked on its own to name the failing lines (the
/// ZIP-215 rule of [`crate::format::signature`], under which a line's verdict does not
/// depend on the other lines of its chunk). `first` is the index of the chunk's
/// first line in the log.
fn check_chunk(first: usize, lines: &[&[u8]], trusted: &TrustedKeys) -> Chunk {
    // The signed messages are about three quarters of the lines (base64).
    let mut buffer = Vec::with_capacity(lines.iter().map(|l| l.len() / 4 * 3 + 64).sum());
    let mut read = Vec::with_capacity(lines.len());
    let mut network = None;
    // Lines whose body is too deep to read still have their signature checked,
    // so that only a receipt a trusted writer signed is reported as such.
    let mut deep = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let entry = read_entry(line, &mut buffer, &mut network);
        if let Err(FormatError::BodyTooDeep { .. }) = entry {
            deep.extend(signed_parts(line, &mut buffer).map(|parts| (k, parts)));
        }
        read.push(entry);
    }
    let leaves: Vec<Hash> = lines.iter().map(|line| leaf_hash(line)).collect();

    let mut entries = Vec::with_capacity(lines.len());
    let mut index = Vec::with_capacity(lines.len());
    let mut signed = Vec::with_capacity(lines.len());
    for (k, (r, &leaf)) in read.into_iter().zip(&leaves).enumerate() {
        let r = match r {
            Ok(r) => r,
            Err(error) => {
                entries.push(Err(error));
                continue;
            }
        };
        // The reference reader already hashed the statement it read.
        let digest = r
            .digest
            .unwrap_or_else(|| DigestSet::of(r.statement(&buffer)));
        if let Some(key) = trusted.get(&r.keyid) {
            index.push(first + k);
            signed.push(Signed {
                key: key.to_bytes(),
                message: &buffer[r.message.clone()],
                signature: r.signature.to_bytes(),
            });
        }
        entries.push(Ok(Entry {
            seq: r.seq,
            parent: r.parent,
            digest,
            leaf,
            network: r.network,
            actor: r.actor,
            keyid: r.keyid,
        }));
    }
    let mut deep_trusted = Vec::new();
    for (k, (keyid, signature, message)) in deep {
        if let Some(key) = trusted.get(&keyid) {
            index.push(first + k);
            signed.push(Signed {
                key: key.to_bytes(),
                message: &buffer[message],
                signature: signature.to_bytes(),
            });
            deep_trusted.push(first + k);
        }
    }
    let bad = verify_batch(&signed)
        .into_iter()
        .zip(index)
        .filter(|(ok, _)| !ok)
        .map(|(_, line)| line)
        .collect();
    Chunk {
        entries,
        checked: signed.len(),
        bad,
        deep_trusted,
        root: root(&leaves),
    }
}

struct Findings {
    list: Vec<Finding>,
    omitted: usize,
    max: usize,
}

impl Findings {
    fn push(&mut self, f: Finding) {
        if self.list.len() < self.max {
            self.list.push(f);
        } else {
            self.omitted += 1;
        }
    }
}

/// Verifies a whole log given as bytes.
pub fn verify_bytes(bytes: &[u8], options: &VerifyOptions<'_>) -> Report {
    let threads = if options.threads == 0 {
        default_threads()
    } else {
        options.threads
    };
    let (ranges, torn) = split_lines(bytes);
    let lines: Vec<&[u8]> = ranges.iter().map(|r| &bytes[r.clone()]).collect();

    // Parse, hash and batch-verify signatures chunk by chunk on all threads.
    let chunks = map_chunks_dynamic(&lines, threads, BATCH, |first, part| {
        check_chunk(first, part, options.trusted)
    });
    let mut entries: Vec<Result<Entry, FormatError>> = Vec::with_capacity(lines.len());
    let mut checked = 0;
    let mut bad = Vec::new();
    let mut deep_trusted = Vec::new();
    // Every chunk but the last holds BATCH (a power of two) lines, so the
    // chunks' roots combine into the whole tree's root like leaves do.
    let mut chunk_roots = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        entries.extend(chunk.entries);
        checked += chunk.checked;
        bad.extend(chunk.bad);
        // Chunks come in log order, so this stays sorted.
        deep_trusted.extend(chunk.deep_trusted);
        chunk_roots.push(chunk.root);
    }
    bad.sort_unstable();
    let valid_signatures = checked - bad.len();
    let mut findings = Findings {
        list: Vec::new(),
        omitted: 0,
        max: options.max_findings.max(1),
    };

    let by_sha: DigestMap<[u8; 32], usize> = {
        let mut m = digest_map::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if let Ok(e) = e {
                m.entry(e.digest.sha256).or_insert(i);
            }
        }
        m
    };
    let mut by_leaf: DigestMap<Hash, usize> = digest_map::with_capacity(entries.len());
    let mut children: DigestMap<[u8; 32], usize> = digest_map::with_capacity(entries.len());
    let mut genesis_line: Option<usize> = None;
    let mut network: Option<&str> = None;
    let mut prev: Option<(usize, &Entry)> = None;

    for (i, parsed) in entries.iter().enumerate() {
        let line = i + 1;
        let e = match parsed {
            // Out of format when a trusted key signed it; otherwise it is a
            // malformed line like any other.
            Err(FormatError::BodyTooDeep { depth, limit })
                if deep_trusted.binary_search(&i).is_ok() && bad.binary_search(&i).is_err() =>
            {
                findings.push(Finding::BodyTooDeep {
                    line,
                    depth: *depth,
                    limit: *limit,
                });
                prev = None;
                continue;
            }
            Err(error) => {
                findings.push(Finding::Malformed {
                    line,
                    error: error.clone(),
                });
                prev = None;
                continue;
            }
            Ok(e) => e,
        };
        if let Some(&first) = by_leaf.get(&e.leaf) {
            findings.push(Finding::Duplicate {
                line,
                seq: e.seq,
                first_line: first + 1,
            });
            prev = Some((i, e));
            continue;
        }
        by_leaf.insert(e.leaf, i);
        match options.trusted.get(&e.keyid) {
            None => findings.push(Finding::UnknownKey {
                line,
                seq: e.seq,
                keyid: e.keyid,
            }),
            Some(_) if bad.binary_search(&i).is_ok() => findings.push(Finding::BadSignature {
                line,
                seq: e.seq,
                keyid: e.keyid,
            }),
            Some(_) => {}
        }
        if e.actor != e.keyid {
            findings.push(Finding::ActorMismatch {
                line,
                seq: e.seq,
                actor: e.actor,
                keyid: e.keyid,
            });
        }
        match network {
            None => network = Some(&e.network),
            Some(n) if n != &*e.network => findings.push(Finding::NetworkMismatch {
                line,
                seq: e.seq,
                expected: n.to_owned(),
                found: e.network.to_string(),
            }),
            Some(_) => {}
        }
        check_link(
            i,
            e,
            prev,
            &entries,
            &by_sha,
            &mut children,
            &mut genesis_line,
            &mut findings,
        );
        prev = Some((i, e));
    }
    if let Some(t) = torn {
        findings.push(Finding::TornTail {
            line: t.line,
            offset: t.offset,
            len: t.bytes.len(),
        });
    }
    if let Some(cp) = options.checkpoint {
        let expected = match (options.origin, network) {
            (Some(origin), _) => Some(origin.to_owned()),
            (None, Some(network)) => Some(origin_for(network)),
            (None, None) => None,
        };
        if let Some(expected) = expected.filter(|e| *e != cp.origin) {
            findings.push(Finding::CheckpointOriginMismatch {
                origin: cp.origin.clone(),
                expected,
            });
        }
        if cp.size > lines.len() as u64 {
            findings.push(Finding::Truncated {
                checkpoint_size: cp.size,
                log_size: lines.len() as u64,
            });
        } else {
            let leaves: Vec<Hash> = entries
                .iter()
                .zip(&lines)
                .take(cp.size as usize)
                .map(|(e, l)| match e {
                    Ok(e) => e.leaf,
                    Err(_) => leaf_hash(l),
                })
                .collect();
            let computed = root(&leaves);
            if computed != cp.root {
                findings.push(Finding::CheckpointRootMismatch {
                    size: cp.size,
                    expected: cp.root,
                    computed,
                });
            }
        }
    }
    let head = match entries.last() {
        Some(Ok(e)) => Some(Head {
            seq: e.seq,
            digest: e.digest,
        }),
        _ => None,
    };
    Report {
        lines: lines.len(),
        valid_signatures,
        findings: findings.list,
        omitted: findings.omitted,
        head,
        root: root(&chunk_roots),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_link(
    i: usize,
    e: &Entry,
    prev: Option<(usize, &Entry)>,
    entries: &[Result<Entry, FormatError>],
    by_sha: &DigestMap<[u8; 32], usize>,
    children: &mut DigestMap<[u8; 32], usize>,
    genesis_line: &mut Option<usize>,
    findings: &mut Findings,
) {
    let line = i + 1;
    let d = match e.parent {
        Parent::Genesis => {
            if e.seq != 0 || genesis_line.is_some() {
                findings.push(Finding::UnexpectedGenesis {
                    line,
                    seq: e.seq,
                    first_line: genesis_line.map(|g| g + 1),
                });
            }
            genesis_line.get_or_insert(i);
            return;
        }
        Parent::Receipt(d) => d,
    };
    if e.seq == 0 {
        findings.push(Finding::NotGenesis { line });
    }
    let parent_at = by_sha
        .get(&d.sha256)
        .copied()
        .filter(|&j| matches!(&entries[j], Ok(p) if p.digest == d));
    if let Some(&first) = children.get(&d.sha256) {
        findings.push(Finding::Fork {
            parent_line: parent_at.map(|j| j + 1),
            first_line: first + 1,
            second_line: line,
        });
        return;
    }
    children.insert(d.sha256, i);
    if let Some((pi, p)) = prev {
        if p.digest == d {
            if e.seq != p.seq + 1 {
                findings.push(Finding::WrongSequence {
                    line,
                    expected_seq: p.seq + 1,
                    found_seq: e.seq,
                });
            }
            return;
        }
        let algorithms = p.digest.mismatches(&d);
        // Only one of the two digests disagreeing means the link itself was altered, not that
        // lines moved or went missing.
        let one_algorithm = algorithms.len() == 1;
        match parent_at {
            Some(j) if !one_algorithm => findings.push(Finding::Reordered {
                line,
                seq: e.seq,
                parent_line: j + 1,
            }),
            None if !one_algorithm && e.seq > p.seq + 1 => findings.push(Finding::Missing {
                line,
                expected_seq: p.seq + 1,
                found_seq: e.seq,
            }),
            _ => findings.push(Finding::ParentMismatch {
                line,
                seq: e.seq,
                prev_line: pi + 1,
                prev_seq: p.seq,
                algorithms,
                actual: p.digest,
                claimed: d,
            }),
        }
    } else if let Some(j) = parent_at {
        findings.push(Finding::Reordered {
            line,
            seq: e.seq,
            parent_line: j + 1,
        });
    } else if i == 0 {
        findings.push(Finding::Missing {
            line,
            expected_seq: 0,
            found_seq: e.seq,
        });
    }
    // Otherwise the previous line is malformed and already reported.
}
