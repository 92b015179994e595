//! Parameters of the relay economy (servicers, applications, fishermen,
//! sessions, quota) and the history of their values by height.
//!
//! The values come from the genesis `economics` section. Every value ever in
//! force is kept with the height from which it applies, so that a session is
//! always evaluated with the parameters in force at its start height, also
//! after they change. Changes may only take effect at a session start (see
//! [`ParamsHistory::schedule`]).

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Most delegated gateways any parameter value may allow per application.
pub const MAX_DELEGATED_GATEWAYS_LIMIT: u32 = 16;

/// Most servicers any parameter value may put in one session.
pub const MAX_SERVICERS_PER_SESSION_LIMIT: u32 = 1_000;

/// Parameters of the relay economy. Unknown fields are rejected; every field
/// has a default, so a genesis written before the section existed still
/// decodes (with [`EconomicParams::default`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EconomicParams {
    /// Smallest stake a servicer may hold.
    pub min_servicer_stake: u64,
    /// Smallest stake an application may hold.
    pub min_application_stake: u64,
    /// Smallest stake a fisherman may hold.
    pub min_fisherman_stake: u64,
    /// Blocks between a servicer's, application's or fisherman's unstake (or
    /// stake decrease) and the return of the funds to its balance.
    pub unbonding_blocks: u64,
    /// Length of a session in blocks.
    pub session_blocks: u64,
    /// Servicers chosen for each (application, relay chain) session (fewer
    /// when fewer are candidates).
    pub servicers_per_session: u32,
    /// Blocks after a session's last block during which relays for it are
    /// still accepted.
    pub grace_blocks: u64,
    /// Most gateways an application may delegate relay signing to.
    pub max_delegated_gateways: u32,
    /// Blocks a jailed actor stays jailed before it may unjail.
    pub jail_blocks: u64,
    /// Relays per session an application may send per unit of stake, before
    /// division among the session's servicers (see [`crate::session::relays_per_servicer`]).
    pub relays_per_stake: u64,
}

impl Default for EconomicParams {
    fn default() -> Self {
        EconomicParams {
            min_servicer_stake: 1_000,
            min_application_stake: 1_000,
            min_fisherman_stake: 1_000,
            unbonding_blocks: 100,
            session_blocks: 4,
            servicers_per_session: 24,
            grace_blocks: 1,
            max_delegated_gateways: 7,
            jail_blocks: 100,
            relays_per_stake: 100,
        }
    }
}

/// A parameter value that is out of range: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamViolation {
    /// Field name inside the economics section.
    pub field: &'static str,
    /// The value given.
    pub value: u64,
    /// Why it is refused.
    pub reason: String,
}

impl EconomicParams {
    /// True for the default values (a genesis then omits the section).
    pub fn is_default(&self) -> bool {
        *self == EconomicParams::default()
    }

    /// The minimum stake of an actor role.
    pub fn min_stake(&self, role: crate::actors::ActorRole) -> u64 {
        use crate::actors::ActorRole;
        match role {
            ActorRole::Servicer => self.min_servicer_stake,
            ActorRole::Application => self.min_application_stake,
            ActorRole::Fisherman => self.min_fisherman_stake,
        }
    }

    /// Checks every range rule; the first violation is returned.
    pub fn validate(&self) -> Result<(), ParamViolation> {
        let at_least_one = [
            ("min_servicer_stake", self.min_servicer_stake),
            ("min_application_stake", self.min_application_stake),
            ("min_fisherman_stake", self.min_fisherman_stake),
            ("unbonding_blocks", self.unbonding_blocks),
            ("session_blocks", self.session_blocks),
            (
                "servicers_per_session",
                u64::from(self.servicers_per_session),
            ),
            ("jail_blocks", self.jail_blocks),
            ("relays_per_stake", self.relays_per_stake),
        ];
        for (field, value) in at_least_one {
            if value == 0 {
                return Err(ParamViolation {
                    field,
                    value,
                    reason: "must be at least 1".into(),
                });
            }
        }
        let at_most = [
            (
                "servicers_per_session",
                u64::from(self.servicers_per_session),
                u64::from(MAX_SERVICERS_PER_SESSION_LIMIT),
            ),
            (
                "max_delegated_gateways",
                u64::from(self.max_delegated_gateways),
                u64::from(MAX_DELEGATED_GATEWAYS_LIMIT),
            ),
        ];
        for (field, value, max) in at_most {
            if value > max {
                return Err(ParamViolation {
                    field,
                    value,
                    reason: format!("must be at most {max}"),
                });
            }
        }
        Ok(())
    }
}

