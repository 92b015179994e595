//! The simulation loop: a seeded event queue driving N real node drivers (`netwright-driver`:
//! consensus machine, ledger, mempool, evidence pool, block sync) over a simulated network, as
//! their runtime: it keeps each node's durable storage (WAL records, committed state, blocks),
//! fires their timers, carries their gossip, serves block sync, submits client and staking
//! transactions, and crashes nodes at any command, writes included.

use crate::byzantine;
use crate::checker::{Checker, Violation, ViolationKind};
use crate::config::{ByzantineBound, ByzantineKind, SimConfig, Stakes};
use crate::trace::{MsgSummary, Trace, TraceEvent};
use crate::verify_cache::{CacheStats, SharedVerifier};
use crate::workload::{self, CLIENTS, SIM_CHAIN_ID};
use netwright_consensus::{
    Block, BlockHash, CommitCertificate, Config, ConsensusMessage, Height, Round, Signer,
    TimeoutStep, ValidatorId,
};
use netwright_driver::codec::{decode, encode};
use netwright_driver::{
    Command, Commit, CommittedState, Driver, DriverConfig, Event as DriverEvent, Input, Reaction,
    Restore, Timer, TxOrigin, Verdict,
};
use netwright_ledger::{Genesis, TxBody};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::rc::Rc;

/// Most blocks one sync answer carries.
pub const SYNC_BATCH: u64 = 32;

/// Churn never shrinks the validator set below this many validators.
pub const MIN_VALIDATORS: usize = 2;

/// Interval between two status announcements (committed height) of every node, in ms.
pub const STATUS_INTERVAL_MS: u64 = 1_000;

/// What a successful run measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// Hash over the whole trace (identical for identical runs).
    pub trace_hash: [u8; 32],
    /// Events processed.
    pub events: u64,
    /// Simulated time at the end (µs).
    pub sim_time_us: u64,
    /// Heights decided (by every honest node).
    pub heights: u64,
    /// Highest certificate round of any decided height.
    pub max_round: Round,
    /// Evidence items reported by honest and byzantine nodes' drivers.
    pub evidence: u64,
    /// Evidence items committed in decided blocks.
    pub committed_evidence: u64,
    /// Transactions committed with effect (client transfers and staking).
    pub committed_txs: u64,
    /// Heights after which the validator set changed (through staking transactions).
    pub set_changes: u64,
    /// Height up to which every honest node decided: the configured heights, or more when the
    /// heights started after GST reach further.
    pub decided_height: Height,
    /// Messages sent over the simulated network.
    pub messages: u64,
    /// Signature cache statistics.
    pub cache: CacheStats,
    /// Number of byzantine validators.
    pub byzantine: usize,
}

/// A failed run: the seed, the violation and the end of the trace.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// The run's configuration, one line.
    pub config: String,
    /// What broke.
    pub violation: Violation,
    /// The last events before the failure.
    pub trace_tail: String,
    /// Trace hash up to the failure.
    pub trace_hash: [u8; 32],
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "SIMULATION FAILURE (seed {})", self.seed)?;
        writeln!(f, "config: {}", self.config)?;
        writeln!(f, "{}", self.violation)?;
        writeln!(f, "trace hash: {}", hex::encode(self.trace_hash))?;
        writeln!(f, "last events:")?;
        write!(f, "{}", self.trace_tail)
    }
}

/// A consensus message on the wire: its bytes, and the message they decode to (for the trace
/// and the checker; the receiving driver decodes the bytes itself).
struct Wire {
    bytes: Vec<u8>,
    msg: ConsensusMessage,
}

/// An encoded block with its encoded certificate, as a node stores and serves it.
type StoredBlock = (Rc<Vec<u8>>, Rc<Vec<u8>>);

/// Stored blocks, in height order (a sync answer).
type StoredBlocks = Vec<StoredBlock>;

enum Event {
    Deliver {
        to: usize,
        from: usize,
        wire: Rc<Wire>,
    },
    Tx {
        to: usize,
        bytes: Rc<Vec<u8>>,
        origin: TxOrigin,
    },
    Timer {
        node: usize,
        inc: u32,
        timer: Timer,
    },
    StartNext {
        node: usize,
        inc: u32,
        height: Height,
    },
    Committed {
        node: usize,
        inc: u32,
        height: Height,
    },
    Crash {
        node: usize,
    },
    CrashNow {
        node: usize,
        inc: u32,
    },
    Restart {
        node: usize,
    },
    SyncRequest {
        requester: usize,
        responder: usize,
        from: Height,
        to: Height,
    },
    SyncResponse {
        node: usize,
        blocks: Rc<StoredBlocks>,
    },
    /// A client submits a transfer to a random node.
    Client,
    /// A validator-set change through a staking transaction (with `churn`).
    Churn,
    /// Every running node tells its peers its committed height (the runtime's status
    /// announcement), which they hand their driver as [`Input::PeerHeight`].
    Status,
    /// A peer's status announcement reaches `to`.
    PeerHeight {
        to: usize,
        height: Height,
    },
    /// The network becomes synchronous: fix the heights that must decide after it.
    Gst,
}

struct Queued {
    time: u64,
    seq: u64,
    ev: Event,
}
impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(o.time, o.seq))
    }
}

/// What survives a crash: the node's storage, written by the runtime's commands.
#[derive(Default)]
struct Disk {
    /// WAL records with their heights, in write order.
    wal: Vec<(Height, Vec<u8>)>,
    /// The committed state (union of all commits' write sets).
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The last commit: state root, block hash, encoded next context.
    last: Option<([u8; 32], [u8; 32], Vec<u8>)>,
    /// Committed blocks with their certificates, encoded (served to syncing peers).
    blocks: BTreeMap<Height, StoredBlock>,
}

