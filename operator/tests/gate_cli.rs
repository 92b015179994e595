//! `netwright gate run`, `gate status` and `resume` end to end, with real `netwright-node`
//! processes (4 validators, fast timeouts) under temporary `--home`s.
//!
//! First network: a gate whose threshold cannot be reached by its short deadline (exit 1,
//! naming the condition and the observed height; the network kept with `--keep`), then a gate
//! on every metric the nodes expose that passes (exit 0) with a JUnit report that parses and an
//! exported receipt log whose checkpoint verifies, the network torn down afterwards; `resume`
//! on a network that is not halted changes nothing.
//!
//! Second network: a passed gate (`missing: fail`, `onViolation: halt`) watched while a later
//! gate runs is violated when two of the four validators are killed (no quorum reports a
//! height): exit 1 naming it, a `stop` receipt, `gate status` showing it and the halt, `apply`
//! refused until `netwright resume`, after which `apply` restarts the nodes.
//!
//! The node binary comes from `NETWRIGHT_NODE_BIN`, beside the test binaries, or is built
//! with `cargo build --bin netwright-node`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use netwright_operator::backend::local::process;
use netwright_receipts::log::split_lines;
use netwright_receipts::{open_line, Kind};
use serde_json::Value;

mod support;
use support::node_bin;

/// Network name of the test document.
const NETWORK: &str = "gates";

/// The test document: 4 validators, fast consensus, a reachable and an unreachable gate.
fn document() -> String {
    format!(
        r#"apiVersion: netwright.dev/v1alpha1
kind: Network
metadata:
  name: {NETWORK}
spec:
  chainId: netwright-gates-1
  profile: localnet
  consensus:
    blockInterval: 100ms
    timeouts: {{propose: 600ms, prevote: 300ms, precommit: 300ms, commit: 50ms}}
  validators:
    replicas: 4
    stake: 2000000
  gates:
    - name: blocks
      conditions:
        - metric: height
          gte: 5
        - metric: validators_active
          eq: 4
        - metric: block_interval_p50_ms
          lte: 10000
        # A commit certificate holds precommits of more than 2/3 of the stake.
        - metric: validators_signing_ratio
          gte: 0.7
        - metric: txs_committed
          gte: 0
      within: 60s
      holdFor: 1s
      onViolation: halt
    - name: unreachable
      conditions:
        - metric: height
          gte: 1000000
      within: 3s
    - name: watched
      conditions:
        - metric: height
          gte: 2
      within: 60s
      missing: fail
      onViolation: halt
    - name: keeps-running
      after: [watched]
      conditions:
        - metric: height
          gte: 1000000
      within: 15s
"#
    )
}

/// A temporary `--home`; on drop, the network is brought down and any process left is killed.
struct Home {
    dir: tempfile::TempDir,
    node_bin: PathBuf,
}

