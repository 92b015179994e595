//! `netwright up / apply / plan / status / logs / down` end to end, with real `netwright-node`
//! processes (and a managed anvil relay chain) under a temporary `--home`.
//!
//! One network lives through: `up --detach` with 4 validators, growth on every node, `apply`
//! of 5 validators (the fifth stakes on-chain and signs commit certificates), `apply` back to
//! 4, an unsafe `plan`/`apply` to 1 validator refused without `--approve`, a `kill -9` of a
//! node that the detached supervisor restarts, `down` leaving no process, `up` again resuming
//! the same chain, and finally a receipt log that verifies and names every applied plan.
//!
//! The node binary comes from `NETWRIGHT_NODE_BIN`, beside the test binaries, or is built
//! with `cargo build --bin netwright-node`. Anvil must be installed (`netwright tools
//! install`); `NETWRIGHT_SKIP_ANVIL=1` leaves the relay chain out explicitly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use netwright_operator::backend::local::{find_anvil, process};
use serde_json::Value;

mod support;
use support::{get, node_bin};

/// Network name of the test documents.
const NETWORK: &str = "e2e";

/// Longest wait for a condition on the running network before the test fails with a message.
const PATIENCE: Duration = Duration::from_secs(180);

/// Whether the relay chain part runs: anvil must be there unless explicitly skipped.
fn with_anvil() -> bool {
    if std::env::var("NETWRIGHT_SKIP_ANVIL").is_ok_and(|v| v == "1") {
        eprintln!("NETWRIGHT_SKIP_ANVIL=1: the managed relay chain is left out");
        return false;
    }
    if let Err(error) = find_anvil(None) {
        panic!("{error}\n(set NETWRIGHT_SKIP_ANVIL=1 to leave the relay chain out)");
    }
    true
}

/// The test document with `validators` validators and fast consensus timeouts.
fn document(validators: u32, anvil: bool) -> String {
    let relay = if anvil {
        r#"  servicers:
    replicas: 1
    stake: 1000000
    chains: ["0021"]
  relayChains:
    - id: "0021"
      name: ethereum
      allowedMethods: [eth_chainId, eth_blockNumber]
      managed:
        kind: anvil
        anvil:
          chainId: 31337
          blockTime: 1s
"#
    } else {
        ""
    };
    format!(
        r#"apiVersion: netwright.dev/v1alpha1
kind: Network
metadata:
  name: {NETWORK}
spec:
  chainId: netwright-e2e-1
  profile: localnet
  consensus:
    blockInterval: 100ms
    timeouts: {{propose: 600ms, prevote: 300ms, precommit: 300ms, commit: 50ms}}
  validators:
    replicas: {validators}
    stake: 2000000
{relay}  economics:
    unbondingBlocks: 5
    minimumStakes: {{validator: 1000000, servicer: 1000000}}
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

    fn network_dir(&self) -> PathBuf {
        self.path().join(NETWORK)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write test document");
        path
    }

    /// Runs `netwright ARGS --home HOME` and returns its output.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_netwright"))
            .args(args)
            .arg("--home")
            .arg(self.path())
            .env("NETWRIGHT_NODE_BIN", &self.node_bin)
            .output()
            .expect("run netwright")
    }

    /// Runs `netwright ARGS --home HOME` and fails unless it exits 0.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "netwright {args:?} failed\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn status(&self) -> Value {
        let out = self.ok(&["status", NETWORK, "-o", "json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status JSON: {e}\n{out}"))
    }

    /// Pids of every process the network runs or ran, from `state.json` and the supervisor.
    fn recorded_pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        if let Ok(text) = std::fs::read_to_string(self.network_dir().join("state.json")) {
            if let Ok(state) = serde_json::from_str::<Value>(&text) {
                collect_pids(&state, &mut pids);
            }
        }
        if let Ok(text) = std::fs::read_to_string(self.network_dir().join("supervisor.pid")) {
            if let Ok(record) = serde_json::from_str::<Value>(&text) {
                collect_pids(&record, &mut pids);
            }
        }
        pids
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.run(&["down", NETWORK]);
        for pid in self.recorded_pids() {
            if alive(pid) {
                process::kill_now(pid);
            }
        }
    }
}

