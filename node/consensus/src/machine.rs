//! The consensus state machine (Buchman, Kwon, Milosevic 2018), stake weighted and sans-IO.
//!
//! The host calls [`Machine::start`] once and then [`Machine::handle`] for every input, and
//! carries out the returned effects in order. Effects are data; the machine never touches
//! sockets, clocks, files, threads or randomness. Time arrives as the `now_ms` argument.

use crate::block::{Block, BlockHeader};
use crate::certificate::{CertificateError, CommitCertificate};
use crate::config::{Config, TimeoutStep};
use crate::context::{ContextError, HeightContext};
use crate::crypto::{Ed25519Verifier, SignatureVerifier, Signer};
use crate::encoding::tx_root;
use crate::evidence::Evidence;
use crate::keeper::{AddOutcome, VoteKeeper};
use crate::messages::{ConsensusMessage, Proposal, SignedProposal, SignedVote, Vote};
use crate::proposer;
use crate::types::{BlockHash, Height, Round, Step, ValidatorId, VoteKind};
use crate::validators::ValidatorSet;
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

/// A timer the machine asked for; handed back as [`Input::Timeout`] when it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeout {
    /// Height the timer belongs to.
    pub height: Height,
    /// Round the timer belongs to.
    pub round: Round,
    /// Which timer.
    pub step: TimeoutStep,
}

/// The application's payload for a block this validator proposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContent {
    /// Height from the matching [`Effect::RequestBlock`].
    pub height: Height,
    /// Round from the matching [`Effect::RequestBlock`].
    pub round: Round,
    /// Opaque transactions in execution order.
    pub txs: Vec<Vec<u8>>,
    /// Application state root the block builds on.
    pub state_root: [u8; 32],
    /// Evidence to commit.
    pub evidence: Vec<Evidence>,
}

/// Everything that can happen to a machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A proposal or vote from the network (or from this node's own earlier broadcast).
    Message(ConsensusMessage),
    /// A timer from [`Effect::ScheduleTimeout`] expired.
    Timeout(Timeout),
    /// Answer to [`Effect::RequestBlock`].
    BlockContent(BlockContent),
    /// Answer to [`Effect::RequestValidation`]: does the application accept the block?
    Validity {
        /// Height of the block.
        height: Height,
        /// The block.
        block_hash: BlockHash,
        /// The application's verdict.
        valid: bool,
    },
    /// A decided block with its certificate, obtained by block sync.
    Synced {
        /// The block.
        block: Block,
        /// Precommits of more than 2/3 of the stake for it.
        certificate: CommitCertificate,
    },
    /// The application executed the block of [`Effect::Decide`]; `next_validators` is the set
    /// for the next height (`None`: unchanged). The machine then starts the next height.
    DecideAck {
        /// The decided height.
        height: Height,
        /// Validator set for `height + 1`.
        next_validators: Option<ValidatorSet>,
    },
}

/// What the host must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Durably store this record before performing any later effect of the same batch.
    PersistWal(WalRecord),
    /// Send to all validators.
    Broadcast(ConsensusMessage),
    /// Start a timer; deliver [`Input::Timeout`] after `duration_ms`.
    ScheduleTimeout {
        /// The timer.
        timeout: Timeout,
        /// Delay in milliseconds.
        duration_ms: u64,
    },
    /// This validator proposes: answer with [`Input::BlockContent`].
    RequestBlock {
        /// Height to build for.
        height: Height,
        /// Round to build for.
        round: Round,
        /// The parent block.
        parent_hash: BlockHash,
    },
    /// Ask the application whether `block` is valid: answer with [`Input::Validity`].
    RequestValidation {
        /// The block (its structure, roots and parent link were already checked).
        block: Block,
    },
    /// The block is final. Store it with its certificate, execute it, then send
    /// [`Input::DecideAck`].
    Decide {
        /// The decided block.
        block: Block,
        /// Proof of decision.
        certificate: CommitCertificate,
    },
    /// A validator equivocated.
    Evidence(Evidence),
}

