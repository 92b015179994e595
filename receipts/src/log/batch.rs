//! Turning a batch of statements into signed log lines for one group commit.
//!
//! Chaining is sequential (each statement holds both digests of the one before
//! it), signing is not (a signature covers only its own statement). So one
//! thread chains while the others sign the statements already chained, and the
//! chaining thread joins the signing when it is done.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::format::digest::DigestSet;
use crate::format::envelope::{envelope_len, write_envelope, write_pae_header, PAYLOAD_TYPE};
use crate::format::keys::Signer;
use crate::format::statement::{Parent, StatementParts};
use crate::proofs::merkle::{leaf_hash, Hash};

/// Statements per unit of signing work.
pub const SIGN_CHUNK: usize = 64;

/// The lines of a batch, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBatch {
    /// Every line followed by `\n`, in order.
    pub bytes: Vec<u8>,
    /// For each line: the digests of its statement and its Merkle leaf hash.
    pub receipts: Vec<(DigestSet, Hash)>,
}

/// Sets a flag when dropped, so waiting signers stop even if chaining unwinds.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Chains `parts` after `parent` and signs each statement into its log line on
/// up to `threads` threads.
pub fn chain_and_sign(
    parts: &[StatementParts],
    parent: Parent,
    signer: &Signer,
    threads: usize,
) -> SignedBatch {
    let chained: Vec<OnceLock<(Vec<u8>, DigestSet)>> =
        parts.iter().map(|_| OnceLock::new()).collect();
    let chaining_over = AtomicBool::new(false);
    let next_chunk = AtomicUsize::new(0);
    let chunks = parts.len().div_ceil(SIGN_CHUNK);
    let keyid_hex = signer.id().to_string();

    // Signs chunk `c`, waiting for its statements to be chained. `None` when
    // chaining stopped before reaching them (it only stops early by unwinding).
    let sign_chunk = |c: usize| -> Option<(usize, Vec<u8>, Vec<Hash>)> {
        let range = c * SIGN_CHUNK..((c + 1) * SIGN_CHUNK).min(parts.len());
        let mut out = Vec::new();
        let mut leaves = Vec::with_capacity(range.len());
        let mut message = Vec::new();
        for slot in &chained[range] {
            let statement = loop {
                if let Some((statement, _)) = slot.get() {
                    break statement;
                }
                if chaining_over.load(Ordering::Acquire) {
                    return None;
                }
                std::thread::yield_now();
            };
            message.clear();
            write_pae_header(&mut message, PAYLOAD_TYPE, statement.len());
            message.extend_from_slice(statement);
            let signature = signer.sign(&message);
            out.reserve(envelope_len(statement.len()) + 1);
            let start = out.len();
            write_envelope(&mut out, statement, &keyid_hex, &signature);
            leaves.push(leaf_hash(&out[start..]));
            out.push(b'\n');
        }
        Some((c, out, leaves))
    };
    let sign_loop = || {
        let mut done = Vec::new();
        loop {
            let c = next_chunk.fetch_add(1, Ordering::Relaxed);
            if c >= chunks {
                return done;
            }
            match sign_chunk(c) {
                Some(result) => done.push(result),
                None => return done,
            }
        }
    };

    let mut signed = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.max(1).min(chunks.max(1)))
            .map(|_| scope.spawn(sign_loop))
            .collect();
        {
            let _over = SetOnDrop(&chaining_over);
            let mut parent = parent;
            for (p, slot) in parts.iter().zip(&chained) {
                let mut statement = Vec::with_capacity(p.len_with(&parent));
                p.write_with_parent(&mut statement, &parent);
                let digest = DigestSet::of(&statement);
                parent = Parent::Receipt(digest);
                // Each slot is set once, here, so this cannot find it taken.
                let _ = slot.set((statement, digest));
            }
        }
        let mut all = sign_loop();
        for helper in helpers {
            match helper.join() {
                Ok(part) => all.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    signed.sort_unstable_by_key(|(c, _, _)| *c);

    let mut bytes = Vec::with_capacity(signed.iter().map(|(_, out, _)| out.len()).sum());
    let mut receipts = Vec::with_capacity(parts.len());
    let mut slots = chained.iter();
    for (_, out, leaves) in &signed {
        bytes.extend_from_slice(out);
        for (leaf, slot) in leaves.iter().zip(slots.by_ref()) {
            if let Some((_, digest)) = slot.get() {
                receipts.push((*digest, *leaf));
            }
        }
    }
    SignedBatch { bytes, receipts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::envelope::seal;
    use crate::format::keys::KeyId;
    use crate::format::statement::{Kind, Receipt, Subject};
    use crate::format::time::Timestamp;

    fn receipt(seq: u64, actor: KeyId, parent: Parent) -> Receipt {
        Receipt {
            seq,
            kind: Kind::Gate,
            time: Timestamp::from_unix_seconds(seq),
            network: "n".into(),
            actor,
            subject: Subject {
                spec_digest: DigestSet::of(b"s"),
                git_commit: None,
            },
            parent,
            body: serde_json::Map::new(),
        }
    }

    #[test]
    fn same_lines_as_sealing_one_by_one_for_any_thread_count() {
        let signer = Signer::from_seed(&[3; 32]);
        let n = 2 * SIGN_CHUNK + 5;
        let parts: Vec<StatementParts> = (0..n as u64)
            .map(|seq| StatementParts::new(receipt(seq, signer.id(), Parent::Genesis).fields()))
            .collect::<Result<_, _>>()
            .unwrap();
        let mut expected = Vec::new();
        let mut receipts = Vec::new();
        let mut parent = Parent::Genesis;
        for seq in 0..n as u64 {
            let sealed = seal(receipt(seq, signer.id(), parent), &signer).unwrap();
            expected.extend_from_slice(&sealed.line);
            expected.push(b'\n');
            receipts.push((sealed.digest, leaf_hash(&sealed.line)));
            parent = Parent::Receipt(sealed.digest);
        }
        for threads in [1, 2, 3] {
            let batch = chain_and_sign(&parts, Parent::Genesis, &signer, threads);
            assert_eq!(batch.bytes, expected, "{threads} threads");
            assert_eq!(batch.receipts, receipts, "{threads} threads");
        }
        let empty = chain_and_sign(&[], Parent::Genesis, &signer, 2);
        assert!(empty.bytes.is_empty() && empty.receipts.is_empty());
    }
}