impl Disk {
    /// Writes a commit as the node's storage does: all of it, in one transaction.
    fn commit(&mut self, c: &Commit) {
        for (k, v) in &c.write_set.entries {
            match v {
                Some(v) => {
                    self.state.insert(k.clone(), v.clone());
                }
                None => {
                    self.state.remove(k);
                }
            }
        }
        self.last = Some((c.state_root, c.block_hash, c.next_context.clone()));
        self.blocks.insert(
            c.height,
            (Rc::new(c.block.clone()), Rc::new(c.certificate.clone())),
        );
    }

    /// What the driver restarts from.
    fn restore(&self) -> Restore {
        Restore {
            committed: self.last.as_ref().map(|(root, hash, ctx)| CommittedState {
                state: self
                    .state
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                state_root: *root,
                block_hash: *hash,
                next_context: ctx.clone(),
            }),
            wal: self.wal.iter().map(|(_, r)| r.clone()).collect(),
        }
    }

    fn height(&self) -> Height {
        self.blocks.keys().next_back().copied().unwrap_or(0)
    }
}

struct Node {
    /// The ed25519 secret seed of the node's key (byzantine nodes sign with it too).
    seed: [u8; 32],
    signer: Signer,
    byz: Option<ByzantineKind>,
    driver: Option<Driver<SharedVerifier>>,
    inc: u32,
    disk: Disk,
    crash_pending: bool,
    done: bool,
    group_b: bool,
    sees_both: bool,
}

struct Partition {
    start: u64,
    end: u64,
    side: Vec<bool>,
}

/// A staking transaction waiting to be committed: at most one is in flight, so the byzantine
/// stake bound checked when it was made still holds when it commits.
struct ChurnTx {
    sender: usize,
    nonce: u64,
    bytes: Rc<Vec<u8>>,
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    genesis: Genesis,
    nodes: Vec<Node>,
    index: HashMap<ValidatorId, usize>,
    latency: Vec<u64>,
    partitions: Vec<Partition>,
    checker: Checker,
    trace: Trace,
    verifier: SharedVerifier,
    consensus: Config,
    driver_config: DriverConfig,
    gst: u64,
    byzantine: usize,
    first_start: BTreeMap<Height, u64>,
    honest_done: usize,
    honest_total: usize,
    messages: u64,
    /// (height, round) -> (block sent to one half, block sent to the other), shared by the
    /// colluding equivocators.
    split_blocks: HashMap<(Height, Round), (BlockHash, BlockHash)>,
    /// Height every honest node must decide before the run ends.
    target_height: Height,
    /// Whether GST has passed (the run never ends before it).
    after_gst: bool,
    /// The run's actual GST: the time after which none of its faults remains (see
    /// [`Sim::stabilisation_time`]).
    stable_at: u64,
    churn: Option<ChurnTx>,
}

const MS: u64 = 1_000;

/// Runs one simulation. Deterministic: the same config gives the same report or failure.
pub fn run(cfg: &SimConfig) -> Result<RunReport, Box<Failure>> {
    let mut sim = match Sim::build(cfg) {
        Ok(sim) => sim,
        Err(violation) => {
            return Err(Box::new(Failure {
                seed: cfg.seed,
                config: cfg.label(),
                violation,
                trace_tail: String::new(),
                trace_hash: [0; 32],
            }))
        }
    };
    let result = sim.run_loop();
    match result {
        Ok(()) => Ok(sim.report()),
        Err(violation) => Err(Box::new(Failure {
            seed: cfg.seed,
            config: cfg.label(),
            violation,
            trace_tail: sim.trace.render_tail(),
            trace_hash: sim.trace.hash(),
        })),
    }
}

fn timeout_step_index(s: TimeoutStep) -> u8 {
    match s {
        TimeoutStep::Propose => 0,
        TimeoutStep::Prevote => 1,
        TimeoutStep::Precommit => 2,
        TimeoutStep::Rebroadcast => 3,
    }
}

/// Spare nodes (funded, unstaked, running) that may join as validators with `churn`.
fn spares(validators: usize) -> usize {
    (validators / 4).clamp(1, 3)
}

