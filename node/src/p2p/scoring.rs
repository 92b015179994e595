//! Peer discipline: a score per peer that offences lower and time slowly restores; a peer whose
//! score reaches the ban threshold is disconnected and refused until its ban expires.
//!
//! Pure: the caller passes the current time, so the rules are tested without clocks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Score at or below which a peer is banned.
pub const BAN_THRESHOLD: i32 = -100;
/// Points restored per elapsed [`RECOVERY_PERIOD`] (scores never rise above 0).
pub const RECOVERY_POINTS: i32 = 1;
/// Period after which [`RECOVERY_POINTS`] are restored.
pub const RECOVERY_PERIOD: Duration = Duration::from_secs(10);

/// What a peer did wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Offence {
    /// Sent a message larger than the limit of its topic or protocol: banned at once.
    Oversized,
    /// Sent a message that failed decoding or validation by the upper layer.
    Invalid,
    /// Answered a sync request with blocks that do not match the request or do not verify.
    BadSyncResponse,
    /// Sent a malformed request (e.g. an empty or oversized range).
    BadRequest,
}

impl Offence {
    /// Points this offence costs.
    pub fn penalty(self) -> i32 {
        match self {
            Offence::Oversized => 100,
            Offence::Invalid => 25,
            Offence::BadSyncResponse => 50,
            Offence::BadRequest => 20,
        }
    }
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Offence::Oversized => "oversized message",
            Offence::Invalid => "invalid message",
            Offence::BadSyncResponse => "bad sync response",
            Offence::BadRequest => "bad request",
        })
    }
}

/// Result of recording an offence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Penalty {
    /// The peer's score after the offence.
    pub score: i32,
    /// Whether the peer is now banned (and must be disconnected).
    pub banned: bool,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    score: i32,
    updated: Instant,
    banned_until: Option<Instant>,
}

/// Scores and bans of all peers that have misbehaved.
#[derive(Debug)]
pub struct PeerScores {
    entries: HashMap<PeerId, Entry>,
    ban_duration: Duration,
}

impl PeerScores {
    /// Empty scores; bans last `ban_duration`.
    pub fn new(ban_duration: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            ban_duration,
        }
    }

    /// Records an offence by `peer` at `now`.
    pub fn penalise(&mut self, peer: PeerId, offence: Offence, now: Instant) -> Penalty {
        let entry = self.entries.entry(peer).or_insert(Entry {
            score: 0,
            updated: now,
            banned_until: None,
        });
        recover(entry, now);
        entry.score = entry.score.saturating_sub(offence.penalty());
        let banned = entry.score <= BAN_THRESHOLD;
        if banned {
            entry.banned_until = Some(now + self.ban_duration);
        }
        Penalty {
            score: entry.score,
            banned,
        }
    }

    /// The peer's current score (0 for peers never penalised).
    pub fn score(&mut self, peer: &PeerId, now: Instant) -> i32 {
        match self.entries.get_mut(peer) {
            Some(entry) => {
                recover(entry, now);
                entry.score
            }
            None => 0,
        }
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.entries
            .get(peer)
            .and_then(|e| e.banned_until)
            .is_some_and(|until| now < until)
    }

    /// Lifts expired bans (resetting those peers to a fresh score) and returns their ids.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let mut lifted = Vec::new();
        self.entries.retain(|peer, entry| match entry.banned_until {
            Some(until) if now >= until => {
                lifted.push(*peer);
                false
            }
            _ => true,
        });
        lifted
    }
}

fn recover(entry: &mut Entry, now: Instant) {
    if entry.banned_until.is_some() {
        return;
    }
    let elapsed = now.saturating_duration_since(entry.updated);
    let periods = (elapsed.as_millis() / RECOVERY_PERIOD.as_millis()) as i64;
    if periods > 0 {
        let restored = (periods * i64::from(RECOVERY_POINTS)).min(i64::from(i32::MAX)) as i32;
        entry.score = entry.score.saturating_add(restored).min(0);
        entry.updated += RECOVERY_PERIOD * periods as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_bans_at_once_and_ban_expires() {
        let mut s = PeerScores::new(Duration::from_secs(60));
        let p = PeerId::random();
        let t0 = Instant::now();
        let pen = s.penalise(p, Offence::Oversized, t0);
        assert!(pen.banned);
        assert!(s.is_banned(&p, t0 + Duration::from_secs(59)));
        assert!(s.expire(t0 + Duration::from_secs(59)).is_empty());
        assert_eq!(s.expire(t0 + Duration::from_secs(60)), vec![p]);
        assert!(!s.is_banned(&p, t0 + Duration::from_secs(60)));
        assert_eq!(s.score(&p, t0 + Duration::from_secs(60)), 0);
    }

    #[test]
    fn invalid_messages_accumulate_to_a_ban() {
        let mut s = PeerScores::new(Duration::from_secs(60));
        let p = PeerId::random();
        let t0 = Instant::now();
        for i in 1..4 {
            let pen = s.penalise(p, Offence::Invalid, t0);
            assert_eq!(pen.score, -25 * i);
            assert!(!pen.banned);
        }
        assert!(s.penalise(p, Offence::Invalid, t0).banned);
    }

    #[test]
    fn scores_recover_slowly_but_never_above_zero() {
        let mut s = PeerScores::new(Duration::from_secs(60));
        let p = PeerId::random();
        let t0 = Instant::now();
        s.penalise(p, Offence::Invalid, t0);
        assert_eq!(s.score(&p, t0 + RECOVERY_PERIOD * 5), -20);
        assert_eq!(s.score(&p, t0 + RECOVERY_PERIOD * 1000), 0);
        assert_eq!(s.score(&PeerId::random(), t0), 0);
    }
}
