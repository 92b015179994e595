//! Sessions: which servicers (and which fisherman) serve an application on a
//! relay chain for a run of blocks, and how many relays each may serve.
//!
//! The rule is specified in `docs/economics.md` precisely enough to be
//! reproduced in any language; the test vectors there are checked by this
//! module's tests.
//!
//! ```text
//! session_id = BLAKE3("netwright/session/v1\0" || start_block_hash(32)
//!                     || u32_le(len(chain)) || chain || application(20) || u64_le(start))
//! weight(c)  = BLAKE3("netwright/session-weight/v1\0" || session_id(32) || c(20))
//! ```
//!
//! Candidates are sorted by (weight as a 32-byte big-endian number, then
//! address bytes) and the first `servicers_per_session` are taken.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use thiserror::Error;

use crate::actors::{ActorRecord, ActorRole, RelayChain};
use crate::address::Address;
use crate::crypto::Hash;

/// Domain prefix of session ids.
pub const SESSION_ID_DOMAIN: &[u8] = b"netwright/session/v1\0";
/// Domain prefix of candidate weights.
pub const SESSION_WEIGHT_DOMAIN: &[u8] = b"netwright/session-weight/v1\0";

/// An application as it stood at a session's start.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SessionApplication {
    /// Its stake (the base of its quota).
    pub stake: u64,
    /// The relay chains it had staked for.
    pub chains: Vec<RelayChain>,
    /// Its delegated gateways.
    pub gateways: Vec<Address>,
}

/// The actors as they stood when the session's first block began (after
/// the block before it, or at genesis): what every session of that start is
/// computed from, whatever happens to the actors during the session.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SessionSnapshot {
    /// Per relay chain, the servicers that were candidates (staked, not
    /// paused, not jailed, serving the chain), ascending.
    pub servicers: BTreeMap<RelayChain, Vec<Address>>,
    /// Per relay chain, the fishermen that were candidates (staked, not
    /// jailed, measuring the chain), ascending.
    pub fishermen: BTreeMap<RelayChain, Vec<Address>>,
    /// Every staked, unjailed application.
    pub applications: BTreeMap<Address, SessionApplication>,
}

impl SessionSnapshot {
    /// Takes the snapshot of the given actors.
    pub fn of<'a>(
        actors: impl IntoIterator<Item = (&'a (ActorRole, Address), &'a ActorRecord)>,
    ) -> SessionSnapshot {
        let mut snapshot = SessionSnapshot::default();
        for ((role, address), record) in actors {
            if !record.is_active() {
                continue;
            }
            match role {
                ActorRole::Servicer | ActorRole::Fisherman => {
                    let by_chain = if *role == ActorRole::Servicer {
                        &mut snapshot.servicers
                    } else {
                        &mut snapshot.fishermen
                    };
                    for chain in &record.chains {
                        by_chain.entry(chain.clone()).or_default().push(*address);
                    }
                }
                ActorRole::Application => {
                    snapshot.applications.insert(
                        *address,
                        SessionApplication {
                            stake: record.stake,
                            chains: record.chains.clone(),
                            gateways: record.gateways.clone(),
                        },
                    );
                }
            }
        }
        // Addresses arrive in ascending order (actors are keyed by address), so
        // every list is sorted; sorting again keeps that true whatever the input.
        for list in snapshot
            .servicers
            .values_mut()
            .chain(snapshot.fishermen.values_mut())
        {
            list.sort();
            list.dedup();
        }
        snapshot
    }
}

/// One (application, relay chain) session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The session id ([`session_id`]).
    pub id: Hash,
    /// The application served.
    pub application: Address,
    /// The relay chain.
    pub chain: RelayChain,
    /// First block of the session.
    pub start: u64,
    /// Last block of the session.
    pub end: u64,
    /// Last height at which relays for the session are accepted (end + grace).
    pub accept_until: u64,
    /// The chosen servicers, in weight order (smallest first).
    pub servicers: Vec<Address>,
    /// The chosen fisherman, if any fisherman was a candidate.
    pub fisherman: Option<Address>,
    /// Gateways that may sign the application's relays (as of the start).
    pub gateways: Vec<Address>,
    /// The application's stake at the session start (the base of its quota).
    pub application_stake: u64,
    /// Relays each chosen servicer serves the application in this session
    /// ([`relays_per_servicer`]).
    pub relays_per_servicer: u64,
}

/// Why a session cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    /// The height is before the chain's first block.
    #[error("height {height} is before the first block {first}")]
    BeforeFirstBlock {
        /// The height asked.
        height: u64,
        /// The chain's initial height.
        first: u64,
    },
    /// The ledger holds no snapshot for the session: it has not begun yet,
    /// or relays for it are no longer accepted.
    #[error("no session starting at height {start} is known (not begun, or past its grace)")]
    Unknown {
        /// The session's start height.
        start: u64,
    },
    /// The application was not staked (or was jailed) at the session start.
    #[error("{application} was not a staked application at height {start}")]
    NotAnApplication {
        /// The application asked for.
        application: Address,
        /// The session's start height.
        start: u64,
    },
    /// The application had not staked for the chain at the session start.
    #[error("{application} had not staked for relay chain {chain} at height {start}")]
    ChainNotStaked {
        /// The application.
        application: Address,
        /// The relay chain asked for.
        chain: RelayChain,
        /// The session's start height.
        start: u64,
    },
}

