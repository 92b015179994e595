//! Whole networks of node drivers in one process: an in-memory message bus with seeded
//! latencies, a fake clock, and in-memory storage that applies each commit atomically before
//! acknowledging it. Every run is a pure function of its seed.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::SigningKey;
use netwright_consensus::{
    Block, CommitCertificate, ConsensusMessage, Evidence, Proposal, SignatureBytes, SignedProposal,
    Signer, ValidatorId, ValidatorSet, WalRecord,
};
use netwright_ledger::{
    Address, Genesis, GenesisAccount, GenesisValidator, Params, PublicKey, TxBody, TxPayload,
};
use netwright_node::driver::codec::decode;
use netwright_node::driver::{
    Command, Commit, CommittedState, Driver, DriverConfig, Event, Input, Restore, Timer, TxOrigin,
    Verdict,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T0: u64 = 1_700_000_000_000;
const STAKE: u64 = 1_000;
const BIG: usize = 1 << 26;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(seed: u8) -> PublicKey {
    PublicKey::from(key(seed).verifying_key())
}

fn address(seed: u8) -> Address {
    Address::from_public_key(&public(seed))
}

fn genesis(validators: &[u8], accounts: &[(u8, u64)]) -> Genesis {
    Genesis {
        chain_id: "driver-net".into(),
        initial_height: 1,
        genesis_time_ms: T0,
        params: Params {
            unbonding_period_blocks: 10,
            min_validator_stake: STAKE,
            max_txs_per_block: 1_000,
        },
        accounts: accounts
            .iter()
            .map(|&(s, balance)| GenesisAccount {
                address: address(s),
                balance,
            })
            .collect(),
        validators: validators
            .iter()
            .map(|&s| GenesisValidator {
                public_key: public(s),
                stake: STAKE,
            })
            .collect(),
        economics: Default::default(),
        servicers: Vec::new(),
        applications: Vec::new(),
        fishermen: Vec::new(),
    }
}

fn tx(g: &Genesis, from: u8, nonce: u64, body: TxBody) -> Vec<u8> {
    TxPayload {
        chain_id: g.chain_id.clone(),
        signer: public(from),
        nonce,
        fee: 1,
        body,
    }
    .sign(&key(from))
    .encode()
}

/// How a byzantine validator tampers with the proposals it broadcasts (its own WAL and its own
/// view stay honest; only what its peers receive changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attack {
    /// Sends each proposal twice: as signed, then under a second valid signature over the same
    /// bytes (ed25519 signing can be re-randomised).
    ResignProposals,
    /// Sends, instead of each proposal, a correctly executed block timed at `u64::MAX`.
    MaxBlockTime,
    /// Sends each proposal and then a conflicting one for the same round: the same
    /// transactions one millisecond later.
    EquivocateProposals,
}

/// A second valid signature by seed `seed` over `msg`: the nonce comes from another hash prefix.
fn resign(seed: u8, msg: &[u8]) -> SignatureBytes {
    use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
    use ed25519_dalek::{Digest, Sha512};
    let expanded: [u8; 64] = Sha512::digest([seed; 32]).into();
    let mut esk = ExpandedSecretKey::from_bytes(&expanded);
    esk.hash_prefix = [0xA5; 32];
    let sig = raw_sign::<Sha512>(&esk, msg, &key(seed).verifying_key());
    SignatureBytes(sig.to_bytes())
}

/// What one node has made durable.
#[derive(Default)]
struct Store {
    wal: Vec<(u64, Vec<u8>)>,
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    commits: Vec<Commit>,
}

impl Store {
    fn restore(&self) -> Restore {
        Restore {
            committed: self.commits.last().map(|c| CommittedState {
                state: self.state.clone().into_iter().collect(),
                state_root: c.state_root,
                block_hash: c.block_hash,
                next_context: c.next_context.clone(),
            }),
            wal: self.wal.iter().map(|(_, r)| r.clone()).collect(),
        }
    }

    fn tip(&self) -> u64 {
        self.commits.last().map_or(0, |c| c.height)
    }
}

struct Node {
    driver: Option<Driver>,
    key: Option<[u8; 32]>,
    epoch: u64,
    store: Store,
    crash_after_wal: bool,
    events: Vec<Event>,
    rejected: Vec<String>,
    /// Highest height of a message this node signed and sent.
    signed_height: u64,
}

impl Node {
    /// The commit-to-commit intervals its commit events report, in milliseconds.
    fn commit_intervals(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Committed {
                    commit_interval_ms: Some(ms),
                    ..
                } => Some(*ms),
                _ => None,
            })
            .collect()
    }
}

enum Ev {
    Deliver(Input),
    Timer(Timer),
    Committed(u64),
}

