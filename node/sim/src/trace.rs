//! The run's trace: every processed event is folded into a BLAKE3 hash (two runs of one seed
//! must give the same hash) and the most recent ones are kept for a readable failure report.

use netwright_consensus::{BlockHash, ConsensusMessage, Height, Round, VoteKind};
use std::collections::VecDeque;
use std::fmt::Write as _;

/// How many recent events a failure report shows.
pub const TRACE_TAIL: usize = 400;

/// A compact summary of a consensus message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgSummary {
    /// 0 proposal, 1 prevote, 2 precommit.
    pub kind: u8,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// First bytes of the block hash (0 for nil).
    pub value: u32,
}

fn short(b: Option<BlockHash>) -> u32 {
    b.map(|h| u32::from_be_bytes([h.0[0], h.0[1], h.0[2], h.0[3]]))
        .unwrap_or(0)
}

impl MsgSummary {
    /// Summarises `m`.
    pub fn of(m: &ConsensusMessage) -> Self {
        match m {
            ConsensusMessage::Proposal { proposal, .. } => MsgSummary {
                kind: 0,
                height: proposal.proposal.height,
                round: proposal.proposal.round,
                value: short(Some(proposal.proposal.block_hash)),
            },
            ConsensusMessage::Vote(v) => MsgSummary {
                kind: match v.vote.kind {
                    VoteKind::Prevote => 1,
                    VoteKind::Precommit => 2,
                },
                height: v.vote.height,
                round: v.vote.round,
                value: short(v.vote.block),
            },
        }
    }

    fn text(&self) -> String {
        let k = ["proposal", "prevote", "precommit"][self.kind as usize % 3];
        let v = if self.value == 0 {
            "nil".to_string()
        } else {
            format!("{:08x}", self.value)
        };
        format!("{k} h{} r{} {v}", self.height, self.round)
    }
}

/// One traced event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A message delivered from `from`.
    Deliver {
        /// Sender.
        from: usize,
        /// Message.
        msg: MsgSummary,
    },
    /// A message sent by this node (after any byzantine rewriting, per destination group).
    Send {
        /// Message.
        msg: MsgSummary,
    },
    /// A timer fired.
    Timer {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// Step name index (0 propose, 1 prevote, 2 precommit, 3 rebroadcast).
        step: u8,
    },
    /// The node decided.
    Decide {
        /// Height.
        height: Height,
        /// Round of the certificate.
        round: Round,
        /// Block hash prefix.
        block: u32,
    },
    /// The node crashed (after `applied` effects of its last batch).
    Crash {
        /// Effects applied before the crash.
        applied: usize,
    },
    /// The node restarted from its WAL at this height.
    Restart {
        /// Height resumed.
        height: Height,
        /// WAL records handed back.
        wal: usize,
    },
    /// The node adopted decided blocks by sync.
    Sync {
        /// First height received.
        height: Height,
        /// Number of blocks.
        count: usize,
    },
    /// An input was rejected by the machine.
    Rejected {
        /// The error text.
        reason: String,
    },
    /// The node produced evidence.
    Evidence {
        /// Offender index.
        offender: usize,
    },
}

/// Recorder of a run's events.
pub struct Trace {
    hasher: blake3::Hasher,
    tail: VecDeque<(u64, usize, TraceEvent)>,
    events: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            hasher: blake3::Hasher::new(),
            tail: VecDeque::with_capacity(TRACE_TAIL),
            events: 0,
        }
    }
}

impl Trace {
    /// Records `ev` at simulated time `time_us` on `node`.
    pub fn record(&mut self, time_us: u64, node: usize, ev: TraceEvent) {
        self.events += 1;
        let h = &mut self.hasher;
        h.update(&time_us.to_le_bytes());
        h.update(&(node as u32).to_le_bytes());
        let put_msg = |h: &mut blake3::Hasher, m: &MsgSummary| {
            h.update(&[m.kind]);
            h.update(&m.height.to_le_bytes());
            h.update(&m.round.to_le_bytes());
            h.update(&m.value.to_le_bytes());
        };
        match &ev {
            TraceEvent::Deliver { from, msg } => {
                h.update(&[1]);
                h.update(&(*from as u32).to_le_bytes());
                put_msg(h, msg);
            }
            TraceEvent::Send { msg } => {
                h.update(&[2]);
                put_msg(h, msg);
            }
            TraceEvent::Timer {
                height,
                round,
                step,
            } => {
                h.update(&[3, *step]);
                h.update(&height.to_le_bytes());
                h.update(&round.to_le_bytes());
            }
            TraceEvent::Decide {
                height,
                round,
                block,
            } => {
                h.update(&[4]);
                h.update(&height.to_le_bytes());
                h.update(&round.to_le_bytes());
                h.update(&block.to_le_bytes());
            }
            TraceEvent::Crash { applied } => {
                h.update(&[5]);
                h.update(&(*applied as u64).to_le_bytes());
            }
            TraceEvent::Restart { height, wal } => {
                h.update(&[6]);
                h.update(&height.to_le_bytes());
                h.update(&(*wal as u64).to_le_bytes());
            }
            TraceEvent::Sync { height, count } => {
                h.update(&[7]);
                h.update(&height.to_le_bytes());
                h.update(&(*count as u64).to_le_bytes());
            }
            TraceEvent::Rejected { reason } => {
                h.update(&[8]);
                h.update(reason.as_bytes());
            }
            TraceEvent::Evidence { offender } => {
                h.update(&[9]);
                h.update(&(*offender as u32).to_le_bytes());
            }
        }
        if self.tail.len() == TRACE_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back((time_us, node, ev));
    }

    /// Hash over every event so far.
    pub fn hash(&self) -> [u8; 32] {
        *self.hasher.finalize().as_bytes()
    }

    /// Number of events recorded.
    pub fn len(&self) -> u64 {
        self.events
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The most recent events as text, one per line.
    pub fn render_tail(&self) -> String {
        let mut out = String::new();
        for (t, node, ev) in &self.tail {
            let what = match ev {
                TraceEvent::Deliver { from, msg } => format!("recv {} from n{from}", msg.text()),
                TraceEvent::Send { msg } => format!("send {}", msg.text()),
                TraceEvent::Timer {
                    height,
                    round,
                    step,
                } => {
                    let s = ["propose", "prevote", "precommit", "rebroadcast"][*step as usize % 4];
                    format!("timeout {s} h{height} r{round}")
                }
                TraceEvent::Decide {
                    height,
                    round,
                    block,
                } => format!("DECIDE h{height} r{round} {block:08x}"),
                TraceEvent::Crash { applied } => {
                    format!("CRASH after {applied} effects of the batch")
                }
                TraceEvent::Restart { height, wal } => {
                    format!("RESTART at h{height} with {wal} WAL records")
                }
                TraceEvent::Sync { height, count } => {
                    format!("sync {count} blocks from h{height}")
                }
                TraceEvent::Rejected { reason } => format!("rejected: {reason}"),
                TraceEvent::Evidence { offender } => format!("evidence against n{offender}"),
            };
            let _ = writeln!(out, "{:>10.3}ms n{node:<3} {what}", *t as f64 / 1000.0);
        }
        out
    }
}
