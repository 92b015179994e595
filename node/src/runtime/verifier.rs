//! Transaction decoding and signature checks gathered across submissions: RPC batches and
//! gossip batches that arrive within a few milliseconds of each other are verified as one
//! ed25519 batch on one thread. Larger batches cost less per signature (the multiscalar
//! multiplication shares its doublings, and from about a hundred signatures switches to a
//! cheaper bucket method), and a transaction's verdict does not depend on what else is in the
//! batch (ZIP-215, `netwright_ledger::signature`), so gathering changes no verdict.
//!
//! A peer's copy of a transaction can arrive after a block already carried it (the block's
//! execution verified it then); such copies, recognised by hash among the recently committed
//! transactions, are answered as duplicates without being verified a second time.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use netwright_ledger::{Hash, KeyCache};
use prometheus_client::metrics::counter::Counter;

use super::recent::RecentCommits;
use crate::driver::{prepare_hashed_txs, PreparedTx, TxOrigin};

/// How long the first waiting submission waits for others to join its batch.
pub(super) const GATHER_WINDOW: Duration = Duration::from_millis(10);
/// A batch this large is verified at once, without waiting out the window.
const GATHER_MAX_TXS: usize = 2_048;

/// One submission: its transactions, where they came from and where their results go.
struct Job {
    txs: Vec<Vec<u8>>,
    origin: TxOrigin,
    reply: SyncSender<Vec<PreparedTx>>,
}

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
    keys: KeyCache,
    recent: Arc<Mutex<RecentCommits>>,
    /// Peers' transactions answered as already committed, without verification.
    skipped: Counter,
    /// The verifier thread's id (Linux), once it runs.
    thread_id: AtomicI32,
}

/// The gathering verifier; its thread stops when this is dropped.
pub(super) struct Verifier {
    shared: Arc<Shared>,
}