struct Net {
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), (usize, u64, Ev)>,
    nodes: Vec<Node>,
    rng: ChaCha8Rng,
    genesis: Genesis,
    config: DriverConfig,
    /// Every signature ever made, by slot: (signer, height, round, kind) -> signed value.
    signed: HashMap<(ValidatorId, u64, u32, u8), Vec<u8>>,
    /// Byzantine nodes and what they do.
    attacks: HashMap<usize, Attack>,
}

impl Net {
    fn new(seed: u64, genesis: Genesis, keys: Vec<Option<[u8; 32]>>) -> Net {
        Net {
            now: T0 + 1,
            seq: 0,
            queue: BTreeMap::new(),
            nodes: keys
                .into_iter()
                .map(|key| Node {
                    driver: None,
                    key,
                    epoch: 0,
                    store: Store::default(),
                    crash_after_wal: false,
                    events: Vec::new(),
                    rejected: Vec::new(),
                    signed_height: 0,
                })
                .collect(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            genesis,
            // Seeds alternate between no commit pause and short ones, so every scenario also
            // runs with paced heights.
            config: DriverConfig {
                commit_pause_ms: [0, 15, 40][(seed % 3) as usize],
                ..DriverConfig::default()
            },
            signed: HashMap::new(),
            attacks: HashMap::new(),
        }
    }

    /// A proposal by node `i` for `block` re-timed at `time_ms`, executed on node `i`'s ledger so
    /// that everything but its time is right, and signed by node `i`.
    fn retimed(&self, i: usize, p: &SignedProposal, block: &Block, time_ms: u64) -> Vec<u8> {
        let mut forged = block.clone();
        forged.header.time_ms = time_ms;
        let mut ledger = self.nodes[i].driver.as_ref().unwrap().ledger().clone();
        ledger
            .apply_block(forged.header.height, time_ms, &forged.txs)
            .expect("the forged block executes");
        forged.header.state_root = *ledger.state_root().as_bytes();
        let seed = self.nodes[i].key.expect("a validator");
        let proposal = Proposal {
            block_hash: forged.hash(),
            ..p.proposal
        }
        .sign(&self.genesis.chain_id, &Signer::from_seed(seed));
        borsh::to_vec(&ConsensusMessage::Proposal {
            proposal,
            block: forged,
        })
        .unwrap()
    }

    /// What node `i`'s peers receive when it broadcasts `bytes` (`msg` decoded).
    fn tampered(&self, i: usize, msg: &ConsensusMessage, bytes: Vec<u8>) -> Vec<Vec<u8>> {
        let (Some(&attack), ConsensusMessage::Proposal { proposal, block }) =
            (self.attacks.get(&i), msg)
        else {
            return vec![bytes];
        };
        if Some(proposal.proposal.proposer) != self.nodes[i].driver.as_ref().map(|d| d.key()) {
            return vec![bytes];
        }
        match attack {
            Attack::ResignProposals => {
                let seed = self.nodes[i].key.unwrap()[0];
                let again = SignedProposal {
                    proposal: proposal.proposal,
                    signature: resign(seed, &proposal.proposal.sign_bytes(&self.genesis.chain_id)),
                };
                assert_ne!(again, *proposal, "a different signature");
                let again = ConsensusMessage::Proposal {
                    proposal: again,
                    block: block.clone(),
                };
                vec![bytes, borsh::to_vec(&again).unwrap()]
            }
            Attack::MaxBlockTime => vec![self.retimed(i, proposal, block, u64::MAX)],
            Attack::EquivocateProposals => {
                let other = self.retimed(i, proposal, block, block.header.time_ms + 1);
                vec![bytes, other]
            }
        }
    }

    fn schedule(&mut self, at: u64, node: usize, ev: Ev) {
        self.seq += 1;
        let epoch = self.nodes[node].epoch;
        self.queue.insert((at, self.seq), (node, epoch, ev));
    }

    /// Starts (or restarts) node `i` from what its store holds.
    fn boot(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.epoch += 1;
        let mut d = Driver::new(&self.genesis, n.key, n.store.restore(), self.config.clone())
            .expect("stored state restores");
        let r = d.start(self.now).expect("starts");
        n.driver = Some(d);
        self.exec(i, r.commands);
    }

    /// Starts every node.
    fn boot_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.boot(i);
        }
    }

    /// True when each of the first `count` nodes has committed height `height`.
    fn first_at(&self, count: usize, height: u64) -> bool {
        (0..count).all(|i| self.tip(i) >= height)
    }

    fn crash(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.driver = None;
        n.epoch += 1;
        n.crash_after_wal = false;
    }

    fn submit(&mut self, at: u64, node: usize, tx: Vec<u8>) {
        self.schedule(
            at,
            node,
            Ev::Deliver(Input::Txs {
                txs: vec![tx],
                origin: TxOrigin::Local,
            }),
        );
    }

    fn step(&mut self) -> bool {
        let Some(((at, _), (i, epoch, ev))) = self.queue.pop_first() else {
            return false;
        };
        self.now = self.now.max(at);
        if self.nodes[i].epoch != epoch {
            return true;
        }
        let Some(d) = self.nodes[i].driver.as_mut() else {
            return true;
        };
        let input = match ev {
            Ev::Deliver(input) => input,
            Ev::Timer(t) => Input::Timer(t),
            Ev::Committed(h) => Input::Committed { height: h },
        };
        let r = d
            .handle(self.now, input)
            .expect("no driver error in an honest network");
        for v in &r.verdicts {
            if let Verdict::Rejected(reason) = v {
                self.nodes[i].rejected.push(reason.clone());
            }
        }
        self.exec(i, r.commands);
        true
    }

    fn record_signature(&mut self, node: usize, slot: (ValidatorId, u64, u32, u8), value: Vec<u8>) {
        if let Some(old) = self.signed.get(&slot) {
            assert_eq!(old, &value, "double sign by node {node} at slot {slot:?}");
        }
        self.signed.insert(slot, value);
    }

    fn record_message(&mut self, node: usize, msg: &ConsensusMessage) {
        let own = self.nodes[node].driver.as_ref().map(|d| d.key());
        if Some(msg.signer()) != own {
            return;
        }
        self.nodes[node].signed_height = self.nodes[node].signed_height.max(msg.height());
        match msg {
            ConsensusMessage::Vote(v) => {
                let kind = v.vote.kind as u8;
                let slot = (v.vote.validator, v.vote.height, v.vote.round, kind);
                self.record_signature(node, slot, borsh::to_vec(&v.vote.block).unwrap());
            }
            ConsensusMessage::Proposal { proposal, .. } => {
                let p = proposal.proposal;
                let slot = (p.proposer, p.height, p.round, 9);
                self.record_signature(node, slot, p.block_hash.0.to_vec());
            }
        }
    }

    fn exec(&mut self, i: usize, commands: Vec<Command>) {
        for c in commands {
            match c {
                Command::PersistWal { height, record } => {
                    let rec: WalRecord = decode(&record, BIG, "wal").unwrap();
                    match rec {
                        WalRecord::Vote(v) => self.record_message(i, &ConsensusMessage::Vote(v)),
                        WalRecord::Proposal { proposal, block } => {
                            self.record_message(i, &ConsensusMessage::Proposal { proposal, block })
                        }
                        WalRecord::Polka { .. } => {}
                    }
                    self.nodes[i].store.wal.push((height, record));
                    if self.nodes[i].crash_after_wal {
                        self.crash(i);
                        return;
                    }
                }
                Command::Broadcast { bytes, .. } => {
                    let msg: ConsensusMessage = decode(&bytes, BIG, "msg").unwrap();
                    self.record_message(i, &msg);
                    let copies = self.tampered(i, &msg, bytes);
                    for j in 0..self.nodes.len() {
                        if j != i {
                            let at = self.now + self.rng.gen_range(1..=10);
                            for (k, bytes) in copies.iter().enumerate() {
                                let bytes = bytes.clone();
                                let input = Input::ConsensusMessage { bytes };
                                self.schedule(at + k as u64, j, Ev::Deliver(input));
                            }
                        }
                    }
                }
                Command::GossipTx { bytes } => {
                    for j in 0..self.nodes.len() {
                        if j != i {
                            let at = self.now + self.rng.gen_range(1..=10);
                            let input = Input::Txs {
                                txs: vec![bytes.clone()],
                                origin: TxOrigin::Peer,
                            };
                            self.schedule(at, j, Ev::Deliver(input));
                        }
                    }
                }
                Command::ScheduleTimer { timer, after_ms } => {
                    self.schedule(self.now + after_ms, i, Ev::Timer(timer));
                }
                Command::ScheduleStart { height, after_ms } => {
                    self.schedule(
                        self.now + after_ms,
                        i,
                        Ev::Deliver(Input::StartNext { height }),
                    );
                }
                Command::Commit(c) => {
                    let store = &mut self.nodes[i].store;
                    assert_eq!(c.height, store.tip() + 1, "commits follow each other");
                    c.write_set.apply_to(&mut store.state);
                    let h = c.height;
                    store.commits.push(*c);
                    self.schedule(self.now + 1, i, Ev::Committed(h));
                }
                Command::PruneWal { below_height } => {
                    self.nodes[i].store.wal.retain(|(h, _)| *h >= below_height);
                }
                Command::RequestSync { from, to } => {
                    let peers: Vec<usize> = (0..self.nodes.len())
                        .filter(|&j| j != i && self.nodes[j].driver.is_some())
                        .filter(|&j| self.nodes[j].store.tip() >= from)
                        .collect();
                    if peers.is_empty() {
                        continue;
                    }
                    let j = peers[self.rng.gen_range(0..peers.len())];
                    let at = self.now + self.rng.gen_range(2..=20);
                    let blocks: Vec<(Vec<u8>, Vec<u8>)> = self.nodes[j]
                        .store
                        .commits
                        .iter()
                        .filter(|c| c.height >= from && c.height <= to)
                        .map(|c| (c.block.clone(), c.certificate.clone()))
                        .collect();
                    for (block, certificate) in blocks {
                        self.schedule(
                            at,
                            i,
                            Ev::Deliver(Input::SyncedBlock { block, certificate }),
                        );
                    }
                }
                Command::Event(e) => self.nodes[i].events.push(e),
            }
        }
    }

    /// Runs until `done` holds; panics at the simulated-time deadline.
    fn run_until(&mut self, deadline_ms: u64, what: &str, done: impl Fn(&Net) -> bool) {
        while !done(self) {
            assert!(
                self.now < T0 + deadline_ms,
                "deadline passed waiting for {what}"
            );
            assert!(self.step(), "no events left waiting for {what}");
        }
    }

    fn tip(&self, i: usize) -> u64 {
        self.nodes[i].store.tip()
    }

    /// Every pair of nodes stored byte-identical blocks and certificates' blocks and state
    /// roots for the heights both have.
    fn assert_same_chain(&self, nodes: &[usize]) {
        let a = &self.nodes[nodes[0]].store.commits;
        for &j in &nodes[1..] {
            for (x, y) in a.iter().zip(&self.nodes[j].store.commits) {
                assert_eq!(x.height, y.height);
                assert_eq!(x.block, y.block, "block {} differs on node {j}", x.height);
                assert_eq!(
                    x.state_root, y.state_root,
                    "state root {} differs",
                    x.height
                );
                assert_eq!(x.next_context, y.next_context);
            }
        }
    }

    fn assert_nothing_rejected(&self) {
        for (i, n) in self.nodes.iter().enumerate() {
            assert!(
                n.rejected.is_empty(),
                "node {i} rejected honest input: {:?}",
                n.rejected
            );
        }
    }
}

