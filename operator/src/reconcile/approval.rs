//! Whether a plan may be applied: unsafe plans need `--approve` naming their digest.

use crate::plan::{Digest, Plan, Risk};

/// What to do with a plan, given the digest the operator approved (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The plan is not unsafe: apply it.
    Proceed,
    /// The plan is unsafe and the approval names it: record the approval, then apply it.
    Approved,
    /// The plan is unsafe and nobody approved it. Nothing may change.
    NeedsApproval {
        /// The digest to pass to `--approve`.
        digest: Digest,
        /// Why it is unsafe: one line per unsafe step.
        reasons: Vec<String>,
    },
    /// An approval was given but names another plan (the world or the file changed since).
    /// Nothing may change.
    WrongApproval {
        /// The digest that was approved.
        approved: Digest,
        /// The digest of the plan as it stands now.
        digest: Digest,
    },
}

impl Decision {
    /// True when the plan may be applied.
    pub fn allows(&self) -> bool {
        matches!(self, Decision::Proceed | Decision::Approved)
    }
}

/// Decides whether `plan` may be applied with the approval `approved`.
///
/// An approval that names another plan refuses any plan, safe or not: what was approved is
/// not what would run.
pub fn decide(plan: &Plan, approved: Option<Digest>) -> Decision {
    let digest = plan.digest();
    match approved {
        Some(approved) if approved != digest => Decision::WrongApproval { approved, digest },
        Some(_) if plan.risk() == Risk::Unsafe => Decision::Approved,
        None if plan.risk() == Risk::Unsafe => Decision::NeedsApproval {
            digest,
            reasons: unsafe_reasons(plan),
        },
        _ => Decision::Proceed,
    }
}

/// One line per unsafe step: its number, its action and the planner's reason.
pub fn unsafe_reasons(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.risk == Risk::Unsafe)
        .map(|(i, s)| {
            if s.reason.is_empty() {
                format!("step {}: {}", i + 1, s.action.canonical())
            } else {
                format!("step {}: {}: {}", i + 1, s.action.canonical(), s.reason)
            }
        })
        .collect()
}
