//! The reconciliation loop, the same for every backend.
//!
//! One reconciliation: refuse when a halt is in force ([`Halt`]), observe, plan, refuse an
//! unsafe plan without a matching approval ([`approval::decide`]), record the approval,
//! apply the plan's actions in order through the [`Backend`](crate::backend::Backend)
//! trait, observe again and plan again until the plan is empty or [`Options::max_passes`]
//! passes were made, and record one `reconcile` receipt ([`record`]).
//!
//! The decisions ([`approval`], [`halt`], [`record`]) are pure; [`engine`] does the I/O
//! through the backend trait and a [`ReceiptSink`]; [`sink`] writes receipts to a log and
//! [`lock`] keeps two reconciliations of one network apart.

pub mod approval;
pub mod engine;
pub mod halt;
pub mod lock;
pub mod record;
pub mod sink;

#[cfg(test)]
mod tests;

pub use approval::{decide, Decision};
pub use engine::{
    reconcile, Options, Outcome, Progress, ReceiptSink, ReconcileError, Report, SilentProgress,
};
pub use halt::{check_log, Halt};
pub use lock::{LockError, ReconcileLock};
pub use sink::{LogSink, SinkError};
