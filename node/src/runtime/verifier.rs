//! Transaction decoding and signature checks gathered across submissions: RPC batches and
//! gossip batches that arrive within a few milliseconds of each other are verified as one
//! ed25519 batch on one thread. Larger batches cost less per signature (the multiscalar
//! multiplication shares its doublings, and from about a hundred signatures switches to a
//! cheaper bucket method), and a transaction's verdict does not depend on what else is in the
//! batch (`netwright_ledger::verify`), so gathering changes no verdict.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use netwright_ledger::KeyCache;

use crate::driver::{prepare_txs, PreparedTx};

/// How long the first waiting submission waits for others to join its batch.
pub(super) const GATHER_WINDOW: Duration = Duration::from_millis(10);
/// A batch this large is verified at once, without waiting out the window.
const GATHER_MAX_TXS: usize = 2_048;

/// One submission: its transactions and where their results go.
type Job = (Vec<Vec<u8>>, SyncSender<Vec<PreparedTx>>);

/// Submissions waiting for the verifier thread.
#[derive(Default)]
struct Pending {
    jobs: Vec<Job>,
    txs: usize,
    since: Option<Instant>,
    closed: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    ready: Condvar,
    keys: Mutex<KeyCache>,
    /// The verifier thread's id (Linux), once it runs.
    thread_id: AtomicI32,
}

/// The gathering verifier; its thread stops when this is dropped.
pub(super) struct Verifier {
    shared: Arc<Shared>,
}

impl Verifier {
    /// Starts the verifier thread; sender keys are decompressed once and kept in `keys`.
    pub(super) fn start(keys: KeyCache) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            ready: Condvar::new(),
            keys: Mutex::new(keys),
            thread_id: AtomicI32::new(0),
        });
        let worker = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("tx-verifier".into())
            .spawn(move || work(&worker));
        if spawned.is_err() {
            // Without the thread every submission is verified on its own caller's thread.
            lock(&shared.pending).closed = true;
        }
        Verifier { shared }
    }

    /// Decodes `txs` and verifies their signatures, together with whatever else is submitted
    /// within [`GATHER_WINDOW`]. Blocks the calling thread; one result per transaction.
    pub(super) fn prepare(&self, txs: Vec<Vec<u8>>) -> Vec<PreparedTx> {
        let (reply, answer) = sync_channel(1);
        {
            let mut p = lock(&self.shared.pending);
            if p.closed {
                drop(p);
                return prepare_txs(txs, &self.shared.keys);
            }
            p.txs += txs.len();
            p.since.get_or_insert_with(Instant::now);
            p.jobs.push((txs, reply));
        }
        self.shared.ready.notify_one();
        // The worker answers every job it takes; an empty answer only if it died.
        answer.recv().unwrap_or_default()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        lock(&self.shared.pending).closed = true;
        self.shared.ready.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How much the verifier thread yields (a nice value): verifying admissions is throughput work,
/// while consensus and block execution sit on the path of every commit, so when the CPU is short
/// (several nodes on one machine, or a burst of submissions) they go first. With CPU to spare
/// this changes nothing.
const VERIFIER_NICE: libc::c_int = 10;

/// Lowers the calling thread's scheduling priority to [`VERIFIER_NICE`]; returns its thread id.
#[cfg(target_os = "linux")]
fn lower_own_priority() -> i32 {
    // SAFETY: both calls take and return plain integers and touch no memory of this process.
    // A failed `setpriority` leaves the priority as it was, which is only slower, never wrong.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, VERIFIER_NICE);
        tid
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_own_priority() -> i32 {
    0
}

fn work(shared: &Shared) {
    shared
        .thread_id
        .store(lower_own_priority(), Ordering::Relaxed);
    loop {
        let jobs = {
            let mut p = lock(&shared.pending);
            loop {
                match p.since {
                    None if p.closed => return,
                    None => p = shared.ready.wait(p).unwrap_or_else(|e| e.into_inner()),
                    Some(since) => {
                        let waited = since.elapsed();
                        if p.closed || p.txs >= GATHER_MAX_TXS || waited >= GATHER_WINDOW {
                            break;
                        }
                        p = shared
                            .ready
                            .wait_timeout(p, GATHER_WINDOW - waited)
                            .map(|(g, _)| g)
                            .unwrap_or_else(|e| e.into_inner().0);
                    }
                }
            }
            p.txs = 0;
            p.since = None;
            std::mem::take(&mut p.jobs)
        };
        let mut sizes = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut all = Vec::new();
        for (txs, reply) in jobs {
            sizes.push(txs.len());
            replies.push(reply);
            all.extend(txs);
        }
        let mut prepared = prepare_txs(all, &shared.keys).into_iter();
        for (n, reply) in sizes.into_iter().zip(replies) {
            // A caller that went away needs no answer.
            let _ = reply.send(prepared.by_ref().take(n).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::testkit;

    #[test]
    fn gathered_submissions_get_their_own_verdicts_in_order() {
        let g = testkit::genesis(&[1], &[(9, 1000), (8, 1000)]);
        let good = testkit::transfer(&g, 9, 0, 3, 10);
        let other = testkit::transfer(&g, 8, 0, 3, 10);
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let verifier = Arc::new(Verifier::start(KeyCache::new(8)));
        let expected_a = prepare_txs(
            vec![good.clone(), bad.clone()],
            &Mutex::new(KeyCache::new(8)),
        );
        let expected_b = prepare_txs(vec![other.clone()], &Mutex::new(KeyCache::new(8)));
        let v = verifier.clone();
        let a = std::thread::spawn(move || v.prepare(vec![good, bad]));
        let b = verifier.prepare(vec![other]);
        let a = a.join().unwrap();
        assert_eq!(a, expected_a);
        assert_eq!(b, expected_b);
        assert!(verifier.prepare(Vec::new()).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_verifier_thread_yields_to_consensus() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let verifier = Verifier::start(KeyCache::new(8));
        // A verified submission proves the thread has started and set its priority.
        assert_eq!(
            verifier
                .prepare(vec![testkit::transfer(&g, 9, 0, 3, 10)])
                .len(),
            1
        );
        let tid = verifier.shared.thread_id.load(Ordering::Relaxed);
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // Fields after the parenthesised name: state is field 3, nice is field 19.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let nice: i32 = after_name.split(' ').nth(16).unwrap().parse().unwrap();
        assert_eq!(nice, VERIFIER_NICE);
    }

    #[test]
    fn a_closed_verifier_still_verifies_on_the_callers_thread() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let tx = testkit::transfer(&g, 9, 0, 3, 10);
        let verifier = Verifier::start(KeyCache::new(8));
        lock(&verifier.shared.pending).closed = true;
        let expected = prepare_txs(vec![tx.clone()], &Mutex::new(KeyCache::new(8)));
        assert_eq!(verifier.prepare(vec![tx]), expected);
    }
}