fn block_of(c: &Commit) -> Block {
    decode(&c.block, BIG, "block").unwrap()
}

#[test]
fn four_validators_finalize_fifty_identical_blocks_and_commit_transfers() {
    four_validators_finalize_fifty_identical_blocks_and_commit_transfers_with(11);
}

fn four_validators_finalize_fifty_identical_blocks_and_commit_transfers_with(seed: u64) {
    let g = genesis(
        &[1, 2, 3, 4],
        &[
            (20, 1_000_000),
            (21, 1_000_000),
            (22, 1_000_000),
            (23, 1_000_000),
        ],
    );
    let mut net = Net::new(seed, g.clone(), (1..=4).map(|s| Some([s; 32])).collect());
    net.boot_all();
    let mut expected: BTreeMap<u8, i64> = BTreeMap::new();
    for k in 0..24u64 {
        let from = 20 + (k % 4) as u8;
        let to = 30 + (k % 3) as u8;
        let amount = 100 + k;
        let body = TxBody::Transfer {
            to: address(to),
            amount,
        };
        net.submit(
            T0 + 20 + 25 * k,
            (k % 4) as usize,
            tx(&g, from, k / 4, body),
        );
        *expected.entry(to).or_default() += amount as i64;
        *expected.entry(from).or_default() -= amount as i64 + 1;
    }
    let ok_txs = |n: &Net, i: usize| -> usize {
        n.nodes[i]
            .store
            .commits
            .iter()
            .map(|c| c.tx_results.iter().filter(|r| r.code() == 0).count())
            .sum()
    };
    net.run_until(120_000, "50 blocks and the transfers on every node", |n| {
        (0..4).all(|i| n.tip(i) >= 50 && ok_txs(n, i) == 24)
    });
    net.run_until(120_000, "pending commits to land", |n| {
        (0..4).all(|i| !n.nodes[i].driver.as_ref().unwrap().status().commit_pending)
    });
    net.assert_same_chain(&[0, 1, 2, 3]);
    net.assert_nothing_rejected();
    let all_txs: usize = net.nodes[0]
        .store
        .commits
        .iter()
        .map(|c| c.tx_results.len())
        .sum();
    assert_eq!(all_txs, 24, "every transfer committed exactly once");
    for n in &net.nodes {
        let d = n.driver.as_ref().unwrap();
        for (&seed, &delta) in &expected {
            let base = if seed >= 30 { 0 } else { 1_000_000 };
            assert_eq!(
                d.account(&address(seed)).balance as i64,
                base + delta,
                "seed {seed}"
            );
        }
        assert_eq!(
            d.ledger().total_supply(),
            4 * 1_000_000 + 4 * u128::from(STAKE)
        );
        let intervals = n
            .events
            .iter()
            .filter(|e| matches!(e, Event::Committed { block_interval_ms, .. } if *block_interval_ms > 0))
            .count();
        assert!(
            intervals >= 50,
            "a commit event per height with its block interval"
        );
    }
    // Headers link up and carry the genesis validator set.
    let blocks: Vec<Block> = net.nodes[0].store.commits.iter().map(block_of).collect();
    for w in blocks.windows(2) {
        assert_eq!(w[1].header.parent_hash, w[0].hash());
        assert!(w[1].header.time_ms > w[0].header.time_ms);
    }
}

