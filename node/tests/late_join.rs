//! A node that joins late, as a real process: `testnet --validators 4 --full-nodes 1`, the four
//! validators run alone for a while (and commit a transfer), then the full node starts from an
//! empty home, syncs every block from its peers up to their tip, agrees with them block by block
//! and on the transferred balance, and then follows the new blocks live.

use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{get, height, log_tails, post, start, Nodes};

const DEADLINE: Duration = Duration::from_secs(120);

fn wait(what: &str, homes: &[std::path::PathBuf], mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; node logs:\n{}",
            log_tails(homes, 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Hash, state root and parent hash of block `h` on `rpc`.
fn block(rpc: &str, h: u64) -> (String, String, String) {
    let b = get(rpc, &format!("/blocks/{h}")).unwrap_or_else(|| panic!("{rpc} block {h}"));
    let field = |name: &str| b[name].as_str().unwrap_or_default().to_string();
    (field("hash"), field("state_root"), field("parent_hash"))
}

#[test]
fn a_fifth_node_started_late_syncs_to_the_tip_and_follows() {
    let net = common::testnet_with_full_nodes(4, 1, common::free_ports(10));
    let homes = &net.homes;
    let rpcs: Vec<&str> = net.rpcs.iter().map(String::as_str).collect();
    let (validators, late) = (&rpcs[..4], rpcs[4]);
    let mut nodes = Nodes::start_all(&homes[..4]);

    wait("the validators at height 30", homes, || {
        validators
            .iter()
            .all(|r| height(r).is_some_and(|h| h >= 30))
    });

    // A transfer gives the state something the late node must reproduce.
    let key = netwright_node::keys::NodeKey::load(&homes[0].join("node_key.json")).unwrap();
    let signing = ed25519_dalek::SigningKey::from_bytes(&key.secret_bytes());
    use netwright_ledger::{Address, PublicKey, TxBody, TxPayload};
    let to = Address::from_public_key(&PublicKey::from(
        ed25519_dalek::SigningKey::from_bytes(&[43; 32]).verifying_key(),
    ));
    let tx = TxPayload {
        chain_id: "netwright-local".into(),
        signer: PublicKey::from(signing.verifying_key()),
        nonce: 0,
        fee: 1,
        body: TxBody::Transfer { to, amount: 777 },
    }
    .sign(&signing)
    .encode();
    let (line, outcome) = post(
        validators[1],
        "/txs?wait=commit",
        &format!("{{\"tx\": \"{}\"}}", hex::encode(&tx)),
    );
    assert!(line.contains("200"), "{line} {outcome}");
    let tx_height = outcome["height"].as_u64().expect("commit height");

    // The late node starts from an empty home and reaches the validators' tip.
    let tip = validators.iter().filter_map(|r| height(r)).max().unwrap();
    nodes.0.push(Some(start(&homes[4])));
    wait("the late node to reach the tip", homes, || {
        height(late).is_some_and(|h| h >= tip)
    });
    for h in [1, 2, tx_height - 1, tx_height, tip - 1, tip] {
        assert_eq!(block(late, h), block(validators[0], h), "block {h}");
    }
    let account = get(late, &format!("/accounts/{to}")).unwrap();
    assert_eq!(account["balance"].as_u64(), Some(777), "{account}");
    let status = get(late, "/status").unwrap();
    assert_eq!(
        status["validator"]["in_set"].as_bool(),
        Some(false),
        "the late node is not a validator: {status}"
    );

    // Then it follows new blocks as they are decided, and stops catching up.
    let followed = height(late).unwrap() + 15;
    wait("the late node to follow 15 more blocks", homes, || {
        height(late).is_some_and(|h| h >= followed)
    });
    wait("the validators to pass the followed height", homes, || {
        validators
            .iter()
            .all(|r| height(r).is_some_and(|h| h >= followed))
    });
    for h in followed - 15..=followed {
        assert_eq!(block(late, h), block(validators[2], h), "block {h}");
    }
    wait("the late node to stop catching up", homes, || {
        get(late, "/status").is_some_and(|s| s["catching_up"] == Value::Bool(false))
    });
}