/// Why an input was rejected. A rejected input changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Signer is not a validator of the height.
    #[error("{what}.validator: {id} is not in the validator set of height {height}")]
    UnknownValidator {
        /// Message kind.
        what: &'static str,
        /// The signer.
        id: ValidatorId,
        /// Current height.
        height: Height,
    },
    /// Signature does not verify.
    #[error("{what}.signature: does not verify for {id} (height {height}, round {round})")]
    BadSignature {
        /// Message kind.
        what: &'static str,
        /// The claimed signer.
        id: ValidatorId,
        /// Height of the message.
        height: Height,
        /// Round of the message.
        round: Round,
    },
    /// Proposal from a validator that is not the round's proposer.
    #[error("proposal.proposer: {got} is not the proposer of height {height} round {round} (expected {expected})")]
    WrongProposer {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// The designated proposer.
        expected: ValidatorId,
        /// The signer.
        got: ValidatorId,
    },
    /// Block does not hash to the proposal's block hash.
    #[error("proposal.block_hash: {claimed} but the attached block hashes to {actual}")]
    BlockHashMismatch {
        /// Hash in the signed proposal.
        claimed: BlockHash,
        /// Hash of the block.
        actual: BlockHash,
    },
    /// pol_round not below the round.
    #[error("proposal.pol_round: {pol} must be below the round {round}")]
    BadPolRound {
        /// The pol round.
        pol: Round,
        /// The proposal round.
        round: Round,
    },
    /// Synced block or certificate unusable.
    #[error("synced.{field}: {reason}")]
    BadSync {
        /// Field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Synced certificate fails verification.
    #[error("synced.certificate: {0}")]
    BadCertificate(#[from] CertificateError),
    /// Acknowledgement does not match the decision.
    #[error("decide_ack.height: {got}, but the pending decision is {expected:?}")]
    UnexpectedAck {
        /// Height acknowledged.
        got: Height,
        /// Pending decided height, if any.
        expected: Option<Height>,
    },
    /// Next-height context could not be built.
    #[error(transparent)]
    Context(#[from] ContextError),
}

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
            } => {
                if height == self.ctx.height
                    && self.validity.get(&block_hash) == Some(&Validity::Pending)
                {
                    let v = if valid {
                        Validity::Valid
                    } else {
                        Validity::Invalid
                    };
                    self.validity.insert(block_hash, v);
                }
            }
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

    // ----- thresholds -------------------------------------------------------------------

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

    /// The broken variant's early lookup: the proposer schedule is grown to the message's
    /// round (capped at 10,000) before anything about the message is checked.
    fn unbounded_proposer_lookup(&mut self, _round: Round) {
        #[cfg(feature = "fault-injection")]
        {
            if self.config.mutation == crate::config::Mutation::UnboundedProposerLookup {
                self.proposers
                    .proposer(&self.ctx.validators, _round.min(10_000));
            }
        }
    }

    // ----- rounds and proposers ---------------------------------------------------------

    fn schedule(&self, step: TimeoutStep, round: Round, fx: &mut Fx) {
        fx.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.ctx.height,
                round,
                step,
            },
            duration_ms: self.config.timeouts.duration_ms(step, round),
        });
    }

    fn start_round(&mut self, round: Round, now_ms: u64, fx: &mut Fx) {
        self.round = round;
        self.step = Step::Propose;
        self.fired.retain(|(r, _)| *r >= round);
        self.schedule(TimeoutStep::Propose, round, fx);
        self.schedule(TimeoutStep::Rebroadcast, round, fx);
        let me = self.signer.id();
        if self.proposer(round) == Some(me) {
            if let Some((p, b)) = self.own.proposal(round).cloned() {
                fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
                    proposal: p,
                    block: b,
                }));
            } else if let Some((vr, block)) = self.valid_block() {
                self.propose(block, Some(vr), now_ms, fx);
            } else {
                fx.push(Effect::RequestBlock {
                    height: self.ctx.height,
                    round,
                    parent_hash: self.ctx.parent_hash,
                });
            }
        }
        // After a restart, resume the step our own signatures imply.
        if let Some(v) = self.own.vote(round, VoteKind::Prevote).copied() {
            fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
            self.step = Step::Prevote;
        }
        if let Some(v) = self.own.vote(round, VoteKind::Precommit).copied() {
            fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
            self.step = Step::Precommit;
        }
    }

    /// The valid value to re-propose, unless the broken no-locking variant is active.
    fn valid_block(&self) -> Option<(Round, Block)> {
        if broken!(self, NoLocking) {
            return None;
        }
        let (vr, v) = self.valid?;
        self.blocks.get(&v).map(|b| (vr, b.clone()))
    }

    // ----- signing (through the WAL) ----------------------------------------------------

    fn is_validator(&self) -> Option<usize> {
        self.ctx.validators.index_of(&self.signer.id())
    }

    fn cast_vote(&mut self, kind: VoteKind, block: Option<BlockHash>, fx: &mut Fx) {
        let Some(index) = self.is_validator() else {
            return;
        };
        let signed = match self.own.vote(self.round, kind) {
            Some(existing) if !broken!(self, IgnoreSigningRecords) => {
                // Never sign a second vote for a slot: repeat the first one.
                let v = *existing;
                fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
                v
            }
            _ => {
                let v = Vote {
                    height: self.ctx.height,
                    round: self.round,
                    kind,
                    block,
                    validator: self.signer.id(),
                }
                .sign(&self.config.chain_id, &self.signer);
                self.own.insert_vote(v);
                fx.push(Effect::PersistWal(WalRecord::Vote(v)));
                fx.push(Effect::Broadcast(ConsensusMessage::Vote(v)));
                v
            }
        };
        let power = self.ctx.validators.validators()[index].power;
        self.keeper.add(index, power, signed);
    }

    fn propose(&mut self, block: Block, pol_round: Option<Round>, _now_ms: u64, fx: &mut Fx) {
        if self.is_validator().is_none() {
            return;
        }
        let round = self.round;
        let (proposal, block) = match self.own.proposal(round) {
            Some((p, b)) if !broken!(self, IgnoreSigningRecords) => (*p, b.clone()),
            _ => {
                let p = Proposal {
                    height: self.ctx.height,
                    round,
                    pol_round,
                    block_hash: block.hash(),
                    proposer: self.signer.id(),
                }
                .sign(&self.config.chain_id, &self.signer);
                self.own.insert_proposal(p, block.clone());
                fx.push(Effect::PersistWal(WalRecord::Proposal {
                    proposal: p,
                    block: block.clone(),
                }));
                (p, block)
            }
        };
        let hash = proposal.proposal.block_hash;
        fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
            proposal,
            block: block.clone(),
        }));
        self.send_pol_proof(proposal.proposal.pol_round, hash, fx);
        self.proposals.entry(round).or_insert(proposal);
        self.proposed.entry((round, hash)).or_insert(proposal);
        self.blocks.entry(hash).or_insert(block);
        self.validity.insert(hash, Validity::Valid);
    }

    /// Relays the prevotes that justify `pol_round` for `v`, so validators that missed some of
    /// them (lost messages, or the other half of an equivocation) can accept the proposal.
    fn send_pol_proof(&self, pol_round: Option<Round>, v: BlockHash, fx: &mut Fx) {
        if let Some(vr) = pol_round {
            for pv in self.keeper.votes_for(vr, VoteKind::Prevote, Some(v)) {
                if pv.vote.validator != self.signer.id() {
                    fx.push(Effect::Broadcast(ConsensusMessage::Vote(pv)));
                }
            }
        }
    }

    /// Writes the justification of a lock on `v` in `round` to the WAL (before the precommit).
    fn persist_polka(&self, round: Round, v: BlockHash, fx: &mut Fx) {
        if self.is_validator().is_none() || self.own.vote(round, VoteKind::Precommit).is_some() {
            return;
        }
        if let (Some(p), Some(b)) = (self.proposed.get(&(round, v)), self.blocks.get(&v)) {
            fx.push(Effect::PersistWal(WalRecord::Polka {
                proposal: *p,
                block: b.clone(),
                prevotes: self.keeper.votes_for(round, VoteKind::Prevote, Some(v)),
            }));
        }
    }

    fn absorb_own_records(&mut self) {
        if let Some((p, b, prevotes)) = self.own.polka().cloned() {
            let (r, h) = (p.proposal.round, p.proposal.block_hash);
            if b.hash() == h {
                self.proposals.entry(r).or_insert(p);
                self.proposed.entry((r, h)).or_insert(p);
                self.blocks.entry(h).or_insert(b);
                self.validity.insert(h, Validity::Valid);
                for pv in prevotes {
                    if let Some(i) = self.ctx.validators.index_of(&pv.vote.validator) {
                        let power = self.ctx.validators.validators()[i].power;
                        self.keeper.add(i, power, pv);
                    }
                }
                self.valid = Some((r, h));
            }
        }
        let Some(index) = self.is_validator() else {
            return;
        };
        let power = self.ctx.validators.validators()[index].power;
        let votes: Vec<SignedVote> = self.own.votes().copied().collect();
        for v in votes {
            self.keeper.add(index, power, v);
        }
        let props: Vec<(SignedProposal, Block)> = self.own.proposals().cloned().collect();
        for (p, b) in props {
            let h = p.proposal.block_hash;
            self.proposals.entry(p.proposal.round).or_insert(p);
            self.proposed.entry((p.proposal.round, h)).or_insert(p);
            self.blocks.entry(h).or_insert(b);
            self.validity.insert(h, Validity::Valid);
        }
    }

    // ----- inputs -----------------------------------------------------------------------

    fn on_block_content(&mut self, now_ms: u64, c: BlockContent, fx: &mut Fx) {
        let me = self.signer.id();
        if c.height != self.ctx.height
            || c.round != self.round
            || self.step != Step::Propose
            || self.proposals.contains_key(&c.round)
            || self.proposer(c.round) != Some(me)
        {
            return;
        }
        let header = BlockHeader {
            height: self.ctx.height,
            round: c.round,
            parent_hash: self.ctx.parent_hash,
            proposer: me,
            time_ms: now_ms.max(self.ctx.parent_time_ms.saturating_add(1)),
            tx_root: tx_root(&c.txs),
            state_root: c.state_root,
            validator_set_hash: self.valset_hash,
            evidence_root: Block::evidence_root_of(&c.evidence),
        };
        let block = Block {
            header,
            txs: c.txs,
            evidence: c.evidence,
        };
        self.propose(block, None, now_ms, fx);
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

    fn on_vote(&mut self, v: SignedVote, fx: &mut Fx) -> Result<(), InputError> {
        let id = v.vote.validator;
        let Some(index) = self.ctx.validators.index_of(&id) else {
            return Err(InputError::UnknownValidator {
                what: "vote",
                id,
                height: self.ctx.height,
            });
        };
        if self.keeper.contains(index, &v) {
            return Ok(());
        }
        if !v.verify(&self.config.chain_id, &self.verifier) {
            return Err(InputError::BadSignature {
                what: "vote",
                id,
                height: v.vote.height,
                round: v.vote.round,
            });
        }
        if v.vote.round > self.round.saturating_add(self.config.future_rounds) {
            self.keeper.note_round(index, v.vote.round);
            return Ok(());
        }
        let power = self.ctx.validators.validators()[index].power;
        if let AddOutcome::Conflict(old) = self.keeper.add(index, power, v) {
            self.emit_evidence(Evidence::duplicate_vote(old, v), fx);
        }
        Ok(())
    }

    fn on_proposal(
        &mut self,
        now_ms: u64,
        p: SignedProposal,
        block: Block,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        // Cheap checks first, the signature next, and only then anything whose cost grows with
        // the message: the proposer schedule and the block hash.
        let pr = p.proposal;
        let Some(index) = self.ctx.validators.index_of(&pr.proposer) else {
            return Err(InputError::UnknownValidator {
                what: "proposal",
                id: pr.proposer,
                height: self.ctx.height,
            });
        };
        self.unbounded_proposer_lookup(pr.round);
        if let Some(pol) = pr.pol_round {
            if pol >= pr.round {
                return Err(InputError::BadPolRound {
                    pol,
                    round: pr.round,
                });
            }
        }
        if self.proposed.get(&(pr.round, pr.block_hash)) == Some(&p) {
            return Ok(());
        }
        if !p.verify(&self.config.chain_id, &self.verifier) {
            return Err(InputError::BadSignature {
                what: "proposal",
                id: pr.proposer,
                height: pr.height,
                round: pr.round,
            });
        }
        let Some(expected) = self.proposer(pr.round) else {
            // Beyond the window: only its round is remembered (for the round-skip rule).
            self.keeper.note_round(index, pr.round);
            return Ok(());
        };
        if expected != pr.proposer {
            return Err(InputError::WrongProposer {
                height: pr.height,
                round: pr.round,
                expected,
                got: pr.proposer,
            });
        }
        // The same proposal under another signature (ed25519 signing can be re-randomised) is
        // the same proposal: not equivocation, and nothing new to process.
        if !broken!(self, EvidenceUnchecked)
            && self
                .proposed
                .get(&(pr.round, pr.block_hash))
                .map(|k| k.proposal)
                == Some(pr)
        {
            return Ok(());
        }
        let actual = block.hash();
        if actual != pr.block_hash {
            return Err(InputError::BlockHashMismatch {
                claimed: pr.block_hash,
                actual,
            });
        }
        self.keeper.note_round(index, pr.round);
        if let Some(first) = self.proposals.get(&pr.round) {
            // Equivocation: keep the first as the round's proposal, but remember the block so
            // a quorum formed on the other one can still be recognised.
            let first = *first;
            self.emit_evidence(Evidence::duplicate_proposal(first, p), fx);
            let in_round = self
                .proposed
                .range((pr.round, BlockHash([0; 32]))..)
                .take_while(|((r, _), _)| *r == pr.round)
                .count();
            if in_round >= crate::keeper::MAX_VALUES_PER_VALIDATOR {
                return Ok(());
            }
        } else {
            self.proposals.insert(pr.round, p);
        }
        self.proposed.insert((pr.round, actual), p);
        if !self.validity.contains_key(&actual) {
            let ok = block.header.round <= pr.round && self.check_proposed(now_ms, &block).is_ok();
            if ok {
                self.validity.insert(actual, Validity::Pending);
                fx.push(Effect::RequestValidation {
                    block: block.clone(),
                });
            } else {
                self.validity.insert(actual, Validity::Invalid);
            }
        }
        self.blocks.entry(actual).or_insert(block);
        Ok(())
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

    /// A proposed block must be well formed and not timed ahead of this validator's clock by
    /// more than the configured bound. (A synced block carries a commit certificate: its time
    /// was checked by the quorum that decided it.)
    fn check_proposed(&self, now_ms: u64, block: &Block) -> Result<(), String> {
        let latest = now_ms.saturating_add(self.config.max_block_time_ahead_ms);
        if block.header.time_ms > latest && !broken!(self, NoBlockTimeBound) {
            return Err(format!(
                "header.time_ms: {} is more than {} ms ahead of this validator's clock ({now_ms})",
                block.header.time_ms, self.config.max_block_time_ahead_ms
            ));
        }
        self.check_structure(block)
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

    fn on_timeout(&mut self, now_ms: u64, t: Timeout, fx: &mut Fx) {
        if t.height != self.ctx.height || t.round != self.round || self.step == Step::Decided {
            return;
        }
        match t.step {
            TimeoutStep::Propose => {
                if self.step == Step::Propose {
                    self.cast_vote(VoteKind::Prevote, None, fx);
                    self.step = Step::Prevote;
                }
            }
            TimeoutStep::Prevote => {
                if self.step == Step::Prevote {
                    self.cast_vote(VoteKind::Precommit, None, fx);
                    self.step = Step::Precommit;
                }
            }
            TimeoutStep::Precommit => self.start_round(self.round + 1, now_ms, fx),
            TimeoutStep::Rebroadcast => {
                // Own messages of this round and the previous one: enough for lagging or
                // partitioned validators to rejoin (round skip) and to complete quorums.
                let recent = self.round.saturating_sub(1);
                if let Some((p, b)) = self.own.proposal(self.round) {
                    fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
                        proposal: *p,
                        block: b.clone(),
                    }));
                }
                for v in self.own.votes().filter(|v| v.vote.round >= recent) {
                    fx.push(Effect::Broadcast(ConsensusMessage::Vote(*v)));
                }
                if let Some((vr, v)) = self.valid {
                    // Relay the valid value's proposal and its prevote quorum, so validators
                    // that missed them can adopt it as their valid value and unlock.
                    if let (Some(p), Some(b)) = (self.proposed.get(&(vr, v)), self.blocks.get(&v)) {
                        if p.proposal.proposer != self.signer.id() {
                            fx.push(Effect::Broadcast(ConsensusMessage::Proposal {
                                proposal: *p,
                                block: b.clone(),
                            }));
                        }
                    }
                    self.send_pol_proof(Some(vr), v, fx);
                }
                self.schedule(TimeoutStep::Rebroadcast, self.round, fx);
            }
        }
    }

    fn on_synced(
        &mut self,
        block: Block,
        cert: CommitCertificate,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        if block.header.height != self.ctx.height || self.step == Step::Decided {
            return Ok(());
        }
        let hash = block.hash();
        if cert.height != self.ctx.height || cert.block_hash != hash {
            return Err(InputError::BadSync {
                field: "certificate",
                reason: format!(
                    "certifies height {} block {:?}, not height {} block {:?}",
                    cert.height, cert.block_hash, self.ctx.height, hash
                ),
            });
        }
        if let Err(reason) = self.check_structure(&block) {
            return Err(InputError::BadSync {
                field: "block",
                reason,
            });
        }
        cert.verify(&self.config.chain_id, &self.ctx.validators, &self.verifier)?;
        self.decide(block, cert, fx);
        Ok(())
    }

    fn on_ack(
        &mut self,
        now_ms: u64,
        height: Height,
        next: Option<ValidatorSet>,
        fx: &mut Fx,
    ) -> Result<(), InputError> {
        let pending = self.decision.as_ref().map(|(b, _)| b.header.height);
        if pending != Some(height) {
            return Err(InputError::UnexpectedAck {
                got: height,
                expected: pending,
            });
        }
        let Some((block, _)) = self.decision.take() else {
            return Ok(());
        };
        let ctx = self.ctx.next(&block, next)?;
        self.reset(ctx);
        self.start_round(0, now_ms, fx);
        let buffered = std::mem::take(&mut self.next_height);
        for m in buffered {
            // Buffered messages were never checked; invalid ones are dropped like any other.
            let _ = self.on_message(now_ms, m, fx);
        }
        Ok(())
    }

    fn reset(&mut self, ctx: HeightContext) {
        self.valset_hash = ctx.validators.hash();
        self.keeper = VoteKeeper::new(ctx.validators.len());
        self.ctx = ctx;
        self.proposers = proposer::Schedule::new(&self.ctx.priorities);
        self.round = 0;
        self.step = Step::Propose;
        self.locked = None;
        self.valid = None;
        self.blocks.clear();
        self.validity.clear();
        self.proposals.clear();
        self.proposed.clear();
        self.own = SigningRecords::default();
        self.fired.clear();
        self.evidence_sent.clear();
    }

    fn decide(&mut self, block: Block, cert: CommitCertificate, fx: &mut Fx) {
        self.step = Step::Decided;
        self.decision = Some((block.clone(), cert.clone()));
        fx.push(Effect::Decide {
            block,
            certificate: cert,
        });
    }

    // ----- the upon-rules ---------------------------------------------------------------

    fn evaluate(&mut self, now_ms: u64, fx: &mut Fx) {
        loop {
            if self.step == Step::Decided || self.try_decide(fx) {
                return;
            }
            if let Some(r) = self.keeper.skip_target(self.round, &self.ctx.validators) {
                self.start_round(r, now_ms, fx);
                continue;
            }
            if !self.round_rules(fx) {
                return;
            }
        }
    }

    fn request_validation_if_needed(&mut self, v: BlockHash, fx: &mut Fx) {
        if !self.validity.contains_key(&v) {
            if let Some(b) = self.blocks.get(&v) {
                self.validity.insert(v, Validity::Pending);
                fx.push(Effect::RequestValidation { block: b.clone() });
            }
        }
    }

    /// Rule 49: a quorum of precommits for a known, valid block in any round decides it.
    fn try_decide(&mut self, fx: &mut Fx) -> bool {
        for r in self.keeper.rounds() {
            for (value, power) in self.keeper.values(r, VoteKind::Precommit) {
                let Some(v) = value else { continue };
                if !self.is_quorum(power) {
                    continue;
                }
                match self.validity.get(&v) {
                    Some(Validity::Valid) => {
                        let Some(block) = self.blocks.get(&v).cloned() else {
                            continue;
                        };
                        let votes = self.keeper.votes_for(r, VoteKind::Precommit, Some(v));
                        let cert =
                            CommitCertificate::from_precommits(self.ctx.height, r, v, votes.iter());
                        self.decide(block, cert, fx);
                        return true;
                    }
                    None => self.request_validation_if_needed(v, fx),
                    _ => {}
                }
            }
        }
        false
    }

    /// A block proposed by the designated proposer of `round`, accepted by the application,
    /// with a quorum of prevotes in `round`.
    fn polka_value(&self, round: Round) -> Option<BlockHash> {
        self.proposed
            .range((round, BlockHash([0; 32]))..)
            .take_while(|((pr, _), _)| *pr == round)
            .map(|((_, v), _)| *v)
            .find(|v| {
                self.validity.get(v) == Some(&Validity::Valid)
                    && self.is_quorum(self.keeper.power_for(round, VoteKind::Prevote, Some(*v)))
            })
    }

    fn fire_once(&mut self, round: Round, t: Trigger) -> bool {
        self.fired.insert((round, t))
    }

    fn lock_allows(&self, v: BlockHash, pol: Option<Round>) -> bool {
        if broken!(self, NoLocking) {
            return true;
        }
        match self.locked {
            None => true,
            Some((lr, lv)) => lv == v || pol.is_some_and(|vr| lr <= vr),
        }
    }

    /// Rules 22, 28, 34, 36, 44 and 47 for the current round. True if the state changed.
    fn round_rules(&mut self, fx: &mut Fx) -> bool {
        let r = self.round;
        let proposal = self.proposals.get(&r).map(|p| p.proposal);
        let validity = proposal.and_then(|p| self.validity.get(&p.block_hash).copied());

        // Rules 22 and 28: prevote on the round's proposal.
        if self.step == Step::Propose {
            if let Some(p) = proposal {
                let v = p.block_hash;
                let eligible = match p.pol_round {
                    None => true,
                    Some(vr) => {
                        self.is_quorum(self.keeper.power_for(vr, VoteKind::Prevote, Some(v)))
                    }
                };
                if eligible {
                    let choice = match validity {
                        Some(Validity::Valid) => Some(if self.lock_allows(v, p.pol_round) {
                            Some(v)
                        } else {
                            None
                        }),
                        Some(Validity::Invalid) => Some(None),
                        _ => None,
                    };
                    if let Some(value) = choice {
                        self.cast_vote(VoteKind::Prevote, value, fx);
                        self.step = Step::Prevote;
                        return true;
                    }
                }
            }
        }

        // Rule 34: a quorum of prevotes of any kind starts the prevote timer.
        if self.step == Step::Prevote
            && self.is_quorum(self.keeper.total_power(r, VoteKind::Prevote))
            && self.fire_once(r, Trigger::PrevoteWait)
        {
            self.schedule(TimeoutStep::Prevote, r, fx);
        }

        // Rule 36: proposal + quorum of prevotes for it: lock and precommit, remember valid.
        if self.step >= Step::Prevote && !self.fired.contains(&(r, Trigger::LockOrValid)) {
            if let Some(v) = self.polka_value(r) {
                self.fired.insert((r, Trigger::LockOrValid));
                if self.step == Step::Prevote {
                    if !broken!(self, NoLocking) {
                        self.locked = Some((r, v));
                        self.persist_polka(r, v, fx);
                    }
                    self.cast_vote(VoteKind::Precommit, Some(v), fx);
                    self.step = Step::Precommit;
                }
                self.valid = Some((r, v));
                return true;
            }
        }

        // Valid value from an earlier round: a quorum of prevotes seen late (after leaving the
        // round) for a valid proposed block still makes it the value to re-propose. This only
        // changes what this validator proposes, never how it votes, so safety is unaffected;
        // it lets a proposer learn the lock of others and is what keeps rounds after GST few.
        let floor = self.valid.map(|(vr, _)| vr + 1).unwrap_or(0);
        for vr in self.keeper.rounds().into_iter().rev() {
            if vr < floor || vr >= r {
                continue;
            }
            if let Some(v) = self.polka_value(vr) {
                self.valid = Some((vr, v));
                return true;
            }
        }

        // Rule 44: a quorum of nil prevotes: precommit nil.
        if self.step == Step::Prevote
            && self.is_quorum(self.keeper.power_for(r, VoteKind::Prevote, None))
        {
            self.cast_vote(VoteKind::Precommit, None, fx);
            self.step = Step::Precommit;
            return true;
        }

        // Rule 47: a quorum of precommits of any kind starts the precommit timer.
        if self.is_quorum(self.keeper.total_power(r, VoteKind::Precommit))
            && self.fire_once(r, Trigger::PrecommitWait)
        {
            self.schedule(TimeoutStep::Precommit, r, fx);
        }
        false
    }
}
