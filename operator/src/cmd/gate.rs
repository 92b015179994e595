//! `netwright gate run`: bring a network up if needed, sample its nodes, evaluate its gates
//! until every selected gate has a verdict, record every transition as a receipt, and report.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use netwright_crds::effective::EffectiveGate;
use netwright_crds::spec::OnViolation;
use netwright_operator::backend::local::{daemon, LocalBackend};
use netwright_operator::gates::sampler::{NodeEndpoint, Sampler};
use netwright_operator::gates::{
    select, Evaluator, GateState, GateStatus, Outcome, Reason, Transition,
};
use netwright_operator::plan::Role;
use netwright_operator::reconcile::sink::{key_paths, orchestrator_key, spec_subject};
use netwright_operator::reconcile::{
    LockError, LogSink, Options, Outcome as ReconcileOutcome, ReceiptSink,
};
use netwright_operator::service::{self, RECEIPT_LOG};
use netwright_receipts::log::split_lines;
use netwright_receipts::{open_line, Kind, LogOptions, LogWriter};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use super::apply::{reconcile_network, StepView};
use super::plan::{load_spec, open_backend, LoadedSpec, NetworkFile, Output};
use super::{block_on, exit_interrupted, exit_invalid, exit_ok, exit_usage, interrupt};

/// How long `gate run` waits for the network's lock before tearing it down.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Subcommands of `netwright gate`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Evaluate a network's gates: bring it up if it is not converged, sample every node each
    /// interval until every selected gate has a verdict, record each gate transition as a
    /// receipt, and tear the network down (unless --keep). Exit 0 every gate passed, 1 a gate
    /// failed or was violated, 2 usage, spec or infrastructure error, 130 interrupted.
    Run(RunArgs),
    /// The gates of a network as its receipt log records them: each gate's latest transition
    /// (state, reason, conditions and observed values), and the halt in force if any.
    Status(StatusArgs),
}

/// Arguments of `netwright gate status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The network's name (`metadata.name`).
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = super::plan::DEFAULT_HOME)]
    pub home: PathBuf,
    /// Output format: `text` or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Arguments of `netwright gate run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: NetworkFile,
    /// Evaluate only this gate and the gates it comes after (repeatable; default: every gate).
    #[arg(long = "gate", value_name = "NAME")]
    pub gates: Vec<String>,
    /// Write a JUnit XML report here: one test case per gate.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Export the network's receipt log here, with a signed checkpoint (FILE.checkpoints/)
    /// and the orchestrator's public key (FILE.pub), for `netwright receipts verify`.
    #[arg(long, value_name = "FILE")]
    pub receipts: Option<PathBuf>,
    /// Leave the network running afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Milliseconds between two samples of the nodes.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub interval_ms: u64,
}

/// Runs `netwright gate`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run_gates(args),
        Command::Status(args) => gate_status(args),
    }
}

/// One gate's latest recorded transition.
struct Recorded {
    seq: u64,
    time: String,
    body: Map<String, Value>,
}

/// Runs `netwright gate status`.
fn gate_status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let dir = open_backend(&args.home, &args.network, None)?
        .network_dir()
        .to_owned();
    let log = dir.join(RECEIPT_LOG);
    if !log.is_file() {
        eprintln!(
            "error: network {:?} has no receipt log under {}",
            args.network,
            dir.display()
        );
        return Ok(exit_usage());
    }
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

