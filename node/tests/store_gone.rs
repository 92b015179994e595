//! A node whose data directory is deleted under it stops, as a real process: it exits non-zero
//! with an error naming the database file as its last log line, its RPC stops answering, and
//! nothing is written at the deleted path again. Two ways in: a lone validator, which notices
//! at its next WAL write or commit, and a full node with no peer, which writes nothing and
//! notices on its periodic check.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

mod common;
use common::{height, log_tails, start, Nodes};

/// Bound on every wait below; reached only if the node never does what is awaited.
const DEADLINE: Duration = Duration::from_secs(60);

fn wait_until(what: &str, homes: &[PathBuf], mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; node logs:\n{}",
            log_tails(homes, 30)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits for `child` to exit and returns how it exited.
fn wait_exit(child: &mut Child, homes: &[PathBuf]) -> ExitStatus {
    let mut status = None;
    wait_until("the node to exit", homes, || {
        status = child.try_wait().expect("poll the node process");
        status.is_some()
    });
    status.expect("exited")
}

/// Deletes `home`'s data directory under the running node and checks that it stops for it.
fn delete_data_and_expect_stop(nodes: &mut Nodes, index: usize, home: &Path, rpc: &str) {
    let homes = [home.to_path_buf()];
    let data = home.join(netwright_node::home::DATA_DIR);
    let db_file = data.join(netwright_node::storage::DB_FILE);
    assert!(db_file.is_file(), "the node created {}", db_file.display());
    std::fs::remove_dir_all(&data).expect("delete the data directory");

    let child = nodes.0[index].as_mut().expect("node started");
    let status = wait_exit(child, &homes);
    assert!(
        !status.success(),
        "the node exited with {status}; log:\n{}",
        log_tails(&homes, 30)
    );
    let log = std::fs::read_to_string(home.join("node.log")).expect("read node.log");
    let last = log
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(
        last.contains(&db_file.display().to_string()) && last.contains("was deleted"),
        "the last log line names the file and what happened to it: {last:?}"
    );
    assert_eq!(height(rpc), None, "the stopped node's RPC still answers");
    assert!(
        !data.exists(),
        "the node wrote at the deleted path again: {}",
        data.display()
    );
}

#[test]
fn a_validator_whose_data_directory_is_deleted_stops_signing_and_exits() {
    let net = common::testnet(1, common::free_ports(2));
    let (home, rpc) = (&net.homes[0], net.rpcs[0].as_str());
    let mut nodes = Nodes::start_all(std::slice::from_ref(home));
    wait_until("the validator at height 3", &net.homes, || {
        height(rpc).is_some_and(|h| h >= 3)
    });
    delete_data_and_expect_stop(&mut nodes, 0, home, rpc);
}

#[test]
fn an_idle_node_notices_its_deleted_data_directory_and_exits() {
    // The full node runs alone: its validator never starts, so it commits nothing and only its
    // periodic check can notice.
    let net = common::testnet_with_full_nodes(1, 1, common::free_ports(4));
    let (home, rpc) = (&net.homes[1], net.rpcs[1].as_str());
    let mut nodes = Nodes(vec![Some(start(home))]);
    wait_until("the full node's RPC", &net.homes, || height(rpc).is_some());
    delete_data_and_expect_stop(&mut nodes, 0, home, rpc);
}
