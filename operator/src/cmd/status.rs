//! `netwright status`: the local networks, or the nodes of one network.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use netwright_operator::backend::local::{list_networks, LocalBackend};
use netwright_operator::backend::{Backend, NodeStatus, RelayChainStatus};
use netwright_operator::reconcile::record::summary_json;
use serde_json::{json, Value};

use super::plan::{load_applied, open_backend, Output};
use super::{exit_ok, exit_usage};
use netwright_operator::backend::local::daemon::supervisor_pid;

/// Arguments of `netwright status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A network's name; without it, every network under the working directory.
    #[arg(value_name = "NETWORK")]
    pub network: Option<String>,
    /// Working directory holding the networks.
    #[arg(long, value_name = "DIR", default_value = super::plan::DEFAULT_HOME)]
    pub home: PathBuf,
    /// Output format: `text` or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Runs `netwright status`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match &args.network {
        Some(network) => one(&args, network),
        None => all(&args),
    }
}

fn all(args: &Args) -> anyhow::Result<ExitCode> {
    let mut rows = Vec::new();
    for name in list_networks(&args.home) {
        let mut backend = open_backend(&args.home, &name, None)?;
        rows.push(network_json(&mut backend, &name)?);
    }
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "networks": rows }))?
        ),
        Output::Text if rows.is_empty() => {
            println!("no networks under {}", args.home.display());
        }
        Output::Text => {
            println!(
                "{:<20} {:>6} {:>8} {:>8} {:>8} {:>10}",
                "NETWORK", "NODES", "RUNNING", "HEALTHY", "HEIGHT", "SUPERVISOR"
            );
            for row in &rows {
                let nodes = row["nodes"].as_array().map_or(&[][..], Vec::as_slice);
                let count = |key: &str| nodes.iter().filter(|n| n[key] == json!(true)).count();
                let height = nodes.iter().filter_map(|n| n["height"].as_u64()).max();
                println!(
                    "{:<20} {:>6} {:>8} {:>8} {:>8} {:>10}",
                    row["network"].as_str().unwrap_or("?"),
                    nodes.len(),
                    count("running"),
                    count("healthy"),
                    height.map_or("-".into(), |h| h.to_string()),
                    row["supervisor"]
                        .as_u64()
                        .map_or("-".into(), |p| p.to_string()),
                );
            }
        }
    }
    Ok(exit_ok())
}

fn one(args: &Args, network: &str) -> anyhow::Result<ExitCode> {
    let mut backend = open_backend(&args.home, network, None)?;
    if !backend.network_dir().is_dir() {
        eprintln!(
            "error: no network {network:?} under {} (networks: {})",
            args.home.display(),
            list_networks(&args.home).join(", ")
        );
        return Ok(exit_usage());
    }
    let row = network_json(&mut backend, network)?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&row)?),
        Output::Text => {
            let nodes: Vec<NodeStatus> = serde_json::from_value(row["nodes"].clone())?;
            let chains: Vec<RelayChainStatus> = serde_json::from_value(row["relayChains"].clone())?;
            println!("network {network}");
            print!("{}", render_nodes(&nodes, &chains));
            match row["supervisor"].as_u64() {
                Some(pid) => println!("supervisor pid {pid}"),
                None => println!("no detached supervisor"),
            }
        }
    }
    Ok(exit_ok())
}

/// One network as JSON: its nodes and relay chains (from the spec last applied), the live
/// processes with their pids, the detached supervisor's pid, and an observed summary.
fn network_json(backend: &mut LocalBackend, name: &str) -> anyhow::Result<Value> {
    let dir = backend.network_dir().to_owned();
    let processes: serde_json::Map<String, Value> = backend
        .live_processes()?
        .into_iter()
        .map(|(name, pid)| (name, json!(pid)))
        .collect();
    let mut row = json!({
        "network": name,
        "dir": dir.display().to_string(),
        "supervisor": supervisor_pid(&dir),
        "processes": processes,
        "nodes": [],
        "relayChains": [],
    });
    match load_applied(&dir)? {
        Some(applied) => {
            let (nodes, chains) = super::block_on(backend.status(&applied.spec))??;
            let observed = super::block_on(backend.observe(&applied.spec))??;
            row["chainId"] = json!(applied.spec.chain_id);
            row["nodes"] = serde_json::to_value(nodes)?;
            row["relayChains"] = serde_json::to_value(chains)?;
            row["observed"] = summary_json(&observed.summary());
        }
        None => row["note"] = json!("no spec applied yet"),
    }
    Ok(row)
}

/// The node table (and relay chain lines) shared by `status` and the live view of `up`.
pub fn render_nodes(nodes: &[NodeStatus], chains: &[RelayChainStatus]) -> String {
    let mut out = String::new();
    let dash = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
    let _ = writeln!(
        out,
        "{:<16} {:<10} {:<7} {:<9} {:>8} {:>5} {:>14} {:>8}  RPC",
        "NODE", "ROLE", "PROCESS", "HEALTH", "HEIGHT", "PEERS", "STAKE", "RESTARTS"
    );
    for n in nodes {
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:<7} {:<9} {:>8} {:>5} {:>14} {:>8}  {}",
            n.name,
            n.role.as_str(),
            if n.running { "running" } else { "stopped" },
            if n.healthy { "healthy" } else { "-" },
            dash(n.height),
            dash(n.peers),
            n.stake,
            n.restarts,
            n.rpc.as_deref().unwrap_or("-"),
        );
    }
    for n in nodes {
        if let Some(line) = &n.last_log_line {
            let _ = writeln!(out, "{} stopped; last log line: {line}", n.name);
        }
    }
    for c in chains {
        let _ = writeln!(
            out,
            "relay chain {:<6} {:<8} {}",
            c.id,
            if c.running { "running" } else { "stopped" },
            c.endpoint.as_deref().unwrap_or("-")
        );
    }
    out
}