/// Runs `netwright gate run`.
fn run_gates(args: RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_spec(&args.target.file)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let gates = match selected_gates(&loaded, &args.gates) {
        Ok(gates) => gates,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(exit_usage());
        }
    };
    let evaluator = match Evaluator::new(&gates) {
        Ok(evaluator) => evaluator,
        Err(error) => {
            eprintln!("{}: error: {error}", loaded.path.display());
            return Ok(exit_usage());
        }
    };
    let home = args.target.home.clone();
    let cancel = interrupt()?;
    let mut backend = open_backend(&home, &loaded.name, None)?;
    if let Err(code) = bring_up(&mut backend, &loaded, &home, &cancel)? {
        return Ok(code);
    }
    let outcome = evaluate(&args, &loaded, &home, &backend, evaluator, &cancel);
    if !args.keep {
        tear_down(&mut backend)?;
    }
    let (evaluator, interrupted) = outcome?;
    let status = evaluator.status();
    print_final(&status);
    if let Some(junit) = &args.junit {
        let elapsed = evaluator.last_at_ms().unwrap_or(0);
        std::fs::write(junit, junit_xml(&loaded.name, &status, elapsed))
            .with_context(|| format!("writing {}", junit.display()))?;
        println!("junit: {}", junit.display());
    }
    if let Some(target) = &args.receipts {
        export_receipts(&home, backend.network_dir(), &loaded.name, target)?;
    }
    if interrupted {
        eprintln!("interrupted before every gate had a verdict");
        return Ok(exit_interrupted());
    }
    let mut code = exit_ok();
    for gate in &status {
        if gate.state != GateState::Passed {
            eprintln!(
                "gate {} {}: {}",
                gate.name,
                gate.state,
                verdict_message(gate)
            );
            code = exit_invalid();
        }
    }
    Ok(code)
}

/// The gates `names` select (and the gates they come after), or every gate.
fn selected_gates(loaded: &LoadedSpec, names: &[String]) -> Result<Vec<EffectiveGate>, String> {
    let all = &loaded.spec.gates;
    let gates = if names.is_empty() {
        all.clone()
    } else {
        select(all, names).map_err(|e| format!("--gate: {e}"))?
    };
    if gates.is_empty() {
        return Err(format!("{}: declares no gate", loaded.path.display()));
    }
    Ok(gates)
}

/// Reconciles the network unless it is converged already (as `apply` does); any refusal or
/// unfinished reconciliation is printed and returned as exit code 2 (130 when interrupted).
fn bring_up(
    backend: &mut LocalBackend,
    loaded: &LoadedSpec,
    home: &Path,
    cancel: &CancellationToken,
) -> anyhow::Result<Result<(), ExitCode>> {
    let options = Options {
        cancel: cancel.clone(),
        ..Options::default()
    };
    let dir = backend.network_dir().to_owned();
    match block_on(service::preview(home, &dir, backend, loaded, &options))? {
        Ok(preview) if preview.plan.is_empty() && preview.halt.is_none() => {
            println!("network {} is converged", loaded.name);
            return Ok(Ok(()));
        }
        Ok(_) => {}
        Err(service::ServiceError::Cancelled) => return Ok(Err(exit_interrupted())),
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(Err(exit_usage()));
        }
    }
    let mut view = StepView::new();
    match reconcile_network(backend, loaded, home, &options, &mut view)? {
        Ok(report) => match report.outcome {
            ReconcileOutcome::Converged => Ok(Ok(())),
            ReconcileOutcome::Cancelled { .. } => Ok(Err(exit_interrupted())),
            other => {
                eprintln!("the network did not come up: {other:?}");
                Ok(Err(exit_usage()))
            }
        },
        Err(code) if code == exit_interrupted() => Ok(Err(code)),
        Err(_) => Ok(Err(exit_usage())),
    }
}