fn collect_pids(value: &Value, out: &mut Vec<u32>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_u64()) {
                    ("pid", Some(pid)) => out.extend(u32::try_from(pid).ok()),
                    _ => collect_pids(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_pids(v, out)),
        _ => {}
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

/// Whether `pid` is a live process (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.trim_start().chars().next());
    !matches!(state, Some('Z') | Some('X') | None)
}

/// Waits until `check` returns `Some`, failing with `what` and the last status otherwise.
fn eventually<T>(home: &Home, what: &str, mut check: impl FnMut(&Value) -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = home.status();
        if let Some(found) = check(&status) {
            return found;
        }
        if Instant::now() > deadline {
            panic!(
                "gave up waiting for {what}; status:\n{status:#}\n{}",
                log_tails(home)
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The last lines of every node's log, for failure messages.
fn log_tails(home: &Home) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(home.network_dir().join("nodes")) else {
        return out;
    };
    for entry in entries.flatten() {
        let log = std::fs::read_to_string(entry.path().join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        out.push_str(&format!("--- {}\n{tail}\n", entry.path().display()));
    }
    out
}

fn nodes(status: &Value) -> Vec<Value> {
    status["nodes"].as_array().cloned().unwrap_or_default()
}

fn node<'a>(nodes: &'a [Value], name: &str) -> Option<&'a Value> {
    nodes.iter().find(|n| n["name"] == name)
}

/// Heights of the running nodes, by name.
fn heights(status: &Value) -> BTreeMap<String, u64> {
    nodes(status)
        .iter()
        .filter(|n| n["running"] == true)
        .filter_map(|n| Some((n["name"].as_str()?.to_owned(), n["height"].as_u64()?)))
        .collect()
}

/// Waits until each of `names` runs above its height in `floor` (or above `min`).
fn all_grow(home: &Home, names: &[String], floor: &BTreeMap<String, u64>, min: u64) {
    eventually(
        home,
        &format!("{names:?} to grow past {floor:?} / {min}"),
        |s| {
            let h = heights(s);
            names
                .iter()
                .all(|n| {
                    h.get(n)
                        .is_some_and(|h| *h > floor.get(n).copied().unwrap_or(0).max(min))
                })
                .then_some(())
        },
    );
}

/// The plan digest an `apply`/`up` printed first (`digest <hex>`).
fn first_digest(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest "))
        .map(|d| d.trim().to_owned())
        .unwrap_or_else(|| panic!("no plan digest in:\n{stdout}"))
}

fn node_key_hex(home: &Home, node: &str) -> String {
    let path = home
        .network_dir()
        .join("nodes")
        .join(node)
        .join("node_key.json");
    netwright_node_api::keys::NodeKey::load(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .public_hex()
}

/// Whether the commit certificate (hex of its borsh encoding) holds the 32-byte key `key`.
fn cert_names(cert: &str, key: &str) -> bool {
    cert.match_indices(key).any(|(at, _)| at % 2 == 0)
}

fn receipts_log(home: &Home) -> PathBuf {
    home.network_dir().join("receipts.log")
}

fn log_lines(home: &Home) -> usize {
    std::fs::read(receipts_log(home))
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn a_local_network_lives_through_the_cli() {
    let anvil = with_anvil();
    let home = Home {
        dir: tempfile::tempdir().expect("temp dir"),
        node_bin: node_bin(),
    };
    let four = home.file("four.yaml", &document(4, anvil));
    let five = home.file("five.yaml", &document(5, anvil));
    let one = home.file("one.yaml", &document(1, anvil));
    let (four, five, one) = (
        four.to_str().expect("utf-8 path").to_owned(),
        five.to_str().expect("utf-8 path").to_owned(),
        one.to_str().expect("utf-8 path").to_owned(),
    );
    let validators: Vec<String> = (0..4).map(|i| format!("validator-{i}")).collect();
    let mut applied = Vec::new();

    // up --detach: every node runs and grows.
    let out = home.ok(&["up", &four, "--detach"]);
    assert!(out.contains("supervisor pid"), "{out}");
    applied.push(first_digest(&out));
    let status = home.status();
    assert!(
        status["supervisor"]
            .as_u64()
            .is_some_and(|p| alive(p as u32)),
        "{status:#}"
    );
    let mut all_nodes = validators.clone();
    if anvil {
        all_nodes.push("servicer-0".into());
        let chains = status["relayChains"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            chains
                .iter()
                .any(|c| c["id"] == "0021" && c["running"] == true),
            "{status:#}"
        );
    }
    all_grow(&home, &all_nodes, &BTreeMap::new(), 1);
    let first = heights(&home.status());
    all_grow(&home, &all_nodes, &first, 0);
    let listing = home.ok(&["status"]);
    assert!(listing.lines().any(|l| l.starts_with(NETWORK)), "{listing}");
    let log = home.ok(&["logs", NETWORK, "validator-0"]);
    assert!(!log.is_empty(), "validator-0 wrote no log");

    eprintln!("up: heights {:?}", heights(&home.status()));

    // apply 5 validators: the fifth stakes on-chain and signs blocks.
    let out = home.ok(&["apply", &five]);
    assert!(out.contains("stake-validator node=validator-4"), "{out}");
    assert!(!out.contains("write-genesis"), "{out}");
    applied.push(first_digest(&out));
    let stake = eventually(&home, "validator-4 staked", |s| {
        node(&nodes(s), "validator-4")
            .and_then(|n| n["stake"].as_u64())
            .filter(|s| *s > 0)
    });
    assert_eq!(stake, 2_000_000);
    let key = node_key_hex(&home, "validator-4");
    let rpc = eventually(&home, "validator-0's RPC", |s| {
        node(&nodes(s), "validator-0").and_then(|n| n["rpc"].as_str().map(str::to_owned))
    });
    let from = heights(&home.status()).values().copied().max().unwrap_or(0);
    let deadline = Instant::now() + PATIENCE;
    let mut next = from + 1;
    let signed_at = loop {
        match get(&rpc, &format!("/blocks/{next}")) {
            Some(block) => {
                let cert = block["cert"].as_str().unwrap_or_default();
                if cert_names(cert, &key) {
                    break next;
                }
                next += 1;
            }
            None => std::thread::sleep(Duration::from_millis(200)),
        }
        assert!(
            Instant::now() < deadline,
            "validator-4 ({key}) signed no certificate from height {from} to {next}"
        );
    };
    assert!(signed_at > from);
    eprintln!("validator-4 staked {stake} and signed the certificate of block {signed_at}");

    // apply back to 4: the fifth unstakes and stops; genesis stays.
    let genesis = std::fs::read(home.network_dir().join("genesis.json")).expect("genesis");
    let out = home.ok(&["apply", &four]);
    assert!(out.contains("unstake-validator node=validator-4"), "{out}");
    applied.push(first_digest(&out));
    let status = home.status();
    assert!(
        status["processes"].get("node/validator-4").is_none(),
        "{status:#}"
    );
    for v in &validators {
        let listed = nodes(&status);
        let n = node(&listed, v).unwrap_or_else(|| panic!("{v} in {status:#}"));
        assert_eq!(n["stake"], 2_000_000, "{status:#}");
    }

    // 4 -> 1 is unsafe: planned, refused without --approve, nothing changes.
    let plan: Value =
        serde_json::from_str(&home.ok(&["plan", &one, "-o", "json"])).expect("plan JSON");
    assert_eq!(plan["risk"], "unsafe", "{plan:#}");
    let digest = plan["digest"].as_str().expect("digest").to_owned();
    let receipts_before = log_lines(&home);
    let pids_before = home.status()["processes"].clone();
    let refused = home.run(&["apply", &one]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&format!("--approve {digest}")), "{stderr}");
    assert!(stderr.contains("unsafe"), "{stderr}");
    assert_eq!(
        log_lines(&home),
        receipts_before,
        "a refusal writes no receipt"
    );
    let status = home.status();
    assert_eq!(status["processes"], pids_before, "a refusal stops nothing");
    for v in &validators {
        assert_eq!(
            node(&nodes(&status), v).map(|n| n["stake"].clone()),
            Some(2_000_000.into())
        );
    }

    // A stop receipt halts reconciliation until a resume receipt clears it.
    let log = receipts_log(&home);
    let key = home.path().join("orchestrator.key");
    let append = |kind: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_netwright"))
            .args(["receipts", "append"])
            .arg(&log)
            .arg("--key")
            .arg(&key)
            .args(["--network", NETWORK, "--kind", kind, "--spec", &four])
            .args(["--body", r#"{"reason":"halted by the test"}"#])
            .output()
            .expect("run netwright receipts append");
        assert!(out.status.success(), "{}", text(&out));
    };
    append("stop");
    let halted = home.run(&["apply", &four]);
    assert_eq!(halted.status.code(), Some(4), "{}", text(&halted));
    let stderr = String::from_utf8_lossy(&halted.stderr);
    assert!(stderr.contains("halted by the test"), "{stderr}");
    assert!(stderr.contains("--kind resume"), "{stderr}");
    append("resume");
    let out = home.ok(&["apply", &four]);
    assert!(out.contains("converged: nothing to do"), "{out}");
    applied.push(first_digest(&out));

    eprintln!("stop receipt halted apply; resume cleared it");

    // kill -9 a node: the detached supervisor restarts it and it catches up.
    let victim = "validator-1";
    let pid = status["processes"][format!("node/{victim}")]
        .as_u64()
        .unwrap_or_else(|| panic!("pid of {victim} in {status:#}")) as u32;
    let top = heights(&status).values().copied().max().unwrap_or(0);
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    eventually(
        &home,
        &format!("{victim} restarted and past height {top}"),
        |s| {
            let new_pid = s["processes"][format!("node/{victim}")].as_u64()?;
            let n = node(&nodes(s), victim)?.clone();
            (new_pid != u64::from(pid)
                && n["restarts"].as_u64()? >= 1
                && n["height"].as_u64()? > top + 2)
                .then_some(())
        },
    );

    eprintln!("{victim} (pid {pid}) killed at height {top}, restarted and caught up");

    // down: no process is left.
    let status = home.status();
    let top = heights(&status).values().copied().max().unwrap_or(0);
    let mut pids: Vec<u32> = status["processes"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|p| p.as_u64())
                .map(|p| p as u32)
                .collect()
        })
        .unwrap_or_default();
    pids.extend(status["supervisor"].as_u64().map(|p| p as u32));
    assert!(pids.len() >= 5, "{status:#}");
    let keys: Vec<String> = validators.iter().map(|v| node_key_hex(&home, v)).collect();
    home.ok(&["down", NETWORK]);
    let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    let status = home.status();
    assert_eq!(status["processes"], serde_json::json!({}), "{status:#}");
    assert!(status["supervisor"].is_null(), "{status:#}");

    // up again: the same chain resumes (same genesis, same keys, height continues).
    let out = home.ok(&["up", &four, "--detach"]);
    applied.push(first_digest(&out));
    assert!(!out.contains("write-genesis"), "{out}");
    assert!(!out.contains("create-node"), "{out}");
    assert_eq!(
        std::fs::read(home.network_dir().join("genesis.json")).expect("genesis"),
        genesis
    );
    let keys_again: Vec<String> = validators.iter().map(|v| node_key_hex(&home, v)).collect();
    assert_eq!(keys_again, keys);
    let floor: BTreeMap<String, u64> = validators.iter().map(|v| (v.clone(), top)).collect();
    all_grow(&home, &validators, &floor, 0);
    eprintln!("resumed past height {top}: {:?}", heights(&home.status()));
    home.ok(&["down", NETWORK]);

    // The receipt log verifies and names every applied plan.
    let log = receipts_log(&home);
    let log = log.to_str().expect("utf-8 path");
    let public = home.path().join("orchestrator.pub");
    let verified = Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(["receipts", "verify", log, "--key"])
        .arg(&public)
        .output()
        .expect("run netwright receipts verify");
    assert!(verified.status.success(), "{}", text(&verified));
    let lines = log_lines(&home);
    let mut plans = Vec::new();
    let mut kinds = Vec::new();
    for seq in 0..lines {
        let out = Command::new(env!("CARGO_BIN_EXE_netwright"))
            .args(["receipts", "show", log, "--seq", &seq.to_string()])
            .output()
            .expect("run netwright receipts show");
        assert!(out.status.success(), "{}", text(&out));
        let shown: Value = serde_json::from_slice(&out.stdout).expect("show JSON");
        let predicate = &shown["statement"]["predicate"];
        kinds.push(predicate["kind"].as_str().unwrap_or_default().to_owned());
        if let Some(plan) = predicate["body"]["plan"].as_str() {
            plans.push(plan.to_owned());
        }
    }
    let expected = [
        "reconcile",
        "reconcile",
        "reconcile",
        "stop",
        "resume",
        "reconcile",
        "reconcile",
    ];
    assert_eq!(kinds, expected, "one reconcile receipt per up/apply");
    assert_eq!(plans, applied, "each receipt names the plan applied");
    assert!(
        !plans.contains(&digest),
        "the refused plan was not recorded as applied"
    );
}

#[test]
fn an_interrupted_apply_records_what_it_did_and_the_next_apply_finishes() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let home = Home {
        dir: tempfile::tempdir().expect("tempdir"),
        node_bin: node_bin(),
    };
    let four = home.file("four.yaml", &document(4, false));
    let four = four.to_str().expect("utf-8 path");
    let mut child = Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(["apply", four, "--home"])
        .arg(home.path())
        .env("NETWRIGHT_NODE_BIN", &home.node_bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run netwright apply");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stdout line");
        let first_start = line.contains("start-node") && line.ends_with("...");
        seen.push(line);
        if first_start {
            break;
        }
    }
    // Keep reading what apply prints after the signal (its pipe must stay open).
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    assert!(
        seen.last().is_some_and(|l| l.contains("start-node")),
        "apply ended before starting a node: {seen:#?}"
    );
    // Ctrl-C while the first of four nodes starts.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).expect("a pid"),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    let out = child.wait_with_output().expect("apply exits");
    let rest = rest.join().expect("stdout reader");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}\nstdout after the signal: {rest:#?}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted in pass 1"), "{stderr}");

    // The reconcile receipt says it was cancelled and lists the steps done; the log verifies.
    assert_eq!(log_lines(&home), 1);
    let log = receipts_log(&home);
    let log = log.to_str().expect("utf-8 path");
    let shown = Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(["receipts", "show", log, "--seq", "0"])
        .output()
        .expect("run netwright receipts show");
    assert!(shown.status.success(), "{}", text(&shown));
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("show JSON");
    let body = &shown["statement"]["predicate"]["body"];
    assert_eq!(body["outcome"], "cancelled", "{body:#}");
    let done = body["done"].as_array().map_or(0, Vec::len);
    assert!(
        done > 0,
        "the steps before the first start were done: {body:#}"
    );
    let verified = Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(["receipts", "verify", log, "--key"])
        .arg(home.path().join("orchestrator.pub"))
        .output()
        .expect("run netwright receipts verify");
    assert!(verified.status.success(), "{}", text(&verified));

    // Applying again finishes the job from where it stopped.
    let again = home.ok(&["apply", four]);
    assert!(again.contains("converged:"), "{again}");
    let status = home.status();
    assert!(
        nodes(&status).iter().all(|n| n["running"] == true),
        "{status:#}"
    );
    home.ok(&["down", NETWORK]);
}
