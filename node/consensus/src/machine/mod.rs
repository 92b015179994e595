//! The consensus state machine (Buchman, Kwon, Milosevic 2018), stake weighted and sans-IO.
//!
//! The host calls [`Machine::start`] once and then [`Machine::handle`] for every input, and
//! carries out the returned effects in order. Effects are data; the machine never touches
//! sockets, clocks, files, threads or randomness. Time arrives as the `now_ms` argument.
//!
//! The machine is laid out the way the paper reads: the round transitions (the upon-rules,
//! re-evaluated after every input until nothing changes) in one place, and one handler per
//! kind of input beside it.
//!
//! - this module: the [`Machine`] type, [`Machine::handle`]'s dispatch, thresholds and the
//!   checks shared by several handlers;
//! - `io`: [`Input`], [`Effect`], [`Timeout`], [`BlockContent`] and [`InputError`];
//! - `round`: round transitions and the upon-rules (rules 22 to 49), deciding;
//! - `signing`: votes and proposals signed through the write-ahead signing records;
//! - `proposal`: proposals from the network, block content from the application, and the
//!   application's validity verdicts;
//! - `vote`: votes from the network;
//! - `timeout`: timers, scheduled and expired;
//! - `sync`: decided blocks obtained by block sync;
//! - `height`: the application's acknowledgement of a decision, and the next height;
//! - `restore`: restart from the WAL (own signatures and the recorded lock).

use crate::block::Block;
use crate::certificate::CommitCertificate;
use crate::config::Config;
use crate::context::{ContextError, HeightContext};
use crate::crypto::{Ed25519Verifier, SignatureVerifier, Signer};
use crate::evidence::Evidence;
use crate::keeper::VoteKeeper;
use crate::messages::{ConsensusMessage, SignedProposal};
use crate::proposer;
use crate::types::{BlockHash, Height, Round, Step, ValidatorId};
use crate::wal::{SigningRecords, WalRecord};
use std::collections::{BTreeMap, BTreeSet};

/// Whether the deliberately broken protocol variant `Mutation::$variant` is active; always
/// false unless the `fault-injection` feature is on.
macro_rules! broken {
    ($machine:ident, $variant:ident) => {{
        #[cfg(feature = "fault-injection")]
        let active = $machine.config.mutation == crate::config::Mutation::$variant;
        #[cfg(not(feature = "fault-injection"))]
        let active = false;
        active
    }};
}

mod height;
mod io;
mod proposal;
mod restore;
mod round;
mod signing;
mod sync;
mod timeout;
mod vote;

