//! The driver: one consensus machine, the committed ledger, the mempool, the evidence pool and
//! block sync, composed as a deterministic state machine. See `docs/driver.md`.

use std::collections::{BTreeMap, VecDeque};

use netwright_consensus::encoding::{hash_domain, Domain};
use netwright_consensus::{
    Block, BlockContent, CommitCertificate, Config as ConsensusConfig, ConsensusMessage,
    Ed25519Verifier, Effect, Evidence, HeightContext, Input as CInput, Machine, SignatureVerifier,
    Signer, ValidatorId, ValidatorSet, WalRecord,
};
use netwright_ledger::{
    AccountView, Address, BlockOutcome, Genesis, Hash, KeyCache, Ledger, PublicKey, ValidatorView,
    WriteSet,
};

use crate::app::{consensus_set, genesis_hash, ExecCache, ExecKey};
use crate::codec::{decode, encode};
use crate::config::DriverConfig;
use crate::error::DriverError;
use crate::io::{
    Command, Commit, CommittedState, Event, Ignored, Input, Reaction, Restore, TxOrigin, Verdict,
};
use crate::pool::TxPool;
use crate::status::{OwnValidator, Status};
use crate::sync::SyncTracker;

/// Seed of the key a full node without a validator key runs consensus with. Its messages are
/// never persisted nor sent: the node only follows the chain.
const OBSERVER_SEED_DOMAIN: &[u8] = b"netwright/driver/observer/v1";

/// Largest stored context or WAL record decoded on restart (own storage, still bounded).
const MAX_STORED_RECORD: usize = 256 * 1024 * 1024;

/// A decided block waiting for the runtime to store it.
struct Pending {
    height: u64,
    block: Block,
    /// The block's transactions as executed, in block order: hash and sender (when they decode).
    committed: Vec<(Hash, Option<Address>)>,
    ledger: Ledger,
    next_validators: Option<ValidatorSet>,
    next_ctx: HeightContext,
    event: Event,
}

/// A committed height whose successor waits for the commit pause to end.
struct Paused {
    height: u64,
    next_validators: Option<ValidatorSet>,
    next_ctx: HeightContext,
}

/// The deterministic heart of a node. Feed it [`Input`]s with the current time; carry out the
/// returned [`Command`]s in order.
///
/// `V` checks consensus signatures: the node uses [`Ed25519Verifier`]; the simulator shares
/// one caching verifier (same verdicts) among its simulated nodes.
pub struct Driver<V: SignatureVerifier = Ed25519Verifier> {
    config: DriverConfig,
    machine: Machine<V>,
    observer: bool,
    ledger: Ledger,
    exec: ExecCache,
    pool: TxPool,
    evidence: BTreeMap<[u8; 32], Evidence>,
    sync: SyncTracker,
    pending: Option<Pending>,
    paused: Option<Paused>,
    /// The genesis state, until the first commit carries it to storage.
    genesis_state: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    last_commit_ms: Option<u64>,
    /// When the current height started (local time), for `block_interval_ms`.
    height_started_ms: Option<u64>,
    syncing: bool,
}

impl<V: SignatureVerifier> std::fmt::Debug for Driver<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("height", &self.machine.height())
            .field("round", &self.machine.round())
            .field("observer", &self.observer)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Builds a driver from the genesis document, this node's ed25519 secret seed (`None` for
    /// a full node that only follows the chain) and what storage holds.
    pub fn new(
        genesis: &Genesis,
        signing_key: Option<[u8; 32]>,
        restore: Restore,
        config: DriverConfig,
    ) -> Result<Driver, DriverError> {
        let mut consensus = ConsensusConfig::new(genesis.chain_id.clone());
        consensus.timeouts = config.timeouts;
        Driver::with_consensus(
            genesis,
            signing_key,
            restore,
            config,
            consensus,
            Ed25519Verifier,
        )
    }
}

