//! `netwright gate status`: each gate's latest recorded transition and the halt in force,
//! read from the network's receipt log.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use netwright_operator::gates::Reason;
use netwright_operator::service;
use netwright_receipts::log::split_lines;
use netwright_receipts::{open_line, Kind};
use serde_json::{json, Map, Value};

use super::super::exit_ok;
use super::super::plan::Output;
use super::StatusArgs;

/// One gate's latest recorded transition.
struct Recorded {
    seq: u64,
    time: String,
    body: Map<String, Value>,
}

/// Runs `netwright gate status`.
pub fn gate_status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (dir, log) = match super::super::receipt_log_of(&args.home, &args.network)? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let bytes = std::fs::read(&log).with_context(|| format!("reading {}", log.display()))?;
    let (lines, _) = split_lines(&bytes);
    let mut gates: BTreeMap<String, Recorded> = BTreeMap::new();
    for range in lines {
        let Ok(signed) = open_line(&bytes[range]) else {
            continue;
        };
        let receipt = signed.receipt;
        if receipt.kind != Kind::Gate {
            continue;
        }
        let Some(name) = receipt.body.get("gate").and_then(Value::as_str) else {
            continue;
        };
        gates.insert(
            name.to_owned(),
            Recorded {
                seq: receipt.seq,
                time: receipt.time.to_string(),
                body: receipt.body,
            },
        );
    }
    let halt = service::current_halt(&args.home, &dir)?;
    match args.output {
        Output::Json => {
            let gates: Vec<Value> = gates
                .iter()
                .map(|(name, r)| {
                    json!({
                        "name": name,
                        "state": r.body.get("to"),
                        "seq": r.seq,
                        "time": r.time,
                        "atMs": r.body.get("atMs"),
                        "reason": r.body.get("reason"),
                        "conditions": r.body.get("conditions"),
                    })
                })
                .collect();
            let out = json!({
                "network": args.network,
                "halted": halt.as_ref().map(ToString::to_string),
                "gates": gates,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Output::Text => {
            if gates.is_empty() {
                println!("network {}: no gate recorded yet", args.network);
            }
            let width = gates.keys().map(String::len).max().unwrap_or(4).max(4);
            if !gates.is_empty() {
                println!(
                    "{:width$}  {:9}  {:>5}  {:20}  REASON",
                    "GATE", "STATE", "SEQ", "TIME"
                );
            }
            for (name, r) in &gates {
                let state = r.body.get("to").and_then(Value::as_str).unwrap_or("?");
                let reason = r
                    .body
                    .get("reason")
                    .cloned()
                    .and_then(|v| serde_json::from_value::<Reason>(v).ok())
                    .map_or_else(|| "?".to_owned(), |r| r.to_string());
                println!(
                    "{name:width$}  {state:9}  {:>5}  {:20}  {reason}",
                    r.seq, r.time
                );
            }
            if let Some(halt) = halt {
                println!("halted: {halt}");
            }
        }
    }
    Ok(exit_ok())
}
