//! `loadgen` against a real 4-validator network on loopback: a short, low-rate run commits
//! transactions and prints a report that parses; bad flags and an unreachable endpoint fail with
//! a clear error and no panic.

use std::time::{Duration, Instant};

use netwright_node::loadgen::Report;

mod common;
use common::{height, run, Nodes};

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
    let net = common::testnet(4, common::free_ports(8));
    let (homes, rpcs) = (&net.homes, &net.rpcs);
    let _nodes = Nodes::start_all(homes);

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