#[test]
fn commit_pause_spaces_heights_and_keeps_the_chain_identical() {
    let g = genesis(&[1, 2, 3, 4], &[(20, 1_000_000)]);
    let mut net = Net::new(3, g, (1..=4).map(|s| Some([s; 32])).collect());
    net.config.commit_pause_ms = 200;
    net.boot_all();
    net.run_until(120_000, "20 blocks on every node", |n| n.first_at(4, 20));
    net.assert_same_chain(&[0, 1, 2, 3]);
    net.assert_nothing_rejected();
    for n in &net.nodes {
        let intervals = n.commit_intervals();
        assert!(intervals.len() >= 15, "{intervals:?}");
        assert!(
            intervals.iter().all(|ms| *ms >= 200),
            "every height starts only after the pause: {intervals:?}"
        );
    }
}

#[test]
fn block_interval_paces_heights_beyond_the_commit_pause() {
    let g = genesis(&[1, 2, 3, 4], &[]);
    let mut net = Net::new(5, g, (1..=4).map(|s| Some([s; 32])).collect());
    net.config.commit_pause_ms = 10;
    net.config.block_interval_ms = 500;
    net.boot_all();
    net.run_until(120_000, "12 blocks on every node", |n| n.first_at(4, 12));
    net.assert_same_chain(&[0, 1, 2, 3]);
    for n in &net.nodes {
        let intervals = n.commit_intervals();
        assert!(intervals.len() >= 10, "{intervals:?}");
        // Commit-to-commit spacing follows the start-to-start target, give or take one
        // height's consensus time on either side.
        let mut sorted = intervals.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        assert!(
            (450..=700).contains(&median),
            "median interval {median} ms for a 500 ms target: {intervals:?}"
        );
    }
}

