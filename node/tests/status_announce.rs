//! A node behind peers that send no consensus messages still learns it is behind, from their
//! status announcements, and syncs. Real processes: one validator pausing ten minutes after each
//! commit (so it sends nothing in between) and a full node started during that pause.

use std::time::{Duration, Instant};

mod common;
use common::{height, log_tails, Nodes};

/// Far below the validator's pause: only the announcement can bring the full node up in time.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn a_node_behind_a_silent_peer_syncs_from_its_status_announcements() {
    let net = common::testnet_with_full_nodes(1, 1, common::free_ports(4));
    let homes = &net.homes;
    let config = homes[0].join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("timeout_commit_ms = 50"), "{text}");
    std::fs::write(
        &config,
        text.replace("timeout_commit_ms = 50", "timeout_commit_ms = 600000"),
    )
    .unwrap();
    let mut nodes = Nodes::start_all(&homes[..1]);
    let (validator, full) = (net.rpcs[0].as_str(), net.rpcs[1].as_str());
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + DEADLINE;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; node logs:\n{}",
                log_tails(homes, 30)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait("the validator's first block", &|| {
        height(validator).is_some_and(|h| h >= 1)
    });
    // The validator now pauses after its commit and sends no consensus message.
    let tip = height(validator).unwrap();
    nodes.0.push(Some(common::start(&homes[1])));
    wait("the full node to reach the validator's height", &|| {
        height(full).is_some_and(|h| h >= tip)
    });
    assert_eq!(height(validator), Some(tip), "the validator moved on");
}