impl<V: SignatureVerifier> Driver<V> {
    /// Like [`Driver::new`], with the consensus machine's whole configuration and signature
    /// verifier given. `consensus.chain_id` must be the genesis chain id; its timeouts are
    /// used instead of `config.timeouts`.
    pub fn with_consensus(
        genesis: &Genesis,
        signing_key: Option<[u8; 32]>,
        restore: Restore,
        config: DriverConfig,
        consensus: ConsensusConfig,
        verifier: V,
    ) -> Result<Driver<V>, DriverError> {
        if consensus.chain_id != genesis.chain_id {
            return Err(DriverError::BadContext(format!(
                "consensus chain id {:?} differs from the genesis chain id {:?}",
                consensus.chain_id, genesis.chain_id
            )));
        }
        let genesis_ledger = Ledger::from_genesis(genesis)?;
        let (ledger, ctx, genesis_state) = match restore.committed {
            None => {
                let set = consensus_set(&genesis_ledger)?;
                let hash = genesis_hash(&genesis_ledger, genesis.initial_height);
                let mut ctx = HeightContext::genesis(set, hash, genesis.genesis_time_ms);
                ctx.height = genesis.initial_height;
                let state = genesis_ledger.snapshot();
                (genesis_ledger, ctx, Some(state))
            }
            Some(c) => {
                let (ledger, ctx) = restore_committed(genesis, c)?;
                (ledger, ctx, None)
            }
        };
        let mut wal = Vec::with_capacity(restore.wal.len());
        for (index, bytes) in restore.wal.iter().enumerate() {
            let record: WalRecord =
                decode(bytes, MAX_STORED_RECORD, "wal record").map_err(|e| {
                    DriverError::BadWalRecord {
                        index,
                        reason: e.to_string(),
                    }
                })?;
            wal.push(record);
        }
        let (signer, observer) = match signing_key {
            Some(seed) => (Signer::from_seed(seed), false),
            None => (
                Signer::from_seed(*blake3::hash(OBSERVER_SEED_DOMAIN).as_bytes()),
                true,
            ),
        };
        let machine = Machine::new(consensus, signer, verifier, ctx, &wal)
            .map_err(|e| DriverError::BadContext(e.to_string()))?;
        Ok(Driver {
            exec: ExecCache::new(config.max_exec_cache),
            pool: TxPool::new(config.mempool),
            sync: SyncTracker::new(
                config.sync_retry_ms,
                config.sync_grace_ms,
                config.max_sync_blocks,
                config.max_sync_buffer,
            ),
            config,
            machine,
            observer,
            ledger,
            evidence: BTreeMap::new(),
            pending: None,
            paused: None,
            genesis_state,
            last_commit_ms: None,
            height_started_ms: None,
            syncing: false,
        })
    }

    /// Starts consensus at the restored height (optional: the first `handle` starts it too).
    pub fn start(&mut self, now_ms: u64) -> Result<Reaction, DriverError> {
        let mut out = Vec::new();
        self.height_started_ms = Some(now_ms);
        let effects = self.machine.start(now_ms);
        self.run(now_ms, effects, &mut out)?;
        Ok(Reaction {
            verdicts: vec![Verdict::Accepted],
            commands: out,
        })
    }

