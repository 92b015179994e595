//! Peer-to-peer networking over rust-libp2p: TCP + noise + yamux, gossipsub for transactions,
//! proposals and votes, request-response for block sync, persistent peers with backoff, and
//! peer penalties.
//!
//! The network runs as one task ([`spawn`]); the rest of the node talks to it through a
//! [`NetworkHandle`] (commands) and receives [`NetEvent`]s. Payloads are opaque bytes at this
//! layer: the upper layer decodes and validates them, and reports the verdict of each gossip
//! message back ([`NetworkHandle::report_validation`]) so that only valid messages are forwarded
//! and senders of invalid ones are penalised.

mod backoff;
mod codec;
mod scoring;
mod service;

use std::time::Duration;

use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

pub use backoff::{PeerState, Planned, Redialer};
pub use codec::{
    SyncCodec, SyncRequest, SyncResponse, SyncedBlock, MAX_REQUEST_BYTES, SYNC_PROTOCOL,
};
pub use scoring::{Offence, PeerScores, Penalty, BAN_THRESHOLD};
pub use service::spawn;

use crate::config::{Config, PeerAddr};
use crate::keys::NodeKey;

/// The gossip topics. Each has its own size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Signed transactions (mempool gossip).
    Txs,
    /// Block proposals.
    Proposals,
    /// Prevotes and precommits.
    Votes,
    /// Status announcements: each node's last committed height (8 bytes, little endian),
    /// so that a node that hears no consensus traffic of later heights (its peers ahead of it
    /// are full nodes, or silent) still notices that it is behind and syncs.
    Status,
}

impl Topic {
    /// All topics.
    pub const ALL: [Topic; 4] = [Topic::Txs, Topic::Proposals, Topic::Votes, Topic::Status];

    /// Short name used in topic strings, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Txs => "txs",
            Topic::Proposals => "proposals",
            Topic::Votes => "votes",
            Topic::Status => "status",
        }
    }

    /// Version of the topic's message format: transactions travel in batches since version 2.
    pub fn version(self) -> u32 {
        match self {
            Topic::Txs => 2,
            Topic::Proposals | Topic::Votes | Topic::Status => 1,
        }
    }

    /// The gossipsub topic string for a network: `/netwright/<network>/<name>/<version>`.
    pub fn topic_string(self, network: &str) -> String {
        format!("/netwright/{network}/{}/{}", self.name(), self.version())
    }
}

/// Size of a status announcement: a committed height as a little-endian `u64`.
pub const STATUS_BYTES: usize = 8;

/// A status announcement of committed `height`.
pub fn encode_status(height: u64) -> Vec<u8> {
    height.to_le_bytes().to_vec()
}

/// The committed height a status announcement carries, or why it is not one.
pub fn decode_status(data: &[u8]) -> Result<u64, String> {
    let bytes: [u8; STATUS_BYTES] = data.try_into().map_err(|_| {
        format!(
            "status: {} bytes, expected {STATUS_BYTES} (a little-endian height)",
            data.len()
        )
    })?;
    Ok(u64::from_le_bytes(bytes))
}

/// Settings of the network task.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Names the network; gossip topics of other networks are never joined.
    pub network_id: String,
    /// Address to listen on.
    pub listen: Multiaddr,
    /// Peers to keep connected to.
    pub persistent_peers: Vec<PeerAddr>,
    /// Largest accepted transaction message.
    pub max_tx_bytes: usize,
    /// Largest accepted proposal message.
    pub max_proposal_bytes: usize,
    /// Largest accepted vote message.
    pub max_vote_bytes: usize,
    /// Largest accepted sync response.
    pub max_sync_response_bytes: usize,
    /// Most heights a sync request may ask for.
    pub max_sync_blocks: u64,
    /// First redial delay.
    pub redial_initial: Duration,
    /// Largest redial delay.
    pub redial_max: Duration,
    /// How long banned peers stay banned.
    pub ban_duration: Duration,
    /// How long an outbound sync request may take.
    pub sync_timeout: Duration,
    /// Gossipsub heartbeat.
    pub heartbeat: Duration,
}

