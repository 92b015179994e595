//! The local backend with real `netwright-node` (and `anvil`) processes, driven by real plans:
//! bring a network up from nothing, kill a node and let the supervisor restart it, scale it up
//! and down on-chain, stop everything and resume the same chain.
//!
//! The node binary is taken from `NETWRIGHT_NODE_BIN` or found beside this test binary's
//! directory (`target/<profile>/`); when absent, it is built with
//! `cargo build --bin netwright-node` into `<target>/local-backend-node/`.
//! The anvil test fails when anvil is missing, naming the install command, unless
//! `NETWRIGHT_SKIP_ANVIL=1`.

use std::time::{Duration, Instant};

use netwright_crds::validate::validate_source;
use netwright_crds::{effective_spec, EffectiveSpec};

mod support;
use netwright_operator::backend::local::{
    find_anvil, process, LocalBackend, LocalOptions, SupervisorEvent,
};
use netwright_operator::backend::Backend;
use netwright_operator::plan::{desired_topology, plan};
use support::node_bin;

/// Runs `future` on the tests' runtime (one for the whole binary, so the backend's
/// connections to the nodes live between calls).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime")
        })
        .block_on(future)
}

/// Longest wait for a condition on the running network before the test fails with a message.
const PATIENCE: Duration = Duration::from_secs(120);

fn spec(yaml: &str) -> EffectiveSpec {
    let report = validate_source(yaml).expect("the schema renders").remove(0);
    let network = report
        .network
        .unwrap_or_else(|| panic!("test network is invalid: {:?}", report.diagnostics));
    effective_spec(&network.spec)
}

fn validators_spec(n: u32) -> EffectiveSpec {
    spec(&format!(
        r#"
apiVersion: netwright.dev/v1alpha1
kind: Network
metadata:
  name: lbtest
spec:
  chainId: netwright-lbtest-1
  profile: localnet
  consensus:
    blockInterval: 100ms
    timeouts: {{propose: 600ms, prevote: 300ms, precommit: 300ms, commit: 50ms}}
  validators:
    replicas: {n}
    stake: 2000000
  economics:
    unbondingBlocks: 5
    minimumStakes: {{validator: 1000000}}
"#
    ))
}

/// A network under a temporary root; everything it started is stopped on drop.
struct Net {
    backend: LocalBackend,
    _root: tempfile::TempDir,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = block_on(self.backend.down(false));
        if let Ok(live) = self.backend.live_processes() {
            for (_, pid) in live {
                process::kill_now(pid);
            }
        }
    }
}

fn open(root: &std::path::Path) -> LocalBackend {
    let mut backend = LocalBackend::open(LocalOptions {
        root: root.to_path_buf(),
        network: "lbtest".into(),
        node_bin: Some(node_bin()),
        anvil_bin: None,
    })
    .expect("open the local backend");
    backend.set_wait_timeout(PATIENCE);
    backend
}

/// observe -> plan -> apply every action, until the plan is empty. Returns the verbs applied.
fn reconcile(backend: &mut LocalBackend, spec: &EffectiveSpec) -> Vec<String> {
    let topology = desired_topology(spec).expect("topology");
    let mut applied = Vec::new();
    for _ in 0..8 {
        let observed = block_on(backend.observe(spec)).expect("observe");
        let plan = plan(spec, &observed).expect("plan");
        if plan.is_empty() {
            return applied;
        }
        for action in plan.actions() {
            block_on(backend.apply(spec, &topology, action)).unwrap_or_else(|e| {
                panic!("applying `{}`: {e}\nplan:\n{plan}", action.canonical())
            });
            applied.push(action.canonical());
        }
    }
    panic!("not converged after 8 plans; applied: {applied:#?}");
}

/// [`reconcile`], printing how long `what` took and what was applied.
fn timed_reconcile(backend: &mut LocalBackend, spec: &EffectiveSpec, what: &str) -> Vec<String> {
    let started = Instant::now();
    let applied = reconcile(backend, spec);
    println!(
        "{what} took {} ms: {applied:?}",
        started.elapsed().as_millis()
    );
    applied
}

fn heights(backend: &mut LocalBackend, spec: &EffectiveSpec) -> Vec<(String, Option<u64>)> {
    let (nodes, _) = block_on(backend.status(spec)).expect("status");
    nodes
        .into_iter()
        .filter(|n| n.running)
        .map(|n| (n.name, n.height))
        .collect()
}

