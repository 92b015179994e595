//! Helpers shared by the tests that run real `netwright-node` processes on loopback.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The node binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_netwright-node");

/// Kills every child on drop, so no process outlives the test even when it fails.
pub struct Nodes(pub Vec<Option<Child>>);

impl Nodes {
    /// Starts one node per home.
    pub fn start_all(homes: &[PathBuf]) -> Self {
        Nodes(homes.iter().map(|h| Some(start(h))).collect())
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `netwright-node run` on `home`, its log appended to `home/node.log`.
pub fn start(home: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("node.log"))
        .expect("open node.log");
    Command::new(BIN)
        .args(["run", "--home", home.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn node")
}

/// The last `lines` lines of each home's `node.log`, for failure messages.
pub fn log_tails(homes: &[PathBuf], lines: usize) -> String {
    let mut out = String::new();
    for home in homes {
        let text = std::fs::read_to_string(home.join("node.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        out.push_str(&format!("--- {} ---\n", home.display()));
        for line in &all[all.len().saturating_sub(lines)..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The first port of `count` consecutive loopback ports that are free now.
///
/// Ports are taken below Linux's ephemeral range (32768 and up), so outgoing connections of
/// this or any other process cannot occupy them between this check and the nodes' start;
/// the starting block depends on the process id so that concurrent test binaries differ.
pub fn free_ports(count: u16) -> u16 {
    const LOW: u32 = 20_000;
    const HIGH: u32 = 32_000;
    let span = u32::from(count).max(1);
    let blocks = (HIGH - LOW) / span;
    let first = std::process::id() % blocks;
    for i in 0..blocks {
        let base = LOW + ((first + i) % blocks) * span;
        let all_free = (base..base + span)
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p as u16)).is_ok());
        if all_free {
            return base as u16;
        }
    }
    panic!("no {count} consecutive free loopback ports between {LOW} and {HIGH}");
}

/// Runs the node binary with `args` to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run netwright-node")
}

/// The JSON body of a `GET` on `rpc`, when it answers 200.
pub fn get(rpc: &str, path: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(rpc).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    if !text.starts_with("HTTP/1.1 200") {
        return None;
    }
    let body = text.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

/// A `POST` of a JSON `body` to `rpc`: the status line and the JSON answer (`Null` if none).
pub fn post(rpc: &str, path: &str, body: &str) -> (String, Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(rpc).expect("connect to the node's RPC");
    s.set_read_timeout(Some(Duration::from_secs(40)))
        .expect("set a read timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// The node's committed height, when it answers.
pub fn height(rpc: &str) -> Option<u64> {
    get(rpc, "/status")?["height"].as_u64()
}

/// Node homes made by `netwright-node testnet`, removed with `dir`.
pub struct Testnet {
    /// Holds the homes.
    pub dir: tempfile::TempDir,
    /// `node0`, `node1`, ...
    pub homes: Vec<PathBuf>,
    /// Each node's RPC address, `127.0.0.1:PORT`.
    pub rpcs: Vec<String>,
}

/// Creates `validators` node homes with `netwright-node testnet`, ports from `base_port` up.
pub fn testnet(validators: u16, base_port: u16) -> Testnet {
    testnet_with_full_nodes(validators, 0, base_port)
}

/// Creates `validators` validator homes and `full_nodes` full-node homes after them
/// (`testnet --full-nodes`), ports from `base_port` up (two per node).
pub fn testnet_with_full_nodes(validators: u16, full_nodes: u16, base_port: u16) -> Testnet {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "testnet",
        "--validators",
        &validators.to_string(),
        "--full-nodes",
        &full_nodes.to_string(),
        "--out",
        dir.path().to_str().unwrap(),
        "--base-port",
        &base_port.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = validators + full_nodes;
    let homes = (0..n)
        .map(|i| dir.path().join(format!("node{i}")))
        .collect();
    let rpcs = (0..n)
        .map(|i| format!("127.0.0.1:{}", base_port + 2 * i + 1))
        .collect();
    Testnet { dir, homes, rpcs }
}
