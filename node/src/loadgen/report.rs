//! The load generator's summary: pure figures from counts and latencies, rendered as
//! `name value` lines and parsed back.

use std::time::Duration;

/// Summary of one load run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Requested rate, tx/s.
    pub target_tps: f64,
    /// Transactions put on the wire during the load window, per second of that window.
    pub offered_tps: f64,
    /// Transactions admitted by a node (`202`), per second of the load window.
    pub accepted_tps: f64,
    /// Committed transactions per second, from the load start to the last observed commit.
    pub committed_tps: f64,
    /// Transactions put on the wire.
    pub sent: u64,
    /// Transactions admitted by a node.
    pub accepted: u64,
    /// Transactions refused by a node (any non-`202` answer).
    pub rejected: u64,
    /// Requests that failed on the transport (connection refused, reset, timeout).
    pub failed: u64,
    /// Admitted transactions seen in a committed block.
    pub committed: u64,
    /// Median submit-to-commit latency, ms (0 when nothing committed).
    pub latency_p50_ms: f64,
    /// 99th percentile submit-to-commit latency, ms (0 when nothing committed).
    pub latency_p99_ms: f64,
    /// Largest submit-to-commit latency, ms (0 when nothing committed).
    pub latency_max_ms: f64,
}

/// Raw counts and timings of a run, turned into a [`Report`] by [`Report::from_run`].
#[derive(Debug, Clone, Default)]
pub struct RunFigures {
    /// Requested rate, tx/s.
    pub target_tps: f64,
    /// Length of the load window.
    pub window: Duration,
    /// From the load start to the last commit observed (zero if none).
    pub commit_span: Duration,
    /// Transactions put on the wire.
    pub sent: u64,
    /// Transactions admitted.
    pub accepted: u64,
    /// Transactions refused.
    pub rejected: u64,
    /// Transport failures.
    pub failed: u64,
    /// Submit-to-commit latency of every committed transaction.
    pub latencies: Vec<Duration>,
}

/// A line of the rendered report that [`Report::parse`] could not read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReportParseError {
    /// A required field is absent.
    #[error("report field `{0}` is missing")]
    Missing(&'static str),
    /// A field's value is not a number.
    #[error("report field `{field}`: value `{value}` is not a number")]
    NotANumber {
        /// The field.
        field: &'static str,
        /// The value found.
        value: String,
    },
}

/// The `q`-quantile (0..=1) of sorted `xs` by the nearest-rank method; `None` when empty.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn per_sec(count: u64, span: Duration) -> f64 {
    let secs = span.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Report {
    /// Computes the summary of a run.
    pub fn from_run(mut run: RunFigures) -> Report {
        run.latencies.sort_unstable();
        let committed = run.latencies.len() as u64;
        let commit_span = run.commit_span.max(run.window);
        Report {
            target_tps: run.target_tps,
            offered_tps: per_sec(run.sent, run.window),
            accepted_tps: per_sec(run.accepted, run.window),
            committed_tps: per_sec(committed, commit_span),
            sent: run.sent,
            accepted: run.accepted,
            rejected: run.rejected,
            failed: run.failed,
            committed,
            latency_p50_ms: ms(quantile(&run.latencies, 0.5)),
            latency_p99_ms: ms(quantile(&run.latencies, 0.99)),
            latency_max_ms: ms(run.latencies.last().copied()),
        }
    }

    fn fields(&self) -> [(&'static str, f64); 12] {
        [
            ("target_tps", self.target_tps),
            ("offered_tps", self.offered_tps),
            ("accepted_tps", self.accepted_tps),
            ("committed_tps", self.committed_tps),
            ("sent", self.sent as f64),
            ("accepted", self.accepted as f64),
            ("rejected", self.rejected as f64),
            ("failed", self.failed as f64),
            ("committed", self.committed as f64),
            ("latency_p50_ms", self.latency_p50_ms),
            ("latency_p99_ms", self.latency_p99_ms),
            ("latency_max_ms", self.latency_max_ms),
        ]
    }

    /// One `name value` line per figure (rates and latencies with one decimal).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.fields() {
            if value.fract() == 0.0 && !name.ends_with("_tps") && !name.ends_with("_ms") {
                out.push_str(&format!("{name} {value:.0}\n"));
            } else {
                out.push_str(&format!("{name} {value:.1}\n"));
            }
        }
        out
    }

    /// Reads a report back from text holding the lines of [`Report::render`] (other lines are
    /// skipped).
    pub fn parse(text: &str) -> Result<Report, ReportParseError> {
        let get = |field: &'static str| -> Result<f64, ReportParseError> {
            let value = text
                .lines()
                .filter_map(|l| l.split_once(' '))
                .find(|(n, _)| *n == field)
                .map(|(_, v)| v.trim())
                .ok_or(ReportParseError::Missing(field))?;
            value.parse().map_err(|_| ReportParseError::NotANumber {
                field,
                value: value.to_string(),
            })
        };
        Ok(Report {
            target_tps: get("target_tps")?,
            offered_tps: get("offered_tps")?,
            accepted_tps: get("accepted_tps")?,
            committed_tps: get("committed_tps")?,
            sent: get("sent")? as u64,
            accepted: get("accepted")? as u64,
            rejected: get("rejected")? as u64,
            failed: get("failed")? as u64,
            committed: get("committed")? as u64,
            latency_p50_ms: get("latency_p50_ms")?,
            latency_p99_ms: get("latency_p99_ms")?,
            latency_max_ms: get("latency_max_ms")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_d(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let xs: Vec<Duration> = (1..=100).map(ms_d).collect();
        assert_eq!(quantile(&xs, 0.5), Some(ms_d(50)));
        assert_eq!(quantile(&xs, 0.99), Some(ms_d(99)));
        assert_eq!(quantile(&xs, 0.0), Some(ms_d(1)));
        assert_eq!(quantile(&[ms_d(7)], 0.99), Some(ms_d(7)));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn rates_use_window_and_commit_span() {
        let r = Report::from_run(RunFigures {
            target_tps: 100.0,
            window: Duration::from_secs(2),
            commit_span: Duration::from_secs(4),
            sent: 200,
            accepted: 180,
            rejected: 20,
            failed: 0,
            latencies: vec![ms_d(30), ms_d(10), ms_d(20), ms_d(40)],
        });
        assert_eq!(r.offered_tps, 100.0);
        assert_eq!(r.accepted_tps, 90.0);
        assert_eq!(r.committed, 4);
        assert_eq!(r.committed_tps, 1.0);
        assert_eq!(r.latency_p50_ms, 20.0);
        assert_eq!(r.latency_max_ms, 40.0);
    }

    #[test]
    fn render_parses_back_and_missing_fields_are_named() {
        let r = Report::from_run(RunFigures {
            target_tps: 50.0,
            window: Duration::from_secs(1),
            sent: 50,
            accepted: 50,
            latencies: vec![ms_d(12)],
            ..RunFigures::default()
        });
        let text = format!("preamble line\n{}", r.render());
        assert_eq!(Report::parse(&text), Ok(r));
        assert_eq!(
            Report::parse("sent 3\n"),
            Err(ReportParseError::Missing("target_tps"))
        );
    }
}
