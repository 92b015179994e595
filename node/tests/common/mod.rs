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

/// Starts `netwright-node run` on `home`, its output discarded.
pub fn start(home: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--home", home.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node")
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
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "testnet",
        "--validators",
        &validators.to_string(),
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
    let homes = (0..validators)
        .map(|i| dir.path().join(format!("node{i}")))
        .collect();
    let rpcs = (0..validators)
        .map(|i| format!("127.0.0.1:{}", base_port + 2 * i + 1))
        .collect();
    Testnet { dir, homes, rpcs }
}
