//! Halts: what forbids reconciling a network until a human acts.
//!
//! A network is halted when its receipt log fails verification against the orchestrator's
//! key (the receipts crate's [`StopRule`]), or when its last `stop` receipt has not been
//! cleared by a later `resume` receipt.

use std::fmt;
use std::path::Path;

use netwright_receipts::log::split_lines;
use netwright_receipts::{
    open_line, verify_bytes, Kind, StopReason, StopRule, TrustedKeys, VerifyOptions,
};

/// The receipt kind that clears a `stop`.
pub const RESUME_KIND: &str = "resume";

/// Why a network may not be reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The receipt log fails verification.
    Log(StopRule),
    /// A `stop` receipt is in force.
    Stopped {
        /// Its sequence number.
        seq: u64,
        /// The reason it gives (`body.reason`), if any.
        reason: Option<String>,
    },
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Halt::Log(rule) => write!(f, "the receipt log fails verification: {rule}"),
            Halt::Stopped { seq, reason } => {
                write!(f, "a stop receipt (seq {seq}) is in force")?;
                if let Some(reason) = reason {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
        }
    }
}

impl Halt {
    /// What a human must do before reconciling again, naming the commands.
    pub fn remedy(&self, log: &Path, key: &Path, network: &str) -> String {
        let log = log.display();
        match self {
            Halt::Log(rule) if rule.reason == StopReason::TornWrite => format!(
                "an append was interrupted; inspect it, then cut the torn tail with \
                 `netwright receipts repair {log}`"
            ),
            Halt::Log(_) => format!(
                "inspect the log with `netwright receipts verify {log} --key {}`, find out who \
                 changed it, and restore it from a trusted copy; netwright will not write to it \
                 until it verifies",
                public_key_of(key).display()
            ),
            Halt::Stopped { .. } => format!(
                "resolve the cause of the stop, then clear it with `netwright resume {network} \
                 --home {} --reason \"...\"` (or `netwright receipts append {log} --key {} \
                 --network {network} --kind {RESUME_KIND} --spec FILE`)",
                key.parent().unwrap_or(Path::new(".")).display(),
                key.display()
            ),
        }
    }
}

/// The public key file next to a private key file (`NAME.key` -> `NAME.pub`).
pub fn public_key_of(key: &Path) -> std::path::PathBuf {
    key.with_extension("pub")
}

/// Checks a receipt log's bytes: `None` when the network may be reconciled.
pub fn check_log(bytes: &[u8], trusted: &TrustedKeys) -> Option<Halt> {
    let mut options = VerifyOptions::new(trusted);
    options.threads = 1;
    let report = verify_bytes(bytes, &options);
    if let Some(rule) = StopRule::from_report(&report) {
        return Some(Halt::Log(rule));
    }
    let (lines, _) = split_lines(bytes);
    let mut stop = None;
    for range in lines {
        let Ok(signed) = open_line(&bytes[range]) else {
            continue;
        };
        let receipt = signed.receipt;
        match receipt.kind {
            Kind::Stop => {
                let reason = receipt
                    .body
                    .get("reason")
                    .and_then(|r| r.as_str())
                    .map(str::to_owned);
                stop = Some(Halt::Stopped {
                    seq: receipt.seq,
                    reason,
                });
            }
            Kind::Other(ref name) if name == RESUME_KIND => stop = None,
            _ => {}
        }
    }
    stop
}