/// Samples and evaluates until every gate has a verdict or the run is interrupted; returns
/// the evaluator and whether it was interrupted.
fn evaluate(
    args: &RunArgs,
    loaded: &LoadedSpec,
    home: &Path,
    backend: &LocalBackend,
    mut evaluator: Evaluator,
    cancel: &CancellationToken,
) -> anyhow::Result<(Evaluator, bool)> {
    let dir = backend.network_dir();
    let interval = Duration::from_millis(args.interval_ms.max(50));
    let deadline = interval.clamp(Duration::from_millis(500), Duration::from_secs(3));
    let mut table = LiveTable::new();
    let mut sampler = Sampler::new();
    let started = Instant::now();
    let mut interrupted = false;
    loop {
        let endpoints = endpoints(backend)?;
        let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let sampled = block_on(async {
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                s = sampler.sample(&endpoints, at_ms, deadline) => Some(s),
            }
        })?;
        let Some(sampled) = sampled else {
            interrupted = true;
            break;
        };
        let transitions = evaluator.observe(&sampled)?;
        for transition in &transitions {
            table.line(&transition.to_string());
        }
        record_all(home, dir, loaded, &transitions)?;
        table.draw(&evaluator.status(), at_ms);
        if evaluator.decided() {
            break;
        }
        let next = interval.saturating_sub(
            started
                .elapsed()
                .saturating_sub(Duration::from_millis(at_ms)),
        );
        let stopped = block_on(async {
            tokio::select! {
                biased;
                () = cancel.cancelled() => true,
                () = tokio::time::sleep(next) => false,
            }
        })?;
        if stopped {
            interrupted = true;
            break;
        }
    }
    table.clear();
    Ok((evaluator, interrupted))
}

/// Where every node of the network listens, as the local backend recorded it.
fn endpoints(backend: &LocalBackend) -> anyhow::Result<Vec<NodeEndpoint>> {
    let state = backend.state()?;
    let mut out = Vec::with_capacity(state.nodes.len());
    for (name, node) in &state.nodes {
        let process = &node.process;
        let epoch = process
            .started_ms
            .or(process.pid.map(u64::from))
            .unwrap_or(0);
        out.push(NodeEndpoint {
            name: name.clone(),
            validator: node.role == Role::Validator,
            epoch,
            client: backend.rpc().at(node.rpc_port)?,
        });
    }
    Ok(out)
}