pub use io::{BlockContent, Effect, Input, InputError, Timeout};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Trigger {
    PrevoteWait,
    PrecommitWait,
    LockOrValid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Validity {
    Pending,
    Valid,
    Invalid,
}

/// One validator's consensus state machine.
pub struct Machine<V: SignatureVerifier = Ed25519Verifier> {
    config: Config,
    signer: Signer,
    verifier: V,
    ctx: HeightContext,
    valset_hash: [u8; 32],
    proposers: proposer::Schedule,
    round: Round,
    step: Step,
    locked: Option<(Round, BlockHash)>,
    valid: Option<(Round, BlockHash)>,
    blocks: BTreeMap<BlockHash, Block>,
    validity: BTreeMap<BlockHash, Validity>,
    proposals: BTreeMap<Round, SignedProposal>,
    /// Every verified proposal by a round's designated proposer (an equivocating proposer may
    /// have several per round), by (round, block).
    proposed: BTreeMap<(Round, BlockHash), SignedProposal>,
    keeper: VoteKeeper,
    own: SigningRecords,
    fired: BTreeSet<(Round, Trigger)>,
    decision: Option<(Block, CommitCertificate)>,
    next_height: Vec<ConsensusMessage>,
    evidence_sent: BTreeSet<[u8; 32]>,
    started: bool,
}

type Fx = Vec<Effect>;

impl<V: SignatureVerifier> Machine<V> {
    /// A machine for `ctx.height`, recovering its own signatures of that height from `wal`
    /// (pass every record the runtime holds; other heights are ignored).
    pub fn new(
        config: Config,
        signer: Signer,
        verifier: V,
        ctx: HeightContext,
        wal: &[WalRecord],
    ) -> Result<Self, ContextError> {
        ctx.check()?;
        #[cfg(feature = "fault-injection")]
        let wal = if config.mutation == crate::config::Mutation::IgnoreSigningRecords {
            &[]
        } else {
            wal
        };
        let own = SigningRecords::from_wal(ctx.height, wal);
        let proposers = proposer::Schedule::new(&ctx.priorities);
        let mut m = Machine {
            config,
            signer,
            verifier,
            valset_hash: ctx.validators.hash(),
            keeper: VoteKeeper::new(ctx.validators.len()),
            ctx,
            proposers,
            round: own.max_round().unwrap_or(0),
            step: Step::Propose,
            locked: None,
            valid: None,
            blocks: BTreeMap::new(),
            validity: BTreeMap::new(),
            proposals: BTreeMap::new(),
            proposed: BTreeMap::new(),
            own,
            fired: BTreeSet::new(),
            decision: None,
            next_height: Vec::new(),
            evidence_sent: BTreeSet::new(),
            started: false,
        };
        m.locked = m.own.lock();
        m.absorb_own_records();
        Ok(m)
    }

    /// Starts the current round (the round recovered from the WAL, else 0). Call once.
    pub fn start(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.started {
            self.started = true;
            self.start_round(self.round, now_ms, &mut fx);
            self.evaluate(now_ms, &mut fx);
        }
        fx
    }

    /// Processes one input at time `now_ms`. On error nothing changed.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Result<Vec<Effect>, InputError> {
        let mut fx = Vec::new();
        if !self.started {
            fx = self.start(now_ms);
        }
        match input {
            Input::Message(m) => self.on_message(now_ms, m, &mut fx)?,
            Input::Timeout(t) => self.on_timeout(now_ms, t, &mut fx),
            Input::BlockContent(c) => self.on_block_content(now_ms, c, &mut fx),
            Input::Validity {
                height,
                block_hash,
                valid,
            } => self.on_validity(height, block_hash, valid),
            Input::Synced { block, certificate } => self.on_synced(block, certificate, &mut fx)?,
            Input::DecideAck {
                height,
                next_validators,
            } => self.on_ack(now_ms, height, next_validators, &mut fx)?,
        }
        self.evaluate(now_ms, &mut fx);
        Ok(fx)
    }

    /// Current height.
    pub fn height(&self) -> Height {
        self.ctx.height
    }

    /// Current round.
    pub fn round(&self) -> Round {
        self.round
    }

    /// Current step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The current height's context (persist it at each height boundary).
    pub fn context(&self) -> &HeightContext {
        &self.ctx
    }

    /// The lock (lockedRound, lockedValue), if any.
    pub fn locked(&self) -> Option<(Round, BlockHash)> {
        self.locked
    }

    /// This machine's validator key.
    pub fn id(&self) -> ValidatorId {
        self.signer.id()
    }

    /// The designated proposer of `round` at the current height, or `None` for a round beyond
    /// the window the machine accepts messages for (its round plus `future_rounds`).
    pub fn proposer(&mut self, round: Round) -> Option<ValidatorId> {
        if round > self.round.saturating_add(self.config.future_rounds) {
            return None;
        }
        let index = self.proposers.proposer(&self.ctx.validators, round);
        Some(self.ctx.validators.validators()[index].id)
    }

    /// Rounds of the current height whose proposer has been computed: what the proposer
    /// schedule holds in memory. It never exceeds the round plus `future_rounds` plus one, so
    /// a host (or the simulator) can check that no message made the machine do per-round work
    /// beyond its window.
    pub fn computed_proposer_rounds(&self) -> usize {
        self.proposers.computed_rounds()
    }

    fn is_quorum(&self, power: u64) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            use crate::config::Mutation;
            let total = self.ctx.validators.total_power() as u128;
            let p = power as u128;
            match self.config.mutation {
                Mutation::QuorumTwoThirdsInclusive => return p * 3 >= total * 2,
                Mutation::QuorumMajority => return p * 2 > total,
                _ => {}
            }
        }
        self.ctx.validators.is_quorum(power)
    }

    fn is_validator(&self) -> Option<usize> {
        self.ctx.validators.index_of(&self.signer.id())
    }

    fn on_message(
        &mut self,
        now_ms: u64,
        m: ConsensusMessage,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        let h = m.height();
        if h == self.ctx.height + 1 {
            if self.next_height.len() < self.config.max_buffered_next_height {
                self.next_height.push(m);
            }
            return Ok(());
        }
        if h != self.ctx.height || self.step == Step::Decided {
            return Ok(());
        }
        match m {
            ConsensusMessage::Vote(v) => self.on_vote(v, fx),
            ConsensusMessage::Proposal { proposal, block } => {
                self.on_proposal(now_ms, proposal, block, fx)
            }
        }
    }

    /// Emits evidence once, and only evidence that proves equivocation: a host pools what it
    /// gets and puts it in blocks, and a block with evidence that does not verify is invalid.
    fn emit_evidence(&mut self, e: Evidence, fx: &mut Fx) {
        if !broken!(self, EvidenceUnchecked)
            && e.verify(&self.config.chain_id, &self.verifier).is_err()
        {
            return;
        }
        let key = crate::encoding::hash_domain(crate::encoding::Domain::Evidence, &e);
        if self.evidence_sent.insert(key) {
            fx.push(Effect::Evidence(e));
        }
    }

    fn check_structure(&self, block: &Block) -> Result<(), String> {
        let h = &block.header;
        if h.height != self.ctx.height {
            return Err(format!(
                "header.height: {} expected {}",
                h.height, self.ctx.height
            ));
        }
        if h.parent_hash != self.ctx.parent_hash {
            return Err(format!(
                "header.parent_hash: {:?} expected {:?}",
                h.parent_hash, self.ctx.parent_hash
            ));
        }
        if h.validator_set_hash != self.valset_hash {
            return Err(
                "header.validator_set_hash: does not match the height's validator set".into(),
            );
        }
        if h.time_ms <= self.ctx.parent_time_ms {
            return Err(format!(
                "header.time_ms: {} is not after the parent's {}",
                h.time_ms, self.ctx.parent_time_ms
            ));
        }
        if self.ctx.validators.index_of(&h.proposer).is_none() {
            return Err(format!(
                "header.proposer: {:?} is not a validator",
                h.proposer
            ));
        }
        if !block.body_matches_header() {
            return Err("header.tx_root/evidence_root: do not match the body".into());
        }
        for (i, e) in block.evidence.iter().enumerate() {
            if let Err(err) = e.verify(&self.config.chain_id, &self.verifier) {
                return Err(format!("evidence[{i}]: {err}"));
            }
        }
        Ok(())
    }
}
