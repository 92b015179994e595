//! Gate transitions as receipts: a `gate` receipt per transition, and a `stop` receipt after
//! a violation of a gate whose `onViolation` is `halt`.

use std::path::Path;

use anyhow::Context;
use netwright_crds::spec::OnViolation;
use netwright_operator::backend::local::daemon;
use netwright_operator::gates::{ConditionReport, GateState, Outcome, Transition};
use netwright_operator::reconcile::sink::{orchestrator_key, spec_subject};
use netwright_operator::reconcile::{LogSink, ReceiptSink};
use netwright_operator::service::RECEIPT_LOG;
use netwright_receipts::Kind;
use serde_json::{json, Map, Value};

use super::super::plan::LoadedSpec;
use super::LOCK_WAIT;

/// Appends `transitions` to the network's receipt log under its lock, taken only for the
/// append (a detached supervisor keeps supervising the nodes between samples).
pub fn record_all(
    home: &Path,
    dir: &Path,
    loaded: &LoadedSpec,
    transitions: &[Transition],
) -> anyhow::Result<()> {
    if transitions.is_empty() {
        return Ok(());
    }
    let lock = daemon::wait_for_lock(dir, LOCK_WAIT)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("taking the network's lock to record gate receipts")?;
    let signer = orchestrator_key(home)?;
    let subject = spec_subject(&loaded.path, &loaded.bytes);
    let mut sink = LogSink::open(&dir.join(RECEIPT_LOG), &loaded.name, signer, subject)?;
    for transition in transitions {
        record(&mut sink, transition)?;
    }
    drop(sink);
    drop(lock);
    Ok(())
}

/// Appends `transition` as a `gate` receipt, and a `stop` receipt when it is a violation of a
/// gate whose `onViolation` is `halt`.
fn record(sink: &mut LogSink, transition: &Transition) -> anyhow::Result<()> {
    let body = match integers_only(serde_json::to_value(transition)?) {
        Value::Object(map) => map,
        _ => anyhow::bail!("a gate transition did not serialise as an object"),
    };
    sink.append(Kind::Gate, body)?;
    if transition.to == GateState::Violated && transition.on_violation == Some(OnViolation::Halt) {
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
            integers_only(serde_json::to_value(&transition.conditions)?),
        );
        sink.append(Kind::Stop, body)?;
        eprintln!(
            "gate {} violated with onViolation: halt: reconciliation is halted until \
             `netwright resume`",
            transition.gate
        );
    }
    Ok(())
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

/// The conditions that do not hold, each as `metric observed (needs ...): outcome`.
pub fn broken_conditions(conditions: &[ConditionReport]) -> Vec<String> {
    conditions
        .iter()
        .filter(|c| c.outcome != Outcome::Holds)
        .map(ToString::to_string)
        .collect()
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
