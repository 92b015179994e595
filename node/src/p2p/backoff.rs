//! Redial schedule for persistent peers: exponential backoff from an initial delay, capped,
//! reset once a connection is established.
//!
//! Pure: the caller passes the current time and performs the dials it is told are due.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Where a persistent peer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// At least one connection is open.
    Connected,
    /// A dial is in flight.
    Dialing {
        /// Failed attempts before this one.
        failures: u32,
    },
    /// Waiting until `at` before dialing again.
    Waiting {
        /// When the next dial is due.
        at: Instant,
        /// Failed attempts so far.
        failures: u32,
    },
}

/// A dial that [`Redialer::schedule_failure`] has planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Attempt number of the coming dial (1 = first retry).
    pub attempt: u32,
    /// Delay before it.
    pub delay: Duration,
}

/// Backoff bookkeeping for all persistent peers.
#[derive(Debug)]
pub struct Redialer {
    initial: Duration,
    max: Duration,
    peers: HashMap<PeerId, PeerState>,
}

impl Redialer {
    /// A schedule whose delays start at `initial` and double up to `max`.
    pub fn new(initial: Duration, max: Duration, peers: impl IntoIterator<Item = PeerId>) -> Self {
        let now = Instant::now();
        Self {
            initial,
            max,
            peers: peers
                .into_iter()
                .map(|p| {
                    (
                        p,
                        PeerState::Waiting {
                            at: now,
                            failures: 0,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The delay before retry number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << shift)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// Whether `peer` is a persistent peer.
    pub fn is_persistent(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// Current state of `peer`, if persistent.
    pub fn state(&self, peer: &PeerId) -> Option<PeerState> {
        self.peers.get(peer).copied()
    }

    /// Peers whose dial is due at `now`; they are marked as dialing.
    pub fn due(&mut self, now: Instant) -> Vec<PeerId> {
        let mut out = Vec::new();
        for (peer, state) in &mut self.peers {
            if let PeerState::Waiting { at, failures } = *state {
                if at <= now {
                    *state = PeerState::Dialing { failures };
                    out.push(*peer);
                }
            }
        }
        out
    }

    /// Records that a connection to `peer` is established: backoff is reset.
    pub fn connected(&mut self, peer: &PeerId) {
        if let Some(state) = self.peers.get_mut(peer) {
            *state = PeerState::Connected;
        }
    }

    /// Records that the last connection to `peer` closed or that a dial failed, and plans the
    /// next dial. Returns `None` for peers that are not persistent.
    pub fn schedule_failure(&mut self, peer: &PeerId, now: Instant) -> Option<Planned> {
        let failures = match self.peers.get(peer)? {
            PeerState::Connected => 0,
            PeerState::Dialing { failures } | PeerState::Waiting { failures, .. } => *failures,
        };
        let attempt = failures.saturating_add(1);
        let delay = self.delay(attempt);
        self.peers.insert(
            *peer,
            PeerState::Waiting {
                at: now + delay,
                failures: attempt,
            },
        );
        Some(Planned { attempt, delay })
    }

    /// Postpones the dial of `peer` to at least `until` (used while the peer is banned).
    pub fn postpone(&mut self, peer: &PeerId, until: Instant) {
        if let Some(PeerState::Waiting { at, .. }) = self.peers.get_mut(peer) {
            if *at < until {
                *at = until;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_and_cap() {
        let r = Redialer::new(ms(100), ms(1000), []);
        let d: Vec<_> = (1..=6).map(|a| r.delay(a)).collect();
        assert_eq!(
            d,
            vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(r.delay(u32::MAX), ms(1000));
    }

    #[test]
    fn failures_back_off_and_connection_resets() {
        let p = PeerId::random();
        let t0 = Instant::now();
        let mut r = Redialer::new(ms(100), ms(1000), [p]);
        assert_eq!(r.due(t0 + ms(1)), vec![p], "first dial is due at once");
        assert!(
            r.due(t0 + ms(1)).is_empty(),
            "no second dial while one is in flight"
        );
        let plan = r.schedule_failure(&p, t0).unwrap();
        assert_eq!(
            plan,
            Planned {
                attempt: 1,
                delay: ms(100)
            }
        );
        assert!(r.due(t0 + ms(99)).is_empty());
        assert_eq!(r.due(t0 + ms(100)), vec![p]);
        let plan = r.schedule_failure(&p, t0 + ms(100)).unwrap();
        assert_eq!(
            plan,
            Planned {
                attempt: 2,
                delay: ms(200)
            }
        );
        assert_eq!(r.due(t0 + ms(300)), vec![p]);
        r.connected(&p);
        assert_eq!(r.state(&p), Some(PeerState::Connected));
        let plan = r.schedule_failure(&p, t0 + ms(400)).unwrap();
        assert_eq!(
            plan.attempt, 1,
            "a successful connection resets the backoff"
        );
    }

    #[test]
    fn unknown_peers_are_not_scheduled() {
        let mut r = Redialer::new(ms(100), ms(1000), []);
        assert_eq!(r.schedule_failure(&PeerId::random(), Instant::now()), None);
    }

    #[test]
    fn postpone_delays_a_waiting_peer() {
        let p = PeerId::random();
        let t0 = Instant::now();
        let mut r = Redialer::new(ms(100), ms(1000), [p]);
        r.postpone(&p, t0 + ms(5000));
        assert!(r.due(t0 + ms(4999)).is_empty());
        assert_eq!(r.due(t0 + ms(5000)), vec![p]);
    }
}