#[test]
fn restarted_validator_resumes_without_double_signing_and_catches_up() {
    restarted_validator_resumes_without_double_signing_and_catches_up_with(23);
}

fn restarted_validator_resumes_without_double_signing_and_catches_up_with(seed: u64) {
    let g = genesis(&[1, 2, 3, 4], &[]);
    let mut net = Net::new(seed, g, (1..=4).map(|s| Some([s; 32])).collect());
    net.boot_all();
    net.run_until(60_000, "10 blocks on node 3", |n| n.tip(3) >= 10);
    // Crash node 3 right after it makes its next signature durable, before sending it.
    net.nodes[3].crash_after_wal = true;
    net.run_until(60_000, "the crash", |n| n.nodes[3].driver.is_none());
    let crashed_at = net.tip(3);
    assert!(
        net.nodes[3]
            .store
            .wal
            .iter()
            .any(|(h, _)| *h == crashed_at + 1),
        "the WAL holds the signature made at the crash"
    );
    net.run_until(120_000, "the others to move 15 heights on", |n| {
        (0..3).all(|i| n.tip(i) >= crashed_at + 15)
    });
    assert_eq!(net.tip(3), crashed_at, "a crashed node commits nothing");
    let tip_at_restart = (0..3).map(|i| net.tip(i)).max().unwrap();
    net.boot(3);
    net.run_until(180_000, "node 3 to catch up and sign again", |n| {
        n.tip(3) >= tip_at_restart + 5 && n.nodes[3].signed_height > tip_at_restart + 3
    });
    net.assert_same_chain(&[0, 1, 2, 3]);
    net.assert_nothing_rejected();
    let synced = net.nodes[3]
        .events
        .iter()
        .filter(|e| matches!(e, Event::Committed { synced: true, .. }))
        .count();
    assert!(
        synced >= 10,
        "caught up by verified block sync ({synced} synced commits)"
    );
    assert!(net.nodes[3]
        .events
        .iter()
        .any(|e| matches!(e, Event::SyncRequested { .. })));
    net.run_until(
        180_000,
        "node 3 to report it is no longer catching up",
        |n| !n.nodes[3].driver.as_ref().unwrap().status().catching_up,
    );
}

