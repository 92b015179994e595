//! Prints figures for the node's I/O shell: durable block commits, WAL appends and mempool
//! admission. Run with `cargo bench -p netwright-node --bench node_io`; `NODE_BENCH_N` sets the
//! number of commits/appends (default 300).

use std::time::{Duration, Instant};

use netwright_node::mempool::{Limits, Mempool, PoolTx};
use netwright_node::storage::{BlockCommit, Storage};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name}: n={} ops/s={:.0} p50={:?} p99={:?}",
        samples.len(),
        samples.len() as f64 / total.as_secs_f64(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99)
    );
}

#[derive(Clone)]
struct Tx {
    sender: u32,
    nonce: u64,
}

impl PoolTx for Tx {
    type Hash = (u32, u64);
    type Sender = u32;
    fn hash(&self) -> (u32, u64) {
        (self.sender, self.nonce)
    }
    fn sender(&self) -> u32 {
        self.sender
    }
    fn nonce(&self) -> u64 {
        self.nonce
    }
    fn size(&self) -> usize {
        150
    }
}

fn main() {
    let n: u64 = std::env::var("NODE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");

    let block = vec![0xabu8; 64 * 1024];
    let cert = vec![0xcdu8; 4 * 1024];
    let mut samples = Vec::new();
    for h in 1..=n {
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&h.to_le_bytes());
        let writes: Vec<_> = (0..100u64)
            .map(|k| ((h * 1000 + k).to_le_bytes().to_vec(), Some(vec![1u8; 100])))
            .collect();
        let commit = BlockCommit {
            height: h,
            hash,
            block: &block,
            cert: &cert,
            app_hash: [0; 32],
        };
        let t = Instant::now();
        storage.commit_block(&commit, &writes).expect("commit");
        samples.push(t.elapsed());
    }
    report(
        "commit_block (64 KiB block, 4 KiB cert, 100 state writes, fsync)",
        samples,
    );

    let record = vec![7u8; 200];
    let samples = (0..n)
        .map(|_| {
            let t = Instant::now();
            storage.append_wal(&record).expect("wal");
            t.elapsed()
        })
        .collect();
    report("append_wal (200 B, fsync)", samples);

    let txs: Vec<Tx> = (0..100_000u64)
        .map(|i| Tx {
            sender: (i % 5000) as u32,
            nonce: i / 5000,
        })
        .collect();
    let mut pool = Mempool::new(Limits {
        max_txs: 200_000,
        max_bytes: 1 << 30,
        max_per_sender: 1000,
    });
    let ok = |txs: &[Tx]| vec![Ok(()); txs.len()];
    let t = Instant::now();
    for chunk in txs.chunks(1000) {
        pool.add_batch(chunk.to_vec(), &ok);
    }
    let add = t.elapsed();
    let t = Instant::now();
    let reaped = pool.reap(10_000, 8 << 20);
    let reap = t.elapsed();
    println!(
        "mempool: add 100000 txs in batches of 1000: {:.0} tx/s; reap {} txs: {:?}",
        100_000.0 / add.as_secs_f64(),
        reaped.len(),
        reap
    );
}
