//! Paired measurements: each round times a receipt operation and the raw
//! primitive it is bounded by, back to back on the same data, so the ratio
//! survives a machine whose load changes from second to second.
//!
//! Run: `cargo bench -p netwright-receipts --bench ratios` (env `ROUNDS`, default 15).
//! Prints, per pair, the median throughput of each side and the median of the
//! per-round ratios:
//! - verify (`verify_bytes`, N threads) vs raw batch verification
//!   (`ed25519_zebra::batch::Verifier`, the rule `verify_bytes` applies) over
//!   the same signed messages in batches of 512 on N threads (N = 1 and all cores);
//! - append (`append_batch` of 1000, group commit, fsync) vs signing the same
//!   1000 signed messages on all cores, and vs one core.

use std::time::Instant;

use ed25519_zebra::{batch, Signature, VerificationKeyBytes};
use netwright_receipts::envelope::{pae, PAYLOAD_TYPE};
use netwright_receipts::parallel::{default_threads, map_chunks_dynamic};
use netwright_receipts::{
    open_line, verify_bytes, Draft, LogWriter, Signer, TrustedKeys, VerifyOptions,
};
mod support;
use support::{draft, options, write_log, BATCH, LOG_SIZE};

const SIG_BATCH: usize = 512;

/// Seconds taken by `f`.
fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Collects (ours, raw) throughputs per round and prints the medians.
fn report(name: &str, raw_name: &str, items: f64, rounds: &[(f64, f64)]) {
    let ours = median(rounds.iter().map(|(o, _)| items / o).collect());
    let raw = median(rounds.iter().map(|(_, r)| items / r).collect());
    let ratio = median(rounds.iter().map(|(o, r)| r / o).collect());
    println!("{name:<34} {ours:>9.0}/s   {raw_name:<34} {raw:>9.0}/s   ratio {ratio:.2}");
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15)
        .max(1);
    let threads = default_threads();
    let dir = tempfile::tempdir().expect("temp dir");

    // A log to verify, and the raw material of its signatures.
    let signer = Signer::from_seed(&[3; 32]);
    let path = dir.path().join("verify.log");
    let bytes = write_log(&path, &signer, LOG_SIZE);
    let receipts: Vec<_> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| open_line(l).expect("own log reads back"))
        .collect();
    let messages: Vec<Vec<u8>> = receipts
        .iter()
        .map(|r| pae(PAYLOAD_TYPE, &r.payload))
        .collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let signatures: Vec<Signature> = receipts
        .iter()
        .map(|r| Signature::from(r.signature.to_bytes()))
        .collect();
    let key = VerificationKeyBytes::from(signer.verifying_key().to_bytes());
    let index: Vec<usize> = (0..refs.len()).collect();
    let mut trusted = TrustedKeys::new();
    trusted.insert(signer.verifying_key());
    let raw_verify = |t: usize| {
        map_chunks_dynamic(&index, t, SIG_BATCH, |start, part| {
            let mut verifier = batch::Verifier::new();
            for i in start..start + part.len() {
                verifier.queue((key, signatures[i], refs[i]));
            }
            assert!(verifier.verify(rand::thread_rng()).is_ok());
        });
    };
    let our_verify = |t: usize| {
        let mut o = VerifyOptions::new(&trusted);
        o.threads = t;
        assert!(verify_bytes(&bytes, &o).is_ok());
    };

    // A log to append to, and the same number of messages to sign raw.
    let append_path = dir.path().join("append.log");
    let mut appender =
        LogWriter::open(&append_path, Signer::from_seed(&[2; 32]), options()).expect("open log");
    let to_sign = &refs[..BATCH];
    let raw_sign = |t: usize| {
        map_chunks_dynamic(to_sign, t, 64, |_, part| {
            part.iter().map(|m| signer.sign(m)).collect::<Vec<_>>()
        });
    };

    println!(
        "{} rounds, {threads} threads, signed message {} bytes; load before: {}",
        rounds,
        messages[1].len(),
        load()
    );
    let mut verify_1 = Vec::new();
    let mut verify_n = Vec::new();
    let mut append_n = Vec::new();
    let mut append_1 = Vec::new();
    for round in 0..rounds {
        let drafts: Vec<Draft> = (0..BATCH as u64).map(draft).collect();
        // Alternate which side goes first so drift in load favours neither.
        let flip = round % 2 == 1;
        let pair = |ours: &dyn Fn() -> f64, raw: &dyn Fn() -> f64| {
            if flip {
                let r = raw();
                (ours(), r)
            } else {
                let o = ours();
                (o, raw())
            }
        };
        verify_1.push(pair(&|| time(|| our_verify(1)), &|| time(|| raw_verify(1))));
        verify_n.push(pair(&|| time(|| our_verify(threads)), &|| {
            time(|| raw_verify(threads))
        }));
        let sign_n = time(|| raw_sign(threads));
        let ours = time(|| {
            appender.append_batch(drafts).expect("append");
        });
        let sign_1 = time(|| raw_sign(1));
        append_n.push((ours, sign_n));
        append_1.push((ours, sign_1));
    }
    report(
        "verify_bytes, 1 thread",
        "raw batch verify, 1 thread",
        LOG_SIZE as f64,
        &verify_1,
    );
    report(
        &format!("verify_bytes, {threads} threads"),
        &format!("raw batch verify, {threads} threads"),
        LOG_SIZE as f64,
        &verify_n,
    );
    report(
        "append_batch 1000 + fsync",
        &format!("sign, {threads} threads"),
        BATCH as f64,
        &append_n,
    );
    report(
        "append_batch 1000 + fsync",
        "sign, 1 thread",
        BATCH as f64,
        &append_1,
    );
    println!("load after: {}", load());
}

/// The 1, 5 and 15 minute load averages, where the system reports them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