impl Verifier {
    /// Starts the verifier thread; sender keys are decompressed once and kept in `keys`,
    /// `recent` tells which transactions were committed lately, and `skipped` counts peers'
    /// transactions answered as already committed.
    pub(super) fn start(
        keys: KeyCache,
        recent: Arc<Mutex<RecentCommits>>,
        skipped: Counter,
    ) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            ready: Condvar::new(),
            keys,
            recent,
            skipped,
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
    /// within [`GATHER_WINDOW`]. A peer's transaction that a recent block committed is answered
    /// as a duplicate instead. Blocks the calling thread; one result per transaction.
    pub(super) fn prepare(&self, txs: Vec<Vec<u8>>, origin: TxOrigin) -> Vec<PreparedTx> {
        let (reply, answer) = sync_channel(1);
        let job = Job { txs, origin, reply };
        {
            let mut p = lock(&self.shared.pending);
            if p.closed {
                drop(p);
                answer_jobs(&self.shared, vec![job]);
                return answer.recv().unwrap_or_default();
            }
            p.txs += job.txs.len();
            p.since.get_or_insert_with(Instant::now);
            p.jobs.push(job);
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
        answer_jobs(shared, jobs);
    }
}

/// Answers `jobs`: peers' transactions already committed as duplicates, the rest decoded and
/// verified as one batch; each job's answer in its own order.
fn answer_jobs(shared: &Shared, jobs: Vec<Job>) {
    // Per job: each transaction's answer if known without verification, and the reply.
    let mut answers = Vec::with_capacity(jobs.len());
    let mut to_verify = Vec::new();
    let mut skipped = 0;
    for job in jobs {
        let mut slots: Vec<Option<PreparedTx>> = Vec::with_capacity(job.txs.len());
        for tx in job.txs {
            let hash = Hash::of(&tx);
            if job.origin == TxOrigin::Peer && lock(&shared.recent).contains(&hash) {
                slots.push(Some(PreparedTx::already_committed(tx, hash)));
                skipped += 1;
                continue;
            }
            slots.push(None);
            to_verify.push((tx, hash));
        }
        answers.push((slots, job.reply));
    }
    shared.skipped.inc_by(skipped);
    let mut verified = prepare_hashed_txs(to_verify, &shared.keys).into_iter();
    for (slots, reply) in answers {
        let answer = slots
            .into_iter()
            .filter_map(|slot| slot.or_else(|| verified.next()))
            .collect();
        // A caller that went away needs no answer.
        let _ = reply.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{prepare_txs, testkit};

    fn start() -> Verifier {
        Verifier::start(KeyCache::new(8), Arc::default(), Counter::default())
    }

    #[test]
    fn peers_copies_of_committed_transactions_are_not_verified_again() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let fresh = testkit::transfer(&g, 9, 1, 3, 10);
        // A bad signature: verifying it would reject it, so a duplicate verdict shows it was
        // never verified.
        let mut committed = testkit::transfer(&g, 9, 0, 3, 10);
        let last = committed.len() - 1;
        committed[last] ^= 1;
        let skipped = Counter::default();
        let recent = Arc::new(Mutex::new(RecentCommits::default()));
        let verifier = Verifier::start(KeyCache::new(8), recent.clone(), skipped.clone());
        lock(&recent).insert(Hash::of(&committed), 1);
        let answer = verifier.prepare(vec![committed.clone(), fresh.clone()], TxOrigin::Peer);
        let expected_fresh = prepare_txs(vec![fresh], &KeyCache::new(8));
        assert_eq!(
            answer,
            vec![
                PreparedTx::already_committed(committed.clone(), Hash::of(&committed)),
                expected_fresh[0].clone(),
            ]
        );
        assert_eq!(skipped.get(), 1);
        // A client's own submission is always checked, and gets the real reason.
        let local = verifier.prepare(vec![committed.clone()], TxOrigin::Local);
        assert_eq!(local, prepare_txs(vec![committed], &KeyCache::new(8)));
        assert_eq!(skipped.get(), 1);
    }

    #[test]
    fn gathered_submissions_get_their_own_verdicts_in_order() {
        let g = testkit::genesis(&[1], &[(9, 1000), (8, 1000)]);
        let good = testkit::transfer(&g, 9, 0, 3, 10);
        let other = testkit::transfer(&g, 8, 0, 3, 10);
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let verifier = Arc::new(start());
        let expected_a = prepare_txs(vec![good.clone(), bad.clone()], &KeyCache::new(8));
        let expected_b = prepare_txs(vec![other.clone()], &KeyCache::new(8));
        let v = verifier.clone();
        let a = std::thread::spawn(move || v.prepare(vec![good, bad], TxOrigin::Local));
        let b = verifier.prepare(vec![other], TxOrigin::Peer);
        let a = a.join().unwrap();
        assert_eq!(a, expected_a);
        assert_eq!(b, expected_b);
        assert!(verifier.prepare(Vec::new(), TxOrigin::Local).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_verifier_thread_yields_to_consensus() {
        let g = testkit::genesis(&[1], &[(9, 1000)]);
        let verifier = start();
        // A verified submission proves the thread has started and set its priority.
        assert_eq!(
            verifier
                .prepare(vec![testkit::transfer(&g, 9, 0, 3, 10)], TxOrigin::Local)
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
        let recent = Arc::new(Mutex::new(RecentCommits::default()));
        let verifier = Verifier::start(KeyCache::new(8), recent.clone(), Counter::default());
        lock(&verifier.shared.pending).closed = true;
        let expected = prepare_txs(vec![tx.clone()], &KeyCache::new(8));
        assert_eq!(verifier.prepare(vec![tx.clone()], TxOrigin::Peer), expected);
        lock(&recent).insert(Hash::of(&tx), 1);
        let duplicate = PreparedTx::already_committed(tx.clone(), Hash::of(&tx));
        assert_eq!(verifier.prepare(vec![tx], TxOrigin::Peer), vec![duplicate]);
    }
}
