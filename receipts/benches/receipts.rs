//! Throughput of receipts against the raw primitives they are built from.
//!
//! Run: `cargo bench -p netwright-receipts --bench receipts`. Every figure is
//! reported in elements (or bytes) per second so ratios can be read directly:
//! `verify/log_4096_1_threads` against `ed25519/batch_verify_1_thread`,
//! `verify/log_4096_N_threads` against `ed25519/batch_verify_all_threads`, and
//! `append/*` against `ed25519/sign_all_threads` (the most a writer can sign).
//! The raw primitives sign, verify and hash messages of the same length as the
//! receipts' signed messages, so like is compared with like.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_zebra::{batch, Signature, VerificationKey, VerificationKeyBytes};
use netwright_receipts::envelope::{pae, PAYLOAD_TYPE};
use netwright_receipts::merkle::leaf_hash;
use netwright_receipts::parallel::{default_threads, map_chunks_dynamic, map_chunks_with};
use netwright_receipts::scan::read_line;
use netwright_receipts::{
    open_line, verify_bytes, DigestSet, Draft, LogWriter, Signer, TrustedKeys, VerifyOptions,
};
mod support;
use sha2::{Digest, Sha256};
use support::{draft, options, write_log, BATCH, LOG_SIZE};

/// Length of a bench receipt's signed message (PAE header + statement bytes), and
/// of its statement bytes, taken from a receipt written the way the benches write.
fn receipt_lengths() -> (usize, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log");
    let bytes = write_log(&path, &Signer::from_seed(&[1; 32]), 2);
    let line = bytes.split(|b| *b == b'\n').nth(1).expect("second line");
    let receipt = open_line(line).expect("own receipt reads back");
    (
        pae(PAYLOAD_TYPE, &receipt.payload).len(),
        receipt.payload.len(),
    )
}

fn primitives(c: &mut Criterion) {
    let (message_len, payload_len) = receipt_lengths();
    println!("signed message length {message_len} bytes, statement {payload_len} bytes");
    let signer = Signer::from_seed(&[1; 32]);
    let message = vec![0x5au8; message_len];
    let signature = Signature::from(signer.sign(&message).to_bytes());
    let key_bytes = VerificationKeyBytes::from(signer.verifying_key().to_bytes());
    let key = VerificationKey::try_from(key_bytes).expect("the signer's key decodes");
    let threads = default_threads();
    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| b.iter(|| signer.sign(black_box(&message))));
    let to_sign: Vec<Vec<u8>> = (0..BATCH).map(|i| vec![i as u8; message_len]).collect();
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(format!("sign_all_threads_{threads}"), |b| {
        b.iter(|| {
            map_chunks_dynamic(&to_sign, threads, 64, |_, part| {
                part.iter().map(|m| signer.sign(m)).collect::<Vec<_>>()
            })
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify", |b| {
        b.iter(|| key.verify(&signature, black_box(&message)))
    });
    let n = 512;
    let messages: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; message_len]).collect();
    let signatures: Vec<Signature> = messages
        .iter()
        .map(|m| Signature::from(signer.sign(m).to_bytes()))
        .collect();
    // Raw ZIP-215 batch verification (the rule `verify_bytes` applies) of `range`.
    let batch_verify = |range: std::ops::Range<usize>| {
        let mut verifier = batch::Verifier::new();
        for i in range {
            verifier.queue((key_bytes, signatures[i], &messages[i]));
        }
        verifier.verify(rand::thread_rng()).is_ok()
    };
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("batch_verify_1_thread", |b| b.iter(|| batch_verify(0..n)));
    let chunks: Vec<usize> = (0..threads).collect();
    let per = n.div_ceil(threads);
    g.bench_function("batch_verify_all_threads", |b| {
        b.iter(|| {
            map_chunks_with(&chunks, threads, 1, |t| {
                let range = (t * per).min(n)..((t + 1) * per).min(n);
                batch_verify(range)
            })
        })
    });
    g.finish();

    let statement = &message[..payload_len];
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Bytes(payload_len as u64));
    g.bench_function("sha256_statement", |b| {
        b.iter(|| Sha256::digest(black_box(statement)))
    });
    g.bench_function("blake3_statement", |b| {
        b.iter(|| blake3::hash(black_box(statement)))
    });
    g.finish();
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut writer = LogWriter::open(
        &dir.path().join("log"),
        Signer::from_seed(&[2; 32]),
        options(),
    )
    .expect("open log");
    let drafts: Vec<Draft> = (0..BATCH as u64).map(draft).collect();
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("sign_and_group_commit_1000", |b| {
        b.iter_batched(
            || drafts.clone(),
            |batch| writer.append_batch(batch).expect("append"),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("log");
    let signer = Signer::from_seed(&[3; 32]);
    let bytes = write_log(&path, &signer, LOG_SIZE);
    let mut trusted = TrustedKeys::new();
    trusted.insert(signer.verifying_key());
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(LOG_SIZE));
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    g.bench_function("parse_reference_4096_1_thread", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(open_line(line).is_ok());
            }
        })
    });
    // Everything the verifier does per line except the signature check.
    g.bench_function("parse_fast_and_hash_4096_1_thread", |b| {
        let mut buffer = Vec::new();
        b.iter(|| {
            for line in &lines {
                buffer.clear();
                let view = read_line(line, &mut buffer).expect("fast path reads own log");
                black_box((DigestSet::of(view.payload), leaf_hash(line)));
            }
        })
    });
    for threads in [1, default_threads()] {
        let mut o = VerifyOptions::new(&trusted);
        o.threads = threads;
        g.bench_function(format!("log_4096_{threads}_threads"), |b| {
            b.iter(|| {
                let r = verify_bytes(black_box(&bytes), &o);
                assert!(r.is_ok());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, primitives, append, verify);
criterion_main!(benches);