/// The session id (see the module documentation for the byte layout).
pub fn session_id(
    start_block_hash: &Hash,
    chain: &RelayChain,
    application: &Address,
    start: u64,
) -> Hash {
    let chain = chain.as_bytes();
    let mut h = blake3::Hasher::new();
    h.update(SESSION_ID_DOMAIN);
    h.update(start_block_hash.as_bytes());
    // Relay chain ids are at most 32 bytes; the cast cannot truncate.
    h.update(&(chain.len() as u32).to_le_bytes());
    h.update(chain);
    h.update(application.as_bytes());
    h.update(&start.to_le_bytes());
    Hash(*h.finalize().as_bytes())
}

/// A candidate's weight in a session: smaller weights are chosen first.
pub fn candidate_weight(session_id: &Hash, candidate: &Address) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(SESSION_WEIGHT_DOMAIN);
    h.update(session_id.as_bytes());
    h.update(candidate.as_bytes());
    Hash(*h.finalize().as_bytes())
}

/// The `n` candidates with the smallest weights, smallest first (ties, which
/// need equal hashes, go to the smaller address). Duplicates count once.
pub fn select(session_id: &Hash, candidates: &[Address], n: usize) -> Vec<Address> {
    let mut weighted: Vec<(Hash, Address)> = candidates
        .iter()
        .map(|c| (candidate_weight(session_id, c), *c))
        .collect();
    weighted.sort();
    weighted.dedup();
    weighted.into_iter().take(n).map(|(_, a)| a).collect()
}

