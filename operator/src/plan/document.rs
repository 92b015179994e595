//! The plan document: ordered steps with their risk, a canonical encoding, its digest, and a
//! text rendering for people.
//!
//! Canonical encoding (UTF-8, every line ends with `\n`):
//!
//! ```text
//! netwright-plan/v1
//! chain <chain id>
//! paused <true|false>
//! <index from 1> <risk> <canonical action>     (one line per step, in order)
//! ```
//!
//! The digest is BLAKE3 over these bytes, written as 64 lowercase hex digits. The reasons
//! attached to steps explain; they are not part of the encoding, so rewording an explanation
//! never invalidates an approval.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::action::{Action, Risk};
use super::digest::Digest;

/// First line of the canonical encoding; names the format version.
pub const PLAN_FORMAT: &str = "netwright-plan/v1";

/// One action of a plan, with its risk and why it is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What to do.
    pub action: Action,
    /// How much it can hurt.
    pub risk: Risk,
    /// Why the planner chose it (and, for risky steps, why it is risky).
    pub reason: String,
}

/// An ordered list of actions that brings the observed state to the declared one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Chain id of the network planned for.
    pub chain_id: String,
    /// Whether the spec pauses reconciliation (the plan then only records the pause).
    pub paused: bool,
    /// The steps, to be applied in order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// True when there is nothing to do: the network is converged.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The plan's risk: the highest of its steps (`safe` for an empty plan).
    pub fn risk(&self) -> Risk {
        self.steps
            .iter()
            .map(|s| s.risk)
            .max()
            .unwrap_or(Risk::Safe)
    }

    /// The actions, in order.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.steps.iter().map(|s| &s.action)
    }

    /// The canonical encoding (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut text = format!(
            "{PLAN_FORMAT}\nchain {}\npaused {}\n",
            self.chain_id, self.paused
        );
        for (i, step) in self.steps.iter().enumerate() {
            text.push_str(&format!(
                "{} {} {}\n",
                i + 1,
                step.risk,
                step.action.canonical()
            ));
        }
        text.into_bytes()
    }

    /// BLAKE3 of the canonical encoding: what `--approve` names and receipts record.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.canonical_bytes())
    }

    /// Readable text: a header with the digest and risk, then one numbered line per step
    /// with its risk and reason.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan for {}", self.chain_id)?;
        writeln!(f, "digest {}", self.digest())?;
        if self.steps.is_empty() {
            let state = if self.paused {
                "paused, nothing to do"
            } else {
                "converged, nothing to do"
            };
            return writeln!(f, "risk   safe ({state})");
        }
        let noun = if self.steps.len() == 1 {
            "action"
        } else {
            "actions"
        };
        writeln!(f, "risk   {} ({} {noun})", self.risk(), self.steps.len())?;
        if self.paused {
            writeln!(
                f,
                "paused: nothing is created, started, stopped or changed until unpaused"
            )?;
        }
        let width = self.steps.len().to_string().len();
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(
                f,
                "{:>width$}. {:<12} {}",
                i + 1,
                format!("[{}]", step.risk),
                step.action
            )?;
            if !step.reason.is_empty() {
                writeln!(f, "{:>width$}  {:<12}   {}", "", "", step.reason)?;
            }
        }
        Ok(())
    }
}