/// Waits until `done` holds, failing with `what` and the last status after [`PATIENCE`].
fn eventually(
    backend: &mut LocalBackend,
    spec: &EffectiveSpec,
    what: &str,
    mut done: impl FnMut(&mut LocalBackend) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    while !done(backend) {
        if Instant::now() > deadline {
            let status = block_on(backend.status(spec)).map(|s| s.0);
            let mut logs = String::new();
            for name in ["validator-0", "validator-1"] {
                if let Ok(path) = backend.log_path(name) {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let lines: Vec<&str> = text
                        .lines()
                        .filter(|l| !l.contains("already been published"))
                        .collect();
                    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                    logs.push_str(&format!("\n--- {name} log ---\n{tail}"));
                }
            }
            panic!("gave up waiting for {what}; status: {status:#?}{logs}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until every running node's height is above `floor`.
fn all_above(backend: &mut LocalBackend, spec: &EffectiveSpec, floor: u64) {
    eventually(
        backend,
        spec,
        &format!("every node above height {floor}"),
        |b| {
            let h = heights(b, spec);
            !h.is_empty() && h.iter().all(|(_, h)| h.is_some_and(|h| h > floor))
        },
    );
}

fn top_height(backend: &mut LocalBackend, spec: &EffectiveSpec) -> u64 {
    heights(backend, spec)
        .iter()
        .filter_map(|(_, h)| *h)
        .max()
        .unwrap_or(0)
}

/// The stake of `node` as the node furthest ahead lists it: any other may not have committed
/// the block that changed it yet.
fn onchain_stake(backend: &LocalBackend, node: &str) -> Option<u64> {
    let state = backend.state().expect("state");
    let port = state
        .nodes
        .values()
        .filter_map(|n| {
            let status = block_on(backend.rpc().status(n.rpc_port)).ok()?;
            Some((status.height, n.rpc_port))
        })
        .max()
        .map(|(_, port)| port)?;
    let key = netwright_node_api::keys::NodeKey::load(
        &backend.layout().node_home(node).join("node_key.json"),
    )
    .expect("node key");
    let vals = block_on(backend.rpc().validators(port)).expect("validators");
    vals.iter()
        .find(|v| v.public_key == key.public_hex())
        .map(|v| v.stake)
}

/// `Some(true)` while `pid` is a live process, `Some(false)` for a zombie, `None` once gone.
fn gone_or_zombie(pid: u32) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.trim_start().chars().next());
    Some(!matches!(state, Some('Z') | Some('X')))
}

#[test]
fn local_network_lives_scales_restarts_and_resumes() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut net = Net {
        backend: open(root.path()),
        _root: root,
    };
    let four = validators_spec(4);
    assert_eq!(
        block_on(net.backend.observe(&four)).expect("observe"),
        Default::default(),
        "a network that does not exist observes as empty"
    );
    assert!(!net.backend.network_dir().exists(), "open creates nothing");

    // Up from nothing.
    let started = Instant::now();
    let applied = reconcile(&mut net.backend, &four);
    assert!(
        applied.iter().any(|a| a.starts_with("write-genesis")),
        "{applied:?}"
    );
    all_above(&mut net.backend, &four, 0);
    println!(
        "4 validators: first block on every node {} ms after the first action",
        started.elapsed().as_millis()
    );
    let h = top_height(&mut net.backend, &four);
    all_above(&mut net.backend, &four, h);
    assert_eq!(heights(&mut net.backend, &four).len(), 4);

    // kill -9 one node: one supervision pass restarts it and it catches up.
    let victim = "validator-1";
    let pid = net.backend.state().expect("state").nodes[victim]
        .process
        .pid
        .expect("pid recorded");
    process::kill_now(pid);
    eventually(&mut net.backend, &four, "the killed node to be gone", |b| {
        let (nodes, _) = block_on(b.status(&four)).expect("status");
        nodes.iter().any(|n| n.name == victim && !n.running)
    });
    let events = net.backend.supervise().expect("supervise");
    assert!(
        events.contains(&SupervisorEvent::Restarted {
            node: victim.into(),
            attempt: 1
        }),
        "{events:?}"
    );
    let top = top_height(&mut net.backend, &four);
    eventually(
        &mut net.backend,
        &four,
        "the restarted node to catch up",
        |b| {
            let (nodes, _) = block_on(b.status(&four)).expect("status");
            nodes.iter().any(|n| {
                n.name == victim
                    && n.healthy
                    && n.restarts == 1
                    && n.height.is_some_and(|h| h > top)
            })
        },
    );
    assert!(net.backend.supervise().expect("supervise").is_empty());
    println!(
        "after kill -9 and restart: {:?}",
        heights(&mut net.backend, &four)
    );

    // Scale to 5: the fifth node syncs and stakes on-chain.
    let five = validators_spec(5);
    let applied = timed_reconcile(&mut net.backend, &five, "scale 4 -> 5 (sync, fund, stake)");
    assert!(
        applied
            .contains(&"stake-validator node=validator-4 amount=2000000 target=2000000".to_owned()),
        "{applied:?}"
    );
    assert!(
        !applied.iter().any(|a| a.starts_with("write-genesis")),
        "{applied:?}"
    );
    assert_eq!(onchain_stake(&net.backend, "validator-4"), Some(2_000_000));
    let h = top_height(&mut net.backend, &five);
    all_above(&mut net.backend, &five, h + 2);

    // Back to 4: it unstakes, leaves the set and stops.
    let applied = reconcile(&mut net.backend, &four);
    println!(
        "scale 5 -> 4: {applied:?}; heights {:?}",
        heights(&mut net.backend, &four)
    );
    assert!(
        applied.contains(&"unstake-validator node=validator-4 amount=2000000 target=0".to_owned())
            && applied.contains(&"stop-node node=validator-4".to_owned()),
        "{applied:?}"
    );
    assert_eq!(onchain_stake(&net.backend, "validator-4"), None);
    let h = top_height(&mut net.backend, &four);
    all_above(&mut net.backend, &four, h);
    assert_eq!(heights(&mut net.backend, &four).len(), 4);

    // down: nothing is left running.
    let genesis = std::fs::read(net.backend.layout().genesis()).expect("genesis");
    let key_file = net
        .backend
        .layout()
        .node_home("validator-0")
        .join("node_key.json");
    let key = std::fs::read(&key_file).expect("key");
    let pids: Vec<u32> = net
        .backend
        .state()
        .expect("state")
        .nodes
        .values()
        .filter_map(|n| n.process.pid)
        .collect();
    let before = top_height(&mut net.backend, &four);
    block_on(net.backend.down(false)).expect("down");
    assert!(net.backend.live_processes().expect("live").is_empty());
    for pid in pids {
        assert!(
            !gone_or_zombie(pid).is_some_and(|alive| alive),
            "pid {pid} still runs after down"
        );
    }

    // Open again and reconcile: same genesis and keys, the height continues.
    let root = net
        .backend
        .network_dir()
        .parent()
        .expect("root")
        .to_path_buf();
    net.backend = open(&root);
    let applied = reconcile(&mut net.backend, &four);
    assert!(
        !applied
            .iter()
            .any(|a| a.starts_with("write-genesis") || a.starts_with("create-")),
        "{applied:?}"
    );
    assert_eq!(
        std::fs::read(net.backend.layout().genesis()).expect("genesis"),
        genesis
    );
    assert_eq!(std::fs::read(&key_file).expect("key"), key);
    all_above(&mut net.backend, &four, before);
    println!(
        "resumed after down at height {before}: {:?}",
        heights(&mut net.backend, &four)
    );
}

#[test]
fn a_node_whose_data_directory_is_deleted_is_reported_stopped_and_not_restarted() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut net = Net {
        backend: open(root.path()),
        _root: root,
    };
    let one = validators_spec(1);
    reconcile(&mut net.backend, &one);
    all_above(&mut net.backend, &one, 2);
    let node = "validator-0";
    let data = net
        .backend
        .layout()
        .node_home(node)
        .join(netwright_node_api::home::DATA_DIR);
    std::fs::remove_dir_all(&data).expect("delete the data directory");

    eventually(&mut net.backend, &one, "the node to stop", |b| {
        let (nodes, _) = block_on(b.status(&one)).expect("status");
        nodes.iter().any(|n| n.name == node && !n.running)
    });
    let events = net.backend.supervise().expect("supervise");
    assert_eq!(
        events,
        [SupervisorEvent::DataMissing {
            node: node.into(),
            data_dir: data.display().to_string(),
        }],
        "the supervisor reports the node instead of restarting it on an empty store"
    );
    assert_eq!(
        net.backend.supervise().expect("supervise"),
        [],
        "reported once, not retried"
    );
    assert!(!data.exists(), "nothing recreated the data directory");

    let (nodes, _) = block_on(net.backend.status(&one)).expect("status");
    let status = nodes.iter().find(|n| n.name == node).expect("node listed");
    assert!(!status.running && !status.healthy, "{status:?}");
    let line = status.last_log_line.as_deref().unwrap_or_default();
    assert!(
        line.contains("node.redb") && line.contains("was deleted"),
        "status gives the node's own reason: {line:?}"
    );
    let observed = block_on(net.backend.observe(&one)).expect("observe");
    assert!(
        !plan(&one, &observed).expect("plan").is_empty(),
        "a network whose node stopped is not converged"
    );
}

