//! `netwright down` and `apply` against damaged or misleading files in a network directory, with
//! real processes: a recorded pid whose process is not ours is never signalled.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output};

use netwright_operator::local::process::ProcessId;
use serde_json::json;

/// Runs `netwright ARGS --home HOME`.
fn netwright(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netwright"))
        .args(args)
        .arg("--home")
        .arg(home)
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
