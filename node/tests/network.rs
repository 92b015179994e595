//! A real 4-validator network on loopback: `testnet --validators 4`, four `run` processes, and
//! every node's blocks and state roots compared; a transfer is committed; then one validator is
//! killed with SIGKILL, the others keep committing, and the restarted validator catches up from its own storage and its
//! peers; finally every node is killed with SIGKILL and restarted: no committed block or
//! transaction is lost and the chain continues.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::{get, height, post, start, Nodes};

const DEADLINE: Duration = Duration::from_secs(120);

/// A signed transfer of `amount` from the validator key of `home` to a fresh account.
fn transfer(home: &Path, amount: u64) -> (Vec<u8>, String) {
    use netwright_ledger::{Address, PublicKey, TxBody, TxPayload};
    let key = netwright_node::keys::NodeKey::load(&home.join("node_key.json")).unwrap();
    let signing = ed25519_dalek::SigningKey::from_bytes(&key.secret_bytes());
    let to = Address::from_public_key(&PublicKey::from(
        ed25519_dalek::SigningKey::from_bytes(&[42; 32]).verifying_key(),
    ));
    let tx = TxPayload {
        chain_id: "netwright-local".into(),
        signer: PublicKey::from(signing.verifying_key()),
        nonce: 0,
        fee: 1,
        body: TxBody::Transfer { to, amount },
    }
    .sign(&signing)
    .encode();
    (tx, to.to_string())
}

fn wait_heights(rpcs: &[&str], at_least: u64, homes: &[PathBuf]) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let hs: Vec<Option<u64>> = rpcs.iter().map(|r| height(r)).collect();
        if hs.iter().all(|h| h.is_some_and(|h| h >= at_least)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "heights {hs:?} did not all reach {at_least} in time; node logs:\n{}",
            common::log_tails(homes, 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn block(rpc: &str, h: u64) -> (String, String, String) {
    let b = get(rpc, &format!("/blocks/{h}")).unwrap_or_else(|| panic!("{rpc} block {h}"));
    (
        b["hash"].as_str().unwrap().to_string(),
        b["state_root"].as_str().unwrap().to_string(),
        b["parent_hash"].as_str().unwrap().to_string(),
    )
}

fn assert_same_chain(rpcs: &[&str], heights: impl IntoIterator<Item = u64>) {
    for h in heights {
        let first = block(rpcs[0], h);
        for rpc in &rpcs[1..] {
            assert_eq!(block(rpc, h), first, "height {h} differs on {rpc}");
        }
        if h > 1 {
            assert_eq!(first.2, block(rpcs[0], h - 1).0, "parent link at {h}");
        }
    }
}

#[test]
fn four_validators_agree_survive_kill_9_and_catch_up() {
    let net = common::testnet(4, common::free_ports(8));
    let homes = &net.homes;
    let rpcs: Vec<&str> = net.rpcs.iter().map(String::as_str).collect();
    let mut nodes = Nodes::start_all(homes);

    wait_heights(&rpcs, 20, homes);
    assert_same_chain(&rpcs, [1, 2, 7, 13, 19, 20]);

    // A transfer submitted to node 0 commits and every node shows the new balance.
    let (tx, to) = transfer(&homes[0], 12_345);
    let body = format!("{{\"tx\": \"{}\"}}", hex::encode(&tx));
    let (line, outcome) = post(rpcs[0], "/txs?wait=commit", &body);
    assert!(line.contains("200"), "{line} {outcome}");
    let committed_at = outcome["height"].as_u64().expect("commit height");
    assert_eq!(
        outcome["hash"].as_str().unwrap(),
        hex::encode(blake3::hash(&tx).as_bytes())
    );
    wait_heights(&rpcs, committed_at, homes);
    let listed = get(rpcs[2], &format!("/blocks/{committed_at}/txs")).unwrap();
    assert_eq!(
        listed["tx_hashes"],
        serde_json::json!([outcome["hash"]]),
        "the block lists the transaction's hash: {listed}"
    );
    for rpc in &rpcs {
        let account = get(rpc, &format!("/accounts/{to}")).unwrap();
        assert_eq!(
            account["balance"].as_u64(),
            Some(12_345),
            "{rpc}: {account}"
        );
    }
    let (line, _) = post(rpcs[1], "/txs", &body);
    assert!(
        line.contains("400") || line.contains("409"),
        "replayed tx: {line}"
    );

    // SIGKILL node 3: the other three (3/4 of the power) keep committing.
    let mut killed = nodes.0[3].take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let stopped_at = rpcs[..3].iter().filter_map(|r| height(r)).max().unwrap();
    wait_heights(&rpcs[..3], stopped_at + 20, homes);

    // Restarted from its own storage, it catches up with the others and agrees with them.
    nodes.0[3] = Some(start(&homes[3]));
    let target = rpcs[..3].iter().filter_map(|r| height(r)).max().unwrap() + 10;
    wait_heights(&rpcs, target, homes);
    assert_same_chain(&rpcs, [stopped_at - 1, stopped_at, stopped_at + 1, target]);

    // SIGKILL every node at once: nothing any node reported as committed is lost, and the
    // restarted network continues the same chain.
    let before: Vec<(u64, (String, String, String))> = rpcs
        .iter()
        .map(|r| {
            let h = height(r).unwrap();
            (h, block(r, h))
        })
        .collect();
    for slot in nodes.0.iter_mut().take(4) {
        let mut child = slot.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
    for (slot, home) in nodes.0.iter_mut().zip(homes) {
        *slot = Some(start(home));
    }
    let top = before.iter().map(|(h, _)| *h).max().unwrap();
    wait_heights(&rpcs, top + 10, homes);
    for (h, b) in &before {
        for rpc in &rpcs {
            assert_eq!(
                &block(rpc, *h),
                b,
                "block {h} on {rpc} after restarting all"
            );
        }
    }
    assert_same_chain(&rpcs, [top, top + 1, top + 10]);
    let account = get(rpcs[2], &format!("/accounts/{to}")).unwrap();
    assert_eq!(account["balance"].as_u64(), Some(12_345), "{account}");
}