impl NetworkConfig {
    /// Builds the network settings from the node configuration.
    pub fn from_config(
        config: &Config,
        listen: Multiaddr,
        peers: Vec<PeerAddr>,
        network_id: &str,
    ) -> Self {
        Self {
            network_id: network_id.to_string(),
            listen,
            persistent_peers: peers,
            max_tx_bytes: config.p2p.max_tx_bytes,
            max_proposal_bytes: config.p2p.max_proposal_bytes,
            max_vote_bytes: config.p2p.max_vote_bytes,
            max_sync_response_bytes: config.p2p.max_sync_response_bytes,
            max_sync_blocks: config.p2p.max_sync_blocks,
            redial_initial: Duration::from_millis(config.p2p.redial_initial_ms),
            redial_max: Duration::from_millis(config.p2p.redial_max_ms),
            ban_duration: Duration::from_secs(config.p2p.ban_secs),
            sync_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_millis(700),
        }
    }

    /// Settings for tests and local networks: loopback ephemeral port, short delays.
    pub fn local(network_id: &str) -> Self {
        let mut c = Self::from_config(
            &Config::default(),
            "/ip4/127.0.0.1/tcp/0"
                .parse()
                .unwrap_or_else(|_| Multiaddr::empty()),
            Vec::new(),
            network_id,
        );
        c.redial_initial = Duration::from_millis(100);
        c.redial_max = Duration::from_secs(2);
        c.heartbeat = Duration::from_millis(200);
        c
    }

    /// The size limit of `topic`.
    pub fn limit(&self, topic: Topic) -> usize {
        match topic {
            Topic::Txs => self.max_tx_bytes,
            Topic::Proposals => self.max_proposal_bytes,
            Topic::Votes => self.max_vote_bytes,
            Topic::Status => STATUS_BYTES,
        }
    }
}

/// How the upper layer judged a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: deliver and forward.
    Accept,
    /// Not useful (e.g. stale) but not malicious: drop without penalty.
    Ignore,
    /// Invalid: drop and penalise the peer that sent it.
    Reject,
}

/// A gossip message delivered to the upper layer, which must report a [`Verdict`] for it.
#[derive(Clone, Debug)]
pub struct GossipMessage {
    /// Topic it arrived on.
    pub topic: Topic,
    /// The peer that forwarded it to us (the one penalised if it is invalid).
    pub from: PeerId,
    /// Gossip id (BLAKE3 of the payload), to pass back with the verdict.
    pub id: MessageId,
    /// The payload.
    pub data: Vec<u8>,
}

/// Replies to an inbound sync request. Dropping it without answering closes the stream.
#[derive(Debug)]
pub struct SyncResponder {
    tx: oneshot::Sender<SyncResponse>,
}

impl SyncResponder {
    /// Sends the response to the requesting peer.
    pub fn respond(self, response: SyncResponse) {
        // The network task may have shut down; then there is nobody to answer.
        let _ = self.tx.send(response);
    }
}

/// What the network reports to the upper layer.
#[derive(Debug)]
pub enum NetEvent {
    /// The listener is bound to `addr` (the real port when 0 was configured).
    Listening {
        /// The bound address.
        addr: Multiaddr,
    },
    /// First connection to a peer opened.
    PeerConnected {
        /// The peer.
        peer: PeerId,
    },
    /// Last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A connected peer joined a gossip topic: from now on messages on it reach that peer.
    PeerSubscribed {
        /// The peer.
        peer: PeerId,
        /// The topic it joined.
        topic: Topic,
    },
    /// A persistent peer will be dialled again after `delay` (attempt number `attempt`).
    Redialing {
        /// The peer.
        peer: PeerId,
        /// Retry number, starting at 1.
        attempt: u32,
        /// Backoff before the dial.
        delay: Duration,
    },
    /// A peer was penalised; `banned` peers are disconnected.
    PeerPenalised {
        /// The peer.
        peer: PeerId,
        /// Why.
        offence: Offence,
        /// Score after the penalty.
        score: i32,
        /// Whether the peer is now banned.
        banned: bool,
    },
    /// A gossip message passed the size check and awaits the upper layer's verdict.
    Gossip(GossipMessage),
    /// A peer asks for blocks.
    SyncRequest {
        /// The asking peer.
        peer: PeerId,
        /// The range (already checked: non-empty, at most `max_sync_blocks`).
        request: SyncRequest,
        /// Where to send the answer.
        responder: SyncResponder,
    },
}