impl<'a> Sim<'a> {
    fn build(cfg: &'a SimConfig) -> Result<Self, Violation> {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let validators = cfg.validators.max(1);
        let n = validators
            + if cfg.faults.churn {
                spares(validators)
            } else {
                0
            };
        let powers: Vec<u64> = (0..validators)
            .map(|_| match cfg.stakes {
                Stakes::Equal => 10,
                Stakes::Random => rng.gen_range(1..=100),
            })
            .collect();
        let total: u64 = powers.iter().sum();
        // Byzantine validators, by stake (spares are always honest).
        let mut byz: Vec<Option<ByzantineKind>> = vec![None; n];
        if !cfg.faults.byzantine.is_empty() {
            let mut order: Vec<usize> = (0..validators).collect();
            order.shuffle(&mut rng);
            let mut power = 0u64;
            for i in order {
                let p = power + powers[i];
                let ok = match cfg.byzantine_bound {
                    ByzantineBound::BelowThird => p * 3 < total,
                    ByzantineBound::ExactlyThird => p * 3 <= total,
                };
                if ok {
                    power = p;
                    let kinds = &cfg.faults.byzantine;
                    byz[i] = Some(kinds[rng.gen_range(0..kinds.len())]);
                }
            }
        }
        let genesis = workload::genesis(&powers, n);
        let seeds: Vec<[u8; 32]> = (0..n).map(workload::node_seed).collect();
        let signers: Vec<Signer> = seeds.iter().map(|s| Signer::from_seed(*s)).collect();
        let verifier = SharedVerifier::new();
        let honest: Vec<bool> = byz.iter().map(|b| b.is_none()).collect();
        let index: HashMap<ValidatorId, usize> = signers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id(), i))
            .collect();
        let checker = Checker::new(
            &genesis,
            honest.clone(),
            index.clone(),
            verifier.clone(),
            cfg.check_certificates,
        )
        .map_err(|e| internal(0, format!("genesis: {e}")))?;
        let mut consensus = Config::new(SIM_CHAIN_ID);
        consensus.timeouts = cfg.timeouts;
        if let Some(tweak) = cfg.tweak {
            tweak(&mut consensus);
        }
        let driver_config = DriverConfig {
            timeouts: cfg.timeouts,
            commit_pause_ms: cfg.commit_pause_ms,
            ..DriverConfig::default()
        };
        let (lo, hi) = (
            cfg.latency_ms.0.min(cfg.latency_ms.1),
            cfg.latency_ms.0.max(cfg.latency_ms.1),
        );
        let latency: Vec<u64> = (0..n * n)
            .map(|_| rng.gen_range(lo * MS..=hi * MS))
            .collect();
        let gst = cfg.gst_ms * MS;
        let mut partitions = Vec::new();
        if cfg.faults.partition && gst > 0 {
            for _ in 0..rng.gen_range(1..=2) {
                let start = rng.gen_range(0..gst);
                let end = (start + rng.gen_range(200 * MS..=2_000 * MS)).min(gst);
                let side: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.5)).collect();
                partitions.push(Partition { start, end, side });
            }
        }
        let honest_idx: Vec<usize> = (0..n).filter(|i| byz[*i].is_none()).collect();
        let nodes: Vec<Node> = signers
            .into_iter()
            .zip(seeds)
            .enumerate()
            .map(|(i, (signer, seed))| {
                let pos = honest_idx.iter().position(|x| *x == i).unwrap_or(0);
                Node {
                    seed,
                    signer,
                    byz: byz[i],
                    driver: None,
                    inc: 0,
                    disk: Disk::default(),
                    crash_pending: false,
                    done: false,
                    group_b: pos % 2 == 1,
                    sees_both: pos % 3 == 2,
                }
            })
            .collect();
        let honest_total = honest.iter().filter(|h| **h).count();
        let mut sim = Sim {
            cfg,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            genesis,
            nodes,
            index,
            latency,
            partitions,
            checker,
            trace: Trace::default(),
            verifier,
            consensus,
            driver_config,
            gst,
            byzantine: n - honest_total,
            first_start: BTreeMap::new(),
            honest_done: 0,
            honest_total,
            messages: 0,
            split_blocks: HashMap::new(),
            target_height: cfg.heights,
            after_gst: false,
            stable_at: 0,
            churn: None,
        };
        let mut last_crash = None;
        if cfg.faults.crash && gst > 0 {
            let crashes = sim.rng.gen_range(1..=(n / 3).max(1));
            for _ in 0..crashes {
                let node = sim.rng.gen_range(0..n);
                let at = sim.rng.gen_range(0..gst);
                last_crash = last_crash.max(Some(at));
                sim.push(at, Event::Crash { node });
            }
        }
        for node in 0..n {
            if sim.nodes[node].byz == Some(ByzantineKind::Amnesia) {
                let at = sim.rng.gen_range(20 * MS..=200 * MS);
                sim.push(at, Event::Crash { node });
            }
        }
        sim.stable_at = sim.stabilisation_time(last_crash);
        sim.push(sim.stable_at, Event::Gst);
        let first_client = sim.rng.gen_range(0..=10 * MS);
        sim.push(first_client, Event::Client);
        if cfg.status_announcements {
            sim.push(STATUS_INTERVAL_MS * MS, Event::Status);
        }
        if cfg.faults.churn {
            let first_churn = sim.rng.gen_range(50 * MS..=300 * MS);
            sim.push(first_churn, Event::Churn);
        }
        Ok(sim)
    }

    /// When the network is synchronous and every honest node runs: `gst_ms` with message faults
    /// (loss, duplication, reordering), otherwise the end of the last partition or of the
    /// last crash's downtime (both before `gst_ms`), and 0 without any such fault. Byzantine
    /// validators, client transactions and churn go on after it.
    fn stabilisation_time(&self, last_crash: Option<u64>) -> u64 {
        let f = &self.cfg.faults;
        if f.loss || f.duplicate || f.reorder {
            return self.gst;
        }
        // A crash takes effect within 20 ms and the node is down for at most 1.5 s, and not
        // past GST unless it crashed after it.
        let crash_end =
            last_crash.map_or(0, |t| (t + 1_520 * MS).min(self.gst.max(t + 20 * MS + 1)));
        let partition_end = self.partitions.iter().map(|p| p.end).max().unwrap_or(0);
        crash_end.max(partition_end)
    }

    fn push(&mut self, time: u64, ev: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            time,
            seq: self.seq,
            ev,
        }));
    }

    fn report(&self) -> RunReport {
        RunReport {
            seed: self.cfg.seed,
            trace_hash: self.trace.hash(),
            events: self.trace.len(),
            sim_time_us: self.now,
            heights: self.target_height,
            max_round: self
                .checker
                .decided()
                .values()
                .map(|(_, r)| *r)
                .max()
                .unwrap_or(0),
            evidence: self.checker.evidence,
            committed_evidence: self.checker.committed_evidence,
            committed_txs: self.checker.committed_txs,
            set_changes: self.checker.set_changes,
            decided_height: self.target_height,
            messages: self.messages,
            cache: self.verifier.stats(),
            byzantine: self.byzantine,
        }
    }

    fn deadline(&self) -> u64 {
        self.gst + 30_000 * MS + (self.cfg.heights + self.cfg.post_gst_heights) * 3_000 * MS
    }

    /// Rounds a height that starts after GST may need: one failed round per byzantine
    /// validator that may propose before an honest one, plus slack for the first round.
    fn round_bound(&self) -> Round {
        self.byzantine as Round + 2
    }

    fn run_loop(&mut self) -> Result<(), Violation> {
        self.first_start.insert(1, 0);
        for i in 0..self.nodes.len() {
            self.boot(i)?;
        }
        if self.honest_total == 0 {
            return Ok(());
        }
        let deadline = self.deadline();
        let max_events =
            3_000_000 + 40_000 * (self.nodes.len() as u64).pow(2) * self.cfg.heights / 4;
        while let Some(Reverse(q)) = self.queue.pop() {
            if q.time > deadline || self.trace.len() > max_events {
                break;
            }
            self.now = q.time;
            self.process(q.ev)?;
            if self.after_gst && self.honest_done == self.honest_total {
                return self.check_rounds();
            }
        }
        if !self.cfg.check_liveness {
            return Ok(());
        }
        let stuck: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.byz.is_none() && !n.done)
            .map(|(i, n)| format!("n{i}@h{}", n.disk.height() + 1))
            .collect();
        Err(Violation {
            kind: ViolationKind::Liveness,
            time_us: self.now,
            detail: format!(
                "honest nodes did not all decide {} heights by {} ms ({} events): {}",
                self.target_height,
                self.now / MS,
                self.trace.len(),
                stuck.join(" ")
            ),
        })
    }

    fn check_rounds(&self) -> Result<(), Violation> {
        if !self.cfg.check_liveness {
            return Ok(());
        }
        let settle = self.stable_at + 2 * self.cfg.latency_ms.1.max(1) * MS + self.cfg.jitter_us;
        let bound = self.round_bound();
        for (h, (_, round)) in self.checker.decided() {
            let started = self.first_start.get(h).copied().unwrap_or(0);
            if started >= settle && *round > bound {
                return Err(Violation {
                    kind: ViolationKind::Liveness,
                    time_us: self.now,
                    detail: format!(
                        "height {h} started after GST at {} ms but was decided in round {round} (bound {bound})",
                        started / MS
                    ),
                });
            }
        }
        Ok(())
    }

    // ----- node lifecycle --------------------------------------------------------------------

    fn boot(&mut self, i: usize) -> Result<(), Violation> {
        let node = &mut self.nodes[i];
        let driver = Driver::with_consensus(
            &self.genesis,
            Some(node.seed),
            node.disk.restore(),
            self.driver_config.clone(),
            self.consensus.clone(),
            self.verifier.clone(),
        )
        .map_err(|e| internal(self.now, format!("n{i} cannot start: {e}")))?;
        node.driver = Some(driver);
        let started = match node.driver.as_mut() {
            Some(d) => d.start(self.now / MS),
            None => return Ok(()),
        };
        let reaction =
            started.map_err(|e| internal(self.now, format!("n{i} cannot start: {e}")))?;
        self.after_input(i, reaction)
    }

    fn crash(&mut self, node: usize, applied: usize) {
        self.trace
            .record(self.now, node, TraceEvent::Crash { applied });
        let nd = &mut self.nodes[node];
        nd.driver = None;
        nd.inc += 1;
        nd.crash_pending = false;
        let at = match nd.byz {
            // Back within the height it crashed in, so that what it forgot matters.
            Some(ByzantineKind::Amnesia) => self.now + self.rng.gen_range(MS..=20 * MS),
            Some(_) => self.now + self.rng.gen_range(50 * MS..=1_500 * MS),
            None => {
                let down = self.rng.gen_range(50 * MS..=1_500 * MS);
                (self.now + down).min(self.gst.max(self.now + 1))
            }
        };
        self.push(at, Event::Restart { node });
    }

    fn restart(&mut self, node: usize) -> Result<(), Violation> {
        if self.nodes[node].driver.is_some() {
            return Ok(());
        }
        if self.nodes[node].byz == Some(ByzantineKind::Amnesia) {
            // It forgets what it signed (and so its lock), then crashes again later.
            self.nodes[node].disk.wal.clear();
            let at = self.now + self.rng.gen_range(30 * MS..=400 * MS);
            self.push(at, Event::Crash { node });
        }
        let nd = &self.nodes[node];
        self.trace.record(
            self.now,
            node,
            TraceEvent::Restart {
                height: nd.disk.height() + 1,
                wal: nd.disk.wal.len(),
            },
        );
        self.boot(node)
    }

    fn alive(&self, i: usize, inc: u32) -> bool {
        self.nodes[i].inc == inc && self.nodes[i].driver.is_some()
    }

    // ----- feeding the driver ----------------------------------------------------------------

    /// Hands `input` to node `i`'s driver and carries out its commands.
    fn feed(&mut self, i: usize, input: Input) -> Result<(), Violation> {
        let now_ms = self.now / MS;
        let Some(d) = self.nodes[i].driver.as_mut() else {
            return Ok(());
        };
        match d.handle(now_ms, input) {
            Ok(reaction) => self.after_input(i, reaction),
            Err(e) => {
                if self.nodes[i].byz.is_none() {
                    return Err(internal(self.now, format!("n{i} driver: {e}")));
                }
                self.trace.record(
                    self.now,
                    i,
                    TraceEvent::Rejected {
                        reason: e.to_string(),
                    },
                );
                Ok(())
            }
        }
    }

    fn after_input(&mut self, i: usize, reaction: Reaction) -> Result<(), Violation> {
        self.check_resources(i)?;
        if let Some(Verdict::Rejected(reason)) = reaction.verdict() {
            self.trace.record(
                self.now,
                i,
                TraceEvent::Rejected {
                    reason: reason.clone(),
                },
            );
        }
        self.execute(i, reaction.commands)
    }

    /// A machine never computes the proposers of rounds beyond its window: a message naming a
    /// far-future round must not make it do (or allocate) per-round work.
    fn check_resources(&self, i: usize) -> Result<(), Violation> {
        let Some(d) = self.nodes[i].driver.as_ref() else {
            return Ok(());
        };
        let m = d.machine();
        let window = m
            .round()
            .saturating_add(self.consensus.future_rounds)
            .saturating_add(1) as usize;
        let computed = m.computed_proposer_rounds();
        if computed > window {
            return Err(Violation {
                kind: ViolationKind::Resource,
                time_us: self.now,
                detail: format!(
                    "n{i} at height {} round {} computed the proposers of {computed} rounds (window: {window})",
                    m.height(),
                    m.round()
                ),
            });
        }
        Ok(())
    }

    /// Carries out commands in order, as the node's runtime does. A node due to crash does so
    /// at a random command; when that command is a write, the write itself may have reached the
    /// disk or not (storage writes are atomic: never half of one).
    fn execute(&mut self, i: usize, commands: Vec<Command>) -> Result<(), Violation> {
        let inc = self.nodes[i].inc;
        let total = commands.len();
        let crash_at = if self.nodes[i].crash_pending {
            Some(self.rng.gen_range(0..=total))
        } else {
            None
        };
        for (k, command) in commands.into_iter().enumerate() {
            if crash_at == Some(k) {
                if self.rng.gen_bool(0.5) {
                    self.write_only(i, &command);
                }
                self.crash(i, k);
                return Ok(());
            }
            if !self.alive(i, inc) {
                return Ok(());
            }
            self.command(i, inc, command)?;
        }
        if crash_at.is_some() && self.alive(i, inc) {
            self.crash(i, total);
        }
        Ok(())
    }

    /// The durable part of `command` alone (a write that completed just before a crash).
    fn write_only(&mut self, i: usize, command: &Command) {
        let disk = &mut self.nodes[i].disk;
        match command {
            Command::PersistWal { height, record } => disk.wal.push((*height, record.clone())),
            Command::Commit(c) => disk.commit(c),
            Command::PruneWal { below_height } => disk.wal.retain(|(h, _)| h >= below_height),
            _ => {}
        }
    }

    fn command(&mut self, i: usize, inc: u32, command: Command) -> Result<(), Violation> {
        match command {
            Command::PersistWal { .. } | Command::PruneWal { .. } => self.write_only(i, &command),
            Command::Broadcast { bytes, .. } => self.broadcast(i, bytes)?,
            Command::GossipTx { bytes } => {
                let bytes = Rc::new(bytes);
                for j in (0..self.nodes.len()).filter(|j| *j != i) {
                    if self.link_up(i, j) {
                        let at = self.now + self.link_delay(i, j);
                        self.push(
                            at,
                            Event::Tx {
                                to: j,
                                bytes: bytes.clone(),
                                origin: TxOrigin::Peer,
                            },
                        );
                    }
                }
            }
            Command::ScheduleTimer { timer, after_ms } => self.push(
                self.now + after_ms * MS,
                Event::Timer {
                    node: i,
                    inc,
                    timer,
                },
            ),
            Command::ScheduleStart { height, after_ms } => self.push(
                self.now + after_ms * MS,
                Event::StartNext {
                    node: i,
                    inc,
                    height,
                },
            ),
            Command::Commit(c) => self.commit(i, inc, *c)?,
            Command::RequestSync { from, to } => {
                let n = self.nodes.len();
                if n > 1 {
                    let responder = (i + self.rng.gen_range(1..n)) % n;
                    let at = self.now + self.link_delay(i, responder);
                    self.push(
                        at,
                        Event::SyncRequest {
                            requester: i,
                            responder,
                            from,
                            to: to.min(from.saturating_add(SYNC_BATCH - 1)),
                        },
                    );
                }
            }
            Command::Event(DriverEvent::Evidence { offender, height }) => {
                let offender = self.index.get(&ValidatorId(offender)).copied();
                self.trace.record(
                    self.now,
                    i,
                    TraceEvent::Evidence {
                        offender: offender.unwrap_or(usize::MAX),
                    },
                );
                self.checker.on_evidence(offender, height, self.now)?;
            }
            Command::Event(_) => {}
        }
        Ok(())
    }

    /// The runtime's part of a decision: the checker sees it, the storage writes it in one
    /// transaction, then the driver hears that it is durable.
    fn commit(&mut self, i: usize, inc: u32, c: Commit) -> Result<(), Violation> {
        let limit = self.driver_config.max_block_encoded_bytes();
        let block: Block = decode(&c.block, limit, "commit.block")
            .map_err(|e| internal(self.now, format!("n{i}: {e}")))?;
        let cert: CommitCertificate = decode(
            &c.certificate,
            self.driver_config.max_certificate_bytes(),
            "commit.certificate",
        )
        .map_err(|e| internal(self.now, format!("n{i}: {e}")))?;
        let h = c.height;
        let hash = block.hash();
        self.trace.record(
            self.now,
            i,
            TraceEvent::Decide {
                height: h,
                round: cert.round,
                block: u32::from_be_bytes([hash.0[0], hash.0[1], hash.0[2], hash.0[3]]),
            },
        );
        self.checker.on_decide(i, &block, &cert, self.now)?;
        let nd = &mut self.nodes[i];
        nd.disk.commit(&c);
        if h >= self.target_height && !nd.done && nd.byz.is_none() {
            nd.done = true;
            self.honest_done += 1;
        }
        self.push(
            self.now,
            Event::Committed {
                node: i,
                inc,
                height: h,
            },
        );
        Ok(())
    }

    // ----- events ----------------------------------------------------------------------------

    fn process(&mut self, ev: Event) -> Result<(), Violation> {
        match ev {
            Event::Deliver { to, from, wire } => {
                if self.nodes[to].driver.is_none() {
                    return Ok(());
                }
                self.trace.record(
                    self.now,
                    to,
                    TraceEvent::Deliver {
                        from,
                        msg: MsgSummary::of(&wire.msg),
                    },
                );
                self.feed(
                    to,
                    Input::ConsensusMessage {
                        bytes: wire.bytes.clone(),
                    },
                )
            }
            Event::Tx { to, bytes, origin } => {
                if self.nodes[to].driver.is_none() {
                    return Ok(());
                }
                self.feed(
                    to,
                    Input::Txs {
                        txs: vec![bytes.to_vec()],
                        origin,
                    },
                )
            }
            Event::Timer { node, inc, timer } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                self.trace.record(
                    self.now,
                    node,
                    TraceEvent::Timer {
                        height: timer.height,
                        round: timer.round,
                        step: timeout_step_index(timer.step),
                    },
                );
                self.feed(node, Input::Timer(timer))
            }
            Event::StartNext { node, inc, height } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                self.feed(node, Input::StartNext { height })
            }
            Event::Committed { node, inc, height } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                if self.nodes[node].byz.is_none() {
                    self.first_start.entry(height + 1).or_insert(self.now);
                }
                self.feed(node, Input::Committed { height })
            }
            Event::Crash { node } => {
                if self.nodes[node].driver.is_none() {
                    return Ok(());
                }
                if self.rng.gen_bool(0.5) {
                    self.crash(node, 0);
                } else {
                    self.nodes[node].crash_pending = true;
                    let inc = self.nodes[node].inc;
                    self.push(self.now + 20 * MS, Event::CrashNow { node, inc });
                }
                Ok(())
            }
            Event::CrashNow { node, inc } => {
                if self.alive(node, inc) && self.nodes[node].crash_pending {
                    self.crash(node, 0);
                }
                Ok(())
            }
            Event::Restart { node } => self.restart(node),
            Event::SyncRequest {
                requester,
                responder,
                from,
                to,
            } => {
                if self.nodes[responder].driver.is_none() || !self.link_up(responder, requester) {
                    return Ok(());
                }
                let blocks: StoredBlocks = self.nodes[responder]
                    .disk
                    .blocks
                    .range(from..=to)
                    .map(|(_, b)| b.clone())
                    .collect();
                if !blocks.is_empty() {
                    let at = self.now + self.link_delay(responder, requester);
                    self.push(
                        at,
                        Event::SyncResponse {
                            node: requester,
                            blocks: Rc::new(blocks),
                        },
                    );
                }
                Ok(())
            }
            Event::SyncResponse { node, blocks } => {
                if self.nodes[node].driver.is_none() {
                    return Ok(());
                }
                self.trace.record(
                    self.now,
                    node,
                    TraceEvent::Sync {
                        height: self.nodes[node].disk.height() + 1,
                        count: blocks.len(),
                    },
                );
                for (block, certificate) in blocks.iter() {
                    self.feed(
                        node,
                        Input::SyncedBlock {
                            block: block.to_vec(),
                            certificate: certificate.to_vec(),
                        },
                    )?;
                }
                Ok(())
            }
            Event::Client => {
                self.client_tx();
                let at = self.now + self.rng.gen_range(5 * MS..=40 * MS);
                self.push(at, Event::Client);
                Ok(())
            }
            Event::Churn => {
                self.churn();
                let at = self.now + self.rng.gen_range(100 * MS..=400 * MS);
                self.push(at, Event::Churn);
                Ok(())
            }
            Event::Status => {
                for i in 0..self.nodes.len() {
                    if self.nodes[i].driver.is_none() {
                        continue;
                    }
                    let height = self.nodes[i].disk.height();
                    for j in (0..self.nodes.len()).filter(|j| *j != i) {
                        if self.link_up(i, j) {
                            let at = self.now + self.link_delay(i, j);
                            self.push(at, Event::PeerHeight { to: j, height });
                        }
                    }
                }
                self.push(self.now + STATUS_INTERVAL_MS * MS, Event::Status);
                Ok(())
            }
            Event::PeerHeight { to, height } => {
                if self.nodes[to].driver.is_none() {
                    return Ok(());
                }
                self.feed(to, Input::PeerHeight { height })
            }
            Event::Gst => {
                self.on_gst();
                Ok(())
            }
        }
    }

    /// At GST the heights every honest node must decide are fixed: the configured ones and
    /// `post_gst_heights` more beyond the highest height in progress, which all start after
    /// GST and fall under the round bound.
    fn on_gst(&mut self) {
        self.after_gst = true;
        let in_progress = self
            .nodes
            .iter()
            .filter(|n| n.byz.is_none())
            .map(|n| n.disk.height() + 1)
            .max()
            .unwrap_or(1);
        self.target_height = self
            .cfg
            .heights
            .max(in_progress.saturating_add(self.cfg.post_gst_heights));
        let target = self.target_height;
        self.honest_done = 0;
        for nd in self.nodes.iter_mut().filter(|n| n.byz.is_none()) {
            nd.done = nd.disk.height() >= target;
            self.honest_done += usize::from(nd.done);
        }
    }

    // ----- transactions ----------------------------------------------------------------------

    /// A client signs a transfer with its next nonce as the decided chain knows it and submits
    /// it to a random node (a transaction with a nonce already pending is refused there).
    fn client_tx(&mut self) {
        let from = self.rng.gen_range(0..CLIENTS);
        let to = (from + self.rng.gen_range(1..CLIENTS)) % CLIENTS;
        let seed = workload::client_seed(from);
        let nonce = self
            .checker
            .ledger()
            .account(&workload::address_of(&seed))
            .nonce;
        let body = TxBody::Transfer {
            to: workload::address_of(&workload::client_seed(to)),
            amount: self.rng.gen_range(1..=1_000),
        };
        let bytes = Rc::new(workload::signed_tx(&seed, nonce, body));
        let node = self.rng.gen_range(0..self.nodes.len());
        self.submit(node, bytes);
    }

    fn submit(&mut self, node: usize, bytes: Rc<Vec<u8>>) {
        let at = self.now + self.rng.gen_range(0..=MS);
        self.push(
            at,
            Event::Tx {
                to: node,
                bytes,
                origin: TxOrigin::Local,
            },
        );
    }

    /// One validator-set change through a staking transaction: a spare joins, an honest
    /// validator leaves or re-stakes. At most one is in flight (re-submitted until committed),
    /// and none makes the byzantine stake reach a third of the total.
    fn churn(&mut self) {
        if let Some(c) = &self.churn {
            let committed = self
                .checker
                .ledger()
                .account(&workload::address_of(&self.nodes[c.sender].seed))
                .nonce
                > c.nonce;
            if !committed {
                let bytes = c.bytes.clone();
                let node = self.rng.gen_range(0..self.nodes.len());
                self.submit(node, bytes);
                return;
            }
            self.churn = None;
        }
        let ledger = self.checker.ledger();
        let staked: Vec<u64> = self
            .nodes
            .iter()
            .map(|n| ledger.account(&workload::address_of(&n.seed)).staked)
            .collect();
        let total: u64 = staked.iter().sum();
        let byzantine: u64 = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].byz.is_some())
            .map(|i| staked[i])
            .sum();
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].byz.is_none())
            .collect();
        let sender = honest[self.rng.gen_range(0..honest.len())];
        let body = if staked[sender] == 0 {
            TxBody::Stake {
                amount: self.rng.gen_range(1..=100),
            }
        } else {
            let amount = match self.rng.gen_range(0..3) {
                0 => staked[sender],
                1 => self.rng.gen_range(1..=staked[sender]),
                _ => 0,
            };
            let still_safe = byzantine.saturating_mul(3) < total - amount;
            let validators = staked.iter().filter(|s| **s > 0).count();
            if amount > 0 && still_safe && (amount < staked[sender] || validators > MIN_VALIDATORS)
            {
                TxBody::Unstake { amount }
            } else {
                TxBody::Stake {
                    amount: self.rng.gen_range(1..=50),
                }
            }
        };
        let seed = self.nodes[sender].seed;
        let nonce = ledger.account(&workload::address_of(&seed)).nonce;
        let bytes = Rc::new(workload::signed_tx(&seed, nonce, body));
        self.churn = Some(ChurnTx {
            sender,
            nonce,
            bytes: bytes.clone(),
        });
        let node = self.rng.gen_range(0..self.nodes.len());
        self.submit(node, bytes);
    }

    // ----- network ---------------------------------------------------------------------------

    fn link_delay(&mut self, from: usize, to: usize) -> u64 {
        let n = self.nodes.len();
        let mut d = self.latency[from * n + to] + self.rng.gen_range(0..=self.cfg.jitter_us);
        if self.cfg.faults.reorder && self.now < self.gst && self.rng.gen_bool(0.2) {
            d += self.rng.gen_range(0..=50 * MS);
        }
        d
    }

    /// Whether a message from `from` to `to` gets through now (partitions and loss before GST).
    fn link_up(&mut self, from: usize, to: usize) -> bool {
        if self.now >= self.gst {
            return true;
        }
        let now = self.now;
        if self
            .partitions
            .iter()
            .any(|p| p.start <= now && now < p.end && p.side[from] != p.side[to])
        {
            return false;
        }
        !(self.cfg.faults.loss && self.rng.gen_bool(self.cfg.loss))
    }

    fn send(&mut self, from: usize, to: usize, wire: Rc<Wire>) {
        if !self.link_up(from, to) {
            return;
        }
        let copies = if self.cfg.faults.duplicate
            && self.now < self.gst
            && self.rng.gen_bool(self.cfg.duplicate)
        {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = self.now + self.link_delay(from, to);
            self.messages += 1;
            self.push(
                at,
                Event::Deliver {
                    to,
                    from,
                    wire: wire.clone(),
                },
            );
        }
    }

    fn send_to_all(&mut self, i: usize, wire: Rc<Wire>) {
        for j in (0..self.nodes.len()).filter(|j| *j != i) {
            self.send(i, j, wire.clone());
        }
    }

    /// A message node `i` sends that its driver did not sign as such: traced and encoded.
    fn crafted(&mut self, i: usize, msg: ConsensusMessage) -> Rc<Wire> {
        self.trace.record(
            self.now,
            i,
            TraceEvent::Send {
                msg: MsgSummary::of(&msg),
            },
        );
        Rc::new(Wire {
            bytes: encode(&msg),
            msg,
        })
    }

    /// Sends what node `i`'s driver broadcast: as it is from an honest node, rewritten by the
    /// attack of a byzantine one.
    fn broadcast(&mut self, i: usize, bytes: Vec<u8>) -> Result<(), Violation> {
        let limit = self.driver_config.max_message_bytes();
        let msg: ConsensusMessage = decode(&bytes, limit, "broadcast")
            .map_err(|e| internal(self.now, format!("n{i}: {e}")))?;
        let signer = self.index.get(&msg.signer()).copied();
        if let Some(s) = signer {
            self.checker.on_send(s, &msg, self.now)?;
        }
        let own = signer == Some(i);
        self.trace.record(
            self.now,
            i,
            TraceEvent::Send {
                msg: MsgSummary::of(&msg),
            },
        );
        let kind = if own { self.nodes[i].byz } else { None };
        let sig = self.nodes[i].signer.clone();
        match (kind, &msg) {
            (Some(ByzantineKind::Equivocate), _) => self.equivocate(i, Wire { bytes, msg }),
            (Some(ByzantineKind::Withhold), _) => {
                let wire = Rc::new(Wire { bytes, msg });
                let share = self.rng.gen_range(0.0..0.6);
                for j in (0..self.nodes.len()).filter(|j| *j != i) {
                    if self.rng.gen_bool(share) {
                        self.send(i, j, wire.clone());
                    }
                }
            }
            (Some(ByzantineKind::FarFuture), _) => {
                let extra = byzantine::far_future(&msg, &sig);
                self.send_to_all(i, Rc::new(Wire { bytes, msg }));
                for m in extra {
                    let wire = self.crafted(i, m);
                    self.send_to_all(i, wire);
                }
            }
            (Some(ByzantineKind::Resign), _) => {
                let again = byzantine::resigned(&msg, &self.nodes[i].seed);
                self.send_to_all(i, Rc::new(Wire { bytes, msg }));
                let wire = self.crafted(i, again);
                self.send_to_all(i, wire);
            }
            (Some(ByzantineKind::WrongValidRound), ConsensusMessage::Vote(v)) => {
                let m = byzantine::vote_for_missing_block(i, v, &sig);
                let wire = self.crafted(i, m);
                self.send_to_all(i, wire);
            }
            (Some(kind), ConsensusMessage::Proposal { proposal, block })
                if matches!(
                    kind,
                    ByzantineKind::InvalidProposal
                        | ByzantineKind::ForgedTime
                        | ByzantineKind::WrongValidRound
                        | ByzantineKind::BadEvidence
                ) =>
            {
                let m = match kind {
                    ByzantineKind::InvalidProposal => {
                        byzantine::invalid_proposal(proposal, block, &sig)
                    }
                    ByzantineKind::ForgedTime => match self.nodes[i].driver.as_ref() {
                        Some(d) => {
                            byzantine::forged_time_proposal(d.ledger(), proposal, block, &sig)
                        }
                        None => return Ok(()),
                    },
                    ByzantineKind::WrongValidRound => {
                        byzantine::wrong_valid_round_proposal(i, proposal, block, &sig)
                    }
                    _ => byzantine::bad_evidence_proposal(
                        proposal,
                        block,
                        &sig,
                        self.driver_config.max_evidence_per_block,
                    ),
                };
                let wire = self.crafted(i, m);
                self.send_to_all(i, wire);
            }
            _ => self.send_to_all(i, Rc::new(Wire { bytes, msg })),
        }
        Ok(())
    }

    /// Sends `wire` to one half of the honest nodes and a conflicting, validly signed message
    /// for the same slot to the other half; some honest nodes see both and must turn them into
    /// evidence.
    fn equivocate(&mut self, i: usize, wire: Wire) {
        let sig = self.nodes[i].signer.clone();
        let alt = match &wire.msg {
            ConsensusMessage::Proposal { proposal, block } => {
                let alt = match self.nodes[i].driver.as_ref() {
                    Some(d) => byzantine::conflicting_proposal(d.ledger(), proposal, block, &sig),
                    None => return,
                };
                if let ConsensusMessage::Proposal { proposal: p, .. } = &alt {
                    let pr = proposal.proposal;
                    self.split_blocks.insert(
                        (pr.height, pr.round),
                        (pr.block_hash, p.proposal.block_hash),
                    );
                }
                alt
            }
            ConsensusMessage::Vote(v) => {
                // Colluding equivocators vote for the other half's block where there is one.
                let other = v.vote.block.and_then(|b| {
                    match self.split_blocks.get(&(v.vote.height, v.vote.round)) {
                        Some((orig, alt)) if *orig == b => Some(*alt),
                        _ => None,
                    }
                });
                let fallback = BlockHash(self.rng.gen());
                byzantine::conflicting_vote(v, other, fallback, &sig)
            }
        };
        let alt = self.crafted(i, alt);
        let wire = Rc::new(wire);
        for j in (0..self.nodes.len()).filter(|j| *j != i) {
            let m = if self.nodes[j].byz.is_none() && self.nodes[j].group_b {
                alt.clone()
            } else {
                wire.clone()
            };
            self.send(i, j, m);
            if self.nodes[j].byz.is_none() && self.nodes[j].sees_both {
                self.send(i, j, alt.clone());
            }
        }
    }
}

fn internal(now: u64, detail: String) -> Violation {
    Violation {
        kind: ViolationKind::Validity,
        time_us: now,
        detail: format!("internal: {detail}"),
    }
}