/// Every economic parameter value with the height from which it applies.
///
/// The first value applies from the chain's initial height. A later value
/// must start at a session start of the value before it; sessions then
/// restart their count from that height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsHistory {
    first_height: u64,
    first: EconomicParams,
    later: BTreeMap<u64, EconomicParams>,
}

/// The first and last block of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SessionBounds {
    /// Height of the session's first block.
    pub start: u64,
    /// Height of the session's last block (`start + session_blocks - 1`).
    pub end: u64,
}

impl ParamsHistory {
    /// A history with one value, in force from `initial_height` on.
    pub fn new(initial_height: u64, params: EconomicParams) -> ParamsHistory {
        ParamsHistory {
            first_height: initial_height,
            first: params,
            later: BTreeMap::new(),
        }
    }

    /// Builds a history from (from height, value) pairs in any order; the
    /// earliest is the first value. `None` if there are none.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (u64, EconomicParams)>,
    ) -> Option<ParamsHistory> {
        let mut later: BTreeMap<u64, EconomicParams> = entries.into_iter().collect();
        let (first_height, first) = later.pop_first()?;
        Some(ParamsHistory {
            first_height,
            first,
            later,
        })
    }

    /// The (from height, value) pairs, earliest first.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &EconomicParams)> {
        std::iter::once((self.first_height, &self.first))
            .chain(self.later.iter().map(|(h, p)| (*h, p)))
    }

    /// The height from which the first value applies (the chain's initial height).
    pub fn first_height(&self) -> u64 {
        self.first_height
    }

    /// The entry in force at `height`: (from height, value); `None` before the first.
    fn entry_at(&self, height: u64) -> Option<(u64, &EconomicParams)> {
        if height < self.first_height {
            return None;
        }
        Some(
            self.later
                .range(..=height)
                .next_back()
                .map_or((self.first_height, &self.first), |(h, p)| (*h, p)),
        )
    }

    /// The value in force at `height` (the first value for earlier heights).
    pub fn at(&self, height: u64) -> &EconomicParams {
        self.entry_at(height).map_or(&self.first, |(_, p)| p)
    }

    /// The latest value (in force from the last entry's height on).
    pub fn latest(&self) -> &EconomicParams {
        self.later.values().next_back().unwrap_or(&self.first)
    }

    /// The session containing `height`; `None` before the first height.
    ///
    /// With `F` the height from which the value in force at `height` applies
    /// and `L` its `session_blocks`:
    /// `start = F + ((height - F) / L) * L`, `end = start + L - 1`.
    /// With `F = 1` this is `start = height - (height - 1) % L`: heights
    /// `1..=L` form the first session, `L+1..=2L` the second, and so on.
    pub fn schedule(&self, height: u64) -> Option<SessionBounds> {
        let (from, p) = self.entry_at(height)?;
        let len = p.session_blocks.max(1);
        let start = from + (height - from) / len * len;
        Some(SessionBounds {
            start,
            end: start.saturating_add(len - 1),
        })
    }

    /// True when `height` is the first block of a session.
    pub fn is_session_start(&self, height: u64) -> bool {
        self.schedule(height).is_some_and(|b| b.start == height)
    }

    /// Whether a relay naming the session that starts at `claimed_start` is
    /// acceptable at `height` (the servicer's latest committed height):
    /// `claimed_start` must be a session start, and
    /// `claimed_start <= height <= end + grace_blocks`, with the session's
    /// end and grace taken from the parameters in force at `claimed_start`.
    pub fn relay_acceptable(&self, claimed_start: u64, height: u64) -> bool {
        match self.acceptance_end(claimed_start) {
            Some(last) => claimed_start <= height && height <= last,
            None => false,
        }
    }

    /// The last height at which a relay for the session starting at `start`
    /// is acceptable: its end plus the grace blocks in force at `start`.
    /// `None` when `start` is not a session start.
    pub fn acceptance_end(&self, start: u64) -> Option<u64> {
        let bounds = self.schedule(start)?;
        (bounds.start == start).then(|| bounds.end.saturating_add(self.at(start).grace_blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_len(initial: u64, len: u64, grace: u64) -> ParamsHistory {
        ParamsHistory::new(
            initial,
            EconomicParams {
                session_blocks: len,
                grace_blocks: grace,
                ..EconomicParams::default()
            },
        )
    }

    fn bounds(start: u64, end: u64) -> Option<SessionBounds> {
        Some(SessionBounds { start, end })
    }

    #[test]
    fn sessions_are_counted_from_the_initial_height_one_based() {
        let h = with_len(1, 4, 0);
        assert_eq!(h.schedule(0), None);
        assert_eq!(h.schedule(1), bounds(1, 4));
        assert_eq!(h.schedule(3), bounds(1, 4));
        assert_eq!(h.schedule(4), bounds(1, 4));
        assert_eq!(h.schedule(5), bounds(5, 8));
        assert_eq!(h.schedule(8), bounds(5, 8));
        assert_eq!(h.schedule(9), bounds(9, 12));
        assert!(h.is_session_start(5));
        assert!(!h.is_session_start(4));
        assert!(!h.is_session_start(6));
        // One-block sessions: every height starts one.
        let one = with_len(1, 1, 0);
        assert_eq!(one.schedule(7), bounds(7, 7));
        // Another initial height: sessions start there.
        let later = with_len(10, 3, 0);
        assert_eq!(later.schedule(9), None);
        assert_eq!(later.schedule(12), bounds(10, 12));
        assert_eq!(later.schedule(13), bounds(13, 15));
    }

    #[test]
    fn grace_is_counted_after_the_last_block() {
        let h = with_len(1, 4, 2);
        // Session 5..=8, grace 2: acceptable at 5..=10.
        assert!(!h.relay_acceptable(5, 4));
        assert!(h.relay_acceptable(5, 5));
        assert!(h.relay_acceptable(5, 8));
        assert!(h.relay_acceptable(5, 10));
        assert!(!h.relay_acceptable(5, 11));
        assert_eq!(h.acceptance_end(5), Some(10));
        // Not a session start.
        assert!(!h.relay_acceptable(6, 6));
        assert!(!h.relay_acceptable(0, 1));
        let none = with_len(1, 4, 0);
        assert!(none.relay_acceptable(1, 4));
        assert!(!none.relay_acceptable(1, 5));
    }

    #[test]
    fn a_later_value_restarts_the_count_and_old_sessions_keep_theirs() {
        let mut first = EconomicParams {
            session_blocks: 4,
            grace_blocks: 3,
            ..EconomicParams::default()
        };
        let second = EconomicParams {
            session_blocks: 10,
            grace_blocks: 0,
            ..first.clone()
        };
        let h = ParamsHistory::from_entries([(1, first.clone()), (9, second)]).unwrap();
        assert_eq!(h.schedule(8), bounds(5, 8));
        assert_eq!(h.schedule(9), bounds(9, 18));
        assert_eq!(h.schedule(19), bounds(19, 28));
        // The session 5..=8 keeps the grace in force at its start.
        assert!(h.relay_acceptable(5, 11));
        assert!(!h.relay_acceptable(5, 12));
        assert!(h.relay_acceptable(9, 18));
        assert!(!h.relay_acceptable(9, 19));
        assert_eq!(h.at(3).session_blocks, 4);
        assert_eq!(h.latest().session_blocks, 10);
        first.session_blocks = 0;
        assert_eq!(first.validate().unwrap_err().field, "session_blocks");
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let doc = include_str!("../../../docs/economics.md");
        let defaults = serde_json::to_value(EconomicParams::default()).unwrap();
        let fields = defaults.as_object().unwrap();
        let rows: Vec<(String, u64)> = doc
            .lines()
            .skip_while(|l| !(l.starts_with("| field") && l.contains("| default")))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
                (
                    cells[0].trim_matches('`').to_owned(),
                    cells[1].parse().unwrap(),
                )
            })
            .collect();
        assert_eq!(rows.len(), fields.len(), "one row per parameter");
        for (name, value) in rows {
            assert_eq!(
                fields.get(&name).and_then(|v| v.as_u64()),
                Some(value),
                "{name}"
            );
        }
    }

    #[test]
    fn validation_names_the_field_at_each_limit() {
        assert_eq!(EconomicParams::default().validate(), Ok(()));
        let mut p = EconomicParams {
            max_delegated_gateways: MAX_DELEGATED_GATEWAYS_LIMIT,
            ..EconomicParams::default()
        };
        assert_eq!(p.validate(), Ok(()));
        p.max_delegated_gateways += 1;
        assert_eq!(p.validate().unwrap_err().field, "max_delegated_gateways");
        p.max_delegated_gateways = 0;
        assert_eq!(p.validate(), Ok(()), "no delegation at all is allowed");
        p.servicers_per_session = MAX_SERVICERS_PER_SESSION_LIMIT + 1;
        assert_eq!(p.validate().unwrap_err().field, "servicers_per_session");
        p.servicers_per_session = 0;
        assert_eq!(p.validate().unwrap_err().field, "servicers_per_session");
        p.servicers_per_session = 1;
        p.grace_blocks = 0;
        assert_eq!(p.validate(), Ok(()), "no grace at all is allowed");
    }
}