#[test]
fn late_full_node_syncs_from_genesis_to_the_tip() {
    late_full_node_syncs_from_genesis_to_the_tip_with(5);
}

fn late_full_node_syncs_from_genesis_to_the_tip_with(seed: u64) {
    let g = genesis(&[1, 2, 3, 4], &[]);
    let mut keys: Vec<Option<[u8; 32]>> = (1..=4).map(|s| Some([s; 32])).collect();
    keys.push(None);
    let mut net = Net::new(seed, g, keys);
    for i in 0..4 {
        net.boot(i);
    }
    net.run_until(60_000, "30 blocks", |n| n.first_at(4, 30));
    net.boot(4);
    let status = net.nodes[4].driver.as_ref().unwrap().status();
    assert_eq!(status.height, 0);
    assert!(status.validator.is_none());
    net.run_until(120_000, "the full node to reach the tip", |n| {
        n.tip(4) >= 40 && n.tip(4) + 1 >= (0..4).map(|i| n.tip(i)).max().unwrap_or(0)
    });
    net.run_until(120_000, "its pending commit to land", |n| {
        !n.nodes[4].driver.as_ref().unwrap().status().commit_pending
    });
    net.assert_same_chain(&[0, 1, 2, 3, 4]);
    net.assert_nothing_rejected();
    let n4 = &net.nodes[4];
    assert!(n4.store.wal.is_empty(), "a full node signs nothing");
    assert_eq!(n4.signed_height, 0, "a full node sends nothing it signed");
    let synced = n4
        .events
        .iter()
        .filter(|e| matches!(e, Event::Committed { synced: true, .. }))
        .count();
    assert!(
        synced >= 30,
        "reached the tip by verified block sync ({synced})"
    );
    // What it stored is exactly its ledger, and that ledger is the validators' state.
    let h = net.tip(4);
    // The full node may decide a height a moment before any validator hears the last precommit.
    net.run_until(120_000, "a validator at the same height", |n| {
        (0..4).any(|i| n.tip(i) >= h)
    });
    net.run_until(120_000, "its pending commit to land", |n| {
        !n.nodes[4].driver.as_ref().unwrap().status().commit_pending
    });
    net.assert_same_chain(&[0, 1, 2, 3, 4]);
    let n4 = &net.nodes[4];
    let d4 = n4.driver.as_ref().unwrap();
    let stored: Vec<(Vec<u8>, Vec<u8>)> = n4.store.state.clone().into_iter().collect();
    assert_eq!(stored, d4.ledger().snapshot());
    let last = n4.store.commits.last().expect("commits");
    assert_eq!(d4.ledger().state_root().0, last.state_root);
}

#[test]
fn stake_transaction_adds_a_validator_at_the_next_height() {
    stake_transaction_adds_a_validator_at_the_next_height_with(42);
}

