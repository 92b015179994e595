//! `loadgen` against a real 4-validator network on loopback: a short, low-rate run commits
//! transactions and prints a report that parses; bad flags and an unreachable endpoint fail with
//! a clear error and no panic.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use netwright_node::loadgen::Report;

const BIN: &str = env!("CARGO_BIN_EXE_netwright-node");

/// Kills every child on drop, so no process outlives the test even when it fails.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run netwright-node")
}

fn height(rpc: &str) -> Option<u64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(rpc).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    serde_json::from_str::<serde_json::Value>(body).ok()?["height"].as_u64()
}

#[test]
fn bad_flags_and_unreachable_rpc_fail_cleanly() {
    for (args, needle) in [
        (
            vec![
                "--rpc",
                "http://127.0.0.1:1",
                "--rate",
                "0",
                "--duration",
                "1s",
                "--key-home",
                "/x",
            ],
            "--rate",
        ),
        (
            vec![
                "--rpc",
                "http://127.0.0.1:1",
                "--rate",
                "5",
                "--duration",
                "soon",
                "--key-home",
                "/x",
            ],
            "--duration",
        ),
        (
            vec![
                "--rpc",
                "nowhere",
                "--rate",
                "5",
                "--duration",
                "1s",
                "--key-home",
                "/x",
            ],
            "nowhere",
        ),
        (
            vec![
                "--rpc",
                "http://127.0.0.1:1",
                "--rate",
                "5",
                "--duration",
                "1s",
                "--key-home",
                "/x",
            ],
            "node_key.json",
        ),
    ] {
        let mut full = vec!["loadgen"];
        full.extend(args);
        let out = run(&full);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{full:?}: {err}");
        assert!(
            err.contains(needle) && !err.contains("panicked"),
            "{full:?}: {err}"
        );
    }
}

#[test]
fn loadgen_commits_transfers_on_four_validators() {
    let dir = tempfile::tempdir().unwrap();
    let port = 44_000 + (std::process::id() % 500) as u16 * 16;
    let out = run(&[
        "testnet",
        "--validators",
        "4",
        "--out",
        dir.path().to_str().unwrap(),
        "--base-port",
        &port.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let homes: Vec<_> = (0..4)
        .map(|i| dir.path().join(format!("node{i}")))
        .collect();
    let rpcs: Vec<String> = (0..4)
        .map(|i| format!("127.0.0.1:{}", port + 2 * i + 1))
        .collect();
    let _nodes = Nodes(
        homes
            .iter()
            .map(|h: &std::path::PathBuf| start(h))
            .collect(),
    );

    let unreachable = run(&[
        "loadgen",
        "--rpc",
        "http://127.0.0.1:1",
        "--rate",
        "5",
        "--duration",
        "1s",
        "--key-home",
        homes[0].to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(1), "{err}");
    assert!(err.contains("127.0.0.1:1: cannot connect"), "{err}");

    let deadline = Instant::now() + Duration::from_secs(120);
    while !rpcs.iter().all(|r| height(r).is_some_and(|h| h >= 3)) {
        assert!(Instant::now() < deadline, "network did not start");
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut args = vec![
        "loadgen",
        "--rate",
        "200",
        "--duration",
        "3s",
        "--accounts",
        "16",
        "--rpc",
    ];
    let urls: Vec<String> = rpcs.iter().map(|r| format!("http://{r}")).collect();
    args.extend(urls.iter().map(String::as_str));
    args.push("--key-home");
    args.extend(homes.iter().map(|h| h.to_str().unwrap()));
    let out = run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = Report::parse(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(report.sent > 0 && report.accepted > 0, "{stdout}");
    assert!(report.committed > 0, "{stdout}");
    assert!(report.committed <= report.accepted, "{stdout}");
    assert!(report.committed_tps > 0.0, "{stdout}");
    assert!(
        report.latency_p50_ms > 0.0 && report.latency_p50_ms <= report.latency_p99_ms,
        "{stdout}"
    );
}

fn start(home: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--home", home.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node")
}
