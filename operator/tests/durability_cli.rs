//! `netwright down`, `up` and `apply` against damaged or misleading files in a network
//! directory, with real processes: a recorded pid whose process is not ours is never signalled;
//! a damaged, non-UTF-8 or missing `state.json` still lets `down` stop everything and keeps
//! `up` from starting a second process beside a running one; a node that cannot start is
//! reported with its own error.
//!
//! The node binary is found as in `localnet_cli.rs`; anvil must be installed (`netwright tools
//! install`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use netwright_operator::backend::local::find_anvil;
use netwright_operator::backend::local::process::{self, Ours, ProcessId};
use serde_json::json;

mod support;
use support::node_bin;

/// Runs `netwright ARGS --home HOME`.
fn netwright(home: &Path, args: &[&str]) -> Output {
    netwright_with(home, args, &node_bin())
}

/// Runs `netwright ARGS --home HOME` with `node` as the node binary.
fn netwright_with(home: &Path, args: &[&str], node: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(args)
        .arg("--home")
        .arg(home)
        .env("NETWRIGHT_NODE_BIN", node)
        .output()
        .expect("run netwright")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A child that is killed and reaped when dropped.
struct Stranger(Child);

impl Stranger {
    /// `sleep 600` whose command line reads `argv0 600`.
    fn named(argv0: &str) -> Stranger {
        let child = Command::new("sleep")
            .arg0(argv0)
            .arg("600")
            .spawn()
            .expect("start sleep");
        Stranger(child)
    }

    fn id(&self) -> ProcessId {
        ProcessId::of(self.0.id()).expect("the stranger runs")
    }

    /// Whether it still runs (it is our child, so a dead one is a zombie until reaped).
    fn running(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Stranger {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn down_never_signals_a_recorded_pid_whose_process_is_not_ours() {
    let home = tempfile::tempdir().unwrap();
    let home_path = std::path::absolute(home.path()).unwrap();
    let dir = home_path.join("idnet");
    let node_home = dir.join("nodes").join("validator-0");
    // Processes that look like ours (the node home, `supervise idnet` on their command lines)
    // at the recorded pids, but started at another time: pids reused by strangers.
    let mut node = Stranger::named(&node_home.display().to_string());
    let mut supervisor = Stranger::named("netwright supervise idnet --home x");
    let (node_id, supervisor_id) = (node.id(), supervisor.id());
    std::fs::create_dir_all(&node_home).unwrap();
    let state = json!({
        "version": 1, "paused": false,
        "nodes": {"validator-0": {"role": "validator", "p2p_port": 20001, "rpc_port": 20002,
            "config_digest": null, "process": {"port": null, "config_digest": null,
            "should_run": true, "pid": node_id.pid, "start_time": node_id.start_time + 1,
            "started_ms": 1, "restarts": 0, "failures": 0}}},
        "relay_chains": {}, "stakes": {}
    });
    std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
    let pid_file = json!({"pid": supervisor_id.pid, "start_time": supervisor_id.start_time + 7});
    std::fs::write(dir.join("supervisor.pid"), pid_file.to_string()).unwrap();

    let out = netwright(&home_path, &["down", "idnet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        node.running(),
        "down killed a process that is not ours\n{}",
        text(&out)
    );
    assert!(
        supervisor.running(),
        "down killed a stranger\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("stopped"), "{}", text(&out));
}

/// A network of two validators and, with `relay`, a servicer on a managed anvil chain.
fn document(name: &str, relay: bool) -> String {
    let relay = if relay {
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
  name: {name}
spec:
  chainId: netwright-durability-1
  profile: localnet
  consensus:
    blockInterval: 100ms
    timeouts: {{propose: 600ms, prevote: 300ms, precommit: 300ms, commit: 50ms}}
  validators:
    replicas: 2
    stake: 2000000
{relay}  economics:
    unbondingBlocks: 5
    minimumStakes: {{validator: 1000000, servicer: 1000000}}
"#
    )
}

/// Every process file of the network in `dir`, by path.
fn process_files(dir: &Path) -> Vec<(PathBuf, Ours)> {
    let mut out = Vec::new();
    for sub in ["nodes", "relay-chains"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path().join("process.json");
            if let Some(ours) = process::read_process_file(&path) {
                out.push((path, ours));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The network's processes that run, from their process files.
fn running(dir: &Path) -> Vec<Ours> {
    process_files(dir)
        .into_iter()
        .map(|(_, p)| p)
        .filter(Ours::is_alive)
        .collect()
}

/// Stops whatever the network in `dir` still runs when dropped (a failed assertion included).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let supervisor = std::fs::read(self.0.join("supervisor.pid"))
            .ok()
            .and_then(|t| serde_json::from_slice::<ProcessId>(&t).ok());
        let mut all: Vec<Ours> = running(&self.0);
        all.extend(supervisor.map(|id| Ours::started(id, "supervise".into())));
        process::stop_all(&all, std::time::Duration::from_secs(5));
    }
}

#[test]
fn a_damaged_or_missing_state_file_still_lets_down_stop_everything() {
    find_anvil(None).unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::tempdir().unwrap();
    let root = std::path::absolute(home.path()).unwrap();
    let file = root.join("net.yaml");
    std::fs::write(&file, document("damaged", true)).unwrap();
    let file = file.to_str().unwrap();
    let dir = root.join("damaged");
    let _cleanup = Cleanup(dir.clone());
    let state = dir.join("state.json");

    let up = netwright(&root, &["up", file, "--detach"]);
    assert!(up.status.success(), "{}", text(&up));
    let started = running(&dir);
    assert_eq!(
        started.len(),
        4,
        "3 nodes and anvil: {:?}",
        process_files(&dir)
    );

    // Garbage, a torn file and bytes that are not UTF-8: `up` refuses with the way out and
    // starts nothing.
    let original = std::fs::read(&state).unwrap();
    let damages: [&[u8]; 3] = [
        b"garbage",
        &original[..original.len() / 2],
        &[0x7b, 0xff, 0xfe, 0x80],
    ];
    for damage in damages {
        std::fs::write(&state, damage).unwrap();
        let again = netwright(&root, &["up", file, "--detach"]);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(!again.status.success(), "{}", text(&again));
        assert!(
            stderr.contains("not a valid netwright state file")
                && stderr.contains(&format!("netwright down damaged --home {}", root.display())),
            "{}",
            text(&again)
        );
        assert_eq!(running(&dir), started, "{}", text(&again));
    }

    // `down` with the damaged file stops the supervisor, every node and anvil.
    let down = netwright(&root, &["down", "damaged"]);
    assert!(down.status.success(), "{}", text(&down));
    let stopped = String::from_utf8_lossy(&down.stdout);
    assert!(stopped.contains("stopped supervisor"), "{}", text(&down));
    assert_eq!(
        stopped.matches("stopped node/").count(),
        3,
        "{}",
        text(&down)
    );
    assert!(
        stopped.contains("stopped relay-chain/0021"),
        "{}",
        text(&down)
    );
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("not a valid netwright state file"),
        "{}",
        text(&down)
    );
    assert!(started.iter().all(|p| !p.is_alive()), "{}", text(&down));

    // The way out: the file moved away, `up` resumes the network.
    std::fs::rename(&state, dir.join("state.json.damaged")).unwrap();
    let resumed = netwright(&root, &["up", file, "--detach"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let now = running(&dir);
    assert_eq!(now.len(), 4, "{}", text(&resumed));

    // state.json gone while everything runs: `up` refuses to start a second anvil and second
    // nodes beside the running ones, naming the process and `down`.
    std::fs::remove_file(&state).unwrap();
    let duplicate = netwright(&root, &["up", file, "--detach"]);
    assert!(!duplicate.status.success(), "{}", text(&duplicate));
    let stderr = String::from_utf8_lossy(&duplicate.stderr);
    assert!(
        stderr.contains("is already running as pid") && stderr.contains("netwright down damaged"),
        "{}",
        text(&duplicate)
    );
    assert!(!stderr.contains("not converged"), "{}", text(&duplicate));
    let down = netwright(&root, &["down", "damaged"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(now.iter().all(|p| !p.is_alive()), "{}", text(&down));
    assert!(running(&dir).is_empty(), "{}", text(&down));
}

#[test]
fn a_node_that_cannot_start_is_reported_with_its_own_error() {
    let home = tempfile::tempdir().unwrap();
    let root = std::path::absolute(home.path()).unwrap();
    let fake = root.join("failing-node");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'fatal: Database already open. Cannot acquire lock.' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let doc = document("failing", false);
    let file = root.join("net.yaml");
    std::fs::write(&file, doc).unwrap();
    let _cleanup = Cleanup(root.join("failing"));
    let out = netwright_with(&root, &["apply", file.to_str().unwrap()], &fake);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        stderr.contains("exited as it started")
            && stderr.contains("Database already open. Cannot acquire lock."),
        "{}",
        text(&out)
    );
    assert!(!stderr.contains("not converged"), "{}", text(&out));
}