fn stake_transaction_adds_a_validator_at_the_next_height_with(seed: u64) {
    let g = genesis(&[1, 2, 3, 4], &[(5, 50_000)]);
    let keys: Vec<Option<[u8; 32]>> = (1..=5).map(|s| Some([s; 32])).collect();
    let mut net = Net::new(seed, g.clone(), keys);
    net.boot_all();
    let newcomer = ValidatorId(*public(5).as_bytes());
    net.run_until(60_000, "5 blocks", |n| n.first_at(5, 5));
    assert!(
        !net.nodes[4]
            .driver
            .as_ref()
            .unwrap()
            .status()
            .validator
            .unwrap()
            .in_set
    );
    let stake = tx(&g, 5, 0, TxBody::Stake { amount: 2 * STAKE });
    let stake_hash = *blake3::hash(&stake).as_bytes();
    net.submit(net.now + 5, 4, stake);
    net.run_until(120_000, "25 blocks", |n| n.first_at(5, 25));
    net.assert_same_chain(&[0, 1, 2, 3, 4]);
    net.assert_nothing_rejected();
    let commits = &net.nodes[0].store.commits;
    let c = commits
        .iter()
        .find(|c| c.tx_results.iter().any(|r| r.hash.0 == stake_hash))
        .expect("the stake transaction was committed");
    let h = c.height;
    assert!(c.tx_results.iter().all(|r| r.code() == 0));
    assert!(c.validators_changed);
    let next: ValidatorSet = decode(&c.next_validators, BIG, "set").unwrap();
    assert_eq!(next.len(), 5);
    assert_eq!(next.power_of(&newcomer), Some(2 * STAKE));
    // Block h is decided by the old set; block h + 1 already by the new one.
    let old_hash = {
        let before: ValidatorSet =
            decode(&commits[(h - 2) as usize].next_validators, BIG, "set").unwrap();
        before.hash()
    };
    assert_eq!(block_of(c).header.validator_set_hash, old_hash);
    let after = &commits[h as usize];
    assert_eq!(after.height, h + 1);
    assert_eq!(block_of(after).header.validator_set_hash, next.hash());
    for later in &commits[h as usize..] {
        let cert: CommitCertificate = decode(&later.certificate, BIG, "cert").unwrap();
        assert!(next.is_quorum(
            cert.signatures
                .iter()
                .filter_map(|s| next.power_of(&s.validator))
                .sum()
        ));
    }
    let signed_by_newcomer = commits
        .iter()
        .filter(|c| {
            let cert: CommitCertificate = decode(&c.certificate, BIG, "cert").unwrap();
            cert.signatures.iter().any(|s| s.validator == newcomer)
        })
        .map(|c| c.height)
        .collect::<Vec<_>>();
    // With 2,000 of 6,000 power the four others (4,000) are not a quorum: from height h + 1
    // on, no block is decided without the newcomer.
    let expected: Vec<u64> = (h + 1..=commits.len() as u64).collect();
    assert_eq!(
        signed_by_newcomer, expected,
        "the newcomer signs exactly from the boundary"
    );
    let status = net.nodes[4].driver.as_ref().unwrap().status();
    let own = status.validator.unwrap();
    assert!(own.in_set);
    assert_eq!(own.power, 2 * STAKE);
}

/// More seeds for every scenario: `NETWRIGHT_DRIVER_SEEDS=50 cargo test -p netwright-node
/// --test driver seed_campaign` (default 2 each, to keep the suite fast).
#[test]
fn seed_campaign() {
    let n: u64 = std::env::var("NETWRIGHT_DRIVER_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    for seed in 1_000..1_000 + n {
        four_validators_finalize_fifty_identical_blocks_and_commit_transfers_with(seed);
        restarted_validator_resumes_without_double_signing_and_catches_up_with(seed);
        late_full_node_syncs_from_genesis_to_the_tip_with(seed);
        stake_transaction_adds_a_validator_at_the_next_height_with(seed);
    }
}

/// Proposals naming rounds far beyond the window (the largest round, and one whose proposer
/// list would take a gigabyte) cost a node nothing: an unsigned one is refused for its
/// signature before anything is computed, a signed one only counts toward the round-skip rule.
#[test]
fn far_future_round_proposals_cost_nothing_and_the_chain_goes_on() {
    let g = genesis(&[1, 2, 3, 4], &[]);
    let mut net = Net::new(7, g.clone(), (1..=4).map(|s| Some([s; 32])).collect());
    net.config.commit_pause_ms = 0;
    net.boot_all();
    net.run_until(60_000, "3 blocks on every node", |n| n.first_at(4, 3));
    // Between a decision and the next height a machine ignores messages of the decided
    // height unchecked; wait until every node is deciding a height it has not decided yet
    // (with no commit pause, that is whenever no commit is pending).
    net.run_until(60_000, "every node in a running height", |n| {
        (0..4).all(|j| {
            let s = n.nodes[j].driver.as_ref().unwrap().status();
            !s.commit_pending && s.consensus_height == n.tip(j) + 1
        })
    });
    let block = block_of(&net.nodes[0].store.commits[0]);
    for j in 0..4 {
        let height = net.nodes[j]
            .driver
            .as_ref()
            .unwrap()
            .status()
            .consensus_height;
        for round in [u32::MAX, 40_000_000] {
            let proposal = Proposal {
                height,
                round,
                pol_round: None,
                block_hash: block.hash(),
                proposer: ValidatorId(key(4).verifying_key().to_bytes()),
            };
            let unsigned = SignedProposal {
                proposal,
                signature: SignatureBytes([0; 64]),
            };
            let signed = proposal.sign(&g.chain_id, &Signer::from_seed([4; 32]));
            for p in [unsigned, signed] {
                let msg = ConsensusMessage::Proposal {
                    proposal: p,
                    block: block.clone(),
                };
                let bytes = borsh::to_vec(&msg).unwrap();
                let r = net.nodes[j]
                    .driver
                    .as_mut()
                    .unwrap()
                    .handle(net.now, Input::ConsensusMessage { bytes })
                    .expect("no driver error");
                if p == unsigned {
                    assert!(
                        matches!(&r.verdicts[..], [Verdict::Rejected(why)] if why.contains("signature")),
                        "node {j}, round {round}: {:?}",
                        r.verdicts
                    );
                }
                net.exec(j, r.commands);
            }
        }
    }
    net.run_until(60_000, "10 more blocks on every node", |n| {
        n.first_at(4, 13)
    });
    net.assert_same_chain(&[0, 1, 2, 3]);
}

