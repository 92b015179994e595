//! The `netwright-node` binary: init, version, clear errors on a bad home, and a real `run`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_netwright-node");

fn node(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn init(home: &Path) -> String {
    let (code, out, err) = node(&["init", "--home", home.to_str().unwrap(), "--moniker", "n0"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .find_map(|l| l.strip_prefix("peer_id: "))
        .expect("peer id printed")
        .to_string()
}

/// Writes a genesis in which this home's node is the only validator.
fn solo_genesis(home: &Path) {
    use netwright_ledger::{Genesis, GenesisValidator, Params, PublicKey};
    let key = netwright_node::keys::NodeKey::load(&home.join("node_key.json")).unwrap();
    let genesis = Genesis {
        chain_id: "t-1".into(),
        initial_height: 1,
        genesis_time_ms: 1_700_000_000_000,
        params: Params {
            unbonding_period_blocks: 10,
            min_validator_stake: 100,
            max_txs_per_block: 100,
        },
        accounts: Vec::new(),
        validators: vec![GenesisValidator {
            public_key: PublicKey::from_bytes(key.public_bytes()).unwrap(),
            stake: 100,
        }],
        economics: Default::default(),
        servicers: Vec::new(),
        applications: Vec::new(),
        fishermen: Vec::new(),
    };
    std::fs::write(home.join("genesis.json"), genesis.to_json()).unwrap();
}

fn status_height(rpc: &str) -> u64 {
    let status = http_get(rpc, "/status");
    let body = status.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["height"].as_u64().unwrap()
}

fn wait_height(rpc: &str, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_height(rpc) < at_least {
        assert!(Instant::now() < deadline, "height {at_least} not reached");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn version_prints_the_crate_version() {
    let (code, out, _) = node(&["version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("netwright-node {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn init_creates_a_private_key_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    init(&home);
    let key = std::fs::read(home.join("node_key.json")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.join("node_key.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains("moniker = \"n0\""), "{config}");
    let (code, _, err) = node(&["init", "--home", home.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(home.join("node_key.json")).unwrap(), key);
}

#[test]
fn run_names_the_missing_or_bad_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let h = home.to_str().unwrap();
    let (code, _, err) = node(&["run", "--home", h]);
    assert_eq!(code, 1);
    assert!(
        err.contains("config.toml") && err.contains("missing"),
        "{err}"
    );

    init(home);
    let (code, _, err) = node(&["run", "--home", h]);
    assert_eq!(code, 1);
    assert!(
        err.contains("genesis.json") && err.contains("missing"),
        "{err}"
    );

    std::fs::write(home.join("genesis.json"), "{\"chain_id\": ").unwrap();
    let (_, _, err) = node(&["run", "--home", h]);
    assert!(err.contains("genesis.json: line 1"), "{err}");

    std::fs::write(home.join("genesis.json"), "{\"chain_id\": \"t-1\"}").unwrap();
    let (_, _, err) = node(&["run", "--home", h]);
    assert!(
        err.contains("genesis.json") && err.contains("initial_height"),
        "{err}"
    );

    solo_genesis(home);
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    std::fs::write(
        home.join("config.toml"),
        config.replace("max_txs", "max_tx"),
    )
    .unwrap();
    let (code, _, err) = node(&["run", "--home", h]);
    assert_eq!(code, 1);
    assert!(
        err.contains("config.toml") && err.contains("max_tx"),
        "{err}"
    );

    std::fs::write(
        home.join("config.toml"),
        config.replace("listen = \"127.0.0.1:26657\"", "listen = \"nowhere\""),
    )
    .unwrap();
    let (_, _, err) = node(&["run", "--home", h]);
    assert!(err.contains("field `rpc.listen`: value `nowhere`"), "{err}");
}

/// A `run` process that is killed if the test fails before stopping it.
struct NodeProcess(Option<std::process::Child>);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A started node: its process, its RPC and p2p addresses and the rest of its log.
struct Started {
    process: NodeProcess,
    rpc: String,
    p2p: String,
    logs: std::sync::mpsc::Receiver<String>,
}

/// Starts `run` on a prepared home (loopback, ephemeral ports) and waits until it listens.
fn start_node(home: &Path) -> Started {
    let config = std::fs::read_to_string(home.join("config.toml"))
        .unwrap()
        .replace("/ip4/0.0.0.0/tcp/26656", "/ip4/127.0.0.1/tcp/0")
        .replace("127.0.0.1:26657", "127.0.0.1:0");
    std::fs::write(home.join("config.toml"), config).unwrap();
    let mut child = Command::new(BIN)
        .args(["run", "--home", home.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let process = NodeProcess(Some(child));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut rpc, mut p2p) = (None, None);
    while rpc.is_none() || p2p.is_none() {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("node logs");
        if let Some(pos) = line.find("rpc_addr=") {
            rpc = line[pos + 9..]
                .split_whitespace()
                .next()
                .map(str::to_string);
        }
        if line.contains("p2p listening") {
            if let Some(pos) = line.find("address=") {
                p2p = line[pos + 8..]
                    .split_whitespace()
                    .next()
                    .map(str::to_string);
            }
        }
    }
    Started {
        process,
        rpc: rpc.unwrap(),
        p2p: p2p.unwrap(),
        logs: rx,
    }
}

/// Sends SIGTERM and checks that the node exits cleanly.
fn stop(mut process: NodeProcess, logs: Option<&std::sync::mpsc::Receiver<String>>) {
    let mut child = process.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let rest: Vec<String> = logs.map(|l| l.try_iter().collect()).unwrap_or_default();
    assert!(
        status.success(),
        "clean shutdown on SIGTERM: {status:?}; log:\n{}",
        rest.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_node_serves_stored_blocks_to_a_syncing_peer() {
    use netwright_node::p2p::{self, NetEvent, NetworkConfig, SyncRequest};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let peer_id = init(home);
    solo_genesis(home);
    let Started {
        process,
        rpc,
        p2p: p2p_addr,
        logs,
        ..
    } = start_node(home);
    // Nobody reads the node's log from here on: a closed stderr must not disturb it.
    drop(logs);
    wait_height(&rpc, 3);

    let server: libp2p::PeerId = peer_id.parse().unwrap();
    let mut config = NetworkConfig::local("t-1");
    config.persistent_peers = vec![netwright_node::config::PeerAddr {
        peer_id: server,
        addr: format!("{p2p_addr}/p2p/{peer_id}").parse().unwrap(),
    }];
    let mut net = p2p::spawn(&netwright_node::keys::NodeKey::generate(), config).unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), net.events.recv())
            .await
            .expect("connect in time")
            .expect("events");
        if matches!(event, NetEvent::PeerConnected { peer } if peer == server) {
            break;
        }
    }
    let response = net
        .handle
        .request_blocks(server, SyncRequest { from: 2, to: 3 })
        .await
        .unwrap();
    let got: Vec<_> = response.blocks.iter().map(|b| b.height).collect();
    assert_eq!(got, vec![2, 3]);
    for b in &response.blocks {
        let served = http_get(&rpc, &format!("/blocks/{}", b.height));
        assert!(served.contains(&hex::encode(&b.block)), "{served}");
        assert!(served.contains(&hex::encode(&b.cert)), "{served}");
    }
    let status = http_get(&rpc, "/status");
    assert!(status.contains("\"peers\":1"), "{status}");
    net.handle.shutdown().await.unwrap();
    stop(process, None);
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn a_lone_validator_commits_serves_rpc_and_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let peer_id = init(home);
    solo_genesis(home);
    let Started {
        process, rpc, logs, ..
    } = start_node(home);
    wait_height(&rpc, 5);
    let status = http_get(&rpc, "/status");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(status.contains(&peer_id), "{status}");
    assert!(status.contains("\"consensus\":true"), "{status}");
    let block = http_get(&rpc, "/blocks/1");
    assert!(block.starts_with("HTTP/1.1 200"), "{block}");
    // The lone validator's precommit is the whole certificate.
    let body: serde_json::Value =
        serde_json::from_str(block.split_once("\r\n\r\n").unwrap().1).expect("block JSON");
    let signers = body["signers"].as_array().expect("signers listed");
    assert_eq!(signers.len(), 1, "{body}");
    let validators = http_get(&rpc, "/validators");
    assert!(
        validators.contains(signers[0].as_str().unwrap_or("none")),
        "the signer is the node's validator key: {body}\n{validators}"
    );
    let metrics = http_get(&rpc, "/metrics");
    assert!(metrics.contains("netwright_consensus_wired 1"), "{metrics}");
    stop(process, Some(&logs));

    // The database now holds the chain; a restart continues it (the config keeps port 0).
    let Started {
        process, rpc, logs, ..
    } = start_node(home);
    let resumed = status_height(&rpc);
    assert!(resumed >= 5, "resumed at {resumed}");
    let again = http_get(&rpc, "/blocks/1");
    assert_eq!(
        again.split_once("\r\n\r\n").unwrap().1,
        block.split_once("\r\n\r\n").unwrap().1
    );
    wait_height(&rpc, resumed + 3);
    stop(process, Some(&logs));
}