    /// Processes one input at local time `now_ms`. An `Err` refused the input and changed
    /// nothing, unless [`DriverError::is_fatal`]: then the node must stop.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Result<Reaction, DriverError> {
        let mut out = Vec::new();
        let verdicts = match input {
            Input::ConsensusMessage { bytes } => vec![self.on_message(now_ms, &bytes, &mut out)?],
            Input::Txs { txs, origin } => {
                let verdicts = self.pool.admit(&self.ledger, &txs);
                if origin == TxOrigin::Local {
                    for (tx, v) in txs.into_iter().zip(&verdicts) {
                        if *v == Verdict::Accepted {
                            out.push(Command::GossipTx { bytes: tx });
                        }
                    }
                }
                verdicts
            }
            Input::PreparedTxs { txs, origin } => {
                let gossip: Vec<Vec<u8>> = if origin == TxOrigin::Local {
                    txs.iter().map(|t| t.bytes().to_vec()).collect()
                } else {
                    Vec::new()
                };
                let verdicts = self.pool.admit_prepared(&self.ledger, txs);
                for (tx, v) in gossip.into_iter().zip(&verdicts) {
                    if *v == Verdict::Accepted {
                        out.push(Command::GossipTx { bytes: tx });
                    }
                }
                verdicts
            }
            Input::Timer(t) => {
                let effects = self
                    .machine
                    .handle(now_ms, CInput::Timeout(t))
                    .map_err(|e| DriverError::Internal(format!("timer refused: {e}")))?;
                self.run(now_ms, effects, &mut out)?;
                vec![Verdict::Accepted]
            }
            Input::SyncedBlock { block, certificate } => {
                vec![self.on_synced(now_ms, &block, &certificate, &mut out)?]
            }
            Input::PeerHeight { height } => {
                self.sync
                    .note_committed(now_ms, height, self.machine.height());
                vec![Verdict::Accepted]
            }
            Input::Committed { height } => {
                self.on_committed(now_ms, height, &mut out)?;
                vec![Verdict::Accepted]
            }
            Input::StartNext { height } => {
                if self.paused.as_ref().is_some_and(|p| p.height == height) {
                    self.start_next(now_ms, &mut out)?;
                }
                vec![Verdict::Accepted]
            }
        };
        self.maybe_request_sync(now_ms, &mut out);
        Ok(Reaction {
            verdicts,
            commands: out,
        })
    }

    // ----- inputs ---------------------------------------------------------------------------

    fn on_message(
        &mut self,
        now_ms: u64,
        bytes: &[u8],
        out: &mut Vec<Command>,
    ) -> Result<Verdict, DriverError> {
        let msg: ConsensusMessage =
            match decode(bytes, self.config.max_message_bytes(), "consensus message") {
                Ok(m) => m,
                Err(e) => return Ok(Verdict::Rejected(e.to_string())),
            };
        let (h, cur) = (msg.height(), self.machine.height());
        if h > cur {
            self.sync.note_committed(now_ms, h - 1, cur);
        }
        if h < cur {
            return Ok(Verdict::Ignored(Ignored::NotNow(format!(
                "consensus message for height {h}; this node decides {cur}"
            ))));
        }
        if h > cur + 1 {
            return Ok(Verdict::Ignored(Ignored::NotNow(format!(
                "consensus message for height {h}; this node decides {cur} and syncs"
            ))));
        }
        match self.machine.handle(now_ms, CInput::Message(msg)) {
            Err(e) => Ok(Verdict::Rejected(e.to_string())),
            Ok(effects) => {
                self.run(now_ms, effects, out)?;
                Ok(if h == cur {
                    Verdict::Accepted
                } else {
                    Verdict::Ignored(Ignored::NotNow(format!(
                        "consensus message for height {h} kept until this node decides {cur}"
                    )))
                })
            }
        }
    }

    fn on_synced(
        &mut self,
        now_ms: u64,
        block: &[u8],
        certificate: &[u8],
        out: &mut Vec<Command>,
    ) -> Result<Verdict, DriverError> {
        let block: Block =
            match decode(block, self.config.max_block_encoded_bytes(), "synced.block") {
                Ok(b) => b,
                Err(e) => return Ok(Verdict::Rejected(e.to_string())),
            };
        let cert: CommitCertificate = match decode(
            certificate,
            self.config.max_certificate_bytes(),
            "synced.certificate",
        ) {
            Ok(c) => c,
            Err(e) => return Ok(Verdict::Rejected(e.to_string())),
        };
        let (h, hash) = (block.header.height, block.hash());
        if cert.height != h || cert.block_hash != hash {
            return Ok(Verdict::Rejected(format!(
                "synced.certificate: certifies height {} block {}, but the block is height {h} hash {hash}",
                cert.height, cert.block_hash
            )));
        }
        let cur = self.machine.height();
        self.sync.note_committed(now_ms, h, cur);
        if h < cur || (h == cur && (self.pending.is_some() || self.paused.is_some())) {
            return Ok(Verdict::Ignored(Ignored::NotNow(format!(
                "synced block {h} is already decided here"
            ))));
        }
        if h > cur {
            return Ok(if self.sync.buffer(cur, block, cert) {
                Verdict::Accepted
            } else {
                Verdict::Ignored(Ignored::Full(format!(
                    "synced block {h} is beyond the sync buffer (deciding {cur})"
                )))
            });
        }
        self.feed_synced(now_ms, block, cert, out)
    }

    /// Hands a synced block of the current height to consensus, which verifies the certificate
    /// against the height's validator set before deciding it.
    fn feed_synced(
        &mut self,
        now_ms: u64,
        block: Block,
        certificate: CommitCertificate,
        out: &mut Vec<Command>,
    ) -> Result<Verdict, DriverError> {
        match self
            .machine
            .handle(now_ms, CInput::Synced { block, certificate })
        {
            Err(e) => Ok(Verdict::Rejected(e.to_string())),
            Ok(effects) => {
                self.syncing = true;
                let r = self.run(now_ms, effects, out);
                self.syncing = false;
                r?;
                Ok(Verdict::Accepted)
            }
        }
    }

    fn on_committed(
        &mut self,
        now_ms: u64,
        height: u64,
        out: &mut Vec<Command>,
    ) -> Result<(), DriverError> {
        let expected = self.pending.as_ref().map(|p| p.height);
        let Some(p) = self.pending.take_if(|p| p.height == height) else {
            return Err(DriverError::UnexpectedCommitted {
                got: height,
                expected,
            });
        };
        self.ledger = p.ledger;
        self.genesis_state = None;
        self.exec.clear();
        self.pool.after_commit(&self.ledger, &p.committed);
        for e in &p.block.evidence {
            self.evidence.remove(&hash_domain(Domain::Evidence, e));
        }
        let synced = matches!(p.event, Event::Committed { synced: true, .. });
        let event = match p.event {
            Event::Committed {
                height,
                rounds,
                txs,
                failed_txs,
                block_interval_ms,
                synced,
                ..
            } => Event::Committed {
                height,
                rounds,
                txs,
                failed_txs,
                block_interval_ms,
                commit_interval_ms: self.last_commit_ms.map(|t| now_ms.saturating_sub(t)),
                synced,
            },
            other => other,
        };
        self.last_commit_ms = Some(now_ms);
        out.push(Command::Event(event));
        out.push(Command::PruneWal {
            below_height: height + 1,
        });
        self.paused = Some(Paused {
            height,
            next_validators: p.next_validators,
            next_ctx: p.next_ctx,
        });
        let interval_left = self
            .height_started_ms
            .map(|started| {
                started
                    .saturating_add(self.config.block_interval_ms)
                    .saturating_sub(now_ms)
            })
            .unwrap_or(0);
        let pause = self.config.commit_pause_ms.max(interval_left);
        if pause == 0 || synced || self.sync.catching_up(height + 1) {
            self.start_next(now_ms, out)
        } else {
            out.push(Command::ScheduleStart {
                height,
                after_ms: pause,
            });
            Ok(())
        }
    }

    /// Ends the commit pause: hands consensus the decision's acknowledgement with the next
    /// validator set, so that it starts the next height, and feeds a buffered synced block.
    fn start_next(&mut self, now_ms: u64, out: &mut Vec<Command>) -> Result<(), DriverError> {
        let Some(p) = self.paused.take() else {
            return Ok(());
        };
        let height = p.height;
        let effects = self
            .machine
            .handle(
                now_ms,
                CInput::DecideAck {
                    height,
                    next_validators: p.next_validators,
                },
            )
            .map_err(|e| DriverError::Internal(format!("decide ack refused: {e}")))?;
        if self.machine.context() != &p.next_ctx {
            return Err(DriverError::Internal(format!(
                "consensus context of height {} differs from the committed one",
                height + 1
            )));
        }
        self.height_started_ms = Some(now_ms);
        self.sync.advance(now_ms, self.machine.height());
        self.run(now_ms, effects, out)?;
        if self.pending.is_none() {
            if let Some((block, cert)) = self.sync.take(self.machine.height()) {
                // A buffered block that fails now is dropped; sync asks again.
                let _ = self.feed_synced(now_ms, block, cert, out)?;
            }
        }
        Ok(())
    }

    fn maybe_request_sync(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        let next_needed = match (&self.pending, &self.paused) {
            (Some(p), _) => p.height + 1,
            (None, Some(p)) => p.height + 1,
            (None, None) => self.machine.height(),
        };
        if let Some((from, to)) = self.sync.request(now_ms, next_needed) {
            out.push(Command::RequestSync { from, to });
            out.push(Command::Event(Event::SyncRequested { from, to }));
        }
    }

    // ----- consensus effects ----------------------------------------------------------------

    /// Carries out consensus effects in order, answering the application requests (block
    /// content, validity) at once with the same time, so that the proposer's header time is the
    /// one its execution used.
    fn run(
        &mut self,
        now_ms: u64,
        effects: Vec<Effect>,
        out: &mut Vec<Command>,
    ) -> Result<(), DriverError> {
        let mut answers: VecDeque<CInput> = VecDeque::new();
        let mut batch = effects;
        loop {
            for effect in batch {
                match effect {
                    Effect::PersistWal(record) => {
                        if !self.observer {
                            out.push(Command::PersistWal {
                                height: record.height(),
                                record: encode(&record),
                            });
                        }
                    }
                    Effect::Broadcast(msg) => {
                        if !(self.observer && msg.signer() == self.machine.id()) {
                            out.push(Command::Broadcast {
                                height: msg.height(),
                                bytes: encode(&msg),
                            });
                        }
                    }
                    Effect::ScheduleTimeout {
                        timeout,
                        duration_ms,
                    } => out.push(Command::ScheduleTimer {
                        timer: timeout,
                        after_ms: duration_ms,
                    }),
                    Effect::RequestBlock { height, round, .. } => {
                        let content = self.build_block(now_ms, height, round)?;
                        answers.push_back(CInput::BlockContent(content));
                    }
                    Effect::RequestValidation { block } => {
                        let valid = self.validate(&block);
                        answers.push_back(CInput::Validity {
                            height: block.header.height,
                            block_hash: block.hash(),
                            valid,
                        });
                    }
                    Effect::Decide { block, certificate } => {
                        self.prepare_commit(block, certificate, out)?;
                    }
                    Effect::Evidence(e) => {
                        out.push(Command::Event(Event::Evidence {
                            offender: e.offender().0,
                            height: e.height(),
                        }));
                        if self.evidence.len() < self.config.max_evidence_pool {
                            self.evidence.insert(hash_domain(Domain::Evidence, &e), e);
                        }
                    }
                }
            }
            let Some(answer) = answers.pop_front() else {
                return Ok(());
            };
            batch = self
                .machine
                .handle(now_ms, answer)
                .map_err(|e| DriverError::Internal(format!("application answer refused: {e}")))?;
        }
    }

    /// The payload of a block this validator proposes: mempool transactions and pending
    /// evidence, with the state root after executing them at the header's time.
    fn build_block(
        &mut self,
        now_ms: u64,
        height: u64,
        round: u32,
    ) -> Result<BlockContent, DriverError> {
        let time_ms = now_ms.max(self.machine.context().parent_time_ms.saturating_add(1));
        let max_txs = self
            .config
            .max_block_txs
            .min(self.ledger.params().max_txs_per_block as usize);
        let txs = self.pool.reap(max_txs, self.config.max_block_bytes);
        let evidence: Vec<Evidence> = self
            .evidence
            .values()
            .take(self.config.max_evidence_per_block)
            .cloned()
            .collect();
        let key = ExecKey::new(height, time_ms, &txs);
        let root = self
            .exec
            .execute(&self.ledger, key, &txs, &self.pool)
            .map_err(|e| DriverError::Internal(format!("own proposal at {height}: {e}")))?;
        Ok(BlockContent {
            height,
            round,
            txs,
            state_root: root,
            evidence,
        })
    }

    /// A proposed block is valid when the ledger accepts its header (height, time, size) and
    /// executing it gives the state root its header claims.
    fn validate(&mut self, block: &Block) -> bool {
        let key = ExecKey::of_checked_block(&block.header);
        match self.exec.execute(&self.ledger, key, &block.txs, &self.pool) {
            Ok(root) => root == block.header.state_root,
            Err(_) => false,
        }
    }

    fn prepare_commit(
        &mut self,
        block: Block,
        cert: CommitCertificate,
        out: &mut Vec<Command>,
    ) -> Result<(), DriverError> {
        let height = block.header.height;
        let key = ExecKey::of_checked_block(&block.header);
        let (ledger, outcome) = self
            .exec
            .take(&self.ledger, key, &block.txs, &self.pool)
            .map_err(|source| DriverError::DecidedBlockRejected { height, source })?;
        if outcome.state_root.0 != block.header.state_root {
            return Err(DriverError::StateRootMismatch {
                height,
                header: hex::encode(block.header.state_root),
                computed: outcome.state_root.to_string(),
            });
        }
        let ctx = self.machine.context();
        let next_validators = if outcome.validator_updates.is_empty() {
            None
        } else {
            Some(consensus_set(&ledger)?)
        };
        let next_ctx = ctx.next(&block, next_validators.clone())?;
        let BlockOutcome {
            tx_results,
            write_set,
            state_root,
            ..
        } = outcome;
        let write_set = match &self.genesis_state {
            Some(genesis) => with_genesis(genesis, write_set),
            None => write_set,
        };
        let committed = tx_results.iter().map(|r| (r.hash, r.sender)).collect();
        let event = Event::Committed {
            height,
            rounds: cert.round.saturating_add(1),
            txs: block.txs.len(),
            failed_txs: tx_results.iter().filter(|r| r.result.is_err()).count(),
            block_interval_ms: block.header.time_ms.saturating_sub(ctx.parent_time_ms),
            commit_interval_ms: None,
            synced: self.syncing,
        };
        let commit = Commit {
            height,
            round: cert.round,
            block_hash: block.hash().0,
            time_ms: block.header.time_ms,
            block: encode(&block),
            certificate: encode(&cert),
            state_root: state_root.0,
            write_set,
            next_context: encode(&next_ctx),
            next_validators: encode(&next_ctx.validators),
            validators_changed: next_ctx.validators != ctx.validators,
            tx_results,
        };
        out.push(Command::Commit(Box::new(commit)));
        self.pending = Some(Pending {
            height,
            block,
            committed,
            ledger,
            next_validators,
            next_ctx,
            event,
        });
        Ok(())
    }

    // ----- queries --------------------------------------------------------------------------

    /// The mempool's decompressed sender keys, shared with whoever decodes transactions for
    /// it outside the driver.
    pub fn key_cache(&self) -> KeyCache {
        self.pool.key_cache()
    }

    /// Progress and identity, for `GET /status`.
    pub fn status(&self) -> Status {
        // During the commit pause the next height's context is already known.
        let ctx = self
            .paused
            .as_ref()
            .map_or(self.machine.context(), |p| &p.next_ctx);
        let cur = ctx.height;
        let validator = (!self.observer).then(|| {
            let id = self.machine.id();
            let power = ctx.validators.power_of(&id);
            OwnValidator {
                public_key: hex::encode(id.0),
                address: PublicKey::from_bytes(id.0)
                    .map(|k| Address::from_public_key(&k).to_string())
                    .unwrap_or_default(),
                power: power.unwrap_or(0),
                in_set: power.is_some(),
            }
        });
        Status {
            chain_id: self.ledger.chain_id().to_string(),
            height: self.ledger.height(),
            latest_block_hash: hex::encode(ctx.parent_hash.0),
            latest_block_time_ms: self.ledger.time_ms(),
            state_root: self.ledger.state_root().to_string(),
            consensus_height: cur,
            round: if self.paused.is_some() {
                0
            } else {
                self.machine.round()
            },
            catching_up: self.sync.catching_up(cur),
            best_known_height: self.sync.best_committed(),
            commit_pending: self.pending.is_some(),
            mempool_txs: self.pool.len(),
            mempool_bytes: self.pool.bytes(),
            validator,
        }
    }

    /// Last committed height (`initial_height - 1` before the first block).
    pub fn height(&self) -> u64 {
        self.ledger.height()
    }

    /// The committed validators (stake and power), for `GET /validators`.
    pub fn validators(&self) -> Vec<ValidatorView> {
        self.ledger.validators()
    }

    /// The validator set deciding the current height.
    pub fn consensus_validators(&self) -> &ValidatorSet {
        &self.machine.context().validators
    }

    /// An account in the committed state, for `GET /accounts/{addr}`.
    pub fn account(&self, address: &Address) -> AccountView {
        self.ledger.account(address)
    }

    /// The committed ledger (read only).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// This node's consensus key (the observer key for a full node without one).
    pub fn key(&self) -> ValidatorId {
        self.machine.id()
    }

    /// The consensus machine (read only): its height, round and step, for checks from outside
    /// such as the simulator's bound on per-message work.
    pub fn machine(&self) -> &Machine<V> {
        &self.machine
    }
}