/// A proposer that re-signs its own proposal (a second valid signature over the same bytes) is
/// not equivocating: no evidence is made of it, and the chain does not stall.
#[test]
fn resigned_proposals_are_not_evidence_and_do_not_stall_the_chain() {
    for seed in [1, 2, 3] {
        let g = genesis(&[1, 2, 3, 4], &[]);
        let mut net = Net::new(seed, g, (1..=4).map(|s| Some([s; 32])).collect());
        net.attacks.insert(0, Attack::ResignProposals);
        net.boot_all();
        net.run_until(60_000, "30 blocks on every node", |n| n.first_at(4, 30));
        net.assert_same_chain(&[0, 1, 2, 3]);
        for (i, n) in net.nodes.iter().enumerate() {
            assert!(
                !n.events.iter().any(|e| matches!(e, Event::Evidence { .. })),
                "seed {seed}: node {i} made evidence of a re-signed proposal"
            );
            assert!(n
                .store
                .commits
                .iter()
                .all(|c| block_of(c).evidence.is_empty()));
        }
    }
}

/// A proposer that times its blocks at `u64::MAX` would leave no later time for any child
/// block. Such a block is invalid (too far ahead of the validators' clocks), the round moves
/// to the next proposer, and every committed time stays within the bound of real time.
#[test]
fn a_block_timed_at_the_end_of_time_is_refused_and_the_chain_goes_on() {
    for seed in [1, 2] {
        let g = genesis(&[1, 2, 3, 4], &[]);
        let mut net = Net::new(seed, g, (1..=4).map(|s| Some([s; 32])).collect());
        net.attacks.insert(0, Attack::MaxBlockTime);
        net.boot_all();
        net.run_until(60_000, "20 blocks on every node", |n| n.first_at(4, 20));
        net.assert_same_chain(&[0, 1, 2, 3]);
        let proposer0 = ValidatorId(key(1).verifying_key().to_bytes());
        let ahead = netwright_consensus::config::DEFAULT_MAX_BLOCK_TIME_AHEAD_MS;
        for c in &net.nodes[1].store.commits {
            let b = block_of(c);
            assert!(
                b.header.time_ms <= net.now + ahead,
                "block {} time",
                c.height
            );
            assert_ne!(
                b.header.proposer, proposer0,
                "the forger's blocks never commit"
            );
        }
    }
}

/// A proposer that signs two different blocks for one round is caught: every honest node
/// makes the same evidence, and it ends up in a committed block.
#[test]
fn equivocating_proposer_is_caught_and_its_evidence_is_committed() {
    let g = genesis(&[1, 2, 3, 4], &[]);
    let mut net = Net::new(4, g.clone(), (1..=4).map(|s| Some([s; 32])).collect());
    net.attacks.insert(0, Attack::EquivocateProposals);
    net.boot_all();
    net.run_until(60_000, "20 blocks on every node", |n| n.first_at(4, 20));
    // Give evidence made in the last heights time to be proposed.
    let stop_at = net.tip(1) + 6;
    net.run_until(60_000, "6 more blocks", |n| n.first_at(4, stop_at));
    net.assert_same_chain(&[0, 1, 2, 3]);
    let offender = ValidatorId(key(1).verifying_key().to_bytes());
    let committed: Vec<Evidence> = net.nodes[1]
        .store
        .commits
        .iter()
        .flat_map(|c| block_of(c).evidence)
        .collect();
    assert!(!committed.is_empty(), "evidence is committed");
    for e in &committed {
        assert_eq!(e.offender(), offender);
        assert!(matches!(e, Evidence::DuplicateProposal { .. }));
        assert_eq!(
            e.verify(&g.chain_id, &netwright_consensus::Ed25519Verifier),
            Ok(())
        );
    }
    for i in 1..4 {
        let caught: Vec<u64> = net.nodes[i]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Evidence {
                    offender: o,
                    height,
                } if *o == offender.0 => Some(*height),
                _ => None,
            })
            .collect();
        assert!(!caught.is_empty(), "node {i} caught the equivocation");
        for h in caught.iter().filter(|h| **h + 3 < stop_at) {
            assert!(
                committed.iter().any(|e| e.height() == *h),
                "node {i}'s evidence of height {h} is in a block"
            );
        }
    }
}