/// Relays per session one servicer serves an application:
/// `floor(stake * relays_per_stake / servicers)`, computed without overflow
/// and capped at 2^64-1; 0 when the session has no servicer. Rounding down
/// means the servicers together never serve more than
/// `stake * relays_per_stake` relays.
pub fn relays_per_servicer(stake: u64, relays_per_stake: u64, servicers: usize) -> u64 {
    if servicers == 0 {
        return 0;
    }
    let total = u128::from(stake) * u128::from(relays_per_stake);
    u64::try_from(total / servicers as u128).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(byte: u8) -> Address {
        Address([byte; 20])
    }

    #[test]
    fn selection_takes_the_smallest_weights_and_ignores_input_order() {
        let id = Hash([7; 32]);
        let candidates: Vec<Address> = (1..=10).map(addr).collect();
        let chosen = select(&id, &candidates, 3);
        assert_eq!(chosen.len(), 3);
        let mut reversed = candidates.clone();
        reversed.reverse();
        assert_eq!(select(&id, &reversed, 3), chosen);
        let mut weights: Vec<(Hash, Address)> = candidates
            .iter()
            .map(|c| (candidate_weight(&id, c), *c))
            .collect();
        weights.sort();
        let expected: Vec<Address> = weights.iter().take(3).map(|w| w.1).collect();
        assert_eq!(chosen, expected);
        // Fewer candidates than wanted: all of them.
        assert_eq!(select(&id, &candidates[..2], 3).len(), 2);
        assert!(select(&id, &[], 3).is_empty());
        let dup = vec![addr(1), addr(1)];
        assert_eq!(select(&id, &dup, 3), vec![addr(1)]);
    }

    #[test]
    fn session_id_binds_every_input() {
        let base = session_id(&Hash([1; 32]), &"eth".into(), &addr(2), 5);
        assert_ne!(base, session_id(&Hash([9; 32]), &"eth".into(), &addr(2), 5));
        assert_ne!(
            base,
            session_id(&Hash([1; 32]), &"eth2".into(), &addr(2), 5)
        );
        assert_ne!(base, session_id(&Hash([1; 32]), &"eth".into(), &addr(3), 5));
        assert_ne!(base, session_id(&Hash([1; 32]), &"eth".into(), &addr(2), 6));
    }

    /// The economics document, whose test vectors these tests check.
    const ECONOMICS_DOC: &str = include_str!("../../../docs/economics.md");

    /// The body rows of the table whose header row starts with `header`.
    fn table(header: &str) -> Vec<Vec<String>> {
        let mut lines = ECONOMICS_DOC.lines().skip_while(|l| !l.starts_with(header));
        assert!(
            lines.next().is_some(),
            "table {header:?} is in the document"
        );
        lines
            .skip(1) // the |---| separator
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|cell| cell.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    fn num(cell: &str) -> u64 {
        cell.parse()
            .unwrap_or_else(|_| panic!("{cell:?} is a number"))
    }

    fn history(initial: &str, len: &str, grace: &str) -> crate::economics::ParamsHistory {
        crate::economics::ParamsHistory::new(
            num(initial),
            crate::economics::EconomicParams {
                session_blocks: num(len),
                grace_blocks: num(grace),
                ..Default::default()
            },
        )
    }

    fn hex_bytes<const N: usize>(text: &str) -> [u8; N] {
        let bytes = hex::decode(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        bytes
            .try_into()
            .unwrap_or_else(|_| panic!("{text:?} is {N} bytes"))
    }

    #[test]
    fn doc_vectors() {
        let schedule = table("| initial height | session blocks | height |");
        assert!(schedule.len() >= 10);
        for row in &schedule {
            let h = history(&row[0], &row[1], "0");
            let expected = (row[3] != "-").then(|| crate::economics::SessionBounds {
                start: num(&row[3]),
                end: num(&row[4]),
            });
            assert_eq!(h.schedule(num(&row[2])), expected, "schedule row {row:?}");
        }
        let grace = table("| initial height | session blocks | grace blocks |");
        assert!(grace.len() >= 10);
        for row in &grace {
            let h = history(&row[0], &row[1], &row[2]);
            let expected = match row[5].as_str() {
                "yes" => true,
                "no" => false,
                other => panic!("acceptable is yes or no, not {other:?}"),
            };
            assert_eq!(
                h.relay_acceptable(num(&row[3]), num(&row[4])),
                expected,
                "grace row {row:?}"
            );
        }
        let quota = table("| stake ");
        assert!(quota.len() >= 8);
        for row in &quota {
            let n = usize::try_from(num(&row[2])).unwrap();
            assert_eq!(
                relays_per_servicer(num(&row[0]), num(&row[1]), n),
                num(&row[3]),
                "quota row {row:?}"
            );
        }
        let blocks: Vec<&str> = ECONOMICS_DOC
            .split("```session-vector\n")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap_or_default())
            .collect();
        assert!(blocks.len() >= 4, "session vectors are in the document");
        for block in blocks {
            check_session_vector(block);
        }
    }

    fn check_session_vector(block: &str) {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("{line:?} is `key: value`"));
            fields.push((k, v.trim()));
        }
        let one = |key: &str| -> &str {
            let found: Vec<&str> = fields
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .collect();
            assert_eq!(found.len(), 1, "one {key} in {block}");
            found[0]
        };
        let all = |key: &str| -> Vec<&str> {
            fields
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .collect()
        };
        let address = |text: &str| Address(hex_bytes(text));
        let block_hash = Hash(hex_bytes(one("start_block_hash")));
        let chain = RelayChain::from(one("chain"));
        let app = address(one("application"));
        let start = num(one("start"));
        let n = usize::try_from(num(one("servicers_per_session"))).unwrap();
        let candidates: Vec<Address> = all("candidate").into_iter().map(address).collect();
        let fishermen: Vec<Address> = all("fisherman_candidate")
            .into_iter()
            .map(address)
            .collect();

        let id = session_id(&block_hash, &chain, &app, start);
        assert_eq!(
            id,
            Hash(hex_bytes(one("session_id"))),
            "session id in {block}"
        );
        let weights = all("weight");
        assert_eq!(weights.len(), candidates.len());
        for w in weights {
            let (who, weight) = w.split_once(' ').unwrap_or_else(|| panic!("{w:?}"));
            assert_eq!(
                candidate_weight(&id, &address(who)),
                Hash(hex_bytes(weight)),
                "weight of {who}"
            );
        }
        let selected: Vec<Address> = all("selected").into_iter().map(address).collect();
        assert_eq!(
            select(&id, &candidates, n),
            selected,
            "selection in {block}"
        );
        let remaining: Vec<Address> = fishermen
            .into_iter()
            .filter(|f| !selected.contains(f))
            .collect();
        let fisherman = select(&id, &remaining, 1).first().copied();
        let expected = match one("fisherman") {
            "-" => None,
            text => Some(address(text)),
        };
        assert_eq!(fisherman, expected, "fisherman in {block}");
    }

    #[test]
    fn quota_rounds_down_and_never_overflows() {
        assert_eq!(relays_per_servicer(1_000, 100, 3), 33_333);
        assert_eq!(relays_per_servicer(1_000, 100, 1), 100_000);
        assert_eq!(relays_per_servicer(1_000, 100, 0), 0);
        assert_eq!(relays_per_servicer(u64::MAX, u64::MAX, 1), u64::MAX);
        assert_eq!(
            relays_per_servicer(u64::MAX, 2, 2),
            u64::MAX,
            "exactly 2^64-1 fits"
        );
        for n in 1..=30usize {
            let per = relays_per_servicer(1_001, 7, n);
            assert!(u128::from(per) * n as u128 <= 7_007);
            assert!((u128::from(per) + 1) * n as u128 > 7_007);
        }
    }
}