/// Rebuilds the ledger and the next height's context from storage and checks they agree.
fn restore_committed(
    genesis: &Genesis,
    c: CommittedState,
) -> Result<(Ledger, HeightContext), DriverError> {
    let ledger = Ledger::from_snapshot(c.state, &Hash(c.state_root))?;
    let bad = |reason: String| DriverError::BadContext(reason);
    if ledger.chain_id() != genesis.chain_id {
        return Err(bad(format!(
            "stored chain id {:?} differs from the genesis chain id {:?}",
            ledger.chain_id(),
            genesis.chain_id
        )));
    }
    let ctx: HeightContext = decode(&c.next_context, MAX_STORED_RECORD, "next_context")
        .map_err(|e| bad(e.to_string()))?;
    ctx.check().map_err(|e| bad(e.to_string()))?;
    if ctx.height != ledger.height() + 1 {
        return Err(bad(format!(
            "height {} does not follow the stored state's height {}",
            ctx.height,
            ledger.height()
        )));
    }
    if ctx.parent_hash.0 != c.block_hash {
        return Err(bad(format!(
            "parent_hash {} differs from the last block hash {}",
            ctx.parent_hash,
            hex::encode(c.block_hash)
        )));
    }
    if ctx.parent_time_ms != ledger.time_ms() {
        return Err(bad(format!(
            "parent_time_ms {} differs from the stored last block time {}",
            ctx.parent_time_ms,
            ledger.time_ms()
        )));
    }
    if ctx.validators != consensus_set(&ledger)? {
        return Err(bad(
            "validators differ from the validator set of the stored state".into(),
        ));
    }
    Ok((ledger, ctx))
}

/// The genesis state overlaid with the first block's writes: applied to an empty store it gives
/// the state after the first block.
fn with_genesis(genesis: &[(Vec<u8>, Vec<u8>)], block: WriteSet) -> WriteSet {
    let mut all: BTreeMap<Vec<u8>, Option<Vec<u8>>> = genesis
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    for (k, v) in block.entries {
        all.insert(k, v);
    }
    WriteSet {
        entries: all.into_iter().collect(),
    }
}
