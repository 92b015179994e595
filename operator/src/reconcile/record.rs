//! The bodies of the receipts a reconciliation writes (pure).
//!
//! Receipt bodies hold integers only (see `docs/receipts.md`): stakes, which can exceed
//! JSON's safe integer range, are written as decimal strings.

use netwright_receipts::jcs::MAX_SAFE_INTEGER;
use serde_json::{json, Map, Value};

use crate::plan::{ObservedSummary, Plan, Step};

/// What one pass of a reconciliation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassRecord {
    /// The plan of this pass.
    pub plan: Plan,
    /// Steps carried out (canonical lines, see [`step_line`]).
    pub done: Vec<String>,
}

/// How a reconciliation ended, as its receipt states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The last plan was empty.
    Converged,
    /// Step `step` (from 1) of pass `pass` failed with `error`.
    Failed {
        /// Pass number, from 1.
        pass: usize,
        /// Step number within the pass's plan, from 1.
        step: usize,
        /// The backend's error.
        error: String,
    },
    /// The passes ran out, or the next plan needs an approval, before the plan was empty.
    NotConverged {
        /// Why it stopped.
        reason: String,
    },
    /// The reconciliation was cancelled in pass `pass`, `during` what (for example
    /// `step 3 (start-node validator-2)`); the steps recorded as done were done.
    Cancelled {
        /// Pass number, from 1.
        pass: usize,
        /// What was under way or next.
        during: String,
    },
}

/// The canonical line of a step: `<number> <risk> <canonical action>`, as in the plan
/// encoding.
pub fn step_line(index: usize, step: &Step) -> String {
    format!("{} {} {}", index + 1, step.risk, step.action.canonical())
}

/// An integer when JSON can hold it exactly, else a decimal string.
fn int(n: u128) -> Value {
    if n <= u128::from(MAX_SAFE_INTEGER) {
        Value::from(n as u64)
    } else {
        Value::from(n.to_string())
    }
}

/// An observed summary as a receipt holds it.
pub fn summary_json(summary: &ObservedSummary) -> Value {
    let mut out = Map::new();
    out.insert("nodes".into(), int(summary.nodes as u128));
    out.insert("running".into(), int(summary.running as u128));
    out.insert("healthy".into(), int(summary.healthy as u128));
    out.insert("validators".into(), int(summary.validators as u128));
    out.insert(
        "totalStake".into(),
        Value::from(summary.total_stake.to_string()),
    );
    if let Some(height) = summary.height {
        out.insert("height".into(), int(u128::from(height)));
    }
    if let Some(genesis) = summary.genesis {
        out.insert("genesis".into(), Value::from(genesis.to_string()));
    }
    out.insert(
        "relayChainsRunning".into(),
        int(summary.relay_chains_running as u128),
    );
    Value::Object(out)
}

/// The body of the `approval` receipt written before an approved unsafe plan is applied.
pub fn approval_body(plan: &Plan, approver: &str, reasons: &[String]) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("plan".into(), Value::from(plan.digest().to_string()));
    body.insert("risk".into(), Value::from(plan.risk().as_str()));
    body.insert("approver".into(), Value::from(approver));
    body.insert("reasons".into(), json!(reasons));
    body
}

/// The body of the `reconcile` receipt: the first plan's digest, every pass with its plan
/// digest and the steps done, all steps done, the verdict and the observed summaries before
/// and after.
pub fn reconcile_body(
    passes: &[PassRecord],
    outcome: &Outcome,
    before: &ObservedSummary,
    after: Option<&ObservedSummary>,
) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(first) = passes.first() {
        body.insert("plan".into(), Value::from(first.plan.digest().to_string()));
        body.insert("risk".into(), Value::from(first.plan.risk().as_str()));
    }
    let pass_values: Vec<Value> = passes
        .iter()
        .map(|p| {
            json!({
                "plan": p.plan.digest().to_string(),
                "risk": p.plan.risk().as_str(),
                "steps": int(p.plan.steps.len() as u128),
                "done": p.done,
            })
        })
        .collect();
    body.insert("passes".into(), Value::from(pass_values));
    let done: Vec<&String> = passes.iter().flat_map(|p| &p.done).collect();
    body.insert("done".into(), json!(done));
    match outcome {
        Outcome::Converged => {
            body.insert("outcome".into(), Value::from("converged"));
        }
        Outcome::Failed { pass, step, error } => {
            body.insert("outcome".into(), Value::from("failed"));
            body.insert("failedPass".into(), int(*pass as u128));
            body.insert("failedStep".into(), int(*step as u128));
            body.insert("error".into(), Value::from(error.as_str()));
        }
        Outcome::NotConverged { reason } => {
            body.insert("outcome".into(), Value::from("not-converged"));
            body.insert("error".into(), Value::from(reason.as_str()));
        }
        Outcome::Cancelled { pass, during } => {
            body.insert("outcome".into(), Value::from("cancelled"));
            body.insert(
                "error".into(),
                Value::from(format!("cancelled in pass {pass}, {during}")),
            );
        }
    }
    let mut observed = Map::new();
    observed.insert("before".into(), summary_json(before));
    if let Some(after) = after {
        observed.insert("after".into(), summary_json(after));
    }
    body.insert("observed".into(), Value::Object(observed));
    body
}