#[test]
fn managed_anvil_relay_chain_runs_is_supervised_and_stops() {
    if std::env::var("NETWRIGHT_SKIP_ANVIL").as_deref() == Ok("1") {
        eprintln!("NETWRIGHT_SKIP_ANVIL=1: skipping the managed relay chain test");
        return;
    }
    if let Err(e) = find_anvil(None) {
        panic!("{e}");
    }
    let spec = spec(
        r#"
apiVersion: netwright.dev/v1alpha1
kind: Network
metadata:
  name: lbtest
spec:
  chainId: netwright-anvil-1
  profile: localnet
  consensus:
    blockInterval: 100ms
    timeouts: {propose: 600ms, prevote: 300ms, precommit: 300ms, commit: 50ms}
  validators:
    replicas: 1
    stake: 2000000
  servicers:
    replicas: 1
    chains: ["0021"]
  relayChains:
    - id: "0021"
      name: ethereum
      allowedMethods: [eth_blockNumber]
      managed:
        kind: anvil
        anvil: {chainId: 31337, blockTime: 500ms}
"#,
    );
    let root = tempfile::tempdir().expect("temp dir");
    let mut net = Net {
        backend: open(root.path()),
        _root: root,
    };
    let t = Instant::now();
    let applied = timed_reconcile(&mut net.backend, &spec, "relay chain network up");
    assert!(
        applied
            .iter()
            .any(|a| a.starts_with("start-relay-chain chain=0021")),
        "{applied:?}"
    );
    let (_, chains) = block_on(net.backend.status(&spec)).expect("status");
    assert_eq!(chains.len(), 1);
    assert!(chains[0].running);
    let endpoint = chains[0].endpoint.clone().expect("endpoint");
    let port: u16 = endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in endpoint");
    let first =
        block_on(net.backend.rpc().eth_block_number(port)).expect("anvil answers eth_blockNumber");
    eventually(&mut net.backend, &spec, "anvil to mine", |b| {
        block_on(b.rpc().eth_block_number(port)).is_ok_and(|n| n > first)
    });
    let settings = std::fs::read_to_string(net.backend.layout().node_settings("servicer-0"))
        .expect("servicer settings");
    assert!(settings.contains(&endpoint), "{settings}");

    // kill -9 anvil: the supervisor restarts it on the same port.
    let pid = net.backend.state().expect("state").relay_chains["0021"]
        .pid
        .expect("anvil pid");
    process::kill_now(pid);
    eventually(&mut net.backend, &spec, "anvil to be gone", |b| {
        block_on(b.status(&spec)).is_ok_and(|(_, c)| !c[0].running)
    });
    println!("anvil killed at {} ms", t.elapsed().as_millis());
    let events = net.backend.supervise().expect("supervise");
    assert!(
        events.contains(&SupervisorEvent::RelayChainRestarted {
            chain: "0021".into(),
            attempt: 1
        }),
        "{events:?}"
    );
    eventually(&mut net.backend, &spec, "anvil to answer again", |b| {
        block_on(b.rpc().eth_block_number(port)).is_ok()
    });

    let live = net.backend.live_processes().expect("live");
    assert_eq!(live.len(), 3, "two nodes and anvil run: {live:?}");
    let t = Instant::now();
    block_on(net.backend.down(true)).expect("down --purge");
    println!("down in {} ms", t.elapsed().as_millis());
    for (what, pid) in live {
        assert!(
            !gone_or_zombie(pid).is_some_and(|alive| alive),
            "{what} (pid {pid}) still runs after down"
        );
    }
    assert!(!net.backend.network_dir().exists());
}
