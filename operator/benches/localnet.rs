//! LocalNet figures: time from `netwright up` to the first finalized block, and whether a
//! network of many validators runs on this machine (block interval p50, memory per node).
//!
//! `cargo bench -p netwright-operator --bench localnet` runs 4 and 32 validators;
//! `NETWRIGHT_BENCH_SIZES=4,8,16` chooses the sizes and `NETWRIGHT_BENCH_SAMPLE_SECS` (default
//! 20) how long block intervals are sampled. The node binary comes from `NETWRIGHT_NODE_BIN`,
//! beside the netwright binary, or is built with `cargo build --bin netwright-node`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../tests/support/mod.rs"]
mod support;
use support::{get, node_bin};

/// Longest wait for the first block or for growth before a size is reported as not running.
const PATIENCE: Duration = Duration::from_secs(300);

fn document(validators: usize) -> String {
    format!(
        r#"apiVersion: netwright.dev/v1alpha1
kind: Network
metadata:
  name: bench
spec:
  chainId: netwright-bench-1
  profile: localnet
  consensus:
    blockInterval: 100ms
    timeouts: {{propose: 1s, prevote: 500ms, precommit: 500ms, commit: 100ms}}
  validators:
    replicas: {validators}
    stake: 2000000
  economics:
    unbondingBlocks: 5
    minimumStakes: {{validator: 1000000}}
"#
    )
}

struct Net {
    home: tempfile::TempDir,
    node_bin: PathBuf,
}

impl Net {
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(env!("CARGO_BIN_EXE_netwright"))
            .args(args)
            .arg("--home")
            .arg(self.home.path())
            .env("NETWRIGHT_NODE_BIN", &self.node_bin)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "netwright {args:?}: exit {:?}\n{}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn status(&self) -> Option<Value> {
        serde_json::from_str(&self.run(&["status", "bench", "-o", "json"]).ok()?).ok()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.run(&["down", "bench"]);
    }
}

fn heights(status: &Value) -> Vec<Option<u64>> {
    status["nodes"]
        .as_array()
        .map(|n| n.iter().map(|n| n["height"].as_u64()).collect())
        .unwrap_or_default()
}

fn rss_kib(pid: u64) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn bench(size: usize, node_bin: &Path, sample: Duration) -> Result<(), String> {
    let net = Net {
        home: tempfile::tempdir().map_err(|e| e.to_string())?,
        node_bin: node_bin.to_owned(),
    };
    let file = net.home.path().join("bench.yaml");
    std::fs::write(&file, document(size)).map_err(|e| e.to_string())?;
    let file = file.to_str().ok_or("non UTF-8 temp path")?.to_owned();

    let start = Instant::now();
    net.run(&["up", &file, "--detach"])?;
    let up_done = start.elapsed();
    let first_block = loop {
        if let Some(status) = net.status() {
            if heights(&status).iter().any(|h| h.is_some_and(|h| h >= 1)) {
                break start.elapsed();
            }
        }
        if start.elapsed() > PATIENCE {
            return Err(format!(
                "{size} validators: no finalized block within {PATIENCE:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    println!(
        "{size:>3} validators: `up --detach` returned after {:.2} s; first finalized block after {:.2} s",
        up_done.as_secs_f64(),
        first_block.as_secs_f64()
    );

    let status = net.status().ok_or("status failed")?;
    let rpc = status["nodes"][0]["rpc"]
        .as_str()
        .ok_or("no RPC address")?
        .to_owned();
    let from = get(&rpc, "/status")
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(1);
    std::thread::sleep(sample);
    let to = get(&rpc, "/status")
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(from);
    let mut times = Vec::new();
    for h in from.max(1)..=to {
        if let Some(t) = get(&rpc, &format!("/blocks/{h}")).and_then(|b| b["time_ms"].as_u64()) {
            times.push(t);
        }
    }
    let mut intervals: Vec<u64> = times
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    intervals.sort_unstable();

    let status = net.status().ok_or("status failed")?;
    let hs = heights(&status);
    let running = status["nodes"]
        .as_array()
        .map_or(0, |n| n.iter().filter(|n| n["running"] == true).count());
    let healthy = status["nodes"]
        .as_array()
        .map_or(0, |n| n.iter().filter(|n| n["healthy"] == true).count());
    let mut rss: Vec<u64> = status["processes"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(Value::as_u64)
                .filter_map(rss_kib)
                .collect()
        })
        .unwrap_or_default();
    rss.sort_unstable();
    let min_height = hs.iter().flatten().min().copied().unwrap_or(0);
    let runs = running == size && to > from && min_height > 0;
    println!(
        "{size:>3} validators: runs: {}; running {running}/{size}, healthy {healthy}/{size}; \
         {} blocks in {:.0} s; block interval p50 {} ms, p90 {} ms (n={})",
        if runs { "yes" } else { "no" },
        to.saturating_sub(from),
        sample.as_secs_f64(),
        percentile(&intervals, 0.5),
        percentile(&intervals, 0.9),
        intervals.len()
    );
    println!(
        "{size:>3} validators: RSS per node min {:.1} MiB, p50 {:.1} MiB, max {:.1} MiB; total {:.1} MiB",
        percentile(&rss, 0.0) as f64 / 1024.0,
        percentile(&rss, 0.5) as f64 / 1024.0,
        percentile(&rss, 1.0) as f64 / 1024.0,
        rss.iter().sum::<u64>() as f64 / 1024.0
    );
    Ok(())
}

fn main() {
    // `cargo bench` passes `--bench`; other arguments are ignored.
    let sizes: Vec<usize> = std::env::var("NETWRIGHT_BENCH_SIZES")
        .unwrap_or_else(|_| "4,32".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    let sample = Duration::from_secs(
        std::env::var("NETWRIGHT_BENCH_SAMPLE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20),
    );
    let node_bin = node_bin();
    println!(
        "localnet bench: sizes {sizes:?}, node binary {}",
        node_bin.display()
    );
    for size in sizes {
        if let Err(error) = bench(size, &node_bin, sample) {
            println!("{size:>3} validators: runs: no ({error})");
        }
    }
}
