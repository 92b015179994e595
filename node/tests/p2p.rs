//! Real libp2p swarms on 127.0.0.1 with ephemeral ports: gossip, block sync, size limits and
//! penalties, and redial with backoff.

use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use netwright_node::config::PeerAddr;
use netwright_node::keys::NodeKey;
use netwright_node::p2p::{
    self, NetEvent, NetworkConfig, NetworkHandle, Offence, SyncRequest, SyncResponse, SyncedBlock,
    Topic, Verdict,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

struct Node {
    key: NodeKey,
    handle: NetworkHandle,
    events: mpsc::UnboundedReceiver<NetEvent>,
    addr: Multiaddr,
    task: JoinHandle<()>,
}

impl Node {
    fn peer_addr(&self) -> PeerAddr {
        let id = self.key.peer_id();
        PeerAddr {
            peer_id: id,
            addr: self.addr.clone().with(libp2p::multiaddr::Protocol::P2p(id)),
        }
    }

    async fn stop(self) {
        self.handle.shutdown().await.unwrap();
        self.task.await.unwrap();
    }
}

/// Starts a network task and a pump that plays the upper layer: it judges each gossip message
/// with `judge`, reports the verdict, and forwards every event to the test.
async fn start(key: NodeKey, config: NetworkConfig, judge: fn(&[u8]) -> Verdict) -> Node {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut net = p2p::spawn(&key, config).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = net.handle.clone();
    tokio::spawn(async move {
        while let Some(event) = net.events.recv().await {
            if let NetEvent::Gossip(m) = &event {
                let _ = handle.report_validation(m, judge(&m.data)).await;
            }
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    let addr = match timeout(WAIT, rx.recv()).await {
        Ok(Some(NetEvent::Listening { addr })) => addr,
        other => panic!("expected Listening, got {other:?}"),
    };
    Node {
        key,
        handle: net.handle,
        events: rx,
        addr,
        task: net.task,
    }
}

fn accept_all(_: &[u8]) -> Verdict {
    Verdict::Accept
}

fn reject_bad(data: &[u8]) -> Verdict {
    if data.starts_with(b"bad") {
        Verdict::Reject
    } else {
        Verdict::Accept
    }
}

fn config(peers: Vec<PeerAddr>) -> NetworkConfig {
    let mut c = NetworkConfig::local("test-net");
    c.persistent_peers = peers;
    c
}

/// Waits for the first event matching `pred`, skipping others.
async fn expect<T>(node: &mut Node, what: &str, mut pred: impl FnMut(NetEvent) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match timeout(left, node.events.recv()).await {
            Ok(Some(event)) => {
                if let Some(found) = pred(event) {
                    return found;
                }
            }
            Ok(None) => panic!("event stream ended while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

async fn connected(node: &mut Node, peer: PeerId) {
    expect(node, "peer connected", |e| match e {
        NetEvent::PeerConnected { peer: p } if p == peer => Some(()),
        _ => None,
    })
    .await
}

/// Publishes, retrying while gossipsub has no subscribed peer yet.
async fn publish(node: &Node, topic: Topic, data: &[u8]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match node.handle.publish(topic, data.to_vec()).await {
            Ok(()) => return,
            Err(e) if tokio::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("publish failed: {e}"),
        }
    }
}

async fn gossip_from(node: &mut Node, topic: Topic, data: &[u8]) -> PeerId {
    expect(node, "gossip message", |e| match e {
        NetEvent::Gossip(m) if m.topic == topic && m.data == data => Some(m.from),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_gossip_through_a_hub_and_invalid_senders_are_penalised() {
    let mut a = start(NodeKey::generate(), config(vec![]), reject_bad).await;
    let hub = a.peer_addr();
    let mut b = start(NodeKey::generate(), config(vec![hub.clone()]), accept_all).await;
    let mut c = start(NodeKey::generate(), config(vec![hub]), accept_all).await;
    let (ia, ib, ic) = (a.key.peer_id(), b.key.peer_id(), c.key.peer_id());
    connected(&mut b, ia).await;
    connected(&mut c, ia).await;
    // Gossip reaches a peer only once the hub knows it joined the topic.
    let mut joined = Vec::new();
    while joined.len() < 2 {
        let peer = expect(&mut a, "subscription", |e| match e {
            NetEvent::PeerSubscribed {
                peer,
                topic: Topic::Votes,
            } => Some(peer),
            _ => None,
        })
        .await;
        joined.push(peer);
    }
    joined.sort();
    let mut want = vec![ib, ic];
    want.sort();
    assert_eq!(joined, want);

    publish(&b, Topic::Votes, b"vote-1").await;
    assert_eq!(gossip_from(&mut a, Topic::Votes, b"vote-1").await, ib);
    // C is not connected to B: it only gets the vote because A accepted and forwarded it.
    assert_eq!(gossip_from(&mut c, Topic::Votes, b"vote-1").await, ia);
    // Consensus re-sends the very same vote when a round stalls: the re-send is delivered again
    // (a peer that missed the first copy gets it), not dropped as a duplicate.
    b.handle
        .publish(Topic::Votes, b"vote-1".to_vec())
        .await
        .expect("re-sending identical bytes is not refused as a duplicate");
    assert_eq!(gossip_from(&mut a, Topic::Votes, b"vote-1").await, ib);
    assert_eq!(gossip_from(&mut c, Topic::Votes, b"vote-1").await, ia);

    publish(&c, Topic::Txs, b"bad-tx").await;
    let (offence, score, banned) = expect(&mut a, "penalty", |e| match e {
        NetEvent::PeerPenalised {
            peer,
            offence,
            score,
            banned,
        } if peer == ic => Some((offence, score, banned)),
        _ => None,
    })
    .await;
    assert_eq!((offence, score, banned), (Offence::Invalid, -25, false));

    // The rejected message is not forwarded: B never receives it, while a later valid one is.
    publish(&c, Topic::Proposals, b"proposal-1").await;
    let seen = expect(&mut b, "proposal", |e| match e {
        NetEvent::Gossip(m) => Some(m.data),
        _ => None,
    })
    .await;
    assert_eq!(seen, b"proposal-1");

    for n in [a, b, c] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_request_is_answered_and_a_mismatched_answer_is_penalised() {
    let mut server = start(NodeKey::generate(), config(vec![]), accept_all).await;
    let mut client = start(
        NodeKey::generate(),
        config(vec![server.peer_addr()]),
        accept_all,
    )
    .await;
    let server_id = server.key.peer_id();
    connected(&mut client, server_id).await;

    let handle = client.handle.clone();
    let ask = tokio::spawn(async move {
        handle
            .request_blocks(server_id, SyncRequest { from: 3, to: 5 })
            .await
    });
    let (request, responder) = expect(&mut server, "sync request", |e| match e {
        NetEvent::SyncRequest {
            request, responder, ..
        } => Some((request, responder)),
        _ => None,
    })
    .await;
    assert_eq!(request, SyncRequest { from: 3, to: 5 });
    let blocks: Vec<_> = (3..=5)
        .map(|h| SyncedBlock {
            height: h,
            block: vec![h as u8; 100],
            cert: vec![0xc0, h as u8],
        })
        .collect();
    responder.respond(SyncResponse {
        blocks: blocks.clone(),
    });
    let response = ask.await.unwrap().unwrap();
    assert_eq!(response.blocks, blocks);

    // A server that answers with heights that were not asked for is penalised.
    let handle = client.handle.clone();
    let ask = tokio::spawn(async move {
        handle
            .request_blocks(server_id, SyncRequest { from: 1, to: 2 })
            .await
    });
    let responder = expect(&mut server, "sync request", |e| match e {
        NetEvent::SyncRequest { responder, .. } => Some(responder),
        _ => None,
    })
    .await;
    responder.respond(SyncResponse {
        blocks: vec![SyncedBlock {
            height: 9,
            block: vec![],
            cert: vec![],
        }],
    });
    let err = ask.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("height 9"), "{err}");
    let offence = expect(&mut client, "penalty", |e| match e {
        NetEvent::PeerPenalised { peer, offence, .. } if peer == server_id => Some(offence),
        _ => None,
    })
    .await;
    assert_eq!(offence, Offence::BadSyncResponse);

    // Oversized ranges are refused locally without bothering the peer.
    let err = client
        .handle
        .request_blocks(server_id, SyncRequest { from: 1, to: 1000 })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 to 64 heights"), "{err}");

    server.stop().await;
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_gossip_is_dropped_and_the_sender_banned() {
    let mut strict = config(vec![]);
    strict.max_tx_bytes = 1024;
    let mut a = start(NodeKey::generate(), strict, accept_all).await;
    // The sender allows itself far larger transactions than the receiver accepts.
    let mut loose = config(vec![a.peer_addr()]);
    loose.max_tx_bytes = 256 * 1024;
    let mut d = start(NodeKey::generate(), loose, accept_all).await;
    let id = d.key.peer_id();
    connected(&mut d, a.key.peer_id()).await;

    let big = vec![7u8; 10 * 1024];
    publish(&d, Topic::Txs, &big).await;
    let mut penalised = false;
    let mut disconnected = false;
    while !(penalised && disconnected) {
        let event = timeout(WAIT, a.events.recv())
            .await
            .expect("timed out")
            .expect("stream ended");
        match event {
            NetEvent::PeerPenalised {
                peer,
                offence,
                banned,
                ..
            } if peer == id => {
                assert_eq!(offence, Offence::Oversized);
                assert!(banned, "an oversized message bans at once");
                penalised = true;
            }
            NetEvent::PeerDisconnected { peer } if peer == id => disconnected = true,
            NetEvent::Gossip(m) => {
                panic!("oversized message of {} bytes was delivered", m.data.len())
            }
            _ => {}
        }
    }
    // Publishing above one's own limit is refused locally.
    let err = a
        .handle
        .publish(Topic::Txs, vec![0; 2048])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("exceeds the limit of 1024"),
        "{err}"
    );
    a.stop().await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_persistent_peer_is_redialled_with_backoff() {
    let b_key = NodeKey::generate();
    let b = start(b_key.clone(), config(vec![]), accept_all).await;
    let b_addr = b.addr.clone();
    let b_id = b_key.peer_id();
    let mut a = start(NodeKey::generate(), config(vec![b.peer_addr()]), accept_all).await;
    connected(&mut a, b_id).await;

    b.stop().await;
    expect(&mut a, "disconnect", |e| match e {
        NetEvent::PeerDisconnected { peer } if peer == b_id => Some(()),
        _ => None,
    })
    .await;
    let mut delays = Vec::new();
    while delays.len() < 3 {
        let (attempt, delay) = expect(&mut a, "redial", |e| match e {
            NetEvent::Redialing {
                peer,
                attempt,
                delay,
            } if peer == b_id => Some((attempt, delay)),
            _ => None,
        })
        .await;
        assert_eq!(attempt as usize, delays.len() + 1);
        delays.push(delay);
    }
    assert_eq!(
        delays,
        vec![
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_millis(400)
        ]
    );

    // B comes back on the same address with the same identity: A reconnects by itself.
    let mut again = config(vec![]);
    again.listen = b_addr;
    let b = start(b_key, again, accept_all).await;
    connected(&mut a, b_id).await;
    a.stop().await;
    b.stop().await;
}
