//! Gate verdicts as receipts, the rule every front end that runs gates follows (the CLI's
//! `gate run` today, the Kubernetes controller next): each gate transition is a `gate`
//! receipt in the network's receipt log, and a violation of a gate whose `onViolation` is
//! `halt` is followed by a `stop` receipt naming the gate, the broken conditions and their
//! observed values. The StopRule then refuses every reconciliation until a `resume`.
//!
//! The network's lock is taken only for the append, so a supervisor keeps restarting nodes
//! between samples.

use std::path::Path;
use std::time::Duration;

use netwright_crds::spec::OnViolation;
use netwright_receipts::Kind;
use serde_json::{json, Map, Value};

use super::{LoadedSpec, ServiceError, RECEIPT_LOG};
use crate::gates::{broken_conditions, GateState, Transition};
use crate::reconcile::sink::{orchestrator_key, spec_subject};
use crate::reconcile::{LockError, LogSink, ReceiptSink, ReconcileLock};

/// Appends `transitions` to the receipt log in `state_dir` (signed with the orchestrator's
/// key under `home`), waiting up to `lock_wait` for the network's lock. Returns the gates
/// whose violation halted the network.
pub async fn record_gate_transitions(
    home: &Path,
    state_dir: &Path,
    loaded: &LoadedSpec,
    transitions: &[Transition],
    lock_wait: Duration,
) -> Result<Vec<String>, ServiceError> {
    if transitions.is_empty() {
        return Ok(Vec::new());
    }
    let _lock = ReconcileLock::acquire_within(state_dir, lock_wait)
        .await
        .map_err(|error| match error {
            error @ LockError::Busy { .. } => ServiceError::Busy(error),
            error => ServiceError::Lock(error),
        })?;
    let signer = orchestrator_key(home)?;
    let subject = spec_subject(&loaded.path, &loaded.bytes);
    let mut sink = LogSink::open(&state_dir.join(RECEIPT_LOG), &loaded.name, signer, subject)?;
    let mut halted = Vec::new();
    for transition in transitions {
        if record(&mut sink, transition)? {
            halted.push(transition.gate.clone());
        }
    }
    Ok(halted)
}

/// Appends `transition` as a `gate` receipt, and a `stop` receipt when it is a violation of a
/// gate whose `onViolation` is `halt` (then returns true).
fn record(sink: &mut LogSink, transition: &Transition) -> Result<bool, ServiceError> {
    let body = match integers_only(json_of(transition)?) {
        Value::Object(map) => map,
        _ => {
            return Err(ServiceError::Receipt(
                "a gate transition did not serialise as an object".into(),
            ))
        }
    };
    sink.append(Kind::Gate, body)?;
    if transition.to != GateState::Violated || transition.on_violation != Some(OnViolation::Halt) {
        return Ok(false);
    }
    let broken = broken_conditions(&transition.conditions);
    let mut body = Map::new();
    body.insert(
        "reason".into(),
        json!(format!(
            "gate {} violated: {}",
            transition.gate,
            if broken.is_empty() {
                transition.reason.to_string()
            } else {
                broken.join("; ")
            }
        )),
    );
    body.insert("gate".into(), json!(transition.gate));
    body.insert("atMs".into(), json!(transition.at_ms));
    body.insert(
        "conditions".into(),
        integers_only(json_of(&transition.conditions)?),
    );
    sink.append(Kind::Stop, body)?;
    Ok(true)
}

fn json_of<T: serde::Serialize>(value: &T) -> Result<Value, ServiceError> {
    serde_json::to_value(value).map_err(|e| ServiceError::Receipt(e.to_string()))
}

/// `value` as a receipt body may carry it: receipts carry integers only, so a number that is
/// not an integer (a ratio, a fractional threshold) becomes its decimal string, `"0.99"`.
fn integers_only(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => Value::String(n.to_string()),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integers_only).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, integers_only(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_bodies_carry_integers_and_decimal_strings() {
        let body =
            json!({"a": 4.0, "b": [0.99, 12], "c": {"d": -3.0, "e": 1.5e300, "g": -0.0}, "f": "x"});
        assert_eq!(
            integers_only(body),
            json!({"a": 4, "b": ["0.99", 12], "c": {"d": -3, "e": "1.5e+300", "g": 0}, "f": "x"})
        );
    }
}