/// Why a network command failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The network task has stopped.
    #[error("the network task has stopped")]
    Stopped,
    /// The payload is larger than the topic allows.
    #[error("{topic:?} message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Topic.
        topic: Topic,
        /// Payload size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Gossipsub refused to publish (e.g. no peer subscribed yet, or a duplicate).
    #[error("publish failed: {0}")]
    Publish(String),
    /// A sync request failed (dial, timeout, stream error, malformed answer).
    #[error("sync request to {peer} failed: {reason}")]
    Sync {
        /// The peer asked.
        peer: PeerId,
        /// What went wrong.
        reason: String,
    },
    /// The network could not start.
    #[error("network setup: {0}")]
    Setup(String),
}

pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Validate {
        id: MessageId,
        from: PeerId,
        verdict: Verdict,
    },
    RequestBlocks {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, NetError>>,
    },
    ReportPeer {
        peer: PeerId,
        offence: Offence,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    Shutdown,
}

/// Commands to the network task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    tx: mpsc::Sender<Command>,
    local_peer_id: PeerId,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Publish { .. } => "Publish",
            Command::Validate { .. } => "Validate",
            Command::RequestBlocks { .. } => "RequestBlocks",
            Command::ReportPeer { .. } => "ReportPeer",
            Command::Peers { .. } => "Peers",
            Command::Shutdown => "Shutdown",
        })
    }
}

impl NetworkHandle {
    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    async fn send(&self, cmd: Command) -> Result<(), NetError> {
        self.tx.send(cmd).await.map_err(|_| NetError::Stopped)
    }

    /// Publishes `data` on `topic`.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Publish { topic, data, reply }).await?;
        rx.await.map_err(|_| NetError::Stopped)?
    }

    /// Reports the verdict on a gossip message received through [`NetEvent::Gossip`].
    pub async fn report_validation(
        &self,
        message: &GossipMessage,
        verdict: Verdict,
    ) -> Result<(), NetError> {
        self.send(Command::Validate {
            id: message.id.clone(),
            from: message.from,
            verdict,
        })
        .await
    }

    /// Asks `peer` for blocks; the answer is checked to match the request.
    pub async fn request_blocks(
        &self,
        peer: PeerId,
        request: SyncRequest,
    ) -> Result<SyncResponse, NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::RequestBlocks {
            peer,
            request,
            reply,
        })
        .await?;
        rx.await.map_err(|_| NetError::Stopped)?
    }

    /// Penalises a peer for something the upper layer found (e.g. synced blocks that do not
    /// verify).
    pub async fn report_peer(&self, peer: PeerId, offence: Offence) -> Result<(), NetError> {
        self.send(Command::ReportPeer { peer, offence }).await
    }

    /// Currently connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerId>, NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Peers { reply }).await?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Stops the network task (closing all connections).
    pub async fn shutdown(&self) -> Result<(), NetError> {
        self.send(Command::Shutdown).await
    }
}

/// What [`spawn`] returns: the command handle, the event stream and the task.
#[derive(Debug)]
pub struct Network {
    /// Commands.
    pub handle: NetworkHandle,
    /// Events; the upper layer must keep draining it.
    pub events: mpsc::Receiver<NetEvent>,
    /// The task; it ends after [`NetworkHandle::shutdown`] or when all handles are dropped.
    pub task: tokio::task::JoinHandle<()>,
}

pub(crate) fn handle(tx: mpsc::Sender<Command>, key: &NodeKey) -> NetworkHandle {
    NetworkHandle {
        tx,
        local_peer_id: key.peer_id(),
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn status_round_trips_and_other_lengths_are_refused() {
        assert_eq!(decode_status(&encode_status(u64::MAX)), Ok(u64::MAX));
        assert_eq!(decode_status(&encode_status(42)), Ok(42));
        let e = decode_status(&[1, 2, 3]).unwrap_err();
        assert!(e.contains("3 bytes, expected 8"), "{e}");
        assert!(decode_status(&[0; 9]).is_err());
    }
}