/// Appends `transitions` to the network's receipt log under its lock, taken only for the
/// append (a detached supervisor keeps supervising the nodes between samples).
fn record_all(
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
fn broken_conditions(conditions: &[netwright_operator::gates::ConditionReport]) -> Vec<String> {
    conditions
        .iter()
        .filter(|c| c.outcome != Outcome::Holds)
        .map(ToString::to_string)
        .collect()
}

/// Why a gate did not pass: its reason and the conditions that did not hold.
fn verdict_message(gate: &GateStatus) -> String {
    let reason = gate
        .reason
        .as_ref()
        .map_or_else(|| "no verdict".to_owned(), ToString::to_string);
    let broken = broken_conditions(&gate.conditions);
    if broken.is_empty() {
        reason
    } else {
        format!("{reason}; {}", broken.join("; "))
    }
}

/// Stops the network as `netwright down` does, keeping its state.
fn tear_down(backend: &mut LocalBackend) -> anyhow::Result<()> {
    let dir = backend.network_dir().to_owned();
    let lock = match daemon::wait_for_lock(&dir, LOCK_WAIT) {
        Ok(lock) => lock,
        Err(error @ LockError::Busy { .. }) => {
            eprintln!("warning: {error}; the network was left running");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    daemon::stop(&dir)?;
    block_on(backend.down(false))??;
    drop(lock);
    println!("network {} is down", backend_name(&dir));
    Ok(())
}

fn backend_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies the receipt log to `target`, signs a checkpoint over it into
/// `target.checkpoints/`, and copies the orchestrator's public key to `target.pub`.
fn export_receipts(
    home: &Path,
    network_dir: &Path,
    network: &str,
    target: &Path,
) -> anyhow::Result<()> {
    let log = network_dir.join(RECEIPT_LOG);
    std::fs::copy(&log, target)
        .with_context(|| format!("copying {} to {}", log.display(), target.display()))?;
    let options = LogOptions {
        network: network.to_owned(),
        origin: None,
        checkpoint_every: None,
    };
    let mut writer = LogWriter::open(target, orchestrator_key(home)?, options)?;
    let (_, note) = writer.checkpoint()?;
    drop(writer);
    let (_, public) = key_paths(home);
    let key = PathBuf::from(format!("{}.pub", target.display()));
    std::fs::copy(&public, &key)
        .with_context(|| format!("copying {} to {}", public.display(), key.display()))?;
    println!(
        "receipts: {} (verify: netwright receipts verify {} --key {} --checkpoint {})",
        target.display(),
        target.display(),
        key.display(),
        note.display()
    );
    Ok(())
}

/// The gates' table: redrawn in place on a terminal, transitions as plain lines otherwise.
struct LiveTable {
    tty: bool,
    drawn: usize,
}

impl LiveTable {
    fn new() -> Self {
        LiveTable {
            tty: std::io::stdout().is_terminal(),
            drawn: 0,
        }
    }

    /// Prints a line above the table.
    fn line(&mut self, text: &str) {
        self.clear();
        println!("{text}");
    }

    /// Redraws the table (on a terminal only).
    fn draw(&mut self, status: &[GateStatus], at_ms: u64) {
        if !self.tty {
            return;
        }
        self.clear();
        let rows = table_rows(status, Some(at_ms));
        let mut out = std::io::stdout().lock();
        for row in &rows {
            let _ = writeln!(out, "{row}");
        }
        let _ = out.flush();
        self.drawn = rows.len();
    }

    /// Erases the table drawn last.
    fn clear(&mut self) {
        if self.drawn > 0 {
            print!("\x1b[{}A\x1b[J", self.drawn);
            let _ = std::io::stdout().flush();
            self.drawn = 0;
        }
    }
}

/// The gates' table: a header, then per gate its state, time left and conditions.
fn table_rows(status: &[GateStatus], now_ms: Option<u64>) -> Vec<String> {
    let width = status
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut rows = vec![format!(
        "{:width$}  {:9}  {:>9}  CONDITIONS",
        "GATE", "STATE", "LEFT"
    )];
    for gate in status {
        let left = match (gate.state, gate.deadline_ms, now_ms) {
            (GateState::Pending, Some(deadline), Some(now)) => {
                format!("{:.1}s", deadline.saturating_sub(now) as f64 / 1000.0)
            }
            _ => "-".to_owned(),
        };
        let conditions = gate
            .conditions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        rows.push(format!(
            "{:width$}  {:9}  {:>9}  {}",
            gate.name,
            gate.state.name(),
            left,
            conditions
        ));
    }
    rows
}

fn print_final(status: &[GateStatus]) {
    for row in table_rows(status, None) {
        println!("{row}");
    }
}

/// A JUnit XML report: one test suite, one test case per gate; a gate that did not pass is a
/// failure whose message names its reason, conditions and observed values.
pub fn junit_xml(network: &str, status: &[GateStatus], elapsed_ms: u64) -> String {
    let failures = status
        .iter()
        .filter(|g| g.state != GateState::Passed)
        .count();
    let seconds = elapsed_ms as f64 / 1000.0;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"netwright gates\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
        status.len()
    ));
    xml.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">\n",
        escape(network),
        status.len()
    ));
    for gate in status {
        let name = escape(&gate.name);
        let classname = escape(&format!("gates.{network}"));
        if gate.state == GateState::Passed {
            xml.push_str(&format!(
                "    <testcase name=\"{name}\" classname=\"{classname}\"/>\n"
            ));
        } else {
            let message = escape(&format!("{}: {}", gate.state, verdict_message(gate)));
            xml.push_str(&format!(
                "    <testcase name=\"{name}\" classname=\"{classname}\">\n      <failure message=\"{message}\" type=\"{}\">{message}</failure>\n    </testcase>\n",
                gate.state
            ));
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// `text` escaped for XML attribute values and character data; characters XML 1.0 cannot
/// carry are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn xml_escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" > 'd'\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;&#10;"
        );
    }
}
