//! Supervision (restart what should run but died, with exponential backoff) and `down`.
//!
//! The restart history lives in `state.json`, so whichever process runs a pass (the `up`
//! foreground loop, a later command) continues the same backoff.

use std::time::Duration;

use serde::Serialize;

use crate::backend::BackendError;

use super::launch;
use super::state::ProcessRecord;
use super::{anvil_marker, now_ms, process, LocalBackend};

/// Delay before the second restart in a row; it doubles for each further one.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest delay between restarts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A process that ran this long since its last start is considered stable: its backoff resets.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);

/// What a supervision pass did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum SupervisorEvent {
    /// A node that should run had died and was started again.
    Restarted {
        /// Node name.
        node: String,
        /// Consecutive restarts so far (1 for the first after a stable run).
        attempt: u32,
    },
    /// A managed relay chain that should run had died and was started again.
    RelayChainRestarted {
        /// Relay chain id.
        chain: String,
        /// Consecutive restarts so far.
        attempt: u32,
    },
    /// A dead node waits for its backoff to elapse.
    BackingOff {
        /// Node name.
        node: String,
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
    /// A dead relay chain waits for its backoff to elapse.
    RelayChainBackingOff {
        /// Relay chain id.
        chain: String,
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
    /// A dead node whose data directory is missing or empty is not started again: it would
    /// start from an empty store, without its chain and, for a validator, without the record
    /// of what it signed. It is marked as not to run; `status` shows it stopped with its last
    /// log line, and an `apply` starts it again deliberately.
    DataMissing {
        /// Node name.
        node: String,
        /// Its data directory.
        data_dir: String,
    },
    /// Starting a node again failed (it is retried after its backoff).
    RestartFailed {
        /// Node name.
        node: String,
        /// Why.
        error: String,
    },
    /// Starting a relay chain again failed (it is retried after its backoff).
    RelayChainRestartFailed {
        /// Relay chain id.
        chain: String,
        /// Why.
        error: String,
    },
}

/// The wait before the restart that follows `failures` consecutive restarts: none after a
/// stable run, then `BACKOFF_BASE`, doubling, capped at `BACKOFF_MAX`.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << (failures - 1).min(16);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
}

/// What to do with one supervised process.
enum Decision {
    Leave,
    Restart,
    Wait(u64),
}

fn decide(rec: &mut ProcessRecord, alive: bool, now: u64) -> Decision {
    let stable_ms = u64::try_from(STABLE_AFTER.as_millis()).unwrap_or(u64::MAX);
    let started = rec.started_ms.unwrap_or(0);
    if !rec.should_run {
        return Decision::Leave;
    }
    if alive {
        if rec.failures > 0 && now.saturating_sub(started) >= stable_ms {
            rec.failures = 0;
        }
        return Decision::Leave;
    }
    let wait = u64::try_from(backoff(rec.failures).as_millis()).unwrap_or(u64::MAX);
    let due = started.saturating_add(wait);
    if now >= due {
        Decision::Restart
    } else {
        Decision::Wait(due - now)
    }
}

/// `node`'s data directory when it holds nothing (missing or empty).
fn lost_data_dir(b: &LocalBackend, node: &str) -> Option<std::path::PathBuf> {
    let data = b
        .layout
        .node_home(node)
        .join(netwright_node_api::home::DATA_DIR);
    let holds_data = std::fs::read_dir(&data).is_ok_and(|mut d| d.next().is_some());
    (!holds_data).then_some(data)
}