impl Home {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `netwright ARGS --home HOME` (`netwright receipts ARGS` takes no home) and returns
    /// its output.
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_netwright"));
        command.args(args);
        if args.first() != Some(&"receipts") {
            command.arg("--home").arg(self.path());
        }
        command
            .env("NETWRIGHT_NODE_BIN", &self.node_bin)
            .output()
            .expect("run netwright")
    }

    fn pids(&self) -> Vec<u32> {
        self.node_pids().into_iter().map(|(_, pid)| pid).collect()
    }

    /// The recorded pid of every node, by name.
    fn node_pids(&self) -> Vec<(String, u32)> {
        let path = self.path().join(NETWORK).join("state.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        let Ok(state) = serde_json::from_str::<Value>(&text) else {
            return Vec::new();
        };
        state["nodes"]
            .as_object()
            .map(|nodes| {
                nodes
                    .iter()
                    .filter_map(|(name, n)| {
                        let pid = u32::try_from(n["process"]["pid"].as_u64()?).ok()?;
                        Some((name.clone(), pid))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.run(&["down", NETWORK]);
        for pid in self.pids() {
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                process::kill_now(pid);
            }
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The attribute `name` of the first element `<tag ...>` in `xml`, unescaped of `&quot;`
/// and `&amp;`, or `None`.
fn attribute(xml: &str, tag: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag} "))?;
    let element = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {name}=\"");
    let from = element.find(&key)? + key.len();
    let value = &element[from..from + element[from..].find('"')?];
    Some(value.replace("&quot;", "\"").replace("&amp;", "&"))
}

#[test]
fn gates_pass_and_fail_with_receipts_and_a_junit_report() {
    let home = Home {
        dir: tempfile::tempdir().expect("tempdir"),
        node_bin: node_bin(),
    };
    let spec = home.path().join("gates.yaml");
    std::fs::write(&spec, document()).expect("write document");
    let spec = spec.to_str().expect("utf-8 path");

    // An unreachable threshold fails at its 3 s deadline: exit 1, naming the condition and
    // the height observed. The network is kept.
    let out = home.run(&[
        "gate",
        "run",
        spec,
        "--gate",
        "unreachable",
        "--keep",
        "--interval-ms",
        "200",
    ]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("gate unreachable failed"))
        .unwrap_or_else(|| panic!("no verdict line\n{all}"));
    // The deadline is 3 s after the first sample (taken a moment after the run's clock starts).
    let deadline_ms = line
        .split("the deadline (")
        .nth(1)
        .and_then(|rest| rest.split(" ms) passed").next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no deadline in {line}"));
    assert!((3_000..3_500).contains(&deadline_ms), "{line}");
    let observed = line
        .split("height ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no observed height in {line}"));
    assert!(observed < 1_000_000.0, "{line}");
    assert!(line.contains("(needs >= 1000000): broken"), "{line}");
    assert!(!home.pids().is_empty(), "--keep left the nodes recorded");

    // A reachable gate passes: exit 0, JUnit report, receipts exported and verified.
    let junit = home.path().join("report.xml");
    let receipts = home.path().join("export.log");
    let out = home.run(&[
        "gate",
        "run",
        spec,
        "--gate",
        "blocks",
        "--junit",
        junit.to_str().expect("utf-8"),
        "--receipts",
        receipts.to_str().expect("utf-8"),
        "--interval-ms",
        "200",
    ]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("blocks: pending -> passed"), "{all}");
    assert!(stdout.contains("network gates is down"), "{all}");

    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(attribute(&xml, "testsuite", "tests").as_deref(), Some("1"));
    assert_eq!(
        attribute(&xml, "testsuite", "failures").as_deref(),
        Some("0")
    );
    assert_eq!(
        attribute(&xml, "testcase", "name").as_deref(),
        Some("blocks")
    );
    assert!(!xml.contains("<failure"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 1, "{xml}");
    assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");

    // The export verifies against its checkpoint and key, and holds the gate's receipts.
    let key = format!("{}.pub", receipts.display());
    let checkpoints = PathBuf::from(format!("{}.checkpoints", receipts.display()));
    let note = std::fs::read_dir(&checkpoints)
        .expect("checkpoints written")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .expect("a checkpoint note");
    let out = home.run(&[
        "receipts",
        "verify",
        receipts.to_str().expect("utf-8"),
        "--key",
        &key,
        "--checkpoint",
        note.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bytes = std::fs::read(&receipts).expect("export");
    let (lines, _) = split_lines(&bytes);
    let gates: Vec<(String, String)> = lines
        .into_iter()
        .filter_map(|range| open_line(&bytes[range]).ok())
        .map(|signed| signed.receipt)
        .filter(|r| r.kind == Kind::Gate)
        .map(|r| {
            let field = |k: &str| {
                r.body
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            (field("gate"), field("to"))
        })
        .collect();
    for expected in [("unreachable", "failed"), ("blocks", "passed")] {
        assert!(
            gates
                .iter()
                .any(|(g, to)| (g.as_str(), to.as_str()) == expected),
            "no gate receipt {expected:?} in {gates:?}"
        );
    }

    // Nothing is halted: resume changes nothing.
    let out = home.run(&["resume", NETWORK, "--reason", "nothing to clear"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not halted"));
}

/// Longest wait for the watched gate to pass before the test fails with a message.
const PATIENCE: Duration = Duration::from_secs(120);

#[test]
fn a_violated_halting_gate_stops_reconciliation_until_resume() {
    let home = Home {
        dir: tempfile::tempdir().expect("tempdir"),
        node_bin: node_bin(),
    };
    let spec = home.path().join("gates.yaml");
    std::fs::write(&spec, document()).expect("write document");
    let spec = spec.to_str().expect("utf-8 path");

    let mut child = Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(["gate", "run", spec, "--gate", "keeps-running", "--keep"])
        .args(["--interval-ms", "200", "--home"])
        .arg(home.path())
        .env("NETWRIGHT_NODE_BIN", &home.node_bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gate run");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        match received.recv_timeout(PATIENCE) {
            Ok(line) => {
                let passed = line.starts_with("watched: pending -> passed");
                seen.push(line);
                if passed {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the watched gate did not pass\n{}", seen.join("\n"));
            }
        }
    }
    // Two of the four validators die: no quorum reports a height any more.
    for (name, pid) in home.node_pids() {
        if name == "validator-0" || name == "validator-1" {
            process::kill_now(pid);
        }
    }
    let out = child.wait_with_output().expect("gate run ends");
    let _ = reader.join();
    seen.extend(received.try_iter());
    let all = format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        seen.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("gate watched violated"), "{all}");
    assert!(stderr.contains("no node reports height"), "{all}");

    // The stop is in force: apply is refused, and names the way out.
    let out = home.run(&["apply", spec]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let refusal = String::from_utf8_lossy(&out.stderr);
    assert!(refusal.contains("gate watched violated"), "{refusal}");
    assert!(refusal.contains("netwright resume gates"), "{refusal}");

    // gate status shows the gates as recorded, and the halt.
    let out = home.run(&["gate", "status", NETWORK, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("gate status JSON");
    let state = |name: &str| {
        status["gates"]
            .as_array()
            .and_then(|gates| gates.iter().find(|g| g["name"] == name))
            .map(|g| g["state"].clone())
    };
    assert_eq!(state("watched"), Some(Value::from("violated")), "{status}");
    assert_eq!(
        state("keeps-running"),
        Some(Value::from("failed")),
        "{status}"
    );
    let halted = status["halted"].as_str().unwrap_or_default();
    assert!(halted.contains("gate watched violated"), "{status}");

    // resume clears it; apply then restarts the killed validators.
    let out = home.run(&[
        "resume",
        NETWORK,
        "--reason",
        "validators restored by the test",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("clearing the stop receipt"),
        "{}",
        text(&out)
    );
    let out = home.run(&["apply", spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = home.run(&["gate", "status", NETWORK, "-o", "json"]);
    let status: Value = serde_json::from_slice(&out.stdout).expect("gate status JSON");
    assert_eq!(status["halted"], Value::Null, "{status}");

    let bytes = std::fs::read(home.path().join(NETWORK).join("receipts.log")).expect("log");
    let (lines, _) = split_lines(&bytes);
    let kinds: Vec<String> = lines
        .into_iter()
        .filter_map(|range| open_line(&bytes[range]).ok())
        .map(|signed| signed.receipt.kind.as_str().to_owned())
        .collect();
    let stop = kinds
        .iter()
        .position(|k| k == "stop")
        .expect("a stop receipt");
    let resume = kinds
        .iter()
        .position(|k| k == "resume")
        .expect("a resume receipt");
    assert!(stop < resume, "{kinds:?}");
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("reconcile"),
        "{kinds:?}"
    );
}
