//! The simulation loop: a seeded event queue driving N consensus machines over a simulated
//! network, acting as their runtime (WAL, timers, application, block store, sync).

use crate::app::{self, ValidatorSchedule};
use crate::checker::{Checker, Violation, ViolationKind};
use crate::config::{ByzantineBound, ByzantineKind, SimConfig, Stakes};
use crate::trace::{MsgSummary, Trace, TraceEvent};
use crate::verify_cache::{CacheStats, SharedVerifier};
use netwright_consensus::encoding::tx_root;
use netwright_consensus::{
    Block, BlockContent, BlockHash, CommitCertificate, Config, ConsensusMessage, Effect, Evidence,
    Height, HeightContext, Input, Machine, Proposal, Round, SignatureBytes, SignedProposal,
    SignedVote, Signer, Step, Timeout, TimeoutStep, Validator, ValidatorId, ValidatorSet, Vote,
    VoteKind, WalRecord,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::rc::Rc;

/// Chain id of simulated networks.
pub const SIM_CHAIN_ID: &str = "netwright-sim";

/// Evidence items a node's pool holds at most; more are dropped until blocks commit some.
pub const EVIDENCE_POOL_CAPACITY: usize = 256;

/// Evidence items a proposer puts into one block at most.
pub const EVIDENCE_PER_BLOCK: usize = 16;

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
    /// Valid evidence items produced.
    pub evidence: u64,
    /// Evidence items committed in decided blocks.
    pub committed_evidence: u64,
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

enum Event {
    Deliver {
        to: usize,
        from: usize,
        msg: Rc<ConsensusMessage>,
    },
    Timer {
        node: usize,
        inc: u32,
        timeout: Timeout,
    },
    AppBlock {
        node: usize,
        inc: u32,
        height: Height,
        round: Round,
    },
    AppValidity {
        node: usize,
        inc: u32,
        block: Rc<Block>,
    },
    AppAck {
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
        height: Height,
    },
    SyncResponse {
        node: usize,
        blocks: Rc<Vec<(Block, CommitCertificate)>>,
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

struct Node {
    signer: Signer,
    /// The ed25519 secret seed behind `signer` (byzantine nodes re-sign with it).
    seed: [u8; 32],
    /// Verified evidence waiting for a block, oldest first.
    evidence_pool: Vec<Evidence>,
    byz: Option<ByzantineKind>,
    machine: Option<Machine<SharedVerifier>>,
    inc: u32,
    wal: Vec<WalRecord>,
    ctx: HeightContext,
    store: BTreeMap<Height, (Block, CommitCertificate)>,
    states: BTreeMap<Height, [u8; 32]>,
    crash_pending: bool,
    last_sync: (Height, u64),
    sync_buffer: BTreeMap<Height, (Block, CommitCertificate)>,
    done: bool,
    group_b: bool,
    sees_both: bool,
}

struct Partition {
    start: u64,
    end: u64,
    side: Vec<bool>,
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    nodes: Vec<Node>,
    index: HashMap<ValidatorId, usize>,
    latency: Vec<u64>,
    partitions: Vec<Partition>,
    checker: Checker,
    trace: Trace,
    verifier: SharedVerifier,
    schedule: ValidatorSchedule,
    machine_cfg: Config,
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
}

const MS: u64 = 1_000;

/// Runs one simulation. Deterministic: the same config gives the same report or failure.
pub fn run(cfg: &SimConfig) -> Result<RunReport, Box<Failure>> {
    let mut sim = Sim::build(cfg);
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

impl<'a> Sim<'a> {
    fn build(cfg: &'a SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let n = cfg.validators.max(1);
        let seeds: Vec<[u8; 32]> = (0..n)
            .map(|i| {
                let mut h = blake3::Hasher::new();
                h.update(b"netwright-sim validator key");
                h.update(&(i as u64).to_le_bytes());
                *h.finalize().as_bytes()
            })
            .collect();
        let signers: Vec<Signer> = seeds.iter().map(|s| Signer::from_seed(*s)).collect();
        let powers: Vec<u64> = (0..n)
            .map(|_| match cfg.stakes {
                Stakes::Equal => 10,
                Stakes::Random => rng.gen_range(1..=100),
            })
            .collect();
        let total: u64 = powers.iter().sum();
        // Byzantine validators, by stake.
        let mut byz: Vec<Option<ByzantineKind>> = vec![None; n];
        if !cfg.faults.byzantine.is_empty() {
            let mut order: Vec<usize> = (0..n).collect();
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
        let base: Vec<Validator> = signers
            .iter()
            .zip(&powers)
            .map(|(s, p)| Validator {
                id: s.id(),
                power: *p,
            })
            .collect();
        let honest_idx: Vec<usize> = (0..n).filter(|i| byz[*i].is_none()).collect();
        let schedule = ValidatorSchedule::new(base, honest_idx.clone(), cfg.faults.churn);
        let genesis_set: ValidatorSet = schedule.set_for(1);
        let ctx = HeightContext::genesis(genesis_set, app::genesis_hash(), 0);
        let verifier = SharedVerifier::new();
        let honest: Vec<bool> = byz.iter().map(|b| b.is_none()).collect();
        let index: HashMap<ValidatorId, usize> = signers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id(), i))
            .collect();
        let checker = Checker::new(
            SIM_CHAIN_ID.into(),
            honest.clone(),
            index.clone(),
            schedule.clone(),
            verifier.clone(),
            cfg.check_certificates,
        );
        let mut machine_cfg = Config::new(SIM_CHAIN_ID);
        machine_cfg.timeouts = cfg.timeouts;
        if let Some(tweak) = cfg.tweak {
            tweak(&mut machine_cfg);
        }
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
        let nodes: Vec<Node> = signers
            .into_iter()
            .zip(seeds)
            .enumerate()
            .map(|(i, (signer, seed))| {
                let mut states = BTreeMap::new();
                states.insert(0, app::genesis_state());
                let pos = honest_idx.iter().position(|x| *x == i).unwrap_or(0);
                Node {
                    signer,
                    seed,
                    evidence_pool: Vec::new(),
                    byz: byz[i],
                    machine: None,
                    inc: 0,
                    wal: Vec::new(),
                    ctx: ctx.clone(),
                    store: BTreeMap::new(),
                    states,
                    crash_pending: false,
                    last_sync: (0, 0),
                    sync_buffer: BTreeMap::new(),
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
            nodes,
            index,
            latency,
            partitions,
            checker,
            trace: Trace::default(),
            verifier,
            schedule,
            machine_cfg,
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
        sim.stable_at = sim.stabilisation_time(last_crash);
        sim.push(sim.stable_at, Event::Gst);
        sim
    }

    /// When the network is synchronous and every node runs: `gst_ms` with message faults
    /// (loss, duplication, reordering), otherwise the end of the last partition or of the
    /// last crash's downtime (both before `gst_ms`), and 0 without any such fault. Byzantine
    /// validators and churn go on after it.
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
            .map(|(i, n)| format!("n{i}@h{}", n.ctx.height))
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

    fn boot(&mut self, i: usize) -> Result<(), Violation> {
        let node = &mut self.nodes[i];
        let machine = Machine::new(
            self.machine_cfg.clone(),
            node.signer.clone(),
            self.verifier.clone(),
            node.ctx.clone(),
            &node.wal,
        )
        .map_err(|e| internal(self.now, format!("n{i} cannot start: {e}")))?;
        node.machine = Some(machine);
        let fx = match node.machine.as_mut() {
            Some(m) => m.start(self.now / MS),
            None => Vec::new(),
        };
        self.check_resources(i)?;
        self.apply(i, fx)
    }

    /// A machine never computes the proposers of rounds beyond its window: a message naming a
    /// far-future round must not make it do (or allocate) per-round work.
    fn check_resources(&self, i: usize) -> Result<(), Violation> {
        let Some(m) = self.nodes[i].machine.as_ref() else {
            return Ok(());
        };
        let window = m
            .round()
            .saturating_add(self.machine_cfg.future_rounds)
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

    fn feed(&mut self, i: usize, input: Input) -> Result<(), Violation> {
        let now_ms = self.now / MS;
        let Some(m) = self.nodes[i].machine.as_mut() else {
            return Ok(());
        };
        let result = m.handle(now_ms, input);
        self.check_resources(i)?;
        match result {
            Ok(fx) => self.apply(i, fx),
            Err(e) => {
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

    fn alive(&self, i: usize, inc: u32) -> bool {
        self.nodes[i].inc == inc && self.nodes[i].machine.is_some()
    }

    fn process(&mut self, ev: Event) -> Result<(), Violation> {
        match ev {
            Event::Deliver { to, from, msg } => {
                let Some(m) = self.nodes[to].machine.as_ref() else {
                    return Ok(());
                };
                let my_height = m.height();
                self.trace.record(
                    self.now,
                    to,
                    TraceEvent::Deliver {
                        from,
                        msg: MsgSummary::of(&msg),
                    },
                );
                if msg.height() > my_height {
                    self.maybe_sync(to, from, my_height);
                }
                self.feed(to, Input::Message((*msg).clone()))
            }
            Event::Timer { node, inc, timeout } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                self.trace.record(
                    self.now,
                    node,
                    TraceEvent::Timer {
                        height: timeout.height,
                        round: timeout.round,
                        step: timeout_step_index(timeout.step),
                    },
                );
                self.feed(node, Input::Timeout(timeout))
            }
            Event::AppBlock {
                node,
                inc,
                height,
                round,
            } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                let nd = &self.nodes[node];
                let state = nd.states.get(&(height - 1)).copied().unwrap_or([0; 32]);
                let txs = if nd.byz == Some(ByzantineKind::InvalidProposal) {
                    app::invalid_txs(node, height)
                } else {
                    app::make_txs(&mut self.rng, node, height)
                };
                let mut evidence: Vec<Evidence> = nd
                    .evidence_pool
                    .iter()
                    .take(EVIDENCE_PER_BLOCK)
                    .cloned()
                    .collect();
                if nd.byz == Some(ByzantineKind::BadEvidence) {
                    evidence.insert(0, self.unverifiable_evidence(node, height, round));
                    evidence.truncate(EVIDENCE_PER_BLOCK);
                }
                self.feed(
                    node,
                    Input::BlockContent(BlockContent {
                        height,
                        round,
                        txs,
                        state_root: state,
                        evidence,
                    }),
                )
            }
            Event::AppValidity { node, inc, block } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                let h = block.header.height;
                let valid = match self.nodes[node].states.get(&(h - 1)) {
                    Some(s) => app::validate(&block, *s).is_ok(),
                    None => false,
                };
                self.feed(
                    node,
                    Input::Validity {
                        height: h,
                        block_hash: block.hash(),
                        valid,
                    },
                )
            }
            Event::AppAck { node, inc, height } => {
                if !self.alive(node, inc) {
                    return Ok(());
                }
                let next = self.schedule.update_after(height);
                self.feed(
                    node,
                    Input::DecideAck {
                        height,
                        next_validators: next,
                    },
                )?;
                if self.nodes[node].byz.is_none() {
                    self.first_start.entry(height + 1).or_insert(self.now);
                }
                self.drain_sync_buffer(node)
            }
            Event::Crash { node } => {
                if self.nodes[node].machine.is_none() {
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
            Event::Restart { node } => {
                if self.nodes[node].machine.is_some() {
                    return Ok(());
                }
                let nd = &self.nodes[node];
                self.trace.record(
                    self.now,
                    node,
                    TraceEvent::Restart {
                        height: nd.ctx.height,
                        wal: nd.wal.len(),
                    },
                );
                self.boot(node)
            }
            Event::SyncRequest {
                requester,
                responder,
                height,
            } => {
                if self.nodes[responder].machine.is_none() {
                    return Ok(());
                }
                let blocks: Vec<(Block, CommitCertificate)> = self.nodes[responder]
                    .store
                    .range(height..height + 32)
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
                if self.nodes[node].machine.is_none() {
                    return Ok(());
                }
                let first = blocks.first().map(|(b, _)| b.header.height).unwrap_or(0);
                self.trace.record(
                    self.now,
                    node,
                    TraceEvent::Sync {
                        height: first,
                        count: blocks.len(),
                    },
                );
                for (b, c) in blocks.iter() {
                    self.nodes[node]
                        .sync_buffer
                        .insert(b.header.height, (b.clone(), c.clone()));
                }
                self.drain_sync_buffer(node)
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
            .map(|n| n.ctx.height)
            .max()
            .unwrap_or(1);
        self.target_height = self
            .cfg
            .heights
            .max(in_progress.saturating_add(self.cfg.post_gst_heights));
        let target = self.target_height;
        self.honest_done = 0;
        for nd in self.nodes.iter_mut().filter(|n| n.byz.is_none()) {
            // A node's context is that of the height after the last one it decided.
            nd.done = nd.ctx.height > target;
            self.honest_done += usize::from(nd.done);
        }
    }

    fn drain_sync_buffer(&mut self, node: usize) -> Result<(), Violation> {
        let Some(m) = self.nodes[node].machine.as_ref() else {
            return Ok(());
        };
        if m.step() == Step::Decided {
            return Ok(());
        }
        let h = m.height();
        let nd = &mut self.nodes[node];
        nd.sync_buffer = nd.sync_buffer.split_off(&h);
        if let Some((block, certificate)) = nd.sync_buffer.remove(&h) {
            return self.feed(node, Input::Synced { block, certificate });
        }
        Ok(())
    }

    fn maybe_sync(&mut self, node: usize, from: usize, height: Height) {
        let (last_h, last_t) = self.nodes[node].last_sync;
        if last_h == height && self.now < last_t + 200 * MS {
            return;
        }
        self.nodes[node].last_sync = (height, self.now);
        let at = self.now + self.link_delay(node, from);
        self.push(
            at,
            Event::SyncRequest {
                requester: node,
                responder: from,
                height,
            },
        );
    }

    fn crash(&mut self, node: usize, applied: usize) {
        self.trace
            .record(self.now, node, TraceEvent::Crash { applied });
        let nd = &mut self.nodes[node];
        nd.machine = None;
        nd.inc += 1;
        nd.crash_pending = false;
        nd.sync_buffer.clear();
        let down = self.rng.gen_range(50 * MS..=1_500 * MS);
        let at = (self.now + down).min(self.gst.max(self.now + 1));
        self.push(at, Event::Restart { node });
    }

    fn link_delay(&mut self, from: usize, to: usize) -> u64 {
        let n = self.nodes.len();
        let mut d = self.latency[from * n + to] + self.rng.gen_range(0..=self.cfg.jitter_us);
        if self.cfg.faults.reorder && self.now < self.gst && self.rng.gen_bool(0.2) {
            d += self.rng.gen_range(0..=50 * MS);
        }
        d
    }

    fn send(&mut self, from: usize, to: usize, msg: Rc<ConsensusMessage>) {
        if self.now < self.gst {
            let now = self.now;
            if self
                .partitions
                .iter()
                .any(|p| p.start <= now && now < p.end && p.side[from] != p.side[to])
            {
                return;
            }
            if self.cfg.faults.loss && self.rng.gen_bool(self.cfg.loss) {
                return;
            }
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
                    msg: msg.clone(),
                },
            );
        }
    }

    fn broadcast(&mut self, i: usize, msg: ConsensusMessage) -> Result<(), Violation> {
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
        let n = self.nodes.len();
        match self.nodes[i].byz {
            Some(ByzantineKind::Equivocate) if own => {
                let alt = self.conflicting(i, &msg);
                self.trace.record(
                    self.now,
                    i,
                    TraceEvent::Send {
                        msg: MsgSummary::of(&alt),
                    },
                );
                let (msg, alt) = (Rc::new(msg), Rc::new(alt));
                for j in (0..n).filter(|j| *j != i) {
                    let m = if self.nodes[j].byz.is_none() && self.nodes[j].group_b {
                        alt.clone()
                    } else {
                        msg.clone()
                    };
                    self.send(i, j, m);
                    if self.nodes[j].byz.is_none() && self.nodes[j].sees_both {
                        // Some honest nodes see both halves and must turn them into evidence.
                        self.send(i, j, alt.clone());
                    }
                }
            }
            Some(kind @ (ByzantineKind::ForgedTime | ByzantineKind::WrongValidRound)) if own => {
                let crafted = self.crafted(i, kind, msg);
                self.send_to_all(i, crafted);
            }
            Some(ByzantineKind::FarFuture) if own => {
                let extra = self.far_future(i, &msg);
                self.send_to_all(i, msg);
                for m in extra {
                    self.send_to_all(i, m);
                }
            }
            Some(ByzantineKind::Resign) if own => {
                let again = self.resigned(i, &msg);
                self.send_to_all(i, msg);
                self.send_to_all(i, again);
            }
            None
            | Some(
                ByzantineKind::InvalidProposal
                | ByzantineKind::Equivocate
                | ByzantineKind::FarFuture
                | ByzantineKind::Resign
                | ByzantineKind::ForgedTime
                | ByzantineKind::WrongValidRound
                | ByzantineKind::BadEvidence,
            ) => self.send_to_all(i, msg),
            Some(ByzantineKind::Withhold) => {
                let msg = Rc::new(msg);
                let share = self.rng.gen_range(0.0..0.6);
                for j in (0..n).filter(|j| *j != i) {
                    if self.rng.gen_bool(share) {
                        self.send(i, j, msg.clone());
                    }
                }
            }
        }
        Ok(())
    }

    fn send_to_all(&mut self, i: usize, msg: ConsensusMessage) {
        let msg = Rc::new(msg);
        for j in (0..self.nodes.len()).filter(|j| *j != i) {
            self.send(i, j, msg.clone());
        }
    }

    /// Traces a message node `i` crafted (its honest machine never signed it).
    fn trace_crafted(&mut self, i: usize, msg: &ConsensusMessage) {
        self.trace.record(
            self.now,
            i,
            TraceEvent::Send {
                msg: MsgSummary::of(msg),
            },
        );
    }

    /// What a `forged-time` or `wrong-valid-round` validator sends instead of its own `msg`.
    fn crafted(
        &mut self,
        i: usize,
        kind: ByzantineKind,
        msg: ConsensusMessage,
    ) -> ConsensusMessage {
        let signer = self.nodes[i].signer.clone();
        let crafted = match (kind, msg) {
            (
                ByzantineKind::ForgedTime,
                ConsensusMessage::Proposal {
                    proposal,
                    mut block,
                },
            ) => {
                // The end of time: no child block can ever be timed after it.
                block.header.time_ms = u64::MAX;
                let proposal = Proposal {
                    block_hash: block.hash(),
                    ..proposal.proposal
                }
                .sign(SIM_CHAIN_ID, &signer);
                ConsensusMessage::Proposal { proposal, block }
            }
            (ByzantineKind::WrongValidRound, ConsensusMessage::Proposal { proposal, block }) => {
                let pr = proposal.proposal;
                match fake_pol_round(i, pr.height, pr.round, pr.pol_round) {
                    Some(pol) => ConsensusMessage::Proposal {
                        proposal: Proposal {
                            pol_round: Some(pol),
                            ..pr
                        }
                        .sign(SIM_CHAIN_ID, &signer),
                        block,
                    },
                    None => ConsensusMessage::Proposal { proposal, block },
                }
            }
            (ByzantineKind::WrongValidRound, ConsensusMessage::Vote(v)) => {
                // A block nobody has: the same for every copy, so it is not equivocation.
                let kind = match v.vote.kind {
                    VoteKind::Prevote => 1u8,
                    VoteKind::Precommit => 2,
                };
                let mut h = blake3::Hasher::new();
                h.update(b"netwright-sim block that does not exist");
                h.update(&(i as u64).to_le_bytes());
                h.update(&v.vote.height.to_le_bytes());
                h.update(&v.vote.round.to_le_bytes());
                h.update(&[kind]);
                let block = Some(BlockHash(*h.finalize().as_bytes()));
                ConsensusMessage::Vote(Vote { block, ..v.vote }.sign(SIM_CHAIN_ID, &signer))
            }
            (_, other) => other,
        };
        self.trace_crafted(i, &crafted);
        crafted
    }

    /// Signed copies of `msg` for rounds far beyond any window and for heights far ahead.
    fn far_future(&mut self, i: usize, msg: &ConsensusMessage) -> Vec<ConsensusMessage> {
        let signer = self.nodes[i].signer.clone();
        let (height, round) = (msg.height(), msg.round());
        let slots = [
            (height, u32::MAX),
            (height, 40_000_000),
            (height, round.saturating_add(1_000)),
            (height.saturating_add(1_000), round),
            (height.saturating_add(1_000_000), u32::MAX),
        ];
        let out: Vec<ConsensusMessage> = slots
            .into_iter()
            .map(|(height, round)| match msg {
                ConsensusMessage::Vote(v) => ConsensusMessage::Vote(
                    Vote {
                        height,
                        round,
                        ..v.vote
                    }
                    .sign(SIM_CHAIN_ID, &signer),
                ),
                ConsensusMessage::Proposal { proposal, block } => ConsensusMessage::Proposal {
                    proposal: Proposal {
                        height,
                        round,
                        ..proposal.proposal
                    }
                    .sign(SIM_CHAIN_ID, &signer),
                    block: block.clone(),
                },
            })
            .collect();
        for m in &out {
            self.trace_crafted(i, m);
        }
        out
    }

    /// `msg` under a second valid signature over the same bytes.
    fn resigned(&mut self, i: usize, msg: &ConsensusMessage) -> ConsensusMessage {
        let seed = self.nodes[i].seed;
        let again = match msg {
            ConsensusMessage::Vote(v) => ConsensusMessage::Vote(SignedVote {
                vote: v.vote,
                signature: second_signature(&seed, &v.vote.sign_bytes(SIM_CHAIN_ID)),
            }),
            ConsensusMessage::Proposal { proposal, block } => ConsensusMessage::Proposal {
                proposal: SignedProposal {
                    proposal: proposal.proposal,
                    signature: second_signature(&seed, &proposal.proposal.sign_bytes(SIM_CHAIN_ID)),
                },
                block: block.clone(),
            },
        };
        self.trace_crafted(i, &again);
        again
    }

    /// Evidence a `bad-evidence` validator puts into its blocks: a "duplicate" of two identical
    /// proposals, which proves nothing.
    fn unverifiable_evidence(&self, i: usize, height: Height, round: Round) -> Evidence {
        let signer = &self.nodes[i].signer;
        let p = Proposal {
            height,
            round,
            pol_round: None,
            block_hash: BlockHash([0; 32]),
            proposer: signer.id(),
        }
        .sign(SIM_CHAIN_ID, signer);
        Evidence::DuplicateProposal { a: p, b: p }
    }

    /// A validly signed message conflicting with `msg` (same slot, different content).
    fn conflicting(&mut self, i: usize, msg: &ConsensusMessage) -> ConsensusMessage {
        let signer = self.nodes[i].signer.clone();
        match msg {
            ConsensusMessage::Vote(v) => {
                // Colluding equivocators vote for the other half's block where there is one.
                let block = match v.vote.block {
                    Some(b) => match self.split_blocks.get(&(v.vote.height, v.vote.round)) {
                        Some((orig, alt)) if *orig == b => Some(*alt),
                        _ => None,
                    },
                    None => Some(BlockHash(self.rng.gen())),
                };
                ConsensusMessage::Vote(Vote { block, ..v.vote }.sign(SIM_CHAIN_ID, &signer))
            }
            ConsensusMessage::Proposal { proposal, block } => {
                let mut alt = block.clone();
                alt.txs
                    .push(format!("equivocation/{i}/{}", self.rng.gen::<u32>()).into_bytes());
                alt.header.tx_root = tx_root(&alt.txs);
                let p = Proposal {
                    block_hash: alt.hash(),
                    ..proposal.proposal
                }
                .sign(SIM_CHAIN_ID, &signer);
                let pr = proposal.proposal;
                self.split_blocks
                    .insert((pr.height, pr.round), (pr.block_hash, alt.hash()));
                ConsensusMessage::Proposal {
                    proposal: p,
                    block: alt,
                }
            }
        }
    }

    fn apply(&mut self, i: usize, fx: Vec<Effect>) -> Result<(), Violation> {
        let inc = self.nodes[i].inc;
        let crash_at = if self.nodes[i].crash_pending {
            Some(self.rng.gen_range(0..=fx.len()))
        } else {
            None
        };
        let total = fx.len();
        for (k, e) in fx.into_iter().enumerate() {
            if crash_at == Some(k) {
                self.crash(i, k);
                return Ok(());
            }
            if !self.alive(i, inc) {
                return Ok(());
            }
            self.apply_one(i, inc, e)?;
        }
        if crash_at == Some(total) && self.alive(i, inc) {
            self.crash(i, total);
        }
        Ok(())
    }

    fn apply_one(&mut self, i: usize, inc: u32, e: Effect) -> Result<(), Violation> {
        match e {
            Effect::PersistWal(r) => self.nodes[i].wal.push(r),
            Effect::Broadcast(m) => self.broadcast(i, m)?,
            Effect::ScheduleTimeout {
                timeout,
                duration_ms,
            } => self.push(
                self.now + duration_ms * MS,
                Event::Timer {
                    node: i,
                    inc,
                    timeout,
                },
            ),
            Effect::RequestBlock { height, round, .. } => {
                let at = self.now + self.rng.gen_range(0..=MS);
                self.push(
                    at,
                    Event::AppBlock {
                        node: i,
                        inc,
                        height,
                        round,
                    },
                );
            }
            Effect::RequestValidation { block } => {
                let at = self.now + self.rng.gen_range(0..=2 * MS);
                self.push(
                    at,
                    Event::AppValidity {
                        node: i,
                        inc,
                        block: Rc::new(block),
                    },
                );
            }
            Effect::Decide { block, certificate } => self.decide(i, inc, block, certificate)?,
            Effect::Evidence(e) => {
                let offender = self.index.get(&e.offender()).copied();
                self.trace.record(
                    self.now,
                    i,
                    TraceEvent::Evidence {
                        offender: offender.unwrap_or(usize::MAX),
                    },
                );
                self.checker.on_evidence(&e, offender, self.now)?;
                let pool = &mut self.nodes[i].evidence_pool;
                if pool.len() < EVIDENCE_POOL_CAPACITY && !pool.contains(&e) {
                    pool.push(e);
                }
            }
        }
        Ok(())
    }

    fn decide(
        &mut self,
        i: usize,
        inc: u32,
        block: Block,
        cert: CommitCertificate,
    ) -> Result<(), Violation> {
        let h = block.header.height;
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
        // The runtime's part of a decision: store, execute, persist the next context, prune the
        // WAL, then acknowledge.
        let update = self.schedule.update_after(h);
        let nd = &mut self.nodes[i];
        let prev = nd.states.get(&(h - 1)).copied().unwrap_or([0; 32]);
        nd.states.insert(h, app::next_state(prev, hash));
        let next = nd
            .ctx
            .next(&block, update)
            .map_err(|e| internal(self.now, format!("n{i}: {e}")))?;
        nd.ctx = next;
        nd.wal.retain(|r| r.height() > h);
        // Evidence a decided block commits is done with.
        nd.evidence_pool.retain(|e| !block.evidence.contains(e));
        nd.store.insert(h, (block, cert));
        if h >= self.target_height && !nd.done && nd.byz.is_none() {
            nd.done = true;
            self.honest_done += 1;
        }
        self.push(
            self.now,
            Event::AppAck {
                node: i,
                inc,
                height: h,
            },
        );
        Ok(())
    }
}

/// A `pol_round` below `round` at which this run saw no polka for the proposal: any round other
/// than the real one (`None` when there is none, i.e. in round 0, or in round 1 re-proposing a
/// round-0 polka). Derived from the slot, so every copy of the proposal carries the same one.
fn fake_pol_round(i: usize, height: Height, round: Round, real: Option<Round>) -> Option<Round> {
    if round == 0 {
        return None;
    }
    let mut h = blake3::Hasher::new();
    h.update(&(i as u64).to_le_bytes());
    h.update(&height.to_le_bytes());
    h.update(&round.to_le_bytes());
    let pick = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().unwrap_or([0; 8]));
    let mut pol = (pick % u64::from(round)) as Round;
    if Some(pol) == real {
        if round == 1 {
            return None;
        }
        pol = (pol + 1) % round;
    }
    Some(pol)
}

/// A second valid ed25519 signature by the key with secret `seed` over `msg`. Signing is
/// deterministic, so the nonce is derived from another hash prefix than the key's own.
fn second_signature(seed: &[u8; 32], msg: &[u8]) -> SignatureBytes {
    use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
    use ed25519_dalek::{Digest, Sha512, SigningKey};
    let expanded: [u8; 64] = Sha512::digest(seed).into();
    let mut esk = ExpandedSecretKey::from_bytes(&expanded);
    esk.hash_prefix = [0xA5; 32];
    let key = SigningKey::from_bytes(seed).verifying_key();
    SignatureBytes(raw_sign::<Sha512>(&esk, msg, &key).to_bytes())
}

fn internal(now: u64, detail: String) -> Violation {
    Violation {
        kind: ViolationKind::Validity,
        time_us: now,
        detail: format!("internal: {detail}"),
    }
}