/// One supervision pass.
pub fn pass(b: &LocalBackend) -> Result<Vec<SupervisorEvent>, BackendError> {
    if !b.layout.state().exists() {
        return Ok(Vec::new());
    }
    b.update(|s| {
        let mut events = Vec::new();
        let now = now_ms();
        let names: Vec<String> = s.nodes.keys().cloned().collect();
        for name in names {
            let marker = b.node_marker(&name);
            let Some(rec) = s.nodes.get_mut(&name) else {
                continue;
            };
            let alive = rec.process.is_alive(marker);
            match decide(&mut rec.process, alive, now) {
                Decision::Leave => {}
                Decision::Wait(ms) => events.push(SupervisorEvent::BackingOff {
                    node: name.clone(),
                    retry_in_ms: ms,
                }),
                Decision::Restart => {
                    if let Some(data_dir) = lost_data_dir(b, &name) {
                        rec.process.should_run = false;
                        events.push(SupervisorEvent::DataMissing {
                            node: name.clone(),
                            data_dir: data_dir.display().to_string(),
                        });
                        continue;
                    }
                    rec.process.failures = rec.process.failures.saturating_add(1);
                    rec.process.restarts += 1;
                    rec.process.started_ms = Some(now);
                    let attempt = rec.process.failures;
                    match launch::spawn_node(b, s, &name) {
                        Ok(_) => events.push(SupervisorEvent::Restarted {
                            node: name.clone(),
                            attempt,
                        }),
                        Err(e) => events.push(SupervisorEvent::RestartFailed {
                            node: name.clone(),
                            error: e.to_string(),
                        }),
                    }
                }
            }
        }
        let ids: Vec<String> = s.relay_chains.keys().cloned().collect();
        for id in ids {
            let Some(rec) = s.relay_chains.get_mut(&id) else {
                continue;
            };
            let alive = rec
                .port
                .is_some_and(|port| rec.is_alive(anvil_marker(port)));
            match decide(rec, alive, now) {
                Decision::Leave => {}
                Decision::Wait(ms) => events.push(SupervisorEvent::RelayChainBackingOff {
                    chain: id.clone(),
                    retry_in_ms: ms,
                }),
                Decision::Restart => {
                    rec.failures = rec.failures.saturating_add(1);
                    rec.restarts += 1;
                    rec.started_ms = Some(now);
                    let attempt = rec.failures;
                    match launch::spawn_relay_chain(b, s, &id) {
                        Ok(_) => events.push(SupervisorEvent::RelayChainRestarted {
                            chain: id.clone(),
                            attempt,
                        }),
                        Err(e) => events.push(SupervisorEvent::RelayChainRestartFailed {
                            chain: id.clone(),
                            error: e.to_string(),
                        }),
                    }
                }
            }
        }
        Ok(events)
    })
}

/// What [`down`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stopped {
    /// The processes that ran and were stopped: `(node/<name> | relay-chain/<id>, pid)`.
    pub processes: Vec<(String, u32)>,
    /// Why `state.json` could not be read, when it could not: the processes were then found
    /// from their process files alone, and nothing was recorded in it.
    pub unreadable_state: Option<String>,
}

/// Records that nothing should run (keeping the last on-chain stakes for later observations),
/// then stops every recorded process: those of `state.json` and those of the process files
/// beside the homes. With `state.json` unreadable or missing, the process files alone say what
/// to stop.
pub async fn down(b: &LocalBackend) -> Result<Stopped, BackendError> {
    if b.layout.state().exists() && b.state().is_ok() {
        let snap = super::observe::snapshot(b).await?;
        let live_stakes: Option<std::collections::BTreeMap<String, u64>> =
            snap.nodes.iter().any(|p| p.status.is_some()).then(|| {
                snap.nodes
                    .iter()
                    .filter(|p| p.stake > 0)
                    .map(|p| (p.name.clone(), p.stake))
                    .collect()
            });
        b.update(|s| {
            if let Some(stakes) = live_stakes {
                s.stakes = stakes;
            }
            for rec in s.nodes.values_mut() {
                rec.process.should_run = false;
            }
            for rec in s.relay_chains.values_mut() {
                rec.should_run = false;
            }
            Ok(())
        })?;
    }
    let (recorded, unreadable) = b.recorded_processes();
    let live: Vec<(String, process::Ours)> =
        recorded.into_iter().filter(|(_, p)| p.is_alive()).collect();
    let procs: Vec<process::Ours> = live.iter().map(|(_, p)| p.clone()).collect();
    tokio::task::spawn_blocking(move || process::stop_all(&procs, process::STOP_GRACE))
        .await
        .map_err(|e| BackendError::new(format!("stopping the network's processes: {e}")))?;
    Ok(Stopped {
        processes: live.into_iter().map(|(name, p)| (name, p.pid)).collect(),
        unreadable_state: unreadable.map(|e| e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_second_restart_and_is_capped() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(20), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn decisions_follow_should_run_liveness_and_backoff() {
        let mut rec = ProcessRecord {
            should_run: true,
            started_ms: Some(1_000),
            ..ProcessRecord::default()
        };
        assert!(matches!(decide(&mut rec, false, 1_000), Decision::Restart));
        rec.failures = 2;
        assert!(matches!(
            decide(&mut rec, false, 1_400),
            Decision::Wait(600)
        ));
        assert!(matches!(decide(&mut rec, false, 2_000), Decision::Restart));
        assert!(matches!(decide(&mut rec, true, 5_000), Decision::Leave));
        assert_eq!(rec.failures, 2, "not yet stable");
        assert!(matches!(decide(&mut rec, true, 11_000), Decision::Leave));
        assert_eq!(rec.failures, 0, "stable: backoff reset");
        rec.should_run = false;
        assert!(matches!(decide(&mut rec, false, 20_000), Decision::Leave));
    }
}
