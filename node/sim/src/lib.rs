//! A deterministic simulator that runs whole networks of consensus state machines from a seed.
//!
//! One run ([`run`]) builds N validators with seeded stakes and keys, a simulated network with
//! per-link latency and jitter, and the faults of its [`SimConfig`] (loss, duplication,
//! reordering, partitions that heal, crashes with restart from the WAL, byzantine validators).
//! The simulator is the machines' runtime: it persists their WAL records before sending,
//! fires their timers, answers as the application and serves block sync. Every step is
//! checked by [`checker::Checker`]; liveness is checked after the global stabilisation time.
//! A run is a pure function of its configuration: the same seed replays the same trace.
//!
//! # Example
//!
//! Four validators with message loss and crashes before the global stabilisation time; the
//! run decides every height with no safety or liveness violation, and replays identically:
//!
//! ```
//! use netwright_sim::{run, Faults, SimConfig};
//!
//! let config = SimConfig::new(7, 4, Faults::parse("loss,crash")?);
//! let report = run(&config).unwrap_or_else(|failure| panic!("{failure}"));
//! assert!(report.decided_height >= config.heights);
//! let again = run(&config).unwrap_or_else(|failure| panic!("{failure}"));
//! assert_eq!(again.trace_hash, report.trace_hash);
//! # Ok::<(), netwright_sim::UnknownFault>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod byzantine;
pub mod campaign;
pub mod checker;
pub mod config;
pub mod runner;
pub mod trace;
pub mod verify_cache;
pub mod workload;

pub use campaign::{run_campaign, CampaignReport, CampaignSpec};
pub use checker::{Violation, ViolationKind};
pub use config::{ByzantineBound, ByzantineKind, Faults, SimConfig, Stakes, UnknownFault};
pub use runner::{run, Failure, RunReport};
